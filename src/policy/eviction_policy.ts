/**
 * The contract between the L1 store (mechanism) and an eviction/admission policy, kept apart as in
 * Caffeine's simulator: the store owns slots (key, value, expiry, weight); the policy only orders
 * slot numbers and picks victims. Slots are small integers in [0, capacity), so a policy keeps its
 * bookkeeping in typed arrays and allocates nothing per access.
 *
 * Admission fits the same contract: the store inserts the candidate first and then evicts
 * `victim()` until it is within bounds; a policy that refuses a candidate simply names the
 * candidate's own slot as the victim.
 */
export interface EvictionPolicy {
  readonly name: string;
  /** Entries the policy tracks (equals the store's live entries: checked by the invariant tests). */
  readonly size: number;
  /** A hit on a live slot. */
  onAccess(slot: number): void;
  /** A new entry was placed in `slot`; `keyHash` is a 32-bit hash of its key (for frequency sketches). */
  onInsert(slot: number, keyHash: number, weight: number): void;
  /** An existing entry in `slot` was overwritten (counts as an access). */
  onUpdate(slot: number, oldWeight: number, newWeight: number): void;
  /** The entry in `slot` left the store (delete, expiry, eviction, clear); the slot may be reused. */
  onRemove(slot: number): void;
  /**
   * The slot to evict now, or -1 when the policy tracks nothing. Called only when the store will
   * evict: the store removes the returned slot at once (through `onRemove`), so a policy may
   * update its own bookkeeping here (admission decisions, ghost entries).
   */
  victim(): number;
  /** Forget everything (the store was cleared). */
  reset(): void;
}

/** Builds a policy for a store with `capacity` slots. */
export type PolicyFactory = (capacity: number) => EvictionPolicy;

/** Smallest unsigned typed array that can hold slot numbers below `max` (lru-cache `getUintArray`). */
export function uintArrayFor(max: number, length: number): Uint8Array | Uint16Array | Uint32Array {
  if (max <= 2 ** 8) return new Uint8Array(length);
  if (max <= 2 ** 16) return new Uint16Array(length);
  return new Uint32Array(length);
}
