/**
 * A 4-bit count-min sketch estimating how often a key hash was seen recently (TinyLFU).
 * After Caffeine's `FrequencySketch`: 4 counters per key in a table sized to the cache, each
 * saturating at 15; when the number of increments reaches 10 × the cache size, every counter is
 * halved ("aging"), so the sketch tracks recent popularity, not all-time counts.
 *
 * Layout: 8 counters per Uint32 word; a key's 4 counters sit in one 64-byte block (16 words) picked
 * by one hash, their positions in it by another, so an increment touches one cache line (as in
 * Caffeine 3). Memory: about two words per cache slot (8 bytes/entry), at least 4 KiB.
 */

export class FrequencySketch {
  readonly #table: Uint32Array;
  readonly #blockMask: number;
  readonly #sampleSize: number;
  #additions = 0;
  /** Times the counters were halved (observability, tests). */
  resets = 0;

  constructor(maximum: number) {
    // 16 counters per power-of-two of the maximum, as Caffeine sizes its table, and at least 8,192
    // counters (4 KiB): small caches are where collisions cost the most hit ratio.
    let words = 1024;
    while (words < 2 * maximum) words <<= 1;
    this.#table = new Uint32Array(words);
    this.#blockMask = words / 16 - 1;
    this.#sampleSize = Math.max(10, 10 * maximum);
  }

  /** The estimated recent frequency of `hash`, 0..15. */
  frequency(hash: number): number {
    // The 4 counters live in one 64-byte block (16 words), as in Caffeine: one cache line a key.
    const h = mix1(hash);
    const block = (h & this.#blockMask) << 4;
    const g = mix2(hash);
    const t = this.#table;
    let min = (t[block + (g & 15)] >>> (((g >>> 4) & 7) << 2)) & 0xf;
    let v = (t[block + ((g >>> 8) & 15)] >>> (((g >>> 12) & 7) << 2)) & 0xf;
    if (v < min) min = v;
    v = (t[block + ((g >>> 16) & 15)] >>> (((g >>> 20) & 7) << 2)) & 0xf;
    if (v < min) min = v;
    v = (t[block + ((g >>> 24) & 15)] >>> (((g >>> 28) & 7) << 2)) & 0xf;
    return v < min ? v : min;
  }

  increment(hash: number): void {
    // Every counter is raised, not only the minimum ones: conservative update measured worse on
    // loop traces here (docs/decisions.md). Unrolled: this runs on every L1 hit.
    const h = mix1(hash);
    const block = (h & this.#blockMask) << 4;
    const g = mix2(hash);
    const t = this.#table;
    let added = 0;
    let w = block + (g & 15);
    let sh = ((g >>> 4) & 7) << 2;
    if (((t[w] >>> sh) & 0xf) !== 15) {
      t[w] += 1 << sh;
      added = 1;
    }
    w = block + ((g >>> 8) & 15);
    sh = ((g >>> 12) & 7) << 2;
    if (((t[w] >>> sh) & 0xf) !== 15) {
      t[w] += 1 << sh;
      added = 1;
    }
    w = block + ((g >>> 16) & 15);
    sh = ((g >>> 20) & 7) << 2;
    if (((t[w] >>> sh) & 0xf) !== 15) {
      t[w] += 1 << sh;
      added = 1;
    }
    w = block + ((g >>> 24) & 15);
    sh = ((g >>> 28) & 7) << 2;
    if (((t[w] >>> sh) & 0xf) !== 15) {
      t[w] += 1 << sh;
      added = 1;
    }
    if (added !== 0 && ++this.#additions >= this.#sampleSize) this.#reset();
  }

  clear(): void {
    this.#table.fill(0);
    this.#additions = 0;
  }

  /** Halves every counter; `additions` drops by half plus the odd counts lost to truncation. */
  #reset(): void {
    let odd = 0;
    const t = this.#table;
    for (let i = 0; i < t.length; i++) {
      const w = t[i];
      odd += popcount(w & 0x11111111);
      t[i] = (w >>> 1) & 0x77777777;
    }
    this.#additions = (this.#additions - (odd >>> 2)) >>> 1;
    this.resets++;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function mix1(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  return x ^ (x >>> 15);
}

function mix2(x: number): number {
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return x ^ (x >>> 16);
}
