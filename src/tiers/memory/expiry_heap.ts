/**
 * Min-heap of (expiry instant, slot, slot version) so eviction can take an expired entry before
 * asking the policy for a victim: an entry past its TTL is worth nothing, whatever its frequency.
 *
 * Lazy deletion: overwrites, deletes and evictions bump the slot's version in the owner, leaving
 * stale heap entries behind; `peek` drops them when they surface.
 * When stale entries outnumber live ones the heap is rebuilt, so it stays O(live entries).
 * Push and pop are O(log n); nothing is allocated per operation except when the arrays grow.
 */
export class ExpiryHeap {
  #at = new Float64Array(64);
  #slot = new Int32Array(64);
  #version = new Uint32Array(64);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(expiresAt: number, slot: number, version: number): void {
    if (this.#size === this.#at.length) this.#grow();
    let i = this.#size++;
    const at = this.#at;
    const sl = this.#slot;
    const ve = this.#version;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[parent] <= expiresAt) break;
      at[i] = at[parent];
      sl[i] = sl[parent];
      ve[i] = ve[parent];
      i = parent;
    }
    at[i] = expiresAt;
    sl[i] = slot;
    ve[i] = version;
  }

  /** The slot of the earliest current expiry, or -1; stale entries surfacing on top are dropped. */
  peek(isCurrent: (slot: number, version: number) => boolean): number {
    while (this.#size > 0) {
      const slot = this.#slot[0];
      if (isCurrent(slot, this.#version[0])) return slot;
      this.#pop();
    }
    return -1;
  }

  peekExpiry(): number {
    return this.#size > 0 ? this.#at[0] : Infinity;
  }

  /** Rebuilds from the live entries when stale ones dominate (called by the owner). */
  compact(live: number, isCurrent: (slot: number, version: number) => boolean): void {
    if (this.#size <= 2 * live + 64) return;
    const at = this.#at.slice(0, this.#size);
    const sl = this.#slot.slice(0, this.#size);
    const ve = this.#version.slice(0, this.#size);
    this.#size = 0;
    for (let i = 0; i < at.length; i++) if (isCurrent(sl[i], ve[i])) this.push(at[i], sl[i], ve[i]);
  }

  clear(): void {
    this.#size = 0;
  }

  #pop(): void {
    const at = this.#at;
    const sl = this.#slot;
    const n = --this.#size;
    if (n === 0) return;
    const ve = this.#version;
    const lastAt = at[n];
    const lastSlot = sl[n];
    const lastVersion = ve[n];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && at[r] < at[l] ? r : l;
      if (at[c] >= lastAt) break;
      at[i] = at[c];
      sl[i] = sl[c];
      ve[i] = ve[c];
      i = c;
    }
    at[i] = lastAt;
    sl[i] = lastSlot;
    ve[i] = lastVersion;
  }

  #grow(): void {
    const at = new Float64Array(this.#at.length * 2);
    at.set(this.#at);
    const sl = new Int32Array(this.#slot.length * 2);
    sl.set(this.#slot);
    const ve = new Uint32Array(this.#version.length * 2);
    ve.set(this.#version);
    this.#at = at;
    this.#slot = sl;
    this.#version = ve;
  }
}
