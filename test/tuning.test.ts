import { describe, expect, it } from 'vitest';
import { zipfSampler } from '../src/util/zipf.js';
import { autoOptimize, createIntegratedCache, PerformanceGoal, quickTune, type IntegratedCacheManager } from '../src/index.js';

/** A seeded Zipf(α) key stream over n keys. */
function zipf(n: number, alpha: number, seed: number): () => string {
  let s = seed >>> 0;
  const rank = zipfSampler(n, alpha, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
  return () => `item:${rank()}`;
}

/** Read-through traffic until `stop()`: yields to the event loop every 500 reads. */
function traffic(cache: IntegratedCacheManager, next: () => string) {
  let running = true;
  const done = (async () => {
    let i = 0;
    while (running) {
      const k = next();
      await cache.getOrSet(k, () => ({ k }));
      if (++i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  return { stop: async () => { running = false; await done; } };
}

describe('tuning from live traffic', () => {
  it('quickTune on a too-small L1 predicts the hit rate at the recommended size within 3 points of what is then measured; autoOptimize reports the measured gain', async () => {
    const cache = createIntegratedCache({ l1MaxSize: 1000, logLevel: 'silent' });
    await cache.initialize();
    const load = traffic(cache, zipf(50_000, 0.9, 42));
    try {
      // Warm the small L1 first.
      await new Promise((r) => setTimeout(r, 300));
      const result = await autoOptimize(cache, PerformanceGoal.MAXIMIZE_HIT_RATE, { accesses: 300_000, warmupAccesses: 1_500_000 });
      const rec = result.applied[0];
      console.log(
        `quickTune: ${result.report.samples} samples (rate ${result.report.samplingRate.toFixed(3)}), measured ${(result.before * 100).toFixed(1)}% vs predicted ${(result.report.predictedAtCurrent * 100).toFixed(1)}% at ${result.report.currentL1Size}; ` +
          `applied ${rec?.description}; after: measured ${(result.after * 100).toFixed(1)}%, gain ${result.measuredGain.toFixed(1)} points (predicted ${result.predictedGain.toFixed(1)})`,
      );
      expect(rec?.kind).toBe('resize-l1');
      expect(result.optimizationsApplied).toEqual([rec?.description]);
      expect(result.report.getTopRecommendations(1)[0].title).toMatch(/^Grow L1 to \d+ entries$/);
      expect(rec?.change.to as number).toBeGreaterThan(1000);
      const predicted = result.report.curve.find((p) => p.size === rec?.change.to)?.hitRatio as number;
      expect(Math.abs(predicted - result.after) * 100).toBeLessThanOrEqual(3);
      expect(result.measuredGain).toBeGreaterThan(5);
      expect((await cache.healthCheck()).l1MaxSize).toBe(rec?.change.to);
    } finally {
      await load.stop();
      await cache.close();
    }
  }, 120_000);

  it('quickTune also ranks compression (from sampled values) and flags hot keys that expire while hot', async () => {
    const cache = createIntegratedCache({ l1MaxSize: 5000, enableCompression: false, defaultTtl: 0.05, logLevel: 'silent' });
    await cache.initialize();
    const next = zipf(2000, 1.0, 7);
    let running = true;
    const load = (async () => {
      let i = 0;
      while (running) {
        const k = next();
        await cache.getOrSet(k, () => ({ k, text: 'the same words again and again, '.repeat(20) }));
        if (++i % 200 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    try {
      const report = await quickTune(cache, { accesses: 60_000 });
      const kinds = report.recommendations.map((r) => r.kind);
      expect(kinds).toContain('enable-compression');
      expect(kinds).toContain('extend-ttl');
      expect(report.hotKeysRemissed.length).toBeGreaterThan(0);
      expect(report.expirationsInWindow).toBeGreaterThan(0);
      // The TTL curve: longer TTLs predict more hits for this hot set.
      expect(report.ttlCurve.at(-1)!.hitRatio).toBeGreaterThan(report.ttlCurve[0].hitRatio + 0.01);
    } finally {
      running = false;
      await load;
      await cache.close();
    }
  }, 60_000);
});
