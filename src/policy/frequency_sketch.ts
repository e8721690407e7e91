/**
 * A 4-bit count-min sketch estimating how often a key hash was seen recently (TinyLFU).
 * After Caffeine's `FrequencySketch`: 4 counters per key in a table sized to the cache, each
 * saturating at 15; when the number of increments reaches 10 × the cache size, every counter is
 * halved ("aging"), so the sketch tracks recent popularity, not all-time counts.
 *
 * Layout: 8 counters per Uint32 word. Memory: about two words per cache slot (8 bytes/entry).
 */
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];

export class FrequencySketch {
  readonly #table: Uint32Array;
  readonly #counterMask: number;
  readonly #sampleSize: number;
  #additions = 0;
  /** Times the counters were halved (observability, tests). */
  resets = 0;

  constructor(maximum: number) {
    // 16 counters per power-of-two of the maximum, as Caffeine sizes its table.
    let words = 8;
    while (words < 2 * maximum) words <<= 1;
    this.#table = new Uint32Array(words);
    this.#counterMask = words * 8 - 1;
    this.#sampleSize = Math.max(10, 10 * maximum);
  }

  /** The estimated recent frequency of `hash`, 0..15. */
  frequency(hash: number): number {
    let min = 15;
    for (let i = 0; i < 4; i++) {
      const idx = this.#index(hash, i);
      const v = (this.#table[idx >>> 3] >>> ((idx & 7) << 2)) & 0xf;
      if (v < min) min = v;
    }
    return min;
  }

  increment(hash: number): void {
    // Every counter is raised, not only the minimum ones: conservative update measured worse on
    // loop traces here (docs/decisions.md).
    let added = false;
    for (let i = 0; i < 4; i++) {
      const idx = this.#index(hash, i);
      const word = idx >>> 3;
      const shift = (idx & 7) << 2;
      if (((this.#table[word] >>> shift) & 0xf) < 15) {
        this.#table[word] += 1 << shift;
        added = true;
      }
    }
    if (added && ++this.#additions >= this.#sampleSize) this.#reset();
  }

  clear(): void {
    this.#table.fill(0);
    this.#additions = 0;
  }

  #index(hash: number, i: number): number {
    let h = Math.imul(hash ^ (hash >>> 15), SEEDS[i]);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 16;
    return h & this.#counterMask;
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
