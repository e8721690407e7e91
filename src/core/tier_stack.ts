import type { Logger } from 'pino';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import { CircuitOpenError, CorruptValueError, LoaderError, LoaderTimeoutError, TierUnavailableError } from '../errors.js';
import type { CacheStats } from '../observability/cache_stats.js';
import type { MemoryTier } from '../tiers/memory/memory_tier.js';
import type { ReadHandler, WriteHandler } from '../tiers/redis/batch_handlers.js';
import type { RedisTier } from '../tiers/redis/redis_tier.js';
import type { LockLease, StampedeLock } from '../coherence/stampede_lock.js';
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
  /** True when values are encrypted: an unreadable value is then a security event. */
  encrypted?: boolean;
  onSecurityEvent?: (event: { type: string; key: string; reason: string }) => void;
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
  /** When L1 drops the entry: the fresh time plus any grace. */
  expiresAt: number;
  /** When the entry stops being fresh (0: same as expiresAt, no grace). */
  staleAt: number;
  weight: number;
  envelope: Buffer | string | null;
  /** An L2 failure must reach the caller even under suppressL2Errors (STRONG writes). */
  strict: boolean;
}

/** How a read-through call loads; every duration in ms. */
export interface LoadOptions {
  ttlMs: number;
  /** Keep the value this long past its TTL, to serve when a reload fails or is slow (fail-safe). */
  graceMs: number;
  /** With a stale value at hand, return it once the loader has taken this long (the load goes on). 0: none. */
  softTimeoutMs: number;
  /** Fail the call with `LoaderTimeoutError` once the loader has taken this long (the load goes on). 0: none. */
  hardTimeoutMs: number;
  /** Wraps each loader call (a circuit breaker); identity when absent. */
  guard?: <R>(call: () => Promise<R>) => Promise<R>;
  /** STRONG: do not answer from L1; read the Redis master, load on its miss. */
  strong?: boolean;
}

/** A value read for a load: fresh, or stale (inside its grace period). */
export interface Candidate {
  value: unknown;
  fresh: boolean;
  /** End of its fresh life (ms since epoch; 0 = none); unknown (-1) for values already in L1 without it. */
  freshUntil: number;
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
  /** Replaced (never nulled) when L1 is resized beyond its capacity (`replaceL1`). */
  l1: MemoryTier | null;
  readonly l2: RedisTier | null;
  readonly #codec: EnvelopeCodec;
  readonly #clock: Clock;
  readonly #stats: CacheStats;
  readonly #logger: Logger;
  readonly #suppressL2Errors: boolean;
  readonly #flights = new SingleFlight<unknown>();
  readonly #lock: StampedeLock | null;
  readonly #failedWriteL1TtlMs: number;
  readonly #encrypted: boolean;
  readonly #onSecurityEvent: ((event: { type: string; key: string; reason: string }) => void) | undefined;
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
    this.#encrypted = options.encrypted ?? false;
    this.#onSecurityEvent = options.onSecurityEvent;
  }

  /** Swaps in a resized L1 (tuning). Reads in flight see one or the other; both are coherent. */
  replaceL1(next: MemoryTier): void {
    this.#bulkSeq = ++this.#seq;
    this.l1 = next;
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
      if (err instanceof CircuitOpenError) stats.l2Skipped++;
      else stats.l2Errors++;
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

  /**
   * Encodes and stores; throws typed errors synchronously (nothing written), then resolves once L2
   * acknowledged. With `graceMs`, the entry is fresh for `ttlMs` and kept `graceMs` longer for
   * fail-safe reads (the envelope carries the fresh time; Redis's PX covers the grace).
   */
  write(key: string, value: unknown, ttlMs: number, graceMs = 0, strict = false): Promise<unknown> {
    const w = this.#prepare(key, value, ttlMs, graceMs);
    w.strict = strict;
    return this.#enqueue(key, w, ttlMs + graceMs);
  }

  /**
   * STRONG read: the Redis master's value (L1 is not consulted; an L2 hit still fills it). An L2
   * failure rejects with TierUnavailableError. Without L2, L1 is the only copy and is the answer.
   */
  readStrong(key: string): Promise<unknown> {
    const l2 = this.l2;
    if (l2 === null) return Promise.resolve(this.l1?.peek(key));
    this.#readsInFlight++;
    return l2.read(key, this.#strongReads, this.#seq);
  }

  readonly #strongReads: ReadHandler = {
    onValue: (bytes, key, ctx, ms) => this.#reads.onValue(bytes, key, ctx, ms),
    onError: (err, key, ctx, ms) => {
      this.#reads.onError(err, key, ctx, ms);
      throw new TierUnavailableError('l2', `Redis read failed (strong consistency): ${(err as Error).message}`, { key, cause: err });
    },
  };

  /** All entries are encoded before any is written: one bad value rejects the call and writes nothing. */
  writeMany(keys: readonly string[], values: readonly unknown[], ttlsMs: readonly number[]): Promise<unknown[]> {
    const prepared = keys.map((k, i) => this.#prepare(k, values[i], ttlsMs[i], 0));
    return Promise.all(prepared.map((p, i) => this.#enqueue(keys[i], p, ttlsMs[i])));
  }

  #prepare(key: string, value: unknown, ttlMs: number, graceMs: number): PendingWrite {
    const freshUntil = this.#clock.now() + ttlMs;
    const expiresAt = freshUntil + graceMs;
    const staleAt = graceMs > 0 ? freshUntil : 0;
    const l2 = this.l2;
    if (l2 === null) return { value, expiresAt, staleAt, weight: this.#codec.serializedSize(value, key), envelope: null, strict: false };
    const envelope = this.#codec.encode(value, freshUntil, key, l2.prefix + key);
    return { value, expiresAt, staleAt, weight: envelope.length, envelope, strict: false };
  }

  #enqueue(key: string, w: PendingWrite, pxMs: number): Promise<unknown> {
    if (this.l2 === null || w.envelope === null) return Promise.resolve(this.#writes.onDone(key, w, 0));
    return this.l2.write(key, w.envelope, pxMs, this.#writes, w);
  }

  readonly #writes: WriteHandler = {
    onDone: (key, ctx, ms) => {
      const w = ctx as PendingWrite;
      if (this.l2 !== null) this.#stats.record('set', ms);
      this.#stats.sets++;
      this.#markTouched(key);
      this.l1?.set(key, w.value, w.expiresAt, w.weight, w.staleAt);
      return undefined;
    },
    onError: (err, key, ctx, ms) => {
      this.#stats.record('set', ms);
      if (err instanceof CircuitOpenError) this.#stats.l2Skipped++;
      else this.#stats.l2Errors++;
      if (!this.#suppressL2Errors || this.l1 === null || (ctx as PendingWrite).strict) {
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
        if (w.staleAt > cap) w.staleAt = cap;
      }
      return this.#writes.onDone(key, w, ms);
    },
  };

  /**
   * Read-through with in-process single flight: concurrent callers for one missing key share one
   * L2 lookup and one loader call, and all receive its value or its error. Then, in order:
   * a fresh value (L1, L2) → the cross-process lock (one loader across instances; a caller that
   * finds another instance loading and holds a stale value returns the stale value at once) →
   * the loader, under the soft and hard timeouts → on a loader failure or soft timeout, the stale
   * value if one is inside its grace period (fail-safe), else the error.
   */
  getOrLoad<T>(key: string, loader: Loader<T>, options: LoadOptions): Promise<T | undefined> {
    return this.#flights.run(key, () => this.#load(key, loader, options)) as Promise<T | undefined>;
  }

  async #load<T>(key: string, loader: Loader<T>, o: LoadOptions): Promise<T | undefined> {
    // Another flight may have filled L1 between the caller's miss and this flight starting.
    const inL1 = o.strong ? undefined : this.l1?.peek(key);
    if (inL1 !== undefined) return inL1 as T;
    let stale = o.strong ? undefined : this.#staleInL1(key);
    const fromL2 = await this.#readCandidate(key);
    if (fromL2 !== undefined) {
      if (fromL2.fresh) return fromL2.value as T;
      stale ??= fromL2;
    }
    if (this.#lock !== null) return this.#loadLocked(key, loader, o, this.#lock, stale);
    return this.#loadAndWrite(key, loader, o, stale, null);
  }

  /** The entry for `key` with its fresh-until time: L1, else L2 (fills L1). Stale values are not returned. */
  async readEntry(key: string): Promise<Candidate | undefined> {
    const s = this.l1?.peekStale(key);
    if (s !== undefined && (s.staleAt === 0 || s.staleAt > this.#clock.now())) return { value: s.value, fresh: true, freshUntil: s.staleAt };
    const c = await this.#readCandidate(key);
    return c?.fresh ? c : undefined;
  }

  #staleInL1(key: string): Candidate | undefined {
    const s = this.l1?.peekStale(key);
    return s === undefined ? undefined : { value: s.value, fresh: false, freshUntil: s.staleAt };
  }

  /** An L2 read that also reports a value inside its grace period (not put in L1: it is stale). */
  #readCandidate(key: string): Promise<Candidate | undefined> {
    const l2 = this.l2;
    if (l2 === null) {
      this.#stats.misses++;
      return Promise.resolve(undefined);
    }
    this.#readsInFlight++;
    return l2.read(key, this.#candidateReads, this.#seq) as Promise<Candidate | undefined>;
  }

  readonly #candidateReads: ReadHandler = {
    onValue: (bytes, key, ctx, ms) => {
      if (bytes !== null) {
        try {
          const decoded = this.#codec.decode(bytes, (this.l2 as RedisTier).prefix + key);
          if (decoded.expiresAt !== 0 && decoded.expiresAt <= this.#clock.now()) {
            this.#raced(key, ctx as number);
            this.#stats.record('get', ms);
            this.#stats.l2Misses++;
            this.#stats.misses++;
            return { value: decoded.value, fresh: false, freshUntil: decoded.expiresAt } satisfies Candidate;
          }
        } catch {
          // fall through: the plain handler counts and logs corrupt bytes
        }
      }
      const v = this.#reads.onValue(bytes, key, ctx, ms);
      return v === undefined ? undefined : ({ value: v, fresh: true, freshUntil: bytes === null ? 0 : this.#codec.peekExpiry(bytes) } satisfies Candidate);
    },
    onError: (err, key, ctx, ms) => this.#reads.onError(err, key, ctx, ms),
  };

  /**
   * Runs the loader under the call's guard and timeouts. Resolves to the loaded value, or to
   * `stale` when the soft timeout passes first; rejects with LoaderError / LoaderTimeoutError /
   * the guard's error. A load that outlives a timeout goes on, and `onLate` receives its value.
   */
  #callLoader<T>(key: string, loader: Loader<T>, o: LoadOptions, stale: Candidate | undefined, onLate: (v: T | undefined) => void): Promise<{ value: T | undefined; late: boolean }> {
    this.#stats.loaderCalls++;
    const run = async (): Promise<T | undefined> => {
      try {
        return await loader(key);
      } catch (err) {
        throw new LoaderError(`Loader failed: ${err instanceof Error ? err.message : String(err)}`, { key, cause: err });
      }
    };
    const load = (o.guard ? o.guard(run) : run()).catch((err: unknown) => {
      this.#stats.loaderErrors++;
      throw err;
    });
    const soft = stale !== undefined && o.softTimeoutMs > 0 ? o.softTimeoutMs : 0;
    const hard = o.hardTimeoutMs;
    if (soft === 0 && hard === 0) return load.then((value) => ({ value, late: false }));
    return new Promise((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (): void => {
        settled = true;
        for (const t of timers) clearTimeout(t);
      };
      if (soft > 0) {
        timers.push(
          setTimeout(() => {
            if (settled) return;
            finish();
            this.#stats.softTimeouts++;
            resolve({ value: stale?.value as T, late: true });
          }, soft),
        );
      }
      if (hard > 0 && (soft === 0 || hard > soft)) {
        timers.push(
          setTimeout(() => {
            if (settled) return;
            finish();
            this.#stats.hardTimeouts++;
            reject(new LoaderTimeoutError(`Loader took longer than ${hard} ms`, { key }));
          }, hard),
        );
      }
      load.then(
        (value) => {
          if (settled) onLate(value);
          else {
            finish();
            resolve({ value, late: false });
          }
        },
        (err: unknown) => {
          if (settled) return;
          finish();
          reject(err);
        },
      );
    });
  }

  /** Fail-safe: a loader error (or breaker refusal) becomes the stale value when there is one. */
  #failSafe<T>(err: unknown, key: string, stale: Candidate | undefined): T {
    if (stale === undefined || err instanceof LoaderTimeoutError) throw err;
    this.#stats.failSafeHits++;
    this.#logger.debug({ key, err: (err as Error).message }, 'loader failed; serving the stale value (grace)');
    return stale.value as T;
  }

  async #loadAndWrite<T>(key: string, loader: Loader<T>, o: LoadOptions, stale: Candidate | undefined, lease: LockLease | null): Promise<T | undefined> {
    const writeBack = (v: T | undefined): Promise<unknown> => {
      if (v === undefined) return lease !== null && this.#lock !== null ? this.#lock.release(lease) : Promise.resolve();
      return lease !== null && this.#lock !== null ? this.#writeLocked(key, v, o, lease, this.#lock) : this.write(key, v, o.ttlMs, o.graceMs);
    };
    let result;
    try {
      result = await this.#callLoader(key, loader, o, stale, (late) => {
        writeBack(late).catch((err: unknown) => this.#logger.debug({ key, err: (err as Error).message }, 'late load could not be stored'));
      });
    } catch (err) {
      if (lease !== null && this.#lock !== null) {
        // A load still running past a hard timeout keeps the lock until it ends (then writes);
        // any other failure releases it at once so the next caller may try.
        if (!(err instanceof LoaderTimeoutError)) await this.#lock.release(lease);
      }
      return this.#failSafe(err, key, stale);
    }
    if (result.late) return result.value; // stale served; the load writes when it finishes
    await writeBack(result.value);
    return result.value;
  }

  /** Writes a locked load's value through the lock's fenced script, then fills L1 if it was ours to write. */
  async #writeLocked(key: string, value: unknown, o: LoadOptions, lease: LockLease, lock: StampedeLock): Promise<void> {
    let w: PendingWrite;
    try {
      w = this.#prepare(key, value, o.ttlMs, o.graceMs);
    } catch (err) {
      // A value that cannot be encoded (a function, too large): let the next caller try.
      await lock.release(lease);
      throw err;
    }
    if (w.envelope === null) return;
    const start = performance.now();
    let outcome: number;
    try {
      outcome = await lock.writeAndRelease(lease, w.envelope, o.ttlMs + o.graceMs);
    } catch (err) {
      this.#writes.onError(err, key, w, performance.now() - start);
      return;
    }
    // 1: ours is the value. 0 / -1: a newer value or a newer holder won; ours is returned to
    // these callers but not cached here (L1 would disagree with L2).
    if (outcome === 1) this.#writes.onDone(key, w, performance.now() - start);
  }

  /**
   * One loader across processes: take the key's lock, or wait for its holder's value. When the
   * lock cannot be reached (Redis down) or the wait runs out, load unlocked: availability over
   * a possible duplicate load.
   */
  async #loadLocked<T>(key: string, loader: Loader<T>, o: LoadOptions, lock: StampedeLock, stale: Candidate | undefined): Promise<T | undefined> {
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
        return this.#loadAndWrite(key, loader, o, stale, null);
      }
      if (Buffer.isBuffer(lease)) {
        const v = this.#candidateReads.onValue(lease, key, seq, performance.now() - t0) as Candidate | undefined;
        if (v?.fresh) return v.value as T;
        // Stale, expired or corrupt bytes: the lock would keep answering with them; reload unlocked.
        return this.#loadAndWrite(key, loader, o, stale ?? v, null);
      }
      this.#raced(key, seq);
      if (lease === null) {
        // Another instance is loading. With a stale value at hand, serve it now rather than wait.
        if (stale !== undefined && o.graceMs > 0) return stale.value as T;
        let released = false;
        try {
          released = await lock.waitForRelease(key, deadline);
        } catch {
          // Redis went away while waiting: fall through to the re-read and the next attempt.
        }
        const landed = await this.readL2(key);
        if (landed !== undefined) return landed as T;
        if (!released) return this.#loadAndWrite(key, loader, o, stale, null);
        continue;
      }
      return this.#loadAndWrite(key, loader, o, stale, lease);
    }
  }

  /** Deletes keys from L1 and L2 (L2 slot-grouped); resolves to how many existed in either. For cascades. */
  async deleteKeys(keys: string[]): Promise<number> {
    let n = 0;
    for (const k of keys) {
      if (this.l1?.delete(k)) n++;
    }
    if (this.l2 === null) return n;
    try {
      const inL2 = await this.l2.delete(keys);
      n = Math.max(n, inL2);
    } catch (err) {
      this.#stats.l2Errors++;
      throw new TierUnavailableError('l2', `Redis delete failed: ${(err as Error).message}`, { cause: err });
    } finally {
      for (const k of keys) {
        this.#markTouched(k);
        this.l1?.delete(k);
      }
    }
    this.#stats.deletes += keys.length;
    return n;
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
  async deleteMatching(pattern: string, test: (key: string) => boolean, onDeleted?: (keys: string[]) => Promise<void>): Promise<number> {
    this.#bulkSeq = ++this.#seq;
    const l1Keys: string[] = [];
    const fromL1 = this.l1?.deleteWhere(onDeleted === undefined ? test : (k) => test(k) && l1Keys.push(k) > 0) ?? 0;
    if (this.l2 === null) {
      if (onDeleted !== undefined && l1Keys.length > 0) await onDeleted(l1Keys);
      return fromL1;
    }
    try {
      return await this.l2.deleteMatching(pattern, onDeleted);
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
    if (this.#encrypted) {
      // In an encrypted cache every unreadable value is a possible attack (tampering, a value
      // moved between keys, an injected plaintext): a security event, not just a counter.
      this.#stats.securityEvents++;
      this.#onSecurityEvent?.({ type: 'value_rejected', key, reason });
    }
    if (!this.#corruptLogged) {
      this.#corruptLogged = true;
      this.#logger.warn({ key, reason }, 'corrupt value in L2 served as a miss (further ones are counted in stats.l2.corrupt)');
    }
  }
}
