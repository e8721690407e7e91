import { afterEach, describe, expect, it } from 'vitest';
import { autoOptimize, createIntegratedCache, PerformanceGoal, type IntegratedCacheManager } from '../src/index.js';
import { zipfSampler } from '../src/util/zipf.js';
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

/** Read-through Zipf traffic until `stop()`, seeded: yields to the event loop every 500 reads. */
function zipfTraffic(cache: IntegratedCacheManager, keys: number, seed: number) {
  let s = seed >>> 0;
  const rank = zipfSampler(keys, 0.9, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
  let running = true;
  const done = (async () => {
    let i = 0;
    while (running) {
      const k = `item:${rank()}`;
      await cache.getOrSet(k, () => ({ k }));
      if (++i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  return { stop: async () => { running = false; await done; } };
}

describe('issue 16: counters never fall', () => {
  it('every counter (_total and histogram _count/_bucket) and getStats() hits/misses/evictions are monotonic across autoOptimize growing L1', async () => {
    const cache = await ready({ namespace: 'mono', l1MaxSize: 500 });
    const load = zipfTraffic(cache, 20_000, 11);
    try {
      // Far more lookups before than autoOptimize makes after its resize, so a reset cannot hide.
      for (let t = 0; t < 600; t++) {
        const l1 = (await cache.getStats()).l1;
        if (l1.enabled && l1.hits + l1.misses >= 80_000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const before = parseExposition(await cache.metrics());
      const s0 = await cache.getStats();
      expect(s0.l1.enabled && s0.l1.evictions).toBeGreaterThan(0);
      const result = await autoOptimize(cache, PerformanceGoal.MAXIMIZE_HIT_RATE, { accesses: 10_000, warmupAccesses: 5_000 });
      // Grown past its allocation: the L1 tier object was replaced, the case that reset counters.
      expect(result.applied[0]?.change.to as number).toBeGreaterThan(500);
      const after = parseExposition(await cache.metrics());
      const s1 = await cache.getStats();
      const monotonic = before.filter((x) => x.type === 'counter' || /_(count|bucket)$/.test(x.name));
      expect(monotonic.some((x) => x.series.startsWith('tiercache_hits_total{tier="l1"'))).toBe(true);
      expect(monotonic.some((x) => x.name === 'tiercache_operation_duration_seconds_count')).toBe(true);
      for (const b of monotonic) {
        const a = after.find((x) => x.series === b.series);
        expect(a, b.series).toBeDefined();
        expect(a!.value, b.series).toBeGreaterThanOrEqual(b.value);
      }
      expect(s1.hits).toBeGreaterThanOrEqual(s0.hits);
      expect(s1.misses).toBeGreaterThanOrEqual(s0.misses);
      if (s0.l1.enabled && s1.l1.enabled) {
        expect(s1.l1.hits).toBeGreaterThanOrEqual(s0.l1.hits + 10_000 * 0.3); // what autoOptimize measured, on top
        expect(s1.l1.evictions).toBeGreaterThanOrEqual(s0.l1.evictions);
      }
      expect(result.after).toBeGreaterThan(0);
      expect(result.after).toBeLessThanOrEqual(1);
    } finally {
      await load.stop();
    }
  }, 60_000);
});

describe('issue 16: OpenTelemetry through the real SDK (@opentelemetry/sdk-metrics, in-memory exporter)', () => {
  it('two caches on one meter are two series (namespace attribute on every point); a closed cache is no longer observed', async () => {
    const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
    const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('app');
    try {
      const a = await ready({ namespace: 'otel-a', meter });
      const b = await ready({ namespace: 'otel-b', meter });
      await a.set('k', 1);
      for (let i = 0; i < 3; i++) await a.get('k');
      await b.set('k', 1);
      await b.get('k');
      const collect = async () => {
        exporter.reset();
        await reader.forceFlush();
        const points: { metric: string; attributes: Record<string, unknown>; value: unknown }[] = [];
        for (const rm of exporter.getMetrics())
          for (const sm of rm.scopeMetrics)
            for (const m of sm.metrics) for (const p of m.dataPoints) points.push({ metric: m.descriptor.name, attributes: p.attributes, value: p.value });
        return points;
      };
      const first = await collect();
      const tiercache = first.filter((p) => p.metric.startsWith('tiercache.'));
      expect(tiercache.length).toBeGreaterThan(0);
      for (const p of tiercache) expect(['otel-a', 'otel-b'], `${p.metric} ${JSON.stringify(p.attributes)}`).toContain(p.attributes.namespace);
      const hitsL1 = (ns: string, points: typeof first) => points.find((p) => p.metric === 'tiercache.hits' && p.attributes.tier === 'l1' && p.attributes.namespace === ns)?.value;
      expect(hitsL1('otel-a', first)).toBe(3);
      expect(hitsL1('otel-b', first)).toBe(1);
      await b.close();
      await a.get('k');
      const second = await collect();
      expect(hitsL1('otel-a', second)).toBe(1); // delta since the first collection
      // Delta temporality reports only attribute sets observed in this collection: the closed cache's callback is gone.
      expect(second.filter((p) => p.attributes.namespace === 'otel-b')).toEqual([]);
      expect(second.filter((p) => p.metric === 'tiercache.l1.entries' && p.attributes.namespace === 'otel-a')).toHaveLength(1);
    } finally {
      await provider.shutdown();
    }
  });
});
