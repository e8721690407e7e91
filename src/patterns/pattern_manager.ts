import type { CacheLogger as Logger } from '../observability/logger.js';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import type { StampedeLock } from '../coherence/stampede_lock.js';
import { CacheError, InvalidArgumentError, TierUnavailableError } from '../errors.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import type { CacheStatsSnapshot } from '../observability/cache_stats.js';
import type { CacheOperations, GetOrSetOptions, Loader } from '../types/cache_operations.js';
import { abortedError, UNABORTABLE } from '../util/abort.js';
import { AdaptiveTtl, type AdaptiveTtlOptions } from './adaptive_ttl.js';
import { requireShape } from '../guards/argument_validator.js';
import { batchToMap, CachePattern, loadVia, toLoaderFn, writeBatchOf, writeOne, type CachePatternConfig, type DataLoader, type DataWriter } from './cache_pattern.js';
import type { InvalidationManager } from './invalidation_manager.js';
import { WriteBehindQueue, writeBehindInternals, type WriteBehindOptions } from './write_behind_queue.js';
import { errorText } from '../util/error_text.js';

/** What the pattern manager is given: the guarded operations, and the pattern machinery's own parts. */
export interface PatternContext {
  /** The guarded operations (the one door): every cache read, write and check goes through them. */
  ops: CacheOperations;
  invalidation: InvalidationManager;
  /** Null without Redis (write-behind needs it; write-through then serializes in-process). */
  lock: StampedeLock | null;
  backend: RedisBackend | null;
  codec: EnvelopeCodec;
  namespace: string;
  /** Receives the function that reads the pattern counters (for the cache's stats). */
  registerSnapshot: (read: () => CacheStatsSnapshot['patterns']) => void;
  /** Seconds: the cache's default TTL. */
  defaultTtl: number;
  commandTimeoutMs: number;
  logger: Logger;
}

export interface PatternManagerOptions extends CachePatternConfig {
  /** TTL from observed reads and writes (adaptive_ttl.ts) for calls that give no ttl. */
  adaptiveTtl?: (Omit<AdaptiveTtlOptions, 'now' | 'baseTtl'> & { baseTtl?: number }) | false;
  /** Write-behind queue settings. */
  writeBehind?: WriteBehindOptions;
}

export interface PatternGetOptions extends GetOrSetOptions {
  pattern?: CachePattern;
}

export interface PatternSetOptions<T> {
  dataWriter: DataWriter<T>;
  /** With security on: the session the write runs under. */
  sessionId?: string;
  pattern?: CachePattern;
  /** Seconds. */
  ttl?: number;
  tags?: string[];
  dependsOn?: string[];
}

/** A DataLoader, or a plain loader function of one key. */
export type LoaderArg<T> = DataLoader<T> | Loader<T>;

/**
 * The seed's cache patterns over the cache's public operations (docs/patterns in cache_pattern.ts):
 * a default read and write pattern, overridable per key prefix (longest prefix wins) and per call.
 *
 * - READ_THROUGH: `cache.getOrSet` (single flight in process, one loader across instances, grace).
 * - CACHE_ASIDE: read the cache; on a miss load and set. A write goes to the source, then deletes
 *   the cached copy (the next read reloads it).
 * - REFRESH_AHEAD: read-through; a read of an entry older than `refreshAheadFactor` of its TTL
 *   starts one background reload (one per key per TTL period across instances), so a hot key is
 *   replaced before it expires and readers never wait on the source.
 * - WRITE_THROUGH: under a per-key lock across instances, write the source, then the cache. A source
 *   failure caches nothing and reaches the caller; concurrent writers of a key are serialized,
 *   so the cache and the source end with the same last value.
 * - WRITE_BEHIND: queue the write durably in Redis (write_behind_queue.ts), then set the cache;
 *   resolves once queued. The source is written later in coalesced batches by one flusher.
 */
export class PatternManager {
  readonly invalidationManager: InvalidationManager;
  readonly #ctx: PatternContext;
  readonly #defaults: PatternManagerOptions;
  readonly #prefixes: [string, CachePatternConfig][] = [];
  readonly #queues = new Map<string, WriteBehindQueue>();
  readonly #refreshing = new Set<string>();
  /** Background reloads in flight: close() lets them finish before the cache closes under them. */
  readonly #reloads = new Set<Promise<void>>();
  readonly #localLocks = new Map<string, Promise<unknown>>();
  readonly #adaptive: AdaptiveTtl | null;
  readonly stats = { refreshes: 0, refreshErrors: 0, writeThrough: 0, writeBehind: 0, batchLoads: 0 };

  /** @internal Built by the cache (`cache.patternManager` / the security guards), never by users: its arguments are the cache's internals. */
  constructor(ctx: PatternContext, options: PatternManagerOptions = {}) {
    this.#ctx = ctx;
    this.invalidationManager = ctx.invalidation;
    this.#defaults = options;
    const base = options.ttl ?? ctx.defaultTtl;
    ctx.registerSnapshot(() => this.#snapshot());
    this.#adaptive = options.adaptiveTtl ? new AdaptiveTtl({ ...options.adaptiveTtl, baseTtl: options.adaptiveTtl.baseTtl ?? base }) : null;
  }

  /** Settings for keys starting with `prefix` (merged over the manager's defaults). Refused with security on (no session check). */
  configurePrefix(prefix: string, config: CachePatternConfig): void {
    this.#ctx.ops.refuseSync('configurePrefix');
    if (typeof prefix !== 'string' || typeof config !== 'object' || config === null) throw new InvalidArgumentError('configurePrefix(prefix: string, config: object)');
    this.#prefixes.push([prefix, config]);
    this.#prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** The settings that apply to `key`. Refused with security on (no session check). */
  configFor(key: string): CachePatternConfig {
    this.#ctx.ops.refuseSync('configFor');
    return this.#configFor(key);
  }

  #configFor(key: string): CachePatternConfig {
    if (typeof key !== 'string') return this.#defaults; // refused by the door's validation later
    for (const [p, c] of this.#prefixes) if (key.startsWith(p)) return { ...this.#defaults, ...c };
    return this.#defaults;
  }

  /** The TTL (seconds) a store of `key` gets when the call names none. Refused with security on (no session check). */
  ttlFor(key: string, explicit?: number): number | undefined {
    this.#ctx.ops.refuseSync('ttlFor');
    return this.#ttlFor(key, explicit);
  }

  #ttlFor(key: string, explicit?: number): number | undefined {
    if (explicit !== undefined) return explicit;
    if (this.#adaptive !== null) return this.#adaptive.ttlFor(key);
    return this.#configFor(key).ttl;
  }

  /** Reads `key` with the read pattern that applies (call > prefix > default; READ_THROUGH if none). */
  async getOrSet<T>(key: string, loader: LoaderArg<T>, options: PatternGetOptions = {}): Promise<T | undefined> {
    await this.#ctx.ops.validate('getOrSet', options, () => {
      requireShape.writeOptions('getOrSet', options);
      requireShape.loader('getOrSet', loader);
      const f = options.refreshAhead;
      if (f !== undefined && (typeof f !== 'number' || !(f > 0 && f < 1))) throw new InvalidArgumentError(`getOrSet: refreshAhead must be a fraction of the TTL in (0, 1), got ${String(f)}`);
    });
    // An abandoned call answers nothing, not even the cached value refresh-ahead would return.
    if (options.signal?.aborted === true) throw abortedError(key, options.signal);
    const cfg = this.#configFor(key);
    const pattern = options.pattern ?? (options.refreshAhead !== undefined ? CachePattern.REFRESH_AHEAD : undefined) ?? cfg.readPattern ?? CachePattern.READ_THROUGH;
    this.#adaptive?.onRead(key);
    loader = this.#readYourWrites(loader);
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    const call: GetOrSetOptions = {
      ...sid,
      ttl: this.#ttlFor(key, options.ttl),
      securityLevel: options.securityLevel,
      tags: options.tags,
      dependsOn: options.dependsOn,
      grace: options.grace ?? cfg.grace,
      softTimeoutMs: options.softTimeoutMs ?? cfg.softTimeoutMs,
      hardTimeoutMs: options.hardTimeoutMs ?? cfg.hardTimeoutMs,
      signal: options.signal,
      breakerKey: options.breakerKey,
    };
    const ops = this.#ctx.ops;
    switch (pattern) {
      case CachePattern.CACHE_ASIDE: {
        // The write is admitted before the source is asked (a reader without WRITE loads nothing).
        await ops.check('getOrSet', ['read', 'write'], [key, ...(options.dependsOn ?? [])], sid);
        const hit = (await ops.get(key, sid)) as T | undefined;
        if (hit !== undefined) return hit;
        const loaded = await loadVia(() => toLoaderFn(loader)(key, call.signal === undefined ? UNABORTABLE : { signal: call.signal }));
        if (loaded !== undefined) await ops.set(key, loaded, { ...sid, ttl: call.ttl, securityLevel: call.securityLevel, tags: call.tags, dependsOn: call.dependsOn });
        return loaded;
      }
      case CachePattern.REFRESH_AHEAD: {
        // The entry comes through the guards like any read (session, key, the value's level).
        const entry = await ops.getEntry(key, sid);
        if (entry === undefined) return (await ops.getOrSet(key, loader, call)) as T | undefined;
        this.#maybeRefresh(key, loader, entry.freshUntil, call, options.refreshAhead ?? cfg.refreshAheadFactor ?? 0.8);
        return entry.value as T;
      }
      default:
        return (await ops.getOrSet(key, loader, call)) as T | undefined;
    }
  }

  /**
   * With write-behind queues in use, a load first looks for a queued write of the key: the source
   * does not have it yet, and caching what it has would pin the older value for a whole TTL after
   * the flush. Queues of this process only (a queue is per writer, created on first write).
   */
  #readYourWrites<T>(loader: LoaderArg<T>): LoaderArg<T> {
    if (this.#queues.size === 0) return loader;
    const load = toLoaderFn(loader);
    return async (key, context) => {
      for (const q of this.#queues.values()) {
        try {
          const pending = await writeBehindInternals(q).pendingValue(key);
          if (pending !== undefined) return pending.value as T;
        } catch (err) {
          this.#ctx.logger.warn({ key, err: (err as Error).message }, 'write-behind: could not look for a queued write; loading from the source');
        }
      }
      return load(key, context);
    };
  }

  #maybeRefresh<T>(key: string, loader: LoaderArg<T>, freshUntil: number, call: GetOrSetOptions, factor: number): void {
    if (freshUntil === 0 || this.#refreshing.has(key)) return;
    const ttlMs = (call.ttl ?? this.#ctx.defaultTtl) * 1000;
    const remaining = freshUntil - Date.now();
    if (remaining > ttlMs * (1 - factor)) return;
    this.#refreshing.add(key);
    const run = async (): Promise<void> => {
      // One reload per key per remaining life across instances: the marker expires with the entry.
      if (this.#ctx.lock !== null && !(await this.#ctx.lock.tryOnce('refresh', key, Math.max(remaining, 1)))) return;
      this.stats.refreshes++;
      const value = await toLoaderFn(loader)(key, UNABORTABLE);
      // The reload writes under the reader's session: it is refused if that session may not write.
      if (value !== undefined) await this.#ctx.ops.set(key, value, { sessionId: call.sessionId, ttl: call.ttl, securityLevel: call.securityLevel });
    };
    const reload = run()
      .catch((err: unknown) => {
        this.stats.refreshErrors++;
        this.#ctx.logger.warn({ key, err: (err as Error).message }, 'refresh-ahead reload failed; the current value stays until it expires');
      })
      .finally(() => {
        this.#refreshing.delete(key);
        this.#reloads.delete(reload);
      });
    this.#reloads.add(reload);
  }

  /**
   * Values for `keys` in order: cached ones from the cache (L2 lookups batched), the rest from one
   * `loadBatch` call when the loader has it (else `load` per key, concurrently), then stored with
   * one batched write.
   */
  async getMany<T>(keys: string[], loader: LoaderArg<T>, options: { ttl?: number; sessionId?: string } = {}): Promise<(T | undefined)[]> {
    await this.#ctx.ops.validate('getMany', options, () => {
      requireShape.options('getMany', options);
      requireShape.loader('getMany', loader);
    });
    const ops = this.#ctx.ops;
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    // Loaded values are stored: the session must be allowed to write every key before the source is asked.
    await ops.check('getMany', ['read', 'write'], keys, sid);
    const out = (await ops.getMany(keys, sid)) as (T | undefined)[];
    const missing = keys.filter((_, i) => out[i] === undefined);
    if (missing.length === 0) return out;
    let loaded: Map<string, T>;
    if (typeof loader !== 'function' && loader.loadBatch && (this.#defaults.batchOperations ?? true)) {
      this.stats.batchLoads++;
      const batch = loader.loadBatch.bind(loader);
      loaded = batchToMap(await loadVia(() => batch(missing)));
    } else {
      const fn = toLoaderFn(loader);
      const values = await Promise.all(missing.map((k) => loadVia(() => fn(k, UNABORTABLE))));
      loaded = new Map();
      missing.forEach((k, i) => {
        if (values[i] !== undefined) loaded.set(k, values[i] as T);
      });
    }
    const entries = [...loaded].map(([key, value]) => ({ key, value, ttl: this.#ttlFor(key, options.ttl) }));
    if (entries.length > 0) await ops.setMany(entries, sid);
    return keys.map((k, i) => out[i] ?? loaded.get(k));
  }

  /** Writes `value` with the write pattern that applies (call > prefix > default; WRITE_THROUGH if none). Resolves to true. */
  async setWithPattern<T>(key: string, value: T, options: PatternSetOptions<T>): Promise<boolean> {
    const writer = (options as PatternSetOptions<T> | null)?.dataWriter as DataWriter<T>;
    await this.#ctx.ops.validate('setWithPattern', options, () => {
      requireShape.writeOptions('setWithPattern', options);
      if (typeof writer !== 'object' || writer === null || (typeof writer.write !== 'function' && typeof writer.writeBatch !== 'function')) throw new InvalidArgumentError('setWithPattern needs a dataWriter with write(key, value) or writeBatch(items)', { key });
    });
    const pattern = options.pattern ?? this.#configFor(key).writePattern ?? CachePattern.WRITE_THROUGH;
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    // The source is written before the cache: the key must be valid and the session allowed to
    // write (and, for cache-aside, delete) it before anything reaches the source or its queue.
    await this.#ctx.ops.check('setWithPattern', pattern === CachePattern.CACHE_ASIDE ? ['write', 'delete'] : ['write'], [key, ...(options.dependsOn ?? [])], sid);
    const setOptions = { ...sid, ttl: this.#ttlFor(key, options.ttl), tags: options.tags, dependsOn: options.dependsOn };
    this.#adaptive?.onWrite(key);
    const cache = this.#ctx.ops;
    switch (pattern) {
      case CachePattern.WRITE_BEHIND: {
        const queue = this.#queueFor(writer);
        // Queue and cache in one step per key (the write-through lock): two writers of a key
        // otherwise queue in one order and set the cache in the other, and the cache keeps the
        // value the source does not end with.
        await this.#exclusive(key, async () => {
          await writeBehindInternals(queue).enqueue(key, value);
          try {
            await cache.set(key, value, setOptions);
          } catch (err) {
            // Queued but not cached: an older cached value must not outlive it (a read then finds the queued value).
            await cache.delete(key, sid).catch(() => undefined);
            throw err;
          }
        }).catch((err: unknown) => {
          // The lock's Redis calls reject with node-redis's own errors (ClientOfflineError, …).
          throw err instanceof CacheError ? err : new TierUnavailableError('l2', `write-behind of ${key} failed: ${errorText(err)}`, { cause: err, key });
        });
        this.stats.writeBehind++;
        return true;
      }
      case CachePattern.CACHE_ASIDE:
        await this.#exclusive(key, async () => {
          await writeOne(writer, key, value);
          await cache.delete(key, sid);
        });
        return true;
      default:
        await this.#exclusive(key, async () => {
          // Source first: if it fails, nothing is cached and the caller gets its error.
          await writeOne(writer, key, value);
          await cache.set(key, value, setOptions);
        });
        this.stats.writeThrough++;
        return true;
    }
  }

  /**
   * Write-through of several entries: one `writeBatch` call when the writer has it (else `write`
   * per key), then one batched cache write. Not serialized per key against concurrent writers.
   */
  async setManyWithPattern<T>(entries: { key: string; value: T }[], options: { dataWriter: DataWriter<T>; ttl?: number; sessionId?: string }): Promise<void> {
    const w = (options as { dataWriter?: DataWriter<T> } | null)?.dataWriter as DataWriter<T>;
    await this.#ctx.ops.validate('setManyWithPattern', options, () => {
      requireShape.options('setManyWithPattern', options);
      requireShape.list('setManyWithPattern', 'entries', entries);
      if (typeof w !== 'object' || w === null || (typeof w.write !== 'function' && typeof w.writeBatch !== 'function')) throw new InvalidArgumentError('setManyWithPattern needs a dataWriter with write(key, value) or writeBatch(items)');
      for (const e of entries) if (typeof e !== 'object' || e === null) throw new InvalidArgumentError('setManyWithPattern: each entry must be an object { key, value }');
    });
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    await this.#ctx.ops.check('setManyWithPattern', ['write'], entries.map((e) => e.key), sid);
    if (w.writeBatch) {
      await writeBatchOf(w, new Map(entries.map((e) => [e.key, e.value])));
    } else {
      for (const e of entries) await writeOne(w, e.key, e.value);
    }
    await this.#ctx.ops.setMany(
      entries.map((e) => ({ key: e.key, value: e.value, ttl: this.#ttlFor(e.key, options.ttl) })),
      sid,
    );
  }

  /** The write-behind queue of `writer` (created and started on first use). Refused with security on (no session check). */
  writeBehindQueue<T>(writer: DataWriter<T>, options?: WriteBehindOptions): WriteBehindQueue<T> {
    this.#ctx.ops.refuseSync('writeBehindQueue');
    requireShape.writer('writeBehindQueue', writer);
    requireShape.options('writeBehindQueue', options);
    return this.#queueFor(writer, options);
  }

  #queueFor<T>(writer: DataWriter<T>, options?: WriteBehindOptions): WriteBehindQueue<T> {
    const name = writer.name ?? (writer.constructor?.name !== 'Object' ? writer.constructor?.name : undefined);
    if (!name) throw new InvalidArgumentError('a write-behind DataWriter needs a name (a `name` property or a class name): its queue must be found again by other instances');
    requireShape.name('write-behind', name);
    let q = this.#queues.get(name) as WriteBehindQueue<T> | undefined;
    if (q === undefined) {
      const backend = this.#ctx.backend;
      if (backend === null) throw new InvalidArgumentError('write-behind needs Redis for its durable queue');
      q = new WriteBehindQueue<T>({
        name,
        namespace: this.#ctx.namespace,
        backend,
        codec: this.#ctx.codec,
        writer,
        logger: this.#ctx.logger,
        commandTimeoutMs: this.#ctx.commandTimeoutMs,
        options: { ...this.#defaults.writeBehind, ...options },
      });
      this.#queues.set(name, q as WriteBehindQueue);
      // A dead-lettered write is not in the source: the cache must not keep serving it.
      q.on('dead-letter', ({ keys }: { keys: string[] }) => {
        for (const k of keys) this.#ctx.ops.delete(k).catch(() => undefined);
      });
      writeBehindInternals(q).start();
    }
    return q;
  }

  /**
   * The queue named `name` for inspection (backlog, dead letters, replay) without flushing it:
   * for tools (`tiercache dead-letters`) that have no writer. It is not started or kept.
   */
  inspectWriteBehindQueue(name: string): WriteBehindQueue {
    this.#ctx.ops.refuseSync('inspectWriteBehindQueue');
    requireShape.name('inspectWriteBehindQueue', name);
    const backend = this.#ctx.backend;
    if (backend === null) throw new InvalidArgumentError('write-behind needs Redis for its durable queue');
    const writer: DataWriter = {
      name,
      writeBatch: () => {
        throw new InvalidArgumentError('an inspection queue does not write');
      },
    };
    return new WriteBehindQueue({ name, namespace: this.#ctx.namespace, backend, codec: this.#ctx.codec, writer, logger: this.#ctx.logger, commandTimeoutMs: this.#ctx.commandTimeoutMs, options: this.#defaults.writeBehind });
  }

  /** Runs `fn` exclusively for `key`: across instances with Redis, in this process without. */
  async #exclusive<R>(key: string, fn: () => Promise<R>): Promise<R> {
    if (this.#ctx.lock !== null) return this.#ctx.lock.withExclusive('w', key, fn);
    const prev = this.#localLocks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#localLocks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#localLocks.get(key) === tail) this.#localLocks.delete(key);
    }
  }

  /** Counters, with each write-behind queue's (what the cache's stats report). */
  #snapshot(): CacheStatsSnapshot['patterns'] {
    const queues: CacheStatsSnapshot['patterns']['queues'] = {};
    for (const [name, q] of this.#queues) queues[name] = { ...q.stats };
    return { ...this.stats, queues };
  }

  /** Drains every write-behind queue (bounded by `timeoutMs` each). */
  async close(timeoutMs = 10_000): Promise<void> {
    // Refresh-ahead reloads in flight write through the cache: let them land (bounded) rather than
    // fail against a closed cache.
    if (this.#reloads.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.#reloads]), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    await Promise.all([...this.#queues.values()].map((q) => writeBehindInternals(q).drainAndStop(timeoutMs)));
  }
}
