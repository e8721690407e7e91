import { type EvictionPolicy, uintArrayFor } from './eviction_policy.js';

/**
 * Least-recently-used order as a doubly linked list over slot numbers in typed arrays.
 * `NIL` (= capacity) marks list ends, so no sentinel objects and no per-entry nodes.
 * Every operation is O(1) and allocation-free.
 */
export class LruPolicy implements EvictionPolicy {
  readonly name = 'lru';
  readonly #nil: number;
  readonly #prev: Uint8Array | Uint16Array | Uint32Array;
  readonly #next: Uint8Array | Uint16Array | Uint32Array;
  #head: number; // least recently used
  #tail: number; // most recently used
  #size = 0;

  constructor(capacity: number) {
    this.#nil = capacity;
    this.#prev = uintArrayFor(capacity + 1, capacity);
    this.#next = uintArrayFor(capacity + 1, capacity);
    this.#head = capacity;
    this.#tail = capacity;
  }

  get size(): number {
    return this.#size;
  }

  onAccess(slot: number): void {
    if (slot !== this.#tail) {
      this.#unlink(slot);
      this.#append(slot);
    }
  }

  onInsert(slot: number): void {
    this.#append(slot);
    this.#size++;
  }

  onUpdate(slot: number): void {
    this.onAccess(slot);
  }

  onRemove(slot: number): void {
    this.#unlink(slot);
    this.#size--;
  }

  victim(): number {
    return this.#head === this.#nil ? -1 : this.#head;
  }

  reset(): void {
    this.#head = this.#nil;
    this.#tail = this.#nil;
    this.#size = 0;
  }

  #append(slot: number): void {
    const nil = this.#nil;
    this.#prev[slot] = this.#tail;
    this.#next[slot] = nil;
    if (this.#tail === nil) this.#head = slot;
    else this.#next[this.#tail] = slot;
    this.#tail = slot;
  }

  #unlink(slot: number): void {
    const nil = this.#nil;
    const p = this.#prev[slot];
    const n = this.#next[slot];
    if (p === nil) this.#head = n;
    else this.#next[p] = n;
    if (n === nil) this.#tail = p;
    else this.#prev[n] = p;
  }
}

export const lruPolicy = (capacity: number): EvictionPolicy => new LruPolicy(capacity);
