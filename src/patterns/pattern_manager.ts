import type { CacheLogger as Logger } from '../observability/logger.js';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import type { StampedeLock } from '../coherence/stampede_lock.js';
import type { GetOrSetOptions, IntegratedCacheManager } from '../core/integrated_cache_manager.js';
import { InvalidArgumentError } from '../errors.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import type { CacheStatsSnapshot } from '../observability/cache_stats.js';
import { AdaptiveTtl, type AdaptiveTtlOptions } from './adaptive_ttl.js';
import { batchToMap, CachePattern, toLoaderFn, type CachePatternConfig, type DataLoader, type DataWriter } from './cache_pattern.js';
import type { InvalidationManager } from './invalidation_manager.js';
import { WriteBehindQueue, type WriteBehindOptions } from './write_behind_queue.js';

/** What the pattern manager needs from the cache beyond its public API. */
export interface PatternContext {
  cache: IntegratedCacheManager;
  invalidation: InvalidationManager;
  /** Null without Redis (write-behind needs it; write-through then serializes in-process). */
  lock: StampedeLock | null;
  backend: RedisBackend | null;
  codec: EnvelopeCodec;
  namespace: string;
  commandTimeoutMs: number;
  logger: Logger;
  /** The entry for a key with the end of its fresh life (refresh-ahead). */
  readEntry: (key: string) => Promise<{ value: unknown; freshUntil: number } | undefined>;
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

type LoaderArg<T> = DataLoader<T> | ((key: string) => T | undefined | Promise<T | undefined>);

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
  readonly #localLocks = new Map<string, Promise<unknown>>();
  readonly #adaptive: AdaptiveTtl | null;
  readonly stats = { refreshes: 0, refreshErrors: 0, writeThrough: 0, writeBehind: 0, batchLoads: 0 };

  constructor(ctx: PatternContext, options: PatternManagerOptions = {}) {
    this.#ctx = ctx;
    this.invalidationManager = ctx.invalidation;
    this.#defaults = options;
    const base = options.ttl ?? ctx.cache.config.defaultTtl;
    this.#adaptive = options.adaptiveTtl ? new AdaptiveTtl({ ...options.adaptiveTtl, baseTtl: options.adaptiveTtl.baseTtl ?? base }) : null;
  }

  /** Settings for keys starting with `prefix` (merged over the manager's defaults). */
  configurePrefix(prefix: string, config: CachePatternConfig): void {
    this.#prefixes.push([prefix, config]);
    this.#prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** The settings that apply to `key`. */
  configFor(key: string): CachePatternConfig {
    for (const [p, c] of this.#prefixes) if (key.startsWith(p)) return { ...this.#defaults, ...c };
    return this.#defaults;
  }

  /** The TTL (seconds) a store of `key` gets when the call names none. */
  ttlFor(key: string, explicit?: number): number | undefined {
    if (explicit !== undefined) return explicit;
    if (this.#adaptive !== null) return this.#adaptive.ttlFor(key);
    return this.configFor(key).ttl;
  }

  /** Reads `key` with the read pattern that applies (call > prefix > default; READ_THROUGH if none). */
  async getOrSet<T>(key: string, loader: LoaderArg<T>, options: PatternGetOptions = {}): Promise<T | undefined> {
    const cfg = this.configFor(key);
    const pattern = options.pattern ?? cfg.readPattern ?? CachePattern.READ_THROUGH;
    this.#adaptive?.onRead(key);
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    const call: GetOrSetOptions = {
      ...sid,
      ttl: this.ttlFor(key, options.ttl),
      grace: options.grace ?? cfg.grace,
      softTimeoutMs: options.softTimeoutMs ?? cfg.softTimeoutMs,
      hardTimeoutMs: options.hardTimeoutMs ?? cfg.hardTimeoutMs,
    };
    const cache = this.#ctx.cache;
    switch (pattern) {
      case CachePattern.CACHE_ASIDE: {
        const hit = await cache.get<T>(key, sid);
        if (hit !== undefined) return hit;
        const loaded = await toLoaderFn(loader)(key);
        if (loaded !== undefined) await cache.set(key, loaded, { ...sid, ttl: call.ttl });
        return loaded;
      }
      case CachePattern.REFRESH_AHEAD: {
        // With security on, the guarded read decides (readEntry would bypass the guards).
        const entry = options.sessionId === undefined ? await this.#ctx.readEntry(key) : undefined;
        if (entry === undefined) return cache.getOrSet(key, loader, call);
        this.#maybeRefresh(key, loader, entry.freshUntil, call, cfg.refreshAheadFactor ?? 0.8);
        return entry.value as T;
      }
      default:
        return cache.getOrSet(key, loader, call);
    }
  }

  #maybeRefresh<T>(key: string, loader: LoaderArg<T>, freshUntil: number, call: GetOrSetOptions, factor: number): void {
    if (freshUntil === 0 || this.#refreshing.has(key)) return;
    const ttlMs = (call.ttl ?? this.#ctx.cache.config.defaultTtl) * 1000;
    const remaining = freshUntil - Date.now();
    if (remaining > ttlMs * (1 - factor)) return;
    this.#refreshing.add(key);
    const run = async (): Promise<void> => {
      // One reload per key per remaining life across instances: the marker expires with the entry.
      if (this.#ctx.lock !== null && !(await this.#ctx.lock.tryOnce('refresh', key, Math.max(remaining, 1)))) return;
      this.stats.refreshes++;
      const value = await toLoaderFn(loader)(key);
      if (value !== undefined) await this.#ctx.cache.set(key, value, { ttl: call.ttl });
    };
    run()
      .catch((err: unknown) => {
        this.stats.refreshErrors++;
        this.#ctx.logger.warn({ key, err: (err as Error).message }, 'refresh-ahead reload failed; the current value stays until it expires');
      })
      .finally(() => this.#refreshing.delete(key));
  }

  /**
   * Values for `keys` in order: cached ones from the cache (L2 lookups batched), the rest from one
   * `loadBatch` call when the loader has it (else `load` per key, concurrently), then stored with
   * one batched write.
   */
  async getMany<T>(keys: string[], loader: LoaderArg<T>, options: { ttl?: number; sessionId?: string } = {}): Promise<(T | undefined)[]> {
    const cache = this.#ctx.cache;
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    const out = await cache.getMany<T>(keys, sid);
    const missing = keys.filter((_, i) => out[i] === undefined);
    if (missing.length === 0) return out;
    let loaded: Map<string, T>;
    if (typeof loader !== 'function' && loader.loadBatch && (this.#defaults.batchOperations ?? true)) {
      this.stats.batchLoads++;
      loaded = batchToMap(await loader.loadBatch(missing));
    } else {
      const fn = toLoaderFn(loader);
      const values = await Promise.all(missing.map((k) => fn(k)));
      loaded = new Map();
      missing.forEach((k, i) => {
        if (values[i] !== undefined) loaded.set(k, values[i] as T);
      });
    }
    const entries = [...loaded].map(([key, value]) => ({ key, value, ttl: this.ttlFor(key, options.ttl) }));
    if (entries.length > 0) await cache.setMany(entries, sid);
    return keys.map((k, i) => out[i] ?? loaded.get(k));
  }

  /** Writes `value` with the write pattern that applies (call > prefix > default; WRITE_THROUGH if none). Resolves to true. */
  async setWithPattern<T>(key: string, value: T, options: PatternSetOptions<T>): Promise<boolean> {
    const writer = options.dataWriter;
    if (writer === undefined || typeof writer.write !== 'function') throw new InvalidArgumentError('setWithPattern needs a dataWriter with write(key, value)', { key });
    const pattern = options.pattern ?? this.configFor(key).writePattern ?? CachePattern.WRITE_THROUGH;
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    const setOptions = { ...sid, ttl: this.ttlFor(key, options.ttl), tags: options.tags, dependsOn: options.dependsOn };
    this.#adaptive?.onWrite(key);
    const cache = this.#ctx.cache;
    // The source is written before the cache: with security on, the session must be allowed to
    // write (and, for cache-aside, delete) this key before anything reaches the source.
    await cache.checkAccess('setWithPattern', pattern === CachePattern.CACHE_ASIDE ? ['write', 'delete'] : ['write'], [key, ...(options.dependsOn ?? [])], options.sessionId);
    switch (pattern) {
      case CachePattern.WRITE_BEHIND: {
        const queue = this.writeBehindQueue(writer);
        await queue.enqueue(key, value);
        this.stats.writeBehind++;
        await cache.set(key, value, setOptions);
        return true;
      }
      case CachePattern.CACHE_ASIDE:
        await this.#exclusive(key, async () => {
          if ((await writer.write(key, value)) === false) throw new Error(`dataWriter.write(${key}) returned false`);
          await cache.delete(key, sid);
        });
        return true;
      default:
        await this.#exclusive(key, async () => {
          // Source first: if it fails, nothing is cached and the caller gets its error.
          if ((await writer.write(key, value)) === false) throw new Error(`dataWriter.write(${key}) returned false`);
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
    const w = options.dataWriter;
    await this.#ctx.cache.checkAccess('setManyWithPattern', ['write'], entries.map((e) => e.key), options.sessionId);
    if (w.writeBatch) {
      if ((await w.writeBatch(new Map(entries.map((e) => [e.key, e.value])))) === false) throw new Error('dataWriter.writeBatch returned false');
    } else {
      for (const e of entries) if ((await w.write(e.key, e.value)) === false) throw new Error(`dataWriter.write(${e.key}) returned false`);
    }
    await this.#ctx.cache.setMany(
      entries.map((e) => ({ key: e.key, value: e.value, ttl: this.ttlFor(e.key, options.ttl) })),
      options.sessionId === undefined ? undefined : { sessionId: options.sessionId },
    );
  }

  /** The write-behind queue of `writer` (created and started on first use). */
  writeBehindQueue<T>(writer: DataWriter<T>, options?: WriteBehindOptions): WriteBehindQueue<T> {
    const name = writer.name ?? (writer.constructor?.name !== 'Object' ? writer.constructor?.name : undefined);
    if (!name) throw new InvalidArgumentError('a write-behind DataWriter needs a name (a `name` property or a class name): its queue must be found again by other instances');
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
      q.start();
    }
    return q;
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

  /** Counters, with each write-behind queue's. */
  snapshot(): CacheStatsSnapshot['patterns'] {
    const queues: CacheStatsSnapshot['patterns']['queues'] = {};
    for (const [name, q] of this.#queues) queues[name] = { ...q.stats };
    return { ...this.stats, queues };
  }

  /** Drains every write-behind queue (bounded by `timeoutMs` each). */
  async close(timeoutMs = 10_000): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.drainAndStop(timeoutMs)));
  }
}
