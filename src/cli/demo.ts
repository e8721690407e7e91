import { createIntegratedCache } from '../core/integrated_cache_manager.js';
import { RedisServer, redisServerAvailable } from '../embedded/redis_server.js';

/**
 * `tiercache demo` / `npm start`: the product description's basic example, then a short mixed
 * workload against a simulated slow data source, then the measured stats. Uses a private
 * redis-server as L2 when one is installed (or `--redis-url`), else runs L1-only.
 */
export async function runDemo(options: { redisUrl?: string; ops?: number; out?: (line: string) => void } = {}): Promise<void> {
  const out = options.out ?? ((line: string) => console.log(line));
  let server: RedisServer | undefined;
  let redisUrl = options.redisUrl;
  if (redisUrl === undefined && redisServerAvailable()) {
    server = await RedisServer.start();
    redisUrl = server.url;
  }
  out(redisUrl ? `L2: Redis at ${redisUrl}${server ? ' (private redis-server started for this demo)' : ''}` : 'L2: none (redis-server not installed) — running L1 only');

  const cache = createIntegratedCache({ ...(redisUrl ? { redisUrl } : {}), enableMonitoring: true, namespace: 'tiercache-demo', logLevel: 'warn' });
  await cache.initialize();
  try {
    // --- the seed's "Basic Usage" ---
    await cache.set('user:123', { name: 'John', email: 'john@example.com' });
    const user = await cache.get('user:123');
    out(`User: ${JSON.stringify(user)}`);

    // --- a short mixed workload: Zipf-like reads through getOrSet over a slow "database", 10% writes ---
    const ops = options.ops ?? 20_000;
    const keys = 2_000;
    let dbReads = 0;
    const database = async (key: string): Promise<{ id: string; loadedAt: number }> => {
      dbReads++;
      await new Promise((r) => setTimeout(r, 2)); // a query's latency
      return { id: key, loadedAt: Date.now() };
    };
    let seed = 42;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const zipfKey = (): string => `item:${Math.floor(keys * rand() ** 3)}`; // skewed: low ids are hot
    const started = performance.now();
    const workers = Array.from({ length: 32 }, async (_, w) => {
      for (let i = w; i < ops; i += 32) {
        const key = zipfKey();
        if (rand() < 0.1) await cache.set(key, { id: key, updatedBy: w }, { ttl: 60 });
        else await cache.getOrSet(key, database, { ttl: 60 });
      }
    });
    await Promise.all(workers);
    const seconds = (performance.now() - started) / 1000;

    const stats = await cache.getStats();
    const health = await cache.healthCheck();
    const rows: [string, string][] = [
      ['operations', `${ops} in ${seconds.toFixed(2)} s (${Math.round(ops / seconds)} ops/s)`],
      ['hit rate', `${(stats.hitRate * 100).toFixed(2)}%`],
      ['L1 hits / misses', stats.l1.enabled ? `${stats.l1.hits} / ${stats.l1.misses} (size ${stats.l1.size})` : 'off'],
      ['L2 hits / misses / errors', stats.l2.enabled ? `${stats.l2.hits} / ${stats.l2.misses} / ${stats.l2.errors}` : 'off'],
      ['L2 round trips (reads / writes)', stats.l2.enabled ? `${stats.l2.roundTrips.reads} / ${stats.l2.roundTrips.writes}` : 'off'],
      ['loader (database) calls', `${stats.loader.calls} (database saw ${dbReads} reads)`],
      ['getOrSet latency p50 / p99', `${stats.latency.getOrSet.p50Ms.toFixed(3)} / ${stats.latency.getOrSet.p99Ms.toFixed(3)} ms`],
      ['avg latency (timed ops)', `${stats.avgLatencyMs.toFixed(3)} ms`],
      ['L1 memory', `${stats.memoryUsageMb.toFixed(2)} MB`],
      ['error rate', `${(stats.errorRate * 100).toFixed(2)}%`],
      ['health', `${health.overallHealth}${health.redisConnected === null ? '' : `, redis connected: ${health.redisConnected}`}`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    out('');
    out(`${'metric'.padEnd(w)} | value`);
    out(`${'-'.repeat(w)}-|-${'-'.repeat(40)}`);
    for (const [k, v] of rows) out(`${k.padEnd(w)} | ${v}`);
    await cache.clear();
  } finally {
    await cache.close();
    await server?.stop();
  }
}
