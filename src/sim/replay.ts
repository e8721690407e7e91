import type { PolicyFactory } from '../policy/eviction_policy.js';
import { MemoryTier } from '../tiers/memory/memory_tier.js';
import type { Trace } from './trace.js';

/**
 * Replays `trace` through the real L1 (`MemoryTier`) with `policy`, counted as
 * ../shared/traces/README.md says: a key present is a hit; a key absent is a miss and is then
 * inserted (weight 1, no expiry). Returns the hit ratio in percent.
 */
export function replay(trace: Trace, size: number, policy: PolicyFactory): number {
  const tier = new MemoryTier<number>({ maxEntries: size, policy });
  const { ids, keys } = trace;
  let hits = 0;
  for (let i = 0; i < ids.length; i++) {
    const key = keys[ids[i]];
    if (tier.get(key) !== undefined) hits++;
    else tier.set(key, 1, 0, 1);
  }
  return ids.length === 0 ? 0 : (hits / ids.length) * 100;
}
