import type { CacheLogger as Logger } from '../observability/logger.js';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { AbortedError, CircuitOpenError, CorruptValueError, LoaderError, LoaderTimeoutError, RecursiveLoadError, TierUnavailableError } from '../errors.js';
import type { CacheStats } from '../observability/cache_stats.js';
import { l1Internals, type MemoryTier } from '../tiers/memory/memory_tier.js';
import type { ReadHandler, WriteHandler } from '../tiers/redis/batch_handlers.js';
import type { RedisTier } from '../tiers/redis/redis_tier.js';
import type { LockLease, StampedeLock } from '../coherence/stampede_lock.js';
import type { CacheEvents } from '../observability/cache_events.js';
import type { InvalidationSink } from '../coherence/tracking_invalidator.js';
import type { Clock } from './clock.js';
import { abortedError } from '../util/abort.js';
import { errorText } from '../util/error_text.js';

/** The data source behind the cache (L3). Returning `undefined` means "no such value": nothing is cached. */
import type { Loader } from '../types/cache_operations.js';
export type { Loader };

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
  /** The cache's typed events: coherence invalidations and absorbed L2 failures. */
  events?: CacheEvents;
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
  /** Fill-guard sequence when the write was sent (see TierStack#begin); -1 before. */
  seq: number;
}

/** A load in progress: when it began (fill guard), and whether it still counts as in flight. */
interface LoadTicket {
  start: number;
  open: boolean;
  /** The loader outlived the call (soft or hard timeout): its late settlement closes the ticket. */
  late: boolean;
}

/** Keys being loaded by the current async call chain (a loader calling getOrSet on its own key). */
const loadChain = new AsyncLocalStorage<readonly string[]>();

/** The signal of a load no caller can abort (a flight is always given one; this is for direct callers). */
const NEVER_ABORTED = new AbortController().signal;

/**
 * `load`, or an AbortedError as soon as `signal` aborts (the load's own outcome is then dropped);
 * `onAbandon` runs once when that happens.
 */
function abandonOnAbort<T>(load: Promise<T>, key: string, signal: AbortSignal, onAbandon?: () => void): Promise<T> {
  if (signal.aborted) {
    load.catch(() => undefined);
    onAbandon?.();
    return Promise.reject(abortedError(key, signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortedError(key, signal));
      onAbandon?.();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    load.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Past this many touched keys while operations are in flight, treat everything as touched (bounds memory). */
const MAX_TOUCHED = 100_000;

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
  /** The flight's signal (set by getOrLoad): aborted once every caller waiting on the load has aborted. */
  signal?: AbortSignal;
}

/** One in-process load of a key, shared by its callers. */
interface Flight {
  promise: Promise<unknown>;
  controller: AbortController;
  /** Callers that may still want the value; one without a signal holds the flight forever. */
  holders: number;
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
  readonly #flights = new Map<string, Flight>();
  readonly #lock: StampedeLock | null;
  readonly #failedWriteL1TtlMs: number;
  readonly #encrypted: boolean;
  readonly #onSecurityEvent: ((event: { type: string; key: string; reason: string }) => void) | undefined;
  readonly #events: CacheEvents | null;
  /** Invalidations from other instances applied to L1, and full L1 drops (coherence). */
  remoteInvalidations = 0;
  remoteFlushes = 0;
  #corruptLogged = false;
  // Fill guard. Every operation that puts a value into L1 (or into L2 for a load) when it completes
  // records the sequence number at which it started (#begin) and asks at completion (#end)
  // whether its key was touched since; if so it does not fill. Two kinds of touch:
  //  - remote: an invalidation push (another connection changed the key in Redis), a bulk drop, a
  //    coherence gap. Redis may have applied that change after our command: node-redis handles a
  //    push synchronously while parsing a socket read, but resumes our reply's continuation in a
  //    microtask after, so when our reply and the push of a later write arrive in one read the
  //    push is handled first. Nothing that started before a remote touch may fill L1.
  //  - local: this instance's own write acknowledged, or its delete issued or acknowledged. A read
  //    or a load that started before it may hold the older value. A write does not check local
  //    touches: our writes and deletes of one key reach Redis in issue order (one queue, see
  //    set_batcher.ts), so a write's acknowledgement is never overtaken by an earlier local one.
  // Touches are remembered only while something is in flight (the maps are cleared whenever the
  // count drops to 0, so they stay small); bulk events bump #bulkSeq instead.
  #seq = 0;
  #bulkSeq = 0;
  #inFlight = 0;
  readonly #touched = new Map<string, number>();
  readonly #remoteTouched = new Map<string, number>();
  /** From a coherence loss until the watchdog confirms tracking is in force again: nothing fills L1. */
  #gap = false;
  /** Coherence losses so far (the watchdog restores only if none happened during its confirmation). */
  lossEpoch = 0;

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
    this.#events = options.events ?? null;
  }

  /** Swaps in a resized L1 (tuning). Reads in flight see one or the other; both are coherent. */
  replaceL1(next: MemoryTier): void {
    this.#bulkSeq = ++this.#seq;
    this.l1 = next;
  }

  /** Another instance (or any Redis client) changed `key`: drop it from L1, and from anything in flight. */
  invalidate(key: string): void {
    this.remoteInvalidations++;
    this.#markTouched(key, true);
    this.l1?.delete(key);
    if (this.#events?.active) this.#events.fire('invalidated', { source: 'coherence', key });
  }

  /**
   * A tracking connection was lost or is being re-established: invalidations for changes made
   * from now until tracking is in force again may never arrive, so nothing read or written from
   * now on may fill L1 until the watchdog confirms (`coherenceRestored`). L1 keeps what it has,
   * under the staleness gate.
   */
  /** True from a tracking loss until the watchdog confirms tracking again: nothing fills L1 meanwhile. */
  get fillsPaused(): boolean {
    return this.#gap;
  }

  coherenceLost(): void {
    this.lossEpoch++;
    this.#gap = true;
    this.#bulkSeq = ++this.#seq;
  }

  /**
   * The watchdog confirmed every tracking connection with a round trip that began after loss
   * `epoch`: tracking is in force. Operations that began during the gap still do not fill.
   */
  coherenceRestored(epoch: number): void {
    if (epoch !== this.lossEpoch || !this.#gap) return;
    this.#gap = false;
    this.#bulkSeq = ++this.#seq;
  }

  /** Coherence was lost (connection drop, topology refresh, FLUSHDB): nothing in L1 can be vouched for. */
  invalidateAll(reason: string): void {
    this.remoteFlushes++;
    this.#bulkSeq = ++this.#seq;
    if (this.l1 !== null && this.l1.size > 0) {
      this.#logger.debug({ reason, entries: this.l1.size }, 'L1 dropped');
      this.l1.clear();
    }
    if (this.#events?.active) this.#events.fire('invalidated', { source: 'coherence', key: null, reason });
  }

  /** L2 lookup for a key L1 did not have. Resolves `undefined` on miss, on L2 error and on corrupt bytes. */
  readL2(key: string): Promise<unknown> {
    const l2 = this.l2;
    if (l2 === null) {
      this.#stats.misses++;
      return Promise.resolve(undefined);
    }
    return l2.read(key, this.#reads, this.#begin());
  }

  readonly #reads: ReadHandler = {
    onValue: (bytes, key, ctx, ms) => {
      const raced = this.#end(key, ctx as number, false);
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
      this.#end(key, ctx as number, false);
      const stats = this.#stats;
      stats.record('get', ms);
      if (err instanceof CircuitOpenError) stats.l2Skipped++;
      else stats.l2Errors++;
      stats.misses++;
      this.#logger.debug({ err: (err as Error).message, key }, 'L2 read failed; served as a miss');
      if (this.#events?.active) this.#events.fire('error', { operation: 'get', key, tier: 'l2', error: err as Error });
      return undefined;
    },
  };

  /** Starts an operation that may fill L1 when it completes; returns its start sequence. */
  #begin(): number {
    this.#inFlight++;
    return this.#seq;
  }

  /**
   * Ends an operation begun at `start`; true when `key` was touched since (`remoteOnly`: by an
   * invalidation push or a bulk event only), or a coherence gap is open: then it must not fill.
   */
  #end(key: string, start: number, remoteOnly: boolean): boolean {
    const raced = this.#touchedSince(key, start, remoteOnly);
    if (--this.#inFlight === 0) this.#forgetTouches();
    return raced;
  }

  #touchedSince(key: string, start: number, remoteOnly: boolean): boolean {
    return this.#gap || this.#bulkSeq > start || ((remoteOnly ? this.#remoteTouched : this.#touched).get(key) ?? -1) > start;
  }

  #forgetTouches(): void {
    if (this.#touched.size > 0) this.#touched.clear();
    if (this.#remoteTouched.size > 0) this.#remoteTouched.clear();
  }

  /**
   * True when a live entry exists in L1 or L2 (the L2 envelope's expiry is checked, the body not
   * decoded). `strong`: L2 only (L1 when there is no L2), and an L2 failure rejects.
   */
  /**
   * Whether a live value exists. `l2`: L1 is not asked (a SESSION call whose session saw the key
   * after this L1 was last confirmed); `strong`: nor is an L2 failure absorbed.
   */
  async has(key: string, from: 'l1-or-l2' | 'l2' | 'strong' = 'l1-or-l2'): Promise<boolean> {
    const strong = from === 'strong';
    if (this.l1 !== null && (from === 'l1-or-l2' || this.l2 === null) && this.l1.peek(key) !== undefined) return true;
    if (this.l2 === null) return false;
    try {
      const bytes = await this.l2.get(key);
      if (bytes === null) return false;
      const exp = this.#codec.peekExpiry(bytes);
      return exp === 0 || exp > this.#clock.now();
    } catch (err) {
      this.#stats.l2Errors++;
      if (strong) throw new TierUnavailableError('l2', `Redis read failed (strong consistency): ${(err as Error).message}`, { key, cause: err });
      if (this.#events?.active) this.#events.fire('error', { operation: 'has', key, tier: 'l2', error: err as Error });
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
    return l2.read(key, this.#strongReads, this.#begin());
  }

  readonly #strongReads: ReadHandler = {
    onValue: (bytes, key, ctx, ms) => this.#reads.onValue(bytes, key, ctx, ms),
    onError: (err, key, ctx, ms) => {
      this.#reads.onError(err, key, ctx, ms);
      throw new TierUnavailableError('l2', `Redis read failed (strong consistency): ${(err as Error).message}`, { key, cause: err });
    },
  };

  /** All entries are encoded before any is written: one bad value rejects the call and writes nothing. */
  writeMany(keys: readonly string[], values: readonly unknown[], ttlsMs: readonly number[], strict = false): Promise<unknown[]> {
    const prepared = keys.map((k, i) => {
      const w = this.#prepare(k, values[i], ttlsMs[i], 0);
      w.strict = strict;
      return w;
    });
    return Promise.all(prepared.map((p, i) => this.#enqueue(keys[i], p, ttlsMs[i])));
  }

  #prepare(key: string, value: unknown, ttlMs: number, graceMs: number): PendingWrite {
    const freshUntil = this.#clock.now() + ttlMs;
    const expiresAt = freshUntil + graceMs;
    const staleAt = graceMs > 0 ? freshUntil : 0;
    const l2 = this.l2;
    if (l2 === null) return { value, expiresAt, staleAt, weight: this.#codec.serializedSize(value, key), envelope: null, strict: false, seq: -1 };
    const envelope = this.#codec.encode(value, freshUntil, key, l2.prefix + key);
    return { value, expiresAt, staleAt, weight: envelope.length, envelope, strict: false, seq: -1 };
  }

  #enqueue(key: string, w: PendingWrite, pxMs: number): Promise<unknown> {
    if (this.l2 === null || w.envelope === null) {
      // L1 only: nothing else can change the key, so nothing can race the fill.
      this.#stats.sets++;
      this.#markTouched(key);
      this.l1?.set(key, w.value, w.expiresAt, w.weight, w.staleAt);
      return Promise.resolve(undefined);
    }
    w.seq = this.#begin();
    return this.l2.write(key, w.envelope, pxMs, this.#writes, w);
  }

  /** An acknowledged write: fills L1 unless raced; returns whether it filled. */
  #completeWrite(key: string, w: PendingWrite, ms: number): boolean {
    const stats = this.#stats;
    stats.record('set', ms);
    stats.sets++;
    // Raced: another connection changed the key after we sent ours; Redis may hold theirs.
    const raced = this.#end(key, w.seq, true);
    this.#markTouched(key);
    if (raced) {
      this.l1?.delete(key);
      return false;
    }
    this.l1?.set(key, w.value, w.expiresAt, w.weight, w.staleAt);
    return true;
  }

  readonly #writes: WriteHandler = {
    onDone: (key, ctx, ms) => {
      this.#completeWrite(key, ctx as PendingWrite, ms);
      return undefined;
    },
    onError: (err, key, ctx, ms) => {
      const w = ctx as PendingWrite;
      this.#end(key, w.seq, true);
      this.#stats.record('set', ms);
      if (err instanceof CircuitOpenError) this.#stats.l2Skipped++;
      else this.#stats.l2Errors++;
      this.#markTouched(key);
      if (!this.#suppressL2Errors || this.l1 === null || w.strict) {
        // The old L1 value may now disagree with whatever L2 holds: drop it rather than guess.
        this.l1?.delete(key);
        throw new TierUnavailableError('l2', `Redis write failed: ${(err as Error).message}`, { key, cause: err });
      }
      this.#logger.debug({ err: (err as Error).message, key }, 'L2 write failed; kept in L1 only');
      if (this.#events?.active) this.#events.fire('error', { operation: 'set', key, tier: 'l2', error: err as Error });
      // Kept although it may race: it never reached Redis, and no instance can invalidate it, so
      // with coherence on it lives at most the staleness bound (failedWriteL1TtlMs).
      if (this.#failedWriteL1TtlMs > 0) {
        const cap = this.#clock.now() + this.#failedWriteL1TtlMs;
        if (w.expiresAt === 0 || w.expiresAt > cap) w.expiresAt = cap;
        if (w.staleAt > cap) w.staleAt = cap;
      }
      this.#stats.sets++;
      this.l1?.set(key, w.value, w.expiresAt, w.weight, w.staleAt);
      return undefined;
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
  getOrLoad<T>(key: string, loader: Loader<T>, options: LoadOptions, signal?: AbortSignal): Promise<T | undefined> {
    // Single flight would hand a loader its own pending promise: a wait without end.
    const chain = loadChain.getStore();
    if (chain !== undefined && chain.includes(key)) {
      return Promise.reject(new RecursiveLoadError(`The loader of this key asked for the same key (chain: ${chain.length} loads deep)`, { key }));
    }
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      const f: Flight = { promise: this.#load(key, loader, { ...options, signal: controller.signal }), controller, holders: 0 };
      flight = f;
      this.#flights.set(key, f);
      // Both arms handled: this chain never produces an unhandled rejection of its own.
      f.promise.then(
        () => this.#land(key, f),
        () => this.#land(key, f),
      );
    }
    flight.holders++;
    if (signal === undefined) return flight.promise as Promise<T | undefined>;
    return this.#waitOrAbort(key, flight, signal) as Promise<T | undefined>;
  }

  #land(key: string, flight: Flight): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }

  /**
   * One caller's view of a shared flight: its abort rejects only this caller. The last holder's
   * abort aborts the flight (the loader's signal; a locked load releases its lock) and removes it,
   * so the next caller starts a fresh load instead of joining an abandoned one.
   */
  #waitOrAbort(key: string, flight: Flight, signal: AbortSignal): Promise<unknown> {
    return abandonOnAbort(flight.promise, key, signal, () => {
      if (--flight.holders === 0) {
        this.#land(key, flight);
        flight.controller.abort(signal.reason);
      }
    });
  }

  async #load<T>(key: string, loader: Loader<T>, o: LoadOptions): Promise<T | undefined> {
    // Another flight may have filled L1 between the caller's miss and this flight starting.
    const inL1 = o.strong ? undefined : this.l1?.peek(key);
    if (inL1 !== undefined) return inL1 as T;
    // From here on a delete, a write or an invalidation of the key fences this load: what the
    // loader read may predate it, so it is returned to the callers but not cached.
    const ticket: LoadTicket = { start: this.#begin(), open: true, late: false };
    try {
      let stale = o.strong ? undefined : this.#staleInL1(key);
      const fromL2 = await this.#readCandidate(key);
      if (fromL2 !== undefined) {
        if (fromL2.fresh) return fromL2.value as T;
        stale ??= fromL2;
      }
      if (o.signal?.aborted === true) throw abortedError(key, o.signal);
      if (this.#lock !== null) return await this.#loadLocked(key, loader, o, this.#lock, stale, ticket);
      return await this.#loadAndWrite(key, loader, o, stale, null, ticket);
    } finally {
      if (!ticket.late) this.#closeLoad(key, ticket);
    }
  }

  #closeLoad(key: string, ticket: LoadTicket): void {
    if (!ticket.open) return;
    ticket.open = false;
    this.#end(key, ticket.start, false);
  }

  /** The entry for `key` with its fresh-until time: L1, else L2 (fills L1). Stale values are not returned. */
  async readEntry(key: string): Promise<Candidate | undefined> {
    const s = this.l1 === null ? undefined : l1Internals(this.l1).peekStale(key);
    if (s !== undefined && (s.staleAt === 0 || s.staleAt > this.#clock.now())) return { value: s.value, fresh: true, freshUntil: s.staleAt };
    const c = await this.#readCandidate(key);
    return c?.fresh ? c : undefined;
  }

  #staleInL1(key: string): Candidate | undefined {
    const s = this.l1 === null ? undefined : l1Internals(this.l1).peekStale(key);
    return s === undefined ? undefined : { value: s.value, fresh: false, freshUntil: s.staleAt };
  }

  /** An L2 read that also reports a value inside its grace period (not put in L1: it is stale). */
  #readCandidate(key: string): Promise<Candidate | undefined> {
    const l2 = this.l2;
    if (l2 === null) {
      this.#stats.misses++;
      return Promise.resolve(undefined);
    }
    return l2.read(key, this.#candidateReads, this.#begin()) as Promise<Candidate | undefined>;
  }

  readonly #candidateReads: ReadHandler = {
    onValue: (bytes, key, ctx, ms) => {
      if (bytes !== null) {
        try {
          const decoded = this.#codec.decode(bytes, (this.l2 as RedisTier).prefix + key);
          if (decoded.expiresAt !== 0 && decoded.expiresAt <= this.#clock.now()) {
            this.#end(key, ctx as number, false);
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
  #callLoader<T>(
    key: string,
    loader: Loader<T>,
    o: LoadOptions,
    stale: Candidate | undefined,
    onLate: (v: T | undefined) => void,
    onLateError: (err: unknown) => void,
  ): Promise<{ value: T | undefined; late: boolean }> {
    this.#stats.loaderCalls++;
    const chain = loadChain.getStore();
    const inner = chain === undefined ? [key] : [...chain, key];
    const signal = o.signal ?? NEVER_ABORTED;
    const run = async (): Promise<T | undefined> => {
      try {
        if (signal.aborted) throw abortedError(key, signal);
        return await loadChain.run(inner, loader, key, { signal });
      } catch (err) {
        if (err instanceof RecursiveLoadError || err instanceof AbortedError) throw err;
        throw new LoaderError(`Loader failed: ${errorText(err)}`, { key, cause: err });
      }
    };
    const guarded = (o.guard ? o.guard(run) : run()).catch((err: unknown) => {
      if (!(err instanceof AbortedError)) this.#stats.loaderErrors++;
      throw err;
    });
    // A loader that ignores its signal is left behind (its result dropped), so the abandoned
    // load's lock is released now rather than when the loader finally returns.
    const load = o.signal === undefined ? guarded : abandonOnAbort(guarded, key, o.signal);
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
          if (settled) onLateError(err);
          else {
            finish();
            reject(err);
          }
        },
      );
    });
  }

  /** Fail-safe: a loader error (or breaker refusal) becomes the stale value when there is one. */
  #failSafe<T>(err: unknown, key: string, stale: Candidate | undefined): T {
    // Aborted: no caller is left to serve.
    if (stale === undefined || err instanceof LoaderTimeoutError || err instanceof AbortedError) throw err;
    this.#stats.failSafeHits++;
    this.#logger.debug({ key, err: (err as Error).message }, 'loader failed; serving the stale value (grace)');
    return stale.value as T;
  }

  async #loadAndWrite<T>(key: string, loader: Loader<T>, o: LoadOptions, stale: Candidate | undefined, lease: LockLease | null, ticket: LoadTicket): Promise<T | undefined> {
    const lock = lease !== null ? this.#lock : null;
    const writeBack = (v: T | undefined): Promise<unknown> => {
      // Fenced: a delete, write or invalidation of the key since the load began means the loader
      // may have read the source before the change. Return the value, cache nothing.
      if (v === undefined || this.#touchedSince(key, ticket.start, false)) {
        if (v !== undefined) this.#stats.fencedLoads++;
        return lock !== null ? lock.release(lease as LockLease) : Promise.resolve();
      }
      return lock !== null ? this.#writeLocked(key, v, o, lease as LockLease, lock) : this.write(key, v, o.ttlMs, o.graceMs);
    };
    let result;
    try {
      result = await this.#callLoader(
        key,
        loader,
        o,
        stale,
        (late) => {
          writeBack(late)
            .catch((err: unknown) => this.#logger.debug({ key, err: (err as Error).message }, 'late load could not be stored'))
            .finally(() => this.#closeLoad(key, ticket));
        },
        (lateErr) => {
          // The caller was answered (soft timeout) or failed (hard timeout) already; the lock must
          // not outlive the load, or every instance's miss of this key would wait lockWaitMs.
          this.#logger.debug({ key, err: (lateErr as Error).message }, 'late load failed');
          (lock !== null ? lock.release(lease as LockLease) : Promise.resolve()).finally(() => this.#closeLoad(key, ticket));
        },
      );
    } catch (err) {
      if (err instanceof LoaderTimeoutError) {
        // The load goes on; its late settlement writes (or releases) and closes the ticket.
        ticket.late = ticket.open;
      } else if (lock !== null) {
        await lock.release(lease as LockLease);
      }
      return this.#failSafe(err, key, stale);
    }
    if (result.late) {
      ticket.late = ticket.open; // stale served; the load writes when it finishes
      return result.value;
    }
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
    w.seq = this.#begin();
    let outcome: number;
    try {
      outcome = await lock.writeAndRelease(lease, w.envelope, o.ttlMs + o.graceMs);
    } catch (err) {
      this.#writes.onError(err, key, w, performance.now() - start);
      return;
    }
    // 1: ours is the value (filled unless raced, as any write). 0 / -1: a newer value or a newer
    // holder won (or a delete removed the lock: fenced); ours is returned to these callers but not
    // cached here (L1 would disagree with L2).
    if (outcome !== 1) {
      this.#end(key, w.seq, true);
      return;
    }
    // A script's write is not hidden by NOLOOP (Redis 7.0): our own write comes back as a push,
    // usually in the same socket read as the reply, so the fill guard sees the key touched and
    // cannot tell our echo from a later write by someone else. Read the key again: that reply
    // follows the echo, and L1 gets whatever Redis holds now.
    if (!this.#completeWrite(key, w, performance.now() - start) && this.l1 !== null && this.l2 !== null) {
      await this.l2.read(key, this.#refills, this.#begin());
    }
  }

  /** A read that only fills L1 (not counted as a get): after a write whose own fill raced. */
  readonly #refills: ReadHandler = {
    onValue: (bytes, key, ctx) => {
      if (this.#end(key, ctx as number, false) || bytes === null || this.l1 === null) return undefined;
      try {
        const decoded = this.#codec.decode(bytes, (this.l2 as RedisTier).prefix + key);
        if (decoded.expiresAt === 0 || decoded.expiresAt > this.#clock.now()) this.l1.set(key, decoded.value, decoded.expiresAt, bytes.length);
      } catch {
        // Unreadable: the next get counts and logs it.
      }
      return undefined;
    },
    onError: (_err, key, ctx) => {
      this.#end(key, ctx as number, false);
      return undefined;
    },
  };

  /**
   * One loader across processes: take the key's lock, or wait for its holder's value. When the
   * lock cannot be reached (Redis down) or the wait runs out, load unlocked: availability over
   * a possible duplicate load.
   */
  async #loadLocked<T>(key: string, loader: Loader<T>, o: LoadOptions, lock: StampedeLock, stale: Candidate | undefined, ticket: LoadTicket): Promise<T | undefined> {
    const deadline = Date.now() + lock.maxWaitMs;
    for (;;) {
      let lease;
      // The acquire also reads the value (one round trip); it counts as an L2 read for the fill guard.
      const seq = this.#begin();
      const t0 = performance.now();
      try {
        lease = await lock.tryAcquire(key);
      } catch (err) {
        this.#end(key, seq, false);
        this.#logger.debug({ err: (err as Error).message, key }, 'stampede lock unavailable; loading unlocked');
        return this.#loadAndWrite(key, loader, o, stale, null, ticket);
      }
      if (Buffer.isBuffer(lease)) {
        const v = this.#candidateReads.onValue(lease, key, seq, performance.now() - t0) as Candidate | undefined;
        if (v?.fresh) return v.value as T;
        // Stale, expired or corrupt bytes: the lock would keep answering with them; reload unlocked.
        return this.#loadAndWrite(key, loader, o, stale ?? v, null, ticket);
      }
      this.#end(key, seq, false);
      if (lease === null) {
        // Another instance is loading. With a stale value at hand, serve it now rather than wait.
        if (stale !== undefined && o.graceMs > 0) return stale.value as T;
        let released = false;
        try {
          released = await lock.waitForRelease(key, deadline);
        } catch {
          // Redis went away while waiting: fall through to the re-read and the next attempt.
        }
        if (o.signal?.aborted === true) throw abortedError(key, o.signal);
        const landed = await this.readL2(key);
        if (landed !== undefined) return landed as T;
        if (!released) return this.#loadAndWrite(key, loader, o, stale, null, ticket);
        continue;
      }
      return this.#loadAndWrite(key, loader, o, stale, lease, ticket);
    }
  }

  /** Deletes keys from L1 and L2; resolves to how many existed in either. For cascades. */
  async deleteKeys(keys: string[]): Promise<number> {
    const existed = await Promise.all(keys.map((k) => this.delete(k)));
    let n = 0;
    for (const e of existed) if (e) n++;
    return n;
  }

  /**
   * Removes `key` from every tier. The L2 delete joins the write queue, so it reaches Redis after
   * every write of the key issued before it, and it removes the key's stampede lock too: a locked
   * load that began before the delete (it may have read the source before the change the caller
   * is deleting for) then fails its write-and-release (lock not ours) and caches nothing.
   */
  async delete(key: string): Promise<boolean> {
    // Loads and reads in flight may hold the value being deleted.
    this.#markTouched(key);
    const inL1 = this.l1?.delete(key) ?? false;
    let inL2 = 0;
    if (this.l2 !== null) {
      try {
        inL2 = await this.l2.remove(key, this.#lock === null ? null : this.#lock.lockKey(key));
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
      // Writes issued before this call must be in Redis before the scan, or one of them could
      // land after it and survive the invalidation.
      await this.l2.writesSettled();
      // The matched keys' stampede locks go first, as with delete: a locked load on any instance
      // that began before this call then fails its write-and-release and caches nothing (its
      // loader may have read the source before the change invalidated for); one that wrote
      // before the locks went has its value removed with the others.
      const lock = this.#lock;
      if (lock !== null) {
        await this.l2.deleteScanned(lock.lockMatch(pattern), (full) => {
          const k = lock.keyOfLock(full);
          return k !== null && test(k);
        });
      }
      return await this.l2.deleteMatching(pattern, onDeleted);
    } catch (err) {
      this.#stats.l2Errors++;
      throw new TierUnavailableError('l2', `Redis invalidation failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#bulkSeq = ++this.#seq;
      this.l1?.deleteWhere(test);
    }
  }


  /** Records that `key` changed (`remote`: by another connection, heard as a push) for what is in flight. */
  #markTouched(key: string, remote = false): void {
    const seq = ++this.#seq;
    if (this.#inFlight === 0) return;
    if (this.#touched.size >= MAX_TOUCHED) {
      // Too many to remember one by one: everything in flight counts as touched.
      this.#bulkSeq = seq;
      this.#forgetTouches();
      return;
    }
    this.#touched.set(key, seq);
    if (remote) this.#remoteTouched.set(key, seq);
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
