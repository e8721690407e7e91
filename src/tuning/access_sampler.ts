import { hashKey } from '../util/hash.js';

/**
 * SHARDS spatial sampling (Waldspurger et al., FAST '15): a key is in the sample iff
 * hash(key) mod 2^24 < rate × 2^24, so a sampled key is sampled on every access (its reuse
 * pattern survives) and the sample is a `rate` fraction of the keys. A cache of C entries over
 * the full stream behaves like a cache of C × rate entries over the sample.
 */
export class AccessSampler {
  readonly rate: number;
  readonly #threshold: number;
  readonly #max: number;
  readonly keys: string[] = [];
  /** When each sampled access happened (ms, Date.now()): TTL predictions replay time too. */
  readonly times: number[] = [];
  /** `seen` before each sampled access: how many accesses, sampled or not, preceded it (SHARDS-adj). */
  readonly seenAt: number[] = [];
  /** Accesses seen (sampled or not). */
  seen = 0;

  constructor(rate: number, maxSamples = 200_000) {
    if (!(rate > 0 && rate <= 1)) throw new RangeError('sampling rate must be in (0, 1]');
    this.rate = rate;
    this.#threshold = Math.floor(rate * 0x1000000);
    this.#max = maxSamples;
  }

  /** Whether `key` is in the spatial sample (the same answer on every call). */
  includes(key: string): boolean {
    // Re-mixed and top bits: the policies' sketches index by the low bits of hashKey, and a sample
    // selected on those bits would crowd the mini-simulation's sketch.
    return Math.imul(hashKey(key), 0x9e3779b1) >>> 8 < this.#threshold;
  }

  /** Bound function for the L1 access sampler (l1Internals(tier).setAccessSampler). */
  readonly record = (key: string): void => {
    this.seen++;
    if (this.keys.length < this.#max && this.includes(key)) {
      this.keys.push(key);
      this.times.push(Date.now());
      this.seenAt.push(this.seen - 1);
    }
  };

  get full(): boolean {
    return this.keys.length >= this.#max;
  }
}
