import { CacheStateError } from '../errors.js';
import type { MemoryTier } from '../tiers/memory/memory_tier.js';

/**
 * What the tuning functions (quickTune, autoOptimize) reach below the facade: the live L1 and its
 * resize. Kept in a module-private registry rather than on the cache object, so that no public
 * object has a getter returning a raw tier. This module is not exported from the package.
 */
export interface CacheInternals {
  /** The current L1, or null (L1 off, or the cache not ready). */
  l1(): MemoryTier | null;
  /** Resizes L1 (see IntegratedCacheManager.resizeL1). */
  resizeL1(maxEntries: number): number;
  /** Admits an ADMIN-only operation through the cache's guard chain (refused and audited otherwise). */
  admit(op: string, sessionId: string | undefined): Promise<void>;
}

const registry = new WeakMap<object, CacheInternals>();

export function registerInternals(cache: object, internals: CacheInternals): void {
  registry.set(cache, internals);
}

export function internalsOf(cache: object): CacheInternals {
  const i = registry.get(cache);
  if (i === undefined) throw new CacheStateError('not a tiercache cache');
  return i;
}
