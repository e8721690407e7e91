import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, getMemoryMonitor, type IntegratedCacheManager } from '../src/index.js';
import { HEALTH_RULES, evaluateRules, type HealthInputs } from '../src/observability/health_rules.js';
import type { CacheStatsSnapshot } from '../src/observability/cache_stats.js';
import type { MemoryMetrics } from '../src/observability/memory_monitor.js';

const open: IntegratedCacheManager[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('memory pressure', () => {
  it('a forced pressure (low threshold) shrinks L1 and drops temporary keys; it recovers when pressure passes', async () => {
    const cache = createIntegratedCache({ l1MaxSize: 1000, enableMemoryMonitoring: true, memoryThresholdMb: 100_000, memoryCheckIntervalMs: 20, temporaryKeyPatterns: ['temp:*'], logLevel: 'silent' });
    await cache.initialize();
    open.push(cache);
    for (let i = 0; i < 900; i++) await cache.set(`k${i}`, i);
    for (let i = 0; i < 50; i++) await cache.set(`temp:${i}`, i);
    const monitor = cache.getMemoryMonitor();
    expect(monitor).toBe(getMemoryMonitor()); // one per process
    expect(monitor.getCurrentMetrics().pressureLevel).toBe('low');
    expect((await cache.healthCheck()).l1Size).toBe(950);
    monitor.setThresholdMb(1); // any process is above 1 MiB RSS: critical
    await sleep(150);
    const m = monitor.getCurrentMetrics();
    expect(m.pressureLevel).toBe('critical');
    expect(m.l1EntryLimit).toBeLessThan(1000);
    expect((await cache.healthCheck()).l1Size).toBeLessThanOrEqual(m.l1EntryLimit);
    expect(m.temporaryDropped).toBe(50);
    expect(m.shrinks).toBeGreaterThan(0);
    const h = await cache.healthCheck();
    expect(h.issues.join(' ')).toMatch(/memory pressure is critical/);
    expect(h.memoryPressure).toBe('critical');
    expect(h.recommendations.join(' ')).toMatch(/\[memory-pressure\]/);
    monitor.setThresholdMb(100_000);
    await sleep(300);
    expect(monitor.getCurrentMetrics().l1EntryLimit).toBe(1000); // limit restored step by step
    for (let i = 0; i < 1000; i++) await cache.set(`k${i}`, i);
    expect((await cache.healthCheck()).l1Size).toBe(1000);
    expect((await cache.healthCheck()).overallHealth).toBe('healthy');
  });

  it('issue 16: a threshold is per cache: a 1 MiB cache presses only itself, and once it closed a fresh default cache is not critical', async () => {
    const start = async (o: Parameters<typeof createIntegratedCache>[0]) => {
      const c = createIntegratedCache({ l1MaxSize: 1000, memoryCheckIntervalMs: 20, logLevel: 'silent', ...o });
      await c.initialize();
      open.push(c);
      return c;
    };
    const roomy = await start({ enableMemoryMonitoring: true, memoryThresholdMb: 100_000 });
    const tight = await start({ enableMemoryMonitoring: true, memoryThresholdMb: 1 }); // any process is above 1 MiB RSS
    for (let i = 0; i < 500; i++) {
      await roomy.set(`k${i}`, i);
      await tight.set(`k${i}`, i);
    }
    await sleep(150);
    const t = await tight.healthCheck();
    expect(t.memoryPressure).toBe('critical');
    expect(t.memory.thresholdMb).toBe(1);
    expect(t.l1MaxSize).toBeLessThan(1000);
    const r = await roomy.healthCheck();
    expect(r.memoryPressure).toBe('low');
    expect(r.memory.thresholdMb).toBe(100_000);
    expect(r.l1MaxSize).toBe(1000);
    expect(r.l1Size).toBe(500);
    expect(r.issues.join(' ')).not.toMatch(/memory pressure/);
    await tight.close();
    const fresh = await start({});
    const f = await fresh.healthCheck();
    expect(f.memoryPressure).toBe('low');
    expect(f.memory.thresholdMb).toBe(2048);
    expect(f.overallHealth).toBe('healthy');
  });

  it('reports process, heap, system and cgroup figures', async () => {
    const cache = createIntegratedCache({ logLevel: 'silent' });
    await cache.initialize();
    open.push(cache);
    const m = cache.getMemoryMonitor().getCurrentMetrics();
    expect(m.processMemoryMb).toBeGreaterThan(10);
    expect(m.heapLimitMb).toBeGreaterThan(m.heapUsedMb);
    expect(m.systemMemoryPercent).toBeGreaterThan(0);
    expect(m.systemMemoryPercent).toBeLessThan(100);
    expect(m.cgroupLimitMb === null || m.cgroupLimitMb > 0).toBe(true);
  });
});

describe('health recommendations: each rule fires on its figure and only then', () => {
  const stats = (over: Partial<CacheStatsSnapshot> = {}): CacheStatsSnapshot =>
    ({
      hits: 0,
      misses: 0,
      hitRate: 0,
      sets: 0,
      deletes: 0,
      l1: { enabled: true, hits: 0, misses: 0, evictions: 0, expirations: 0, size: 0, bytes: 0, hitRate: 0 },
      l2: { enabled: true, hits: 0, misses: 0, errors: 0, skipped: 0, corrupt: 0, roundTrips: { reads: 0, writes: 0 } },
      loader: { calls: 0, errors: 0, failSafeHits: 0, softTimeouts: 0, hardTimeouts: 0 },
      latency: { get: { p50Ms: 0, p95Ms: 0, p99Ms: 0, count: 0, meanMs: 0 } },
      breakers: [],
      coherence: { enabled: true, invalidationsReceived: 0, fullFlushes: 0, outage: false, confirmedAgoMs: 1 },
      security: { encryption: false, currentKeyId: null, events: 0 },
      ...over,
    }) as unknown as CacheStatsSnapshot;
  const memory = (level: MemoryMetrics['pressureLevel'] = 'low') => ({ pressureLevel: level, processMemoryMb: 100, thresholdMb: 2048, heapPercent: 5, l1EntryLimit: 1000 }) as MemoryMetrics;
  const base = (): HealthInputs => ({ stats: stats(), memory: memory(), redisConnected: true, redisLatencyMs: 0.2, l1MaxSize: 1000 });
  const fired = (i: HealthInputs) => evaluateRules(i).map((r) => r.id);

  it('a quiet, healthy cache gets no recommendation', () => {
    expect(fired(base())).toEqual([]);
  });

  const cases: [string, (i: HealthInputs) => void][] = [
    ['l1-too-small', (i) => void (i.stats.l1 = { ...(i.stats.l1 as object), enabled: true, hits: 300, misses: 900, evictions: 500, hitRate: 0.25 } as never)],
    ['l2-errors', (i) => Object.assign(i.stats, { hits: 100, misses: 100, l2: { ...i.stats.l2, errors: 10 } })],
    ['redis-slow', (i) => void (i.redisLatencyMs = 25)],
    ['memory-pressure', (i) => void (i.memory = memory('high'))],
    ['breaker-open', (i) => void (i.stats.breakers = [{ name: 'redis', state: 'open', opens: 1, rejected: 7 }])],
    ['coherence-outage', (i) => void (i.stats.coherence = { ...i.stats.coherence, outage: true, confirmedAgoMs: 5000 })],
    ['rejected-values', (i) => void (i.stats.security = { encryption: true, currentKeyId: 1, events: 3 })],
    ['loader-errors', (i) => void (i.stats.loader = { ...i.stats.loader, calls: 100, errors: 10 })],
  ];
  it.each(cases)('%s', (id, mutate) => {
    const i = base();
    mutate(i);
    const out = evaluateRules(i);
    expect(out.map((r) => r.id)).toEqual([id]);
    expect(out[0].recommendation).toMatch(/\d/); // it quotes the measured figure
  });

  it('issue 16: coherence never confirmed since start still quotes how long (it printed "unconfirmed for ? ms")', () => {
    const i = base();
    i.stats.coherence = { ...i.stats.coherence, outage: true, confirmedAgoMs: null, unconfirmedForMs: 1234 };
    const text = evaluateRules(i).map((r) => r.recommendation).join(' ');
    expect(text).not.toContain('?');
    expect(text).toMatch(/unconfirmed for 1234 ms \(never confirmed since start\)/);
  });

  it('every rule is documented and covered above', () => {
    expect(HEALTH_RULES.map((r) => r.id).sort()).toEqual(cases.map((c) => c[0]).sort());
    for (const r of HEALTH_RULES) expect(r.doc.length).toBeGreaterThan(20);
  });

  it('live: a too-small L1 under traffic gets the l1-too-small recommendation', async () => {
    const cache = createIntegratedCache({ l1MaxSize: 50, logLevel: 'silent' });
    await cache.initialize();
    open.push(cache);
    for (let i = 0; i < 3000; i++) await cache.getOrSet(`k${(i * 7919) % 500}`, () => i);
    const h = await cache.healthCheck();
    expect(h.recommendations.some((r) => r.startsWith('[l1-too-small]'))).toBe(true);
  });
});

describe('metrics: Prometheus and OpenTelemetry', () => {
  it('cache.metrics() exposes the live figures with Prometheus names; the HTTP handler serves them', async () => {
    const { createServer } = await import('node:http');
    const cache = createIntegratedCache({ logLevel: 'silent', namespace: 'promtest' });
    await cache.initialize();
    open.push(cache);
    await cache.set('a', 1);
    await cache.get('a');
    await cache.get('missing');
    await cache.getOrSet('loaded', () => 2);
    const text = await cache.metrics();
    expect(text).toMatch(/^tiercache_hits_total\{tier="l1",namespace="promtest"\} 1$/m);
    expect(text).toMatch(/^tiercache_misses_total\{namespace="promtest"\} 2$/m);
    expect(text).toMatch(/^tiercache_sets_total\{namespace="promtest"\} 2$/m);
    expect(text).toMatch(/# TYPE tiercache_operation_duration_seconds histogram/);
    expect(text).toMatch(/^tiercache_operation_duration_seconds_bucket\{le="\+Inf",operation="getOrSet",namespace="promtest"\} 1$/m);
    expect(text).toMatch(/^tiercache_operation_duration_seconds_count\{operation="getOrSet",namespace="promtest"\} 1$/m);
    const server = createServer(cache.metricsHandler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await res.text()).toContain('tiercache_l1_entries');
    server.close();
  });

  it('an OpenTelemetry meter receives the same figures', async () => {
    const callbacks: ((r: { observe: (inst: { name: string }, v: number, attrs?: Record<string, string>) => void }) => void)[] = [];
    const instrument = (name: string) => ({ name });
    const meter = {
      createObservableCounter: instrument,
      createObservableGauge: instrument,
      createObservableUpDownCounter: instrument,
      addBatchObservableCallback: (cb: (typeof callbacks)[number]) => void callbacks.push(cb),
    };
    const cache = createIntegratedCache({ logLevel: 'silent', meter: meter as never });
    await cache.initialize();
    open.push(cache);
    await cache.set('a', 1);
    await cache.get('a');
    const seen: Record<string, number> = {};
    for (const cb of callbacks) cb({ observe: (inst, v, attrs) => void (seen[`${inst.name}${attrs?.tier ? `:${attrs.tier}` : ''}`] = v) });
    expect(seen['tiercache.hits:l1']).toBe(1);
    expect(seen['tiercache.hit_ratio']).toBe(1);
    expect(seen['tiercache.l1.entries']).toBe(1);
  });
});
