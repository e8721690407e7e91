/**
 * An entry's TTL from how it is used (the seed's "intelligent TTL"):
 *
 *   ttl = clamp(baseTtl × sqrt((reads + 1) / (writes + 1)), minTtl, maxTtl)
 *
 * with reads and writes counted per key over a decaying window (each count halves every
 * `halfLifeMs`). A key read often and changed rarely earns a longer TTL (fewer reloads of data that
 * does not change); a key changed about as often as it is read gets a shorter one (less staleness
 * between writes that bypass the cache). The square root keeps one burst from swinging the TTL to
 * a bound. Tracks at most `maxKeys` keys (least recently touched dropped first).
 */
export interface AdaptiveTtlOptions {
  /** Seconds. */
  baseTtl: number;
  /** Seconds. */
  minTtl: number;
  /** Seconds. */
  maxTtl: number;
  /** @default 60000 */
  halfLifeMs?: number;
  /** @default 100000 */
  maxKeys?: number;
  now?: () => number;
}

interface Counts {
  reads: number;
  writes: number;
  at: number;
}

export class AdaptiveTtl {
  readonly #o: Required<AdaptiveTtlOptions>;
  readonly #counts = new Map<string, Counts>();

  constructor(options: AdaptiveTtlOptions) {
    if (!(options.minTtl > 0 && options.minTtl <= options.baseTtl && options.baseTtl <= options.maxTtl)) {
      throw new RangeError('adaptive TTL needs 0 < minTtl <= baseTtl <= maxTtl');
    }
    this.#o = { halfLifeMs: 60_000, maxKeys: 100_000, now: Date.now, ...options };
  }

  #touch(key: string): Counts {
    const now = this.#o.now();
    let c = this.#counts.get(key);
    if (c === undefined) {
      c = { reads: 0, writes: 0, at: now };
      if (this.#counts.size >= this.#o.maxKeys) {
        const oldest = this.#counts.keys().next().value;
        if (oldest !== undefined) this.#counts.delete(oldest);
      }
    } else {
      const decay = 0.5 ** ((now - c.at) / this.#o.halfLifeMs);
      c.reads *= decay;
      c.writes *= decay;
      c.at = now;
      this.#counts.delete(key); // re-insert: most recently touched last
    }
    this.#counts.set(key, c);
    return c;
  }

  /** Records a read of `key` (reads lengthen its TTL). */
  onRead(key: string): void {
    this.#touch(key).reads++;
  }

  /** Records a write of `key` (writes shorten its TTL). */
  onWrite(key: string): void {
    this.#touch(key).writes++;
  }

  /** The TTL in seconds for `key` now. */
  ttlFor(key: string): number {
    const c = this.#counts.get(key);
    const reads = c?.reads ?? 0;
    const writes = c?.writes ?? 0;
    const ttl = this.#o.baseTtl * Math.sqrt((reads + 1) / (writes + 1));
    return Math.min(this.#o.maxTtl, Math.max(this.#o.minTtl, ttl));
  }
}
