/**
 * A bounded FIFO of key hashes recently sent away, with O(1) membership: ARC's B1/B2 lists,
 * holding hashes only (no keys, no values). The bound can move (`limit`): ARC keeps
 * |T1| + |B1| <= c, so a ghost hit means "a split that much larger would have kept this key",
 * not merely "seen some time ago". A hash pushed twice is counted, so removal stays exact.
 */
export class GhostList {
  readonly #ring: Int32Array;
  readonly #counts = new Map<number, number>();
  #oldest = 0;
  #length = 0;
  /** Current bound, at most the capacity given at construction. */
  limit: number;

  constructor(capacity: number) {
    this.#ring = new Int32Array(Math.max(1, capacity));
    this.limit = this.#ring.length;
  }

  get size(): number {
    return this.#length;
  }

  has(hash: number): boolean {
    return this.#counts.has(hash | 0);
  }

  push(hash: number): void {
    const ring = this.#ring;
    const limit = Math.max(0, Math.min(this.limit, ring.length));
    while (this.#length >= limit && this.#length > 0) this.#dropOldest();
    if (limit === 0) return;
    const h = hash | 0;
    ring[(this.#oldest + this.#length) % ring.length] = h;
    this.#length++;
    this.#counts.set(h, (this.#counts.get(h) ?? 0) + 1);
  }

  /** Drops entries beyond the current `limit`, oldest first. */
  trim(): void {
    while (this.#length > this.limit && this.#length > 0) this.#dropOldest();
  }

  /** Forgets `hash` (it came back: one ghost hit must not steer twice). Its ring slot ages out. */
  forget(hash: number): void {
    this.#counts.delete(hash | 0);
  }

  clear(): void {
    this.#counts.clear();
    this.#oldest = 0;
    this.#length = 0;
  }

  #dropOldest(): void {
    const old = this.#ring[this.#oldest];
    this.#oldest = (this.#oldest + 1) % this.#ring.length;
    this.#length--;
    const c = this.#counts.get(old);
    if (c !== undefined) {
      if (c <= 1) this.#counts.delete(old);
      else this.#counts.set(old, c - 1);
    }
  }
}
