/**
 * A bounded FIFO of key hashes recently sent away, with O(1) lookup. Hashes only: no keys, no
 * values. Each entry carries two stamps: the count of the event that sent it away (a window spill,
 * a main eviction) and the request count at that moment. On a miss, `find` locates the hash and
 * the stamps say how far back it left, in events and in requests.
 *
 * Storage is typed arrays only: a ring of (hash, stamps) and an open-addressing index (linear
 * probing, backward-shift deletion) from hash to ring position. Stamps are 32-bit and compared
 * with wrapping subtraction, so depths stay right as long as they are below 2^32.
 * About 12 bytes per ring entry plus 8 per index slot (load ≤ 1/2).
 */
export class GhostList {
  readonly #hashes: Int32Array;
  readonly #eventSeq: Uint32Array;
  readonly #requestSeq: Uint32Array;
  readonly #slotKeys: Int32Array;
  /** Ring position + 1 of the entry for the key in the same index slot; 0 = empty slot. */
  readonly #slotPos: Int32Array;
  readonly #mask: number;
  #oldest = 0;
  #length = 0;
  #size = 0;

  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    this.#hashes = new Int32Array(n);
    this.#eventSeq = new Uint32Array(n);
    this.#requestSeq = new Uint32Array(n);
    let t = 4;
    while (t < 2 * n) t <<= 1;
    this.#slotKeys = new Int32Array(t);
    this.#slotPos = new Int32Array(t);
    this.#mask = t - 1;
  }

  /** Hashes currently remembered. */
  get size(): number {
    return this.#size;
  }

  push(hash: number, eventSeq: number, requestSeq: number): void {
    const n = this.#hashes.length;
    if (this.#length === n) this.#dropOldest();
    let pos = this.#oldest + this.#length;
    if (pos >= n) pos -= n;
    const h = hash | 0;
    this.#hashes[pos] = h;
    this.#eventSeq[pos] = eventSeq >>> 0;
    this.#requestSeq[pos] = requestSeq >>> 0;
    this.#length++;
    // Insert or repoint the index entry for h.
    const keys = this.#slotKeys;
    const ptr = this.#slotPos;
    let i = spread(h) & this.#mask;
    while (ptr[i] !== 0) {
      if (keys[i] === h) {
        ptr[i] = pos + 1;
        return;
      }
      i = (i + 1) & this.#mask;
    }
    keys[i] = h;
    ptr[i] = pos + 1;
    this.#size++;
  }

  /** Ring position of `hash`, or -1 if it is not remembered. */
  find(hash: number): number {
    const h = hash | 0;
    const keys = this.#slotKeys;
    const ptr = this.#slotPos;
    let i = spread(h) & this.#mask;
    while (ptr[i] !== 0) {
      if (keys[i] === h) return ptr[i] - 1;
      i = (i + 1) & this.#mask;
    }
    return -1;
  }

  /** Events since the entry at `pos` left, given the current event count. */
  eventDepth(pos: number, now: number): number {
    return ((now >>> 0) - this.#eventSeq[pos]) >>> 0;
  }

  /** Requests since the entry at `pos` left, given the current request count. */
  requestDepth(pos: number, now: number): number {
    return ((now >>> 0) - this.#requestSeq[pos]) >>> 0;
  }

  /** Forgets `hash` (it came back: one ghost hit must not count twice). Its ring slot ages out. */
  forget(hash: number): void {
    this.#remove(hash | 0, -1);
  }

  clear(): void {
    this.#slotPos.fill(0);
    this.#oldest = 0;
    this.#length = 0;
    this.#size = 0;
  }

  #dropOldest(): void {
    const pos = this.#oldest;
    // Only if the index still points at this ring entry (a later push of the same hash moved it).
    this.#remove(this.#hashes[pos], pos);
    this.#oldest = pos + 1 === this.#hashes.length ? 0 : pos + 1;
    this.#length--;
  }

  /** Removes `h` from the index (only if it points at `pos`, unless pos is -1). */
  #remove(h: number, pos: number): void {
    const keys = this.#slotKeys;
    const ptr = this.#slotPos;
    const mask = this.#mask;
    let i = spread(h) & mask;
    while (ptr[i] !== 0) {
      if (keys[i] === h) break;
      i = (i + 1) & mask;
    }
    if (ptr[i] === 0 || (pos >= 0 && ptr[i] !== pos + 1)) return;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    let hole = i;
    let j = (i + 1) & mask;
    while (ptr[j] !== 0) {
      const home = spread(keys[j]) & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j];
        ptr[hole] = ptr[j];
        hole = j;
      }
      j = (j + 1) & mask;
    }
    ptr[hole] = 0;
    this.#size--;
  }
}

function spread(h: number): number {
  const x = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return x ^ (x >>> 16);
}
