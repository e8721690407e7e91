import type { Logger } from 'pino';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import { CorruptValueError, LoaderError, TierUnavailableError } from '../errors.js';
import type { CacheStats } from '../observability/cache_stats.js';
import type { MemoryTier } from '../tiers/memory/memory_tier.js';
import type { ReadHandler, WriteHandler } from '../tiers/redis/batch_handlers.js';
import type { RedisTier } from '../tiers/redis/redis_tier.js';
import type { StampedeLock } from '../coherence/stampede_lock.js';
import type { InvalidationSink } from '../coherence/tracking_invalidator.js';
import type { Clock } from './clock.js';
import { SingleFlight } from './single_flight.js';

/** The data source behind the cache (L3). Returning `undefined` means "no such value": nothing is cached. */
export type Loader<T> = (key: string) => T | undefined | Promise<T | undefined>;

export interface TierStackOptions {
  l1: MemoryTier | null;
  l2: RedisTier | null;
  codec: EnvelopeCodec;
  clock: Clock;
  stats: CacheStats;
  logger: Logger;
  suppressL2Errors: boolean;
  /** Cross-process stampede lock for getOrLoad; null: in-process single flight only. */
  lock?: StampedeLock | null;
  /**
   * When > 0, a value whose L2 write failed (kept in L1 under suppressL2Errors) lives in L1 at
   * most this long: no other instance can see it or invalidate it, so with coherence on it may
   * not outlive the staleness bound.
   */
  failedWriteL1TtlMs?: number;
}

/** What a write needs after L2 acknowledged it: the L1 fill. */
interface PendingWrite {
  value: unknown;
  expiresAt: number;
  weight: number;
  envelope: Buffer | string | null;
}

/**
 * The request path below the guards, in one place:
 *
 *   read:   L1 ──hit──▶ value
 *            │miss
 *            ▼
 *          single-flight (getOrSet only: one load per key per process)
 *            ▼
 *          L1 re-check ──hit──▶ value
 *            ▼
 *          L2 (same-tick reads batched into one MGET) ──hit──▶ decode ─▶ fill L1 (remaining TTL) ─▶ value
 *            │miss / error (counted; degrades to a miss) / corrupt (counted, logged once; a miss)
 *            ▼
 *          loader (L3) ──▶ write L2 (batched) ──▶ fill L1 ──▶ value
 *
 *   write:  encode (typed errors before anything is written) ─▶ L2 ─▶ on ack: L1
 *
 * Reply handling runs inside the batchers' loops through the `ReadHandler`/`WriteHandler` below, so
 * an L2 operation costs its caller one promise. L1 is filled after L2 accepted a write, so L1
 * never holds a value L2 refused (with `suppressL2Errors` off); with it on, a failed L2 write is
 * counted and L1 still serves the value.
 */
export class TierStack implements InvalidationSink {
  readonly l1: MemoryTier | null;
  readonly l2: RedisTier | null;
  readonly #codec: EnvelopeCodec;
  readonly #clock: Clock;
  readonly #stats: CacheStats;
  readonly #logger: Logger;
  readonly #suppressL2Errors: boolean;
  readonly #flights = new SingleFlight<unknown>();
  readonly #lock: StampedeLock | null;
  readonly #failedWriteL1TtlMs: number;
  /** Invalidations from other instances applied to L1, and full L1 drops (coherence). */
  remoteInvalidations = 0;
  remoteFlushes = 0;
  #corruptLogged = false;
  // Fill guard: an L2 read that was in flight while a key was written, deleted or invalidated must
  // not put the value it read into L1 afterwards. Mutations bump #seq; while reads are in flight a
  // mutated key remembers its seq in #touched (cleared whenever no read is in flight, so it stays
  // small); bulk invalidations bump #bulkSeq. A read fills L1 only if nothing touched its key
  // since the read began (its start seq is the read's batcher ctx).
  #seq = 0;
  #bulkSeq = 0;
  #readsInFlight = 0;
  readonly #touched = new Map<string, number>();

  constructor(options: TierStackOptions) {
    this.l1 = options.l1;
    this.l2 = options.l2;
    this.#codec = options.codec;
    this.#clock = options.clock;
    this.#stats = options.stats;
    this.#logger = options.logger;
    this.#suppressL2Errors = options.suppressL2Errors;
    this.#lock = options.lock ?? null;
    this.#failedWriteL1TtlMs = options.failedWriteL1TtlMs ?? 0;
  }

  /** Another instance (or any Redis client) changed `key`: drop it from L1, and from any read in flight. */
  invalidate(key: string): void {
    this.remoteInvalidations++;
    this.#markTouched(key);
    this.l1?.delete(key);
  }

  /** Coherence was lost (connection drop, topology refresh, FLUSHDB): nothing in L1 can be vouched for. */
  invalidateAll(reason: string): void {
    this.remoteFlushes++;
    this.#bulkSeq = ++this.#seq;
    if (this.l1 !== null && this.l1.size > 0) {
      this.#logger.debug({ reason, entries: this.l1.size }, 'L1 dropped');
      this.l1.clear();
    }
  }

  /** L2 lookup for a key L1 did not have. Resolves `undefined` on miss, on L2 error and on corrupt bytes. */
  readL2(key: string): Promise<unknown> {
    const l2 = this.l2;
    if (l2 === null) {
      this.#stats.misses++;
      return Promise.resolve(undefined);
    }
    this.#readsInFlight++;
    return l2.read(key, this.#reads, this.#seq);
  }

  readonly #reads: ReadHandler = {
    onValue: (bytes, key, ctx, ms) => {
      const raced = this.#raced(key, ctx as number);
      const stats = this.#stats;
      stats.record('get', ms);
      if (bytes === null) {
        stats.l2Misses++;
        stats.misses++;
        return undefined;
      }
      let decoded;
      try {
        decoded = this.#codec.decode(bytes, (this.l2 as RedisTier).prefix + key);
      } catch (err) {
        this.#onCorrupt(key, err);
        return undefined;
      }
      const expiresAt = decoded.expiresAt;
      if (expiresAt !== 0 && expiresAt <= this.#clock.now()) {
        stats.l2Misses++;
        stats.misses++;
        return undefined;
      }
      stats.l2Hits++;
      if (this.l1 !== null && !raced) this.l1.set(key, decoded.value, expiresAt, bytes.length);
      return decoded.value;
    },
    onError: (err, key, ctx, ms) => {
      this.#raced(key, ctx as number);
      const stats = this.#stats;
      stats.record('get', ms);
      stats.l2Errors++;
      stats.misses++;
      this.#logger.debug({ err: (err as Error).message, key }, 'L2 read failed; served as a miss');
      return undefined;
    },
  };

  /** Ends an in-flight read; true when its key was mutated since it began. */
  #raced(key: string, startSeq: number): boolean {
    const raced = this.#bulkSeq > startSeq || (this.#touched.get(key) ?? -1) > startSeq;
    if (--this.#readsInFlight === 0 && this.#touched.size > 0) this.#touched.clear();
    return raced;
  }

  /** True when a live entry exists in L1 or L2 (the L2 envelope's expiry is checked, the body not decoded). */
  async has(key: string): Promise<boolean> {
    if (this.l1 !== null && this.l1.peek(key) !== undefined) return true;
    if (this.l2 === null) return false;
    try {
      const bytes = await this.l2.get(key);
      if (bytes === null) return false;
      const exp = this.#codec.peekExpiry(bytes);
      return exp === 0 || exp > this.#clock.now();
    } catch {
      this.#stats.l2Errors++;
      return false;
    }
  }

  /** Encodes and stores; throws typed errors synchronously (nothing written), then resolves once L2 acknowledged. */
  write(key: string, value: unknown, ttlMs: number): Promise<unknown> {
    return this.#enqueue(key, this.#prepare(key, value, ttlMs), ttlMs);
  }

  /** All entries are encoded before any is written: one bad value rejects the call and writes nothing. */
  writeMany(keys: readonly string[], values: readonly unknown[], ttlsMs: readonly number[]): Promise<unknown[]> {
    const prepared = keys.map((k, i) => this.#prepare(k, values[i], ttlsMs[i]));
    return Promise.all(prepared.map((p, i) => this.#enqueue(keys[i], p, ttlsMs[i])));
  }

  #prepare(key: string, value: unknown, ttlMs: number): PendingWrite {
    const expiresAt = this.#clock.now() + ttlMs;
    const l2 = this.l2;
    if (l2 === null) return { value, expiresAt, weight: this.#codec.serializedSize(value, key), envelope: null };
    const envelope = this.#codec.encode(value, expiresAt, key, l2.prefix + key);
    return { value, expiresAt, weight: envelope.length, envelope };
  }

  #enqueue(key: string, w: PendingWrite, ttlMs: number): Promise<unknown> {
    if (this.l2 === null || w.envelope === null) return Promise.resolve(this.#writes.onDone(key, w, 0));
    return this.l2.write(key, w.envelope, ttlMs, this.#writes, w);
  }

  readonly #writes: WriteHandler = {
    onDone: (key, ctx, ms) => {
      const w = ctx as PendingWrite;
      if (this.l2 !== null) this.#stats.record('set', ms);
      this.#stats.sets++;
      this.#markTouched(key);
      this.l1?.set(key, w.value, w.expiresAt, w.weight);
      return undefined;
    },
    onError: (err, key, ctx, ms) => {
      this.#stats.record('set', ms);
      this.#stats.l2Errors++;
      if (!this.#suppressL2Errors || this.l1 === null) {
        // The old L1 value may now disagree with whatever L2 holds: drop it rather than guess.
        this.#markTouched(key);
        this.l1?.delete(key);
        throw new TierUnavailableError('l2', `Redis write failed: ${(err as Error).message}`, { key, cause: err });
      }
      this.#logger.debug({ err: (err as Error).message, key }, 'L2 write failed; kept in L1 only');
      const w = ctx as PendingWrite;
      if (this.#failedWriteL1TtlMs > 0) {
        const cap = this.#clock.now() + this.#failedWriteL1TtlMs;
        if (w.expiresAt === 0 || w.expiresAt > cap) w.expiresAt = cap;
      }
      return this.#writes.onDone(key, w, ms);
    },
  };

  /**
   * Read-through with in-process single flight: concurrent callers for one missing key share one
   * L2 lookup and one loader call, and all receive its value or its `LoaderError`.
   */
  getOrLoad<T>(key: string, loader: Loader<T>, ttlMs: number): Promise<T | undefined> {
    return this.#flights.run(key, () => this.#load(key, loader, ttlMs)) as Promise<T | undefined>;
  }

  async #load<T>(key: string, loader: Loader<T>, ttlMs: number): Promise<T | undefined> {
    // Another flight may have filled L1 between the caller's miss and this flight starting.
    const inL1 = this.l1?.peek(key);
    if (inL1 !== undefined) return inL1 as T;
    const fromL2 = await this.readL2(key);
    if (fromL2 !== undefined) return fromL2 as T;
    if (this.#lock !== null) return this.#loadLocked(key, loader, ttlMs, this.#lock);
    return this.#loadAndWrite(key, loader, ttlMs);
  }

  async #callLoader<T>(key: string, loader: Loader<T>): Promise<T | undefined> {
    this.#stats.loaderCalls++;
    try {
      return await loader(key);
    } catch (err) {
      this.#stats.loaderErrors++;
      throw new LoaderError(`Loader failed: ${err instanceof Error ? err.message : String(err)}`, { key, cause: err });
    }
  }

  async #loadAndWrite<T>(key: string, loader: Loader<T>, ttlMs: number): Promise<T | undefined> {
    const loaded = await this.#callLoader(key, loader);
    if (loaded === undefined) return undefined;
    await this.write(key, loaded, ttlMs);
    return loaded;
  }

  /**
   * One loader across processes: take the key's lock, or wait for its holder's value. When the
   * lock cannot be reached (Redis down) or the wait runs out, load unlocked: availability over
   * a possible duplicate load.
   */
  async #loadLocked<T>(key: string, loader: Loader<T>, ttlMs: number, lock: StampedeLock): Promise<T | undefined> {
    const deadline = Date.now() + lock.maxWaitMs;
    for (;;) {
      let lease;
      // The acquire also reads the value (one round trip); it counts as an L2 read for the fill guard.
      const seq = this.#seq;
      this.#readsInFlight++;
      const t0 = performance.now();
      try {
        lease = await lock.tryAcquire(key);
      } catch (err) {
        this.#raced(key, seq);
        this.#logger.debug({ err: (err as Error).message, key }, 'stampede lock unavailable; loading unlocked');
        return this.#loadAndWrite(key, loader, ttlMs);
      }
      if (Buffer.isBuffer(lease)) {
        const v = this.#reads.onValue(lease, key, seq, performance.now() - t0);
        if (v !== undefined) return v as T;
        // Expired or corrupt bytes: the lock would keep answering with them, so replace them unlocked.
        return this.#loadAndWrite(key, loader, ttlMs);
      }
      this.#raced(key, seq);
      if (lease === null) {
        let released = false;
        try {
          released = await lock.waitForRelease(key, deadline);
        } catch {
          // Redis went away while waiting: fall through to the re-read and the next attempt.
        }
        const landed = await this.readL2(key);
        if (landed !== undefined) return landed as T;
        if (!released) return this.#loadAndWrite(key, loader, ttlMs);
        continue;
      }
      let loaded: T | undefined;
      try {
        loaded = await this.#callLoader(key, loader);
      } catch (err) {
        await lock.release(lease);
        throw err;
      }
      if (loaded === undefined) {
        await lock.release(lease);
        return undefined;
      }
      const w = this.#prepare(key, loaded, ttlMs);
      if (w.envelope === null) return loaded;
      const start = performance.now();
      let outcome: number;
      try {
        outcome = await lock.writeAndRelease(lease, w.envelope, ttlMs);
      } catch (err) {
        this.#writes.onError(err, key, w, performance.now() - start);
        return loaded;
      }
      // 1: ours is the value. 0 / -1: a newer value or a newer holder won; ours is returned to
      // these callers but not cached here (L1 would disagree with L2).
      if (outcome === 1) this.#writes.onDone(key, w, performance.now() - start);
      return loaded;
    }
  }

  async delete(key: string): Promise<boolean> {
    const inL1 = this.l1?.delete(key) ?? false;
    let inL2 = 0;
    if (this.l2 !== null) {
      try {
        inL2 = await this.l2.delete([key]);
      } catch (err) {
        this.#stats.l2Errors++;
        throw new TierUnavailableError('l2', `Redis delete failed: ${(err as Error).message}`, { key, cause: err });
      } finally {
        // A read that raced the delete may have refilled L1 while the UNLINK was in flight.
        this.#markTouched(key);
        this.l1?.delete(key);
      }
    }
    this.#stats.deletes++;
    return inL1 || inL2 > 0;
  }

  /**
   * Removes every key matching `pattern` from L1 and L2. An L2 failure is thrown, never
   * suppressed: a caller invalidating must know when stale values may remain.
   */
  async deleteMatching(pattern: string, test: (key: string) => boolean): Promise<number> {
    this.#bulkSeq = ++this.#seq;
    const fromL1 = this.l1?.deleteWhere(test) ?? 0;
    if (this.l2 === null) return fromL1;
    try {
      return await this.l2.deleteMatching(pattern);
    } catch (err) {
      this.#stats.l2Errors++;
      throw new TierUnavailableError('l2', `Redis invalidation failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#bulkSeq = ++this.#seq;
      this.l1?.deleteWhere(test);
    }
  }

  #markTouched(key: string): void {
    const seq = ++this.#seq;
    if (this.#readsInFlight > 0) this.#touched.set(key, seq);
  }

  #onCorrupt(key: string, err: unknown): void {
    this.#stats.l2Corrupt++;
    this.#stats.misses++;
    const reason = err instanceof CorruptValueError ? err.message : String(err);
    if (!this.#corruptLogged) {
      this.#corruptLogged = true;
      this.#logger.warn({ key, reason }, 'corrupt value in L2 served as a miss (further ones are counted in stats.l2.corrupt)');
    }
  }
}
