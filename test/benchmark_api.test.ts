import { describe, expect, it } from 'vitest';
import { BenchmarkType, createIntegratedCache } from '../src/index.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();

describe('cache.benchmark', () => {
  it('runs each type on a scratch namespace and reports measured figures; user data untouched', async () => {
    const ns = uniqueNamespace('bm');
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent', l1MaxSize: 200 });
    await cache.initialize();
    await cache.set('user:1', { name: 'Alice' });
    const progress: number[] = [];
    for (const type of Object.values(BenchmarkType)) {
      const r = await cache.benchmark(type, { durationSeconds: 0.4, onProgress: (f) => progress.push(f) });
      expect(r.type).toBe(type);
      expect(r.operations).toBeGreaterThan(50);
      expect(r.operationsPerSecond).toBeGreaterThan(100);
      expect(r.latencyPercentiles.p50).toBeGreaterThan(0);
      expect(r.latencyPercentiles.p99).toBeGreaterThanOrEqual(r.latencyPercentiles.p50);
      expect(r.latencyPercentiles[95]).toBe(r.latencyPercentiles.p95);
      expect(r.avgLatencyMs).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      if (type !== BenchmarkType.THROUGHPUT && type !== BenchmarkType.LATENCY) {
        expect(r.hitRate).toBeGreaterThan(0.2);
        expect(r.hitRate).toBeLessThan(1);
      }
    }
    expect(progress.at(-1)).toBe(1);
    expect(await cache.get('user:1')).toEqual({ name: 'Alice' });
    expect((await cache.getStats()).sets).toBe(1); // the benchmark's traffic is not the cache's
    const raw = await rawClient(redis.url);
    const left: string[] = [];
    for await (const page of raw.scanIterator({ MATCH: `${ns}-bench-*`, COUNT: 1000 })) left.push(...page);
    await raw.close();
    expect(left).toEqual([]);
    await cache.close();
  });
});
