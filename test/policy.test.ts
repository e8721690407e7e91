import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { AdaptiveTinyLfuPolicy } from '../src/policy/adaptive_tinylfu_policy.js';
import type { PolicyFactory } from '../src/policy/eviction_policy.js';
import { FrequencySketch } from '../src/policy/frequency_sketch.js';
import { LruPolicy } from '../src/policy/lru_policy.js';
import { l1Internals, MemoryTier } from '../src/tiers/memory/memory_tier.js';
import { hashKey } from '../src/util/hash.js';

const POLICIES: [string, PolicyFactory][] = [
  ['lru', (s) => new LruPolicy(s)],
  ['adaptive-tinylfu', (s) => new AdaptiveTinyLfuPolicy(s)],
  // small steps and periods make the window move often inside a short random run
  ['adaptive-tinylfu (fast adaptation)', (s) => new AdaptiveTinyLfuPolicy(s, { step: 0.2, period: 0.1 })],
];

describe.each(POLICIES)('MemoryTier with %s', (_name, policy) => {
  it('never exceeds its bounds, never serves deleted, overwritten or expired values (random operations)', () => {
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 60 }), weight: fc.integer({ min: 0, max: 80 }), ttl: fc.integer({ min: 0, max: 60 }) }) },
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 60 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 60 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 25 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 400 }), fc.array(op, { maxLength: 400 }), (maxEntries, maxBytes, ops) => {
        const clock = new ManualClock();
        const t = new MemoryTier<string>({ maxEntries, maxBytes, clock, policy });
        const model = new Map<string, { v: string; exp: number }>();
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'set') {
            const k = `k${o.key}`;
            const v = `v${n++}`;
            const exp = o.ttl === 0 ? 0 : clock.now() + o.ttl;
            t.set(k, v, exp, o.weight);
            model.set(k, { v, exp });
          } else if (o.kind === 'get') {
            const got = t.get(`k${o.key}`);
            if (got !== undefined) {
              const m = model.get(`k${o.key}`);
              expect(m?.v).toBe(got);
              expect(m!.exp === 0 || m!.exp > clock.now()).toBe(true);
            }
          } else if (o.kind === 'delete') {
            t.delete(`k${o.key}`);
            model.delete(`k${o.key}`);
          } else if (o.kind === 'clear') {
            t.clear();
            model.clear();
          } else clock.advance(o.ms);
          expect(t.size).toBeLessThanOrEqual(maxEntries);
          if (maxBytes > 0) expect(t.bytes).toBeLessThanOrEqual(maxBytes);
          expect(l1Internals(t).policySize()).toBe(t.size);
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('is deterministic: the same accesses give the same hits', () => {
    const run = (): number => {
      const t = new MemoryTier<number>({ maxEntries: 50, policy });
      let hits = 0;
      let x = 12345;
      for (let i = 0; i < 20_000; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const k = String(Math.floor((x / 2 ** 32) ** 2 * 400));
        if (t.get(k) !== undefined) hits++;
        else t.set(k, i, 0, 1);
      }
      return hits;
    };
    expect(run()).toBe(run());
  });
});

describe('AdaptiveTinyLfuPolicy', () => {
  it('keeps frequent keys through a scan that would flush an LRU', () => {
    const hits = (policy: PolicyFactory): number => {
      const t = new MemoryTier<number>({ maxEntries: 100, policy });
      let h = 0;
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 50; i++) {
          const k = `hot${i}`;
          if (t.get(k) !== undefined) h++;
          else t.set(k, 1, 0, 1);
        }
        for (let i = 0; i < 200; i++) t.set(`scan${round}-${i}`, 1, 0, 1); // one-off keys
      }
      return h;
    };
    const lru = hits((s) => new LruPolicy(s));
    const tinylfu = hits((s) => new AdaptiveTinyLfuPolicy(s));
    expect(lru).toBe(0);
    expect(tinylfu).toBeGreaterThan(800); // 50 hot keys × 19 rounds = 950 possible
  });

  it('grows the window on a recency-heavy workload and keeps it small on a loop', () => {
    // recency: each key is used three times, ~300 and ~600 requests after it first appears, then
    // never again; an LRU of 1000 keeps every reuse, a 1% window refuses most of them.
    const recencyHits = (policy: PolicyFactory): number => {
      const t = new MemoryTier<number>({ maxEntries: 1000, policy });
      let hits = 0;
      for (let i = 0; i < 300_000; i++) {
        const k = String(Math.floor(i / 3) - (i % 3) * 100);
        if (t.get(k) !== undefined) hits++;
        else t.set(k, 1, 0, 1);
      }
      return hits / 300_000;
    };
    const recency = new AdaptiveTinyLfuPolicy(1001);
    const lruRatio = recencyHits((s) => new LruPolicy(s));
    const fixedRatio = recencyHits((s) => new AdaptiveTinyLfuPolicy(s, { adaptive: false }));
    const adaptiveRatio = recencyHits(() => recency);
    expect(lruRatio).toBeGreaterThan(0.6);
    expect(fixedRatio).toBeLessThan(lruRatio - 0.1);
    expect(recency.windowSize).toBeGreaterThan(300);
    expect(adaptiveRatio).toBeGreaterThan(lruRatio - 0.03);

    const loop = new AdaptiveTinyLfuPolicy(501);
    const t2 = new MemoryTier<number>({ maxEntries: 500, policy: () => loop });
    let hits = 0;
    for (let i = 0; i < 200_000; i++) {
      const k = String(i % 1000);
      if (t2.get(k) !== undefined) hits++;
      else t2.set(k, 1, 0, 1);
    }
    expect(loop.windowSize).toBeLessThanOrEqual(50);
    expect(hits / 200_000).toBeGreaterThan(0.4); // LRU: 0
  });
});

describe('FrequencySketch', () => {
  it('estimates counts, saturates at 15 and halves with age', () => {
    const s = new FrequencySketch(64);
    const a = hashKey('a');
    const b = hashKey('b');
    for (let i = 0; i < 5; i++) s.increment(a);
    expect(s.frequency(a)).toBeGreaterThanOrEqual(5);
    expect(s.frequency(a)).toBeLessThanOrEqual(6);
    expect(s.frequency(b)).toBeLessThanOrEqual(1);
    for (let i = 0; i < 50; i++) s.increment(a);
    expect(s.frequency(a)).toBe(15);
    // 10 × 64 additions trigger a reset that halves every counter
    for (let i = 0; s.resets === 0; i++) s.increment(hashKey(`filler${i}`));
    expect(s.frequency(a)).toBe(7);
  });
});
