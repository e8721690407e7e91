// The product description's "Performance Monitoring", "Benchmarking", "Automated Tuning" and
// "Health Monitoring" sections, in TypeScript. Run: npm run example examples/monitoring_and_tuning.ts
// (CACHE_REDIS_URL optional)
import { autoOptimize, BenchmarkType, createIntegratedCache, getMemoryMonitor, PerformanceGoal, quickTune } from 'tiercache';

const cache = createIntegratedCache({
  ...(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-ops-${process.pid}` } : {}),
  l1MaxSize: 500,
  enableMonitoring: true,
  enableMemoryMonitoring: true,
});
await cache.initialize();

// Some traffic: read-through over 20,000 keys with skewed popularity, until stopped.
let running = true;
const traffic = (async () => {
  for (let i = 0; running; i++) {
    const k = Math.floor(20_000 * Math.random() ** 3);
    await cache.getOrSet(`item:${k}`, () => ({ k, name: `item ${k}` }));
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
})();
await new Promise((r) => setTimeout(r, 300));

// Real-time metrics
const stats = await cache.getStats();
console.log(`Hit Rate: ${(stats.hitRate * 100).toFixed(2)}%`);
console.log(`Average Latency: ${stats.avgLatencyMs.toFixed(2)} ms`);
console.log(`Operations/Second: ${stats.opsPerSecond.toFixed(0)}`);
console.log(`Memory Usage: ${stats.memoryUsageMb.toFixed(1)} MB`);
console.log(`Error Rate: ${(stats.errorRate * 100).toFixed(2)}%`);

// Benchmarking (on a scratch namespace; your data is untouched)
const result = await cache.benchmark(BenchmarkType.LATENCY, { durationSeconds: 0.5 });
console.log(`Avg Latency: ${result.avgLatencyMs.toFixed(3)} ms`);
console.log(`95th Percentile: ${result.latencyPercentiles[95].toFixed(3)} ms`);
console.log(`Throughput: ${result.operationsPerSecond.toFixed(0)} ops/sec`);

// Automated tuning, from the live traffic above
const tuningReport = await quickTune(cache, { accesses: 50_000 });
console.log(`Recommendations: ${tuningReport.recommendations.length}`);
for (const rec of tuningReport.getTopRecommendations(3)) console.log(`- ${rec.title}: ${rec.description}`);
const optimized = await autoOptimize(cache, PerformanceGoal.MAXIMIZE_HIT_RATE, { accesses: 50_000, warmupAccesses: 100_000 });
console.log(`Optimizations applied: ${optimized.optimizationsApplied.length} (L1 hit ratio ${(optimized.before * 100).toFixed(1)}% → ${(optimized.after * 100).toFixed(1)}%)`);

// Health
const health = await cache.healthCheck();
console.log(`Overall Health: ${health.overallHealth}`);
console.log(`Redis Connected: ${health.redisConnected ?? 'not configured'}`);
console.log(`Memory Pressure: ${health.memoryPressure}`);
for (const rec of health.recommendations) console.log(`  - ${rec}`);

// Memory monitoring
const metrics = getMemoryMonitor().getCurrentMetrics();
console.log(`Memory Pressure: ${metrics.pressureLevel}`);
console.log(`Process Memory: ${metrics.processMemoryMb.toFixed(1)} MB`);
console.log(`System Memory: ${metrics.systemMemoryPercent.toFixed(1)}%`);

running = false;
await traffic;
await cache.close();
