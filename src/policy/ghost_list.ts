/**
 * A bounded FIFO of key hashes recently sent away, with O(1) lookup. Hashes only: no keys, no
 * values. Each entry carries two stamps: the count of the event that sent it away (a window spill,
 * a main eviction) and the request count at that moment. On a miss, `find` locates the hash and
 * the stamps say how far back it left, in events and in requests.
 */
export class GhostList {
  readonly #hashes: Int32Array;
  readonly #eventSeq: Float64Array;
  readonly #requestSeq: Float64Array;
  readonly #indexOf = new Map<number, number>();
  #oldest = 0;
  #length = 0;

  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    this.#hashes = new Int32Array(n);
    this.#eventSeq = new Float64Array(n);
    this.#requestSeq = new Float64Array(n);
  }

  get size(): number {
    return this.#indexOf.size;
  }

  push(hash: number, eventSeq: number, requestSeq: number): void {
    const n = this.#hashes.length;
    if (this.#length === n) this.#dropOldest();
    const i = (this.#oldest + this.#length) % n;
    const h = hash | 0;
    this.#hashes[i] = h;
    this.#eventSeq[i] = eventSeq;
    this.#requestSeq[i] = requestSeq;
    this.#length++;
    this.#indexOf.set(h, i);
  }

  /** Ring index of `hash`, or -1 if it is not remembered. */
  find(hash: number): number {
    return this.#indexOf.get(hash | 0) ?? -1;
  }

  eventSeqAt(i: number): number {
    return this.#eventSeq[i];
  }

  requestSeqAt(i: number): number {
    return this.#requestSeq[i];
  }

  /** Forgets `hash` (it came back: one ghost hit must not count twice). Its ring slot ages out. */
  forget(hash: number): void {
    this.#indexOf.delete(hash | 0);
  }

  clear(): void {
    this.#indexOf.clear();
    this.#oldest = 0;
    this.#length = 0;
  }

  #dropOldest(): void {
    const i = this.#oldest;
    const h = this.#hashes[i];
    if (this.#indexOf.get(h) === i) this.#indexOf.delete(h);
    this.#oldest = (i + 1) % this.#hashes.length;
    this.#length--;
  }
}
