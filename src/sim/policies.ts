import { AdaptiveTinyLfuPolicy } from '../policy/adaptive_tinylfu_policy.js';
import type { PolicyFactory } from '../policy/eviction_policy.js';
import { LruPolicy } from '../policy/lru_policy.js';

/** Policies the simulator and the `replay` command know by name. */
export const POLICIES: Record<string, PolicyFactory> = {
  lru: (slots) => new LruPolicy(slots),
  'adaptive-tinylfu': (slots) => new AdaptiveTinyLfuPolicy(slots),
};

export const DEFAULT_POLICY = 'adaptive-tinylfu';
