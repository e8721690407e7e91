import type { IntegratedCacheConfig } from '../config/integrated_cache_config.js';
import { InvalidArgumentError } from '../errors.js';
import { keysWith, validateArgs, type ArgumentContext } from '../guards/argument_validator.js';
import type { KeyValidator } from '../guards/key_validator.js';
import type { CacheStats } from '../observability/cache_stats.js';
import { CircuitBreaker } from '../resilience/circuit_breaker.js';
import type { MemoryTier } from '../tiers/memory/memory_tier.js';
import type { CacheEntry, GetOptions, GetOrSetOptions, Loader, LoaderLike, RawOperations, SetManyEntry, SetOptions } from '../types/cache_operations.js';
import { globMatcher } from '../util/glob.js';
import { ConsistencyLevel, ConsistencySession } from './consistency.js';
import type { DependencyGraph } from './dependency_graph.js';
import type { LoadOptions, TierStack } from './tier_stack.js';

/**
 * Longest entry life, in ms (2^52, about 142,000 years). Redis refuses a PX whose expiry
 * (now + PX) passes 2^63 ms, and past 2^53 a JS number is no longer an exact count of ms (past
 * 1e21 it even prints as `1e+21`): a larger TTL was refused by Redis after `set` had resolved,
 * so the value lived only in the writer's L1. Refused here, before anything is written.
 */
export const MAX_TTL_MS = 2 ** 52;
/** Longest timer Node honours (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TierOperationsDeps {
  config: IntegratedCacheConfig;
  /** The stack, or a CacheStateError when the cache is not ready. */
  ready: () => TierStack;
  /** The fast path's only state check: null before initialize and after close. */
  l1: () => MemoryTier | null;
  keys: KeyValidator;
  /**
   * Argument validation: the door runs it for every call except the unguarded fast paths (an
   * L1 hit of get/getOrSet with neither security nor a global limit), whose misses land here.
   */
  args: ArgumentContext;
  stats: CacheStats;
  graph: DependencyGraph;
  /** Cache-level STRONG: reads never use L1, writes never degrade to L1 only. */
  strong: boolean;
  hasL2: boolean;
  /** When the coherence watchdog last confirmed (ms since epoch); null without a watchdog. */
  confirmedAt: () => number | null;
}

/**
 * The cache operations at tier level: what a call does once the guard chain admitted it (key and
 * TTL checks, the L1 fast paths, consistency levels, tags and dependencies). Internal: only the
 * guard chain (security/secure_operations.ts) holds this object.
 */
export class TierOperations implements RawOperations {
  readonly #d: TierOperationsDeps;
  readonly #defaultTtlMs: number;
  /** One breaker per loader (by identity); weak, so per-call closures cost nothing once gone. */
  readonly #loaderBreakers = new WeakMap<object, CircuitBreaker>();
  /** The named loader breakers, for stats (a WeakMap cannot be listed). */
  readonly #loaderBreakerList: WeakRef<CircuitBreaker>[] = [];
  readonly #keyedBreakers = new Map<string, CircuitBreaker>();

  constructor(deps: TierOperationsDeps) {
    this.#d = deps;
    this.#defaultTtlMs = deps.config.defaultTtl * 1000;
  }

  get<T = unknown>(key: string, options?: GetOptions<T>): Promise<T | undefined> {
    const l1 = this.#d.l1();
    if (l1 !== null && !this.#d.strong && options?.consistency === undefined) {
      const v = l1.get(key);
      if (v !== undefined) return Promise.resolve(v as T);
    }
    return this.#getSlow(key, options);
  }

  #getSlow<T>(key: string, options: GetOptions<T> | undefined): Promise<T | undefined> {
    let read: Promise<unknown>;
    try {
      const stack = this.#d.ready();
      validateArgs('get', [key, options], this.#d.args, [key]);
      const level = options?.consistency ?? (this.#d.strong ? ConsistencyLevel.STRONG : undefined);
      read = level === undefined ? stack.readL2(key) : this.#readAt(stack, key, level, options?.session);
    } catch (err) {
      return Promise.reject(err);
    }
    // L2 latency is recorded per round trip inside the read handler (tier_stack.ts).
    if (options === undefined || options.default === undefined) return read as Promise<T | undefined>;
    const fallback = options.default;
    return read.then((v) => (v === undefined ? fallback : (v as T)));
  }

  /** A read at an explicit consistency level (the fast path handles EVENTUAL without one). */
  #readAt(stack: TierStack, key: string, level: ConsistencyLevel, session: ConsistencySession | undefined): Promise<unknown> {
    const l1 = stack.l1;
    switch (level) {
      case ConsistencyLevel.STRONG:
        return stack.readStrong(key);
      case ConsistencyLevel.WEAK: {
        const v = l1?.peekUngated(key);
        return v !== undefined ? Promise.resolve(v) : stack.readL2(key);
      }
      case ConsistencyLevel.SESSION: {
        if (!(session instanceof ConsistencySession)) throw new InvalidArgumentError('SESSION consistency needs options.session (a ConsistencySession)', { key });
        const seen = session.lastSeen(key);
        // L1 may answer only if this instance's coherence was confirmed after the session last
        // saw the key: then every write the session could have seen has been applied here.
        const confirmed = this.#d.confirmedAt() ?? (this.#d.hasL2 ? 0 : Infinity);
        const l1Ok = seen === undefined || confirmed - this.#d.config.sessionClockSkewMs > seen;
        const v = l1Ok ? l1?.get(key) : undefined;
        const read = v !== undefined ? Promise.resolve(v) : stack.readL2(key);
        return read.then((value) => {
          if (value !== undefined) session.observe(key);
          return value;
        });
      }
      default: {
        const v = l1?.get(key);
        return v !== undefined ? Promise.resolve(v) : stack.readL2(key);
      }
    }
  }

  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    try {
      const stack = this.#d.ready();
      this.#d.keys.validate(key);
      if (options === undefined) return stack.write(key, value, this.#defaultTtlMs) as Promise<void>;
      const strict = options.consistency === ConsistencyLevel.STRONG || (this.#d.strong && options.consistency === undefined);
      let written = stack.write(key, value, this.ttlMs(options.ttl), 0, strict) as Promise<void>;
      if (options.consistency === ConsistencyLevel.SESSION) {
        const session = options.session;
        if (!(session instanceof ConsistencySession)) throw new InvalidArgumentError('SESSION consistency needs options.session (a ConsistencySession)', { key });
        written = written.then(() => session.observe(key));
      }
      if (options.tags === undefined && options.dependsOn === undefined) return written;
      return written.then(() => this.#recordRelations(key, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #recordRelations(key: string, options: SetOptions): Promise<void> {
    const tags = options.tags ?? [];
    const deps = options.dependsOn ?? [];
    for (const t of tags) if (typeof t !== 'string' || t.length === 0) throw new InvalidArgumentError('tags must be non-empty strings', { key });
    for (const d of deps) this.#d.keys.validate(d);
    await this.#d.graph.record(key, tags, deps, this.ttlMs(options.ttl));
  }

  async invalidateTags(tags: string[]): Promise<number> {
    this.#d.ready();
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) throw new InvalidArgumentError('tags must be an array of non-empty strings');
    return this.#d.graph.invalidateTags(tags);
  }

  async delete(key: string): Promise<boolean> {
    const stack = this.#d.ready();
    this.#d.keys.validate(key);
    const start = performance.now();
    const existed = await stack.delete(key);
    // What depends on this key goes with it (dependency invalidation; one SMEMBERS when none).
    await this.#d.graph.cascade([key]);
    this.#d.stats.record('delete', performance.now() - start);
    return existed;
  }

  async has(key: string): Promise<boolean> {
    const stack = this.#d.ready();
    this.#d.keys.validate(key);
    return stack.has(key);
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const stack = this.#d.ready();
    for (const k of keys) this.#d.keys.validate(k);
    const l1 = this.#d.l1();
    const out = new Array<T | undefined>(keys.length);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const v = l1?.get(keys[i]);
      if (v !== undefined) out[i] = v as T;
      else pending.push(stack.readL2(keys[i]).then((x) => void (out[i] = x as T | undefined)));
    }
    if (pending.length > 0) await Promise.all(pending);
    return out;
  }

  async setMany(entries: readonly SetManyEntry[]): Promise<void> {
    const stack = this.#d.ready();
    const ttls = entries.map((e) => {
      this.#d.keys.validate(e.key);
      return this.ttlMs(e.ttl);
    });
    await stack.writeMany(
      entries.map((e) => e.key),
      entries.map((e) => e.value),
      ttls,
    );
  }

  getOrSet<T>(key: string, loader: LoaderLike<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    const l1 = this.#d.l1();
    if (l1 !== null && !this.#d.strong) {
      const v = l1.get(key);
      if (v !== undefined) return Promise.resolve(v as T);
    }
    return this.#getOrSetSlow(key, loader, options);
  }

  async #getOrSetSlow<T>(key: string, loader: LoaderLike<T>, options: GetOrSetOptions | undefined): Promise<T | undefined> {
    const stack = this.#d.ready();
    validateArgs('getOrSet', [key, loader, options], this.#d.args, () => keysWith(key, options?.dependsOn));
    let fn: Loader<T>;
    if (typeof loader === 'function') fn = loader;
    else if (typeof loader === 'object' && loader !== null && typeof loader.load === 'function') fn = (k) => loader.load(k);
    else throw new InvalidArgumentError('loader must be a function or a DataLoader', { key });
    const start = performance.now();
    try {
      const value = await stack.getOrLoad(key, fn, this.loadOptions(options, loader));
      if (value !== undefined && (options?.tags !== undefined || options?.dependsOn !== undefined)) await this.#recordRelations(key, options);
      return value;
    } finally {
      this.#d.stats.record('getOrSet', performance.now() - start);
    }
  }

  async getEntry(key: string): Promise<CacheEntry | undefined> {
    const stack = this.#d.ready();
    this.#d.keys.validate(key);
    const e = await stack.readEntry(key);
    return e === undefined ? undefined : { value: e.value, freshUntil: e.freshUntil };
  }

  async invalidatePattern(pattern: string): Promise<number> {
    const stack = this.#d.ready();
    this.#d.keys.validatePattern(pattern);
    const graph = this.#d.graph;
    return stack.deleteMatching(pattern, globMatcher(pattern), (keys) => graph.cascadeFromRoots(keys).then(() => undefined));
  }

  async clear(): Promise<void> {
    await this.#d.ready().deleteMatching('*', () => true);
  }

  async scanKeys(pattern: string): Promise<string[]> {
    const stack = this.#d.ready();
    this.#d.keys.validatePattern(pattern);
    const out: string[] = [];
    if (stack.l2 === null) {
      const test = globMatcher(pattern);
      for (const k of stack.l1?.keys() ?? []) if (test(k)) out.push(k);
      return out;
    }
    await stack.l2.scanMatching(pattern, async (keys) => void out.push(...keys));
    return out;
  }

  collectCascade(roots: readonly string[]): Promise<string[]> {
    return this.#d.graph.collectCascade(roots);
  }

  tagMembers(tags: readonly string[]): Promise<string[]> {
    return this.#d.graph.tagMembers(tags);
  }

  /** Every loader breaker that is still alive (stats, health). */
  breakers(): CircuitBreaker[] {
    const out: CircuitBreaker[] = [...this.#keyedBreakers.values()];
    for (const ref of this.#loaderBreakerList) {
      const b = ref.deref();
      if (b !== undefined) out.push(b);
    }
    return out;
  }

  /**
   * The breaker guarding a loader: one per `breakerKey` (a string you choose, e.g. 'users-db'),
   * else one per DataLoader object. Plain functions get none: a loader is usually a closure made
   * per call, and a breaker per closure would never see a second call (and cost an allocation
   * on every miss, measured).
   */
  #loaderBreaker(loader: object, breakerKey?: string): CircuitBreaker | null {
    const c = this.#d.config.circuitBreaker;
    if (c === false) return null;
    if (breakerKey !== undefined) {
      let b = this.#keyedBreakers.get(breakerKey);
      if (b === undefined) {
        b = new CircuitBreaker({ name: `loader:${breakerKey}`, ...c });
        this.#keyedBreakers.set(breakerKey, b);
      }
      return b;
    }
    if (typeof loader === 'function') return null;
    let b = this.#loaderBreakers.get(loader);
    if (b === undefined) {
      b = new CircuitBreaker({ name: `loader:${loader.constructor.name || 'DataLoader'}`, ...c });
      this.#loaderBreakers.set(loader, b);
      this.#loaderBreakerList.push(new WeakRef(b));
    }
    return b;
  }

  /** Resolves a call's read-through options against the config (validated; typed errors). */
  loadOptions(options: GetOrSetOptions | undefined, loader?: object): LoadOptions {
    const c = this.#d.config;
    const ms = (name: string, v: number | undefined, fallback: number, max: number): number => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new InvalidArgumentError(`${name} must be a number in 0..${max}, got ${String(v)}`);
      return v;
    };
    const ttlMs = this.ttlMs(options?.ttl);
    const breaker = loader === undefined ? null : this.#loaderBreaker(loader, options?.breakerKey);
    return {
      ttlMs,
      // ttl + grace is the lifetime written to Redis: together they stay within MAX_TTL_MS.
      graceMs: ms('grace', options?.grace, c.defaultGrace, (MAX_TTL_MS - ttlMs) / 1000) * 1000,
      // A Node timer past 2^31-1 ms fires at once: a longer timeout would mean none.
      softTimeoutMs: ms('softTimeoutMs', options?.softTimeoutMs, c.loaderSoftTimeoutMs, MAX_TIMER_MS),
      hardTimeoutMs: ms('hardTimeoutMs', options?.hardTimeoutMs, c.loaderHardTimeoutMs, MAX_TIMER_MS),
      guard: breaker === null ? undefined : (call) => breaker.run(call),
      strong: this.#d.strong,
    };
  }

  ttlMs(ttl: number | undefined): number {
    if (ttl === undefined) return this.#defaultTtlMs;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl * 1000 > MAX_TTL_MS) {
      throw new InvalidArgumentError(`ttl must be a positive number of seconds up to ${MAX_TTL_MS / 1000}, got ${String(ttl)}`);
    }
    return ttl * 1000;
  }
}
