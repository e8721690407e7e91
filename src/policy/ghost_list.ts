/**
 * A bounded FIFO of key hashes recently sent away, each with the sequence number of the event
 * that sent it (a window spill, a main eviction), and O(1) lookup. Hashes only: no keys, no values.
 * `depthOf(hash, now)` says how many events ago the key left, which is how much larger the region
 * it left would have had to be to keep it.
 */
export class GhostList {
  readonly #ring: Int32Array;
  readonly #seqOf = new Map<number, number>();
  #oldest = 0;
  #length = 0;

  constructor(capacity: number) {
    this.#ring = new Int32Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.#seqOf.size;
  }

  push(hash: number, seq: number): void {
    const ring = this.#ring;
    if (this.#length === ring.length) this.#dropOldest();
    const h = hash | 0;
    ring[(this.#oldest + this.#length) % ring.length] = h;
    this.#length++;
    this.#seqOf.set(h, seq);
  }

  /** Events since `hash` left (`now - its seq`), or -1 if it is not remembered. */
  depthOf(hash: number, now: number): number {
    const seq = this.#seqOf.get(hash | 0);
    return seq === undefined ? -1 : now - seq;
  }

  /** Forgets `hash` (it came back: one ghost hit must not count twice). Its ring slot ages out. */
  forget(hash: number): void {
    this.#seqOf.delete(hash | 0);
  }

  clear(): void {
    this.#seqOf.clear();
    this.#oldest = 0;
    this.#length = 0;
  }

  #dropOldest(): void {
    const old = this.#ring[this.#oldest];
    this.#oldest = (this.#oldest + 1) % this.#ring.length;
    this.#length--;
    // A later push of the same hash re-set its seq; only drop the entry if no newer push exists.
    // (Approximate: the newest push wins; an older ring copy aging out may drop it early.)
    this.#seqOf.delete(old);
  }
}
