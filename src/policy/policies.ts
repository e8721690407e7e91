import { AdaptiveTinyLfuPolicy } from './adaptive_tinylfu_policy.js';
import type { PolicyFactory } from './eviction_policy.js';
import { LruPolicy } from './lru_policy.js';

/** Policies known by name: the L1's `l1Policy` option, the simulator and `tiercache replay`. */
export const POLICIES: Record<string, PolicyFactory> = {
  lru: (slots) => new LruPolicy(slots),
  'adaptive-tinylfu': (slots) => new AdaptiveTinyLfuPolicy(slots),
};

export const DEFAULT_POLICY = 'adaptive-tinylfu';
