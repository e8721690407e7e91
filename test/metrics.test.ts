import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import { LATENCY_BUCKETS_SECONDS } from '../src/observability/cache_stats.js';
import { parseExposition } from './support/prom_text.js';

const open: IntegratedCacheManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function ready(options: Parameters<typeof createIntegratedCache>[0]): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

describe('issue 16: Prometheus exposition an SRE can load', () => {
  it('latency is a histogram (_bucket/_sum/_count, cumulative, +Inf = _count); no quantile label outside a summary', async () => {
    const cache = await ready({ namespace: 'hist' });
    for (let i = 0; i < 40; i++) await cache.getOrSet(`k${i % 10}`, () => i);
    for (let i = 0; i < 5; i++) await cache.delete(`k${i}`);
    const samples = parseExposition(await cache.metrics());
    for (const s of samples) if (s.type !== 'summary') expect(s.labels, s.series).not.toHaveProperty('quantile');
    const fam = samples.filter((s) => s.family === 'tiercache_operation_duration_seconds');
    expect(new Set(fam.map((s) => s.type))).toEqual(new Set(['histogram']));
    const stats = await cache.getStats();
    for (const op of ['getOrSet', 'delete'] as const) {
      const buckets = fam.filter((s) => s.name.endsWith('_bucket') && s.labels.operation === op);
      expect(buckets.map((b) => b.labels.le)).toEqual([...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
      const count = fam.find((s) => s.name.endsWith('_count') && s.labels.operation === op);
      const sum = fam.find((s) => s.name.endsWith('_sum') && s.labels.operation === op);
      expect(count?.value).toBe(stats.latency[op].count);
      expect(buckets.at(-1)?.value).toBe(count?.value);
      expect(sum?.value).toBeGreaterThan(0);
      expect(sum?.value).toBeCloseTo((stats.latency[op].meanMs * stats.latency[op].count) / 1000, 3);
    }
    expect(fam.find((s) => s.name.endsWith('_count') && s.labels.operation === 'delete')?.value).toBe(5);
  });
});
