import { MemoryTier } from '../tiers/memory/memory_tier.js';
import type { PolicyFactory } from '../policy/eviction_policy.js';
import { ManualClock } from '../core/clock.js';

export interface CurvePoint {
  /** Full-size L1 entries. */
  size: number;
  /** Predicted L1 hit ratio at that size, 0..1. */
  hitRatio: number;
}

/**
 * The hit ratio the L1 would have at each of `sizes`, predicted by miniature simulation
 * (Waldspurger et al., ATC '17): the real policy and memory tier replay the spatially sampled
 * accesses with the cache scaled by the sampling rate. Unlike an LRU stack-distance curve this
 * models the actual admission/eviction policy.
 *
 * Steady state, not cold start: the sample is replayed twice and only the second pass counts.
 * A window of a few seconds is too short to warm a large mini-cache, and the live cache being
 * tuned is warm; counting a single cold pass under-predicted a 16x larger L1 by 6.7 points
 * (test/tuning.test.ts), two passes land within the measured figure's noise.
 */
export function missRatioCurve(keys: readonly string[], rate: number, sizes: readonly number[], policy: PolicyFactory): CurvePoint[] {
  return sizes.map((size) => ({ size, hitRatio: simulate(keys, null, rate, size, 0, policy) }));
}

export interface TtlPoint {
  /** TTL in seconds. */
  ttl: number;
  hitRatio: number;
}

/**
 * The hit ratio at the current L1 size for each TTL in `ttls` (seconds): the same miniature
 * simulation, with the sampled accesses' real times on a manual clock, each entry stored to
 * expire `ttl` after its fill. (The second pass is shifted by the sample's span, so time runs on.)
 */
export function ttlCurve(keys: readonly string[], times: readonly number[], rate: number, size: number, ttls: readonly number[], policy: PolicyFactory): TtlPoint[] {
  return ttls.map((ttl) => ({ ttl, hitRatio: simulate(keys, times, rate, size, ttl * 1000, policy) }));
}

function simulate(keys: readonly string[], times: readonly number[] | null, rate: number, size: number, ttlMs: number, policy: PolicyFactory): number {
  const scaled = Math.max(1, Math.round(size * rate));
  const clock = new ManualClock(times?.[0] ?? 0);
  const tier = new MemoryTier<number>({ maxEntries: scaled, policy, clock });
  const span = times === null || times.length === 0 ? 0 : times[times.length - 1] - times[0] + 1;
  let hits = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < keys.length; i++) {
      if (times !== null) {
        const t = times[i] + pass * span;
        if (t > clock.now()) clock.advance(t - clock.now());
      }
      const k = keys[i];
      const hit = tier.get(k) !== undefined;
      if (!hit) tier.set(k, 1, ttlMs > 0 ? clock.now() + ttlMs : 0, 0);
      else if (pass === 1) hits++;
    }
  }
  return keys.length === 0 ? 0 : hits / keys.length;
}
