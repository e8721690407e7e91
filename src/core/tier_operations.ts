import type { IntegratedCacheConfig } from '../config/integrated_cache_config.js';
import { InvalidArgumentError } from '../errors.js';
import { abortedError } from '../util/abort.js';
import { keysWith, validateArgs, type ArgumentContext } from '../guards/argument_validator.js';
import type { KeyValidator } from '../guards/key_validator.js';
import { breakerEvents, type CacheEvents } from '../observability/cache_events.js';
import type { CacheStats } from '../observability/cache_stats.js';
import { TRACING_CHANNELS as TRACE, type TraceContext } from '../observability/tracing.js';
import { BreakerCore } from '../resilience/breaker_core.js';
import { l1Internals, type MemoryTier } from '../tiers/memory/memory_tier.js';
import type { CacheEntry, ConsistencyOptions, GetOptions, GetOrSetOptions, Loader, LoaderLike, RawOperations, SetManyEntry, SetOptions } from '../types/cache_operations.js';
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
  /** The cache's typed events (emitted only while `events.active`). */
  events: CacheEvents;
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
  readonly #loaderBreakers = new WeakMap<object, BreakerCore>();
  /** The named loader breakers, for stats (a WeakMap cannot be listed). */
  readonly #loaderBreakerList: WeakRef<BreakerCore>[] = [];
  readonly #keyedBreakers = new Map<string, BreakerCore>();
  /**
   * Writes with tags or dependencies whose relations are not recorded yet (the tag/dependency
   * SADD goes out after the value's write is acknowledged). An invalidation by tag, a delete's
   * cascade and a pattern invalidation's cascade wait for those issued before them: otherwise
   * they read the tag or dependency set before the record lands, and the value outlives an
   * invalidation issued after its write.
   */
  readonly #relating = new Set<Promise<unknown>>();

  constructor(deps: TierOperationsDeps) {
    this.#d = deps;
    this.#defaultTtlMs = deps.config.defaultTtl * 1000;
  }

  get<T = unknown>(key: string, options?: GetOptions<T>): Promise<T | undefined> {
    // Instrumented only while someone listens or traces: otherwise one field and one getter read.
    if (this.#d.events.active || TRACE.get.hasSubscribers) {
      return this.#observed({ operation: 'get', namespace: this.#d.config.namespace, key }, (ctx) => this.#get(key, options, ctx));
    }
    return this.#get(key, options, null);
  }

  #get<T>(key: string, options: GetOptions<T> | undefined, ctx: TraceContext | null): Promise<T | undefined> {
    const l1 = this.#d.l1();
    if (l1 !== null && !this.#d.strong && options?.consistency === undefined) {
      const v = l1.get(key);
      if (v !== undefined) {
        if (ctx !== null) [ctx.tier, ctx.hit] = ['l1', true];
        return Promise.resolve(v as T);
      }
    }
    return this.#getSlow(key, options, ctx);
  }

  #getSlow<T>(key: string, options: GetOptions<T> | undefined, ctx: TraceContext | null): Promise<T | undefined> {
    let read: Promise<unknown>;
    try {
      const stack = this.#d.ready();
      validateArgs('get', [key, options], this.#d.args, [key]);
      const level = this.#levelOf(options);
      read = level === undefined ? stack.readL2(key) : this.#readAt(stack, key, level, options, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
    if (ctx !== null) {
      read = read.then((v) => {
        ctx.hit = v !== undefined;
        if (ctx.hit) ctx.tier ??= 'l2';
        return v;
      });
    }
    // L2 latency is recorded per round trip inside the read handler (tier_stack.ts).
    if (options === undefined || options.default === undefined) return read as Promise<T | undefined>;
    const fallback = options.default;
    return read.then((v) => (v === undefined ? fallback : (v as T)));
  }

  /** The session of a SESSION call (a typed error when it is missing). */
  #sessionOf(options: ConsistencyOptions | undefined, key: string): ConsistencySession {
    const session = options?.session;
    if (!(session instanceof ConsistencySession)) throw new InvalidArgumentError('SESSION consistency needs options.session (a ConsistencySession)', { key });
    return session;
  }

  /**
   * Whether this instance's L1 may answer a SESSION read of `key`: only if its coherence was
   * confirmed after the session last saw (read, wrote or deleted) the key, so every change the
   * session could have seen has been applied here.
   */
  #sessionMayUseL1(session: ConsistencySession, key: string): boolean {
    const seen = session.lastSeen(key);
    const confirmed = this.#d.confirmedAt() ?? (this.#d.hasL2 ? 0 : Infinity);
    return seen === undefined || confirmed - this.#d.config.sessionClockSkewMs > seen;
  }

  /** The level a call without an explicit one runs at (cache-level STRONG, else the fast paths). */
  #levelOf(options: ConsistencyOptions | undefined): ConsistencyLevel | undefined {
    return options?.consistency ?? (this.#d.strong ? ConsistencyLevel.STRONG : undefined);
  }

  /** A read at an explicit consistency level (the fast path handles EVENTUAL without one). */
  #readAt(stack: TierStack, key: string, level: ConsistencyLevel, options: ConsistencyOptions | undefined, ctx: TraceContext | null): Promise<unknown> {
    const l1 = stack.l1;
    const fromL1 = (v: unknown): Promise<unknown> => {
      if (ctx !== null) ctx.tier = 'l1';
      return Promise.resolve(v);
    };
    switch (level) {
      case ConsistencyLevel.STRONG:
        return stack.readStrong(key);
      case ConsistencyLevel.WEAK: {
        const v = l1 === null ? undefined : l1Internals(l1).peekUngated(key);
        return v !== undefined ? fromL1(v) : stack.readL2(key);
      }
      case ConsistencyLevel.SESSION: {
        const session = this.#sessionOf(options, key);
        const v = this.#sessionMayUseL1(session, key) ? l1?.get(key) : undefined;
        const read = v !== undefined ? fromL1(v) : stack.readL2(key);
        // A miss is observed too: "absent" is what the session has seen, and an L1 elsewhere
        // holding the value from before the delete is older than that (monotonic reads).
        return read.then((value) => {
          session.observe(key);
          return value;
        });
      }
      default: {
        const v = l1?.get(key);
        return v !== undefined ? fromL1(v) : stack.readL2(key);
      }
    }
  }

  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    if (this.#d.events.active || TRACE.set.hasSubscribers) {
      return this.#observed({ operation: 'set', namespace: this.#d.config.namespace, key }, () => this.#set(key, value, options), options);
    }
    return this.#set(key, value, options);
  }

  #set(key: string, value: unknown, options: SetOptions | undefined): Promise<void> {
    try {
      const stack = this.#d.ready();
      this.#d.keys.validate(key);
      // Cache-level STRONG: an L2 failure rejects (strict), with or without options.
      if (options === undefined) return stack.write(key, value, this.#defaultTtlMs, 0, this.#d.strong) as Promise<void>;
      // Refused before anything is written: a SESSION set without its session must not land.
      const session = options.consistency === ConsistencyLevel.SESSION ? this.#sessionOf(options, key) : null;
      let written = stack.write(key, value, this.#ttlMs(options.ttl), 0, this.#levelOf(options) === ConsistencyLevel.STRONG) as Promise<void>;
      if (session !== null) written = written.then(() => session.observe(key));
      if (options.tags === undefined && options.dependsOn === undefined) return written;
      return this.#relation(written.then(() => this.#recordRelations(key, options)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Tracks a write whose relations are being recorded (see #relating). */
  #relation<R>(p: Promise<R>): Promise<R> {
    const done = (): void => void this.#relating.delete(p);
    this.#relating.add(p);
    p.then(done, done);
    return p;
  }

  /** Settles once every relation record issued before this call has landed or failed; null when none is pending. */
  #relationsSettled(): Promise<unknown> | null {
    return this.#relating.size === 0 ? null : Promise.allSettled([...this.#relating]);
  }

  async #recordRelations(key: string, options: SetOptions): Promise<void> {
    this.#checkRelations(key, options);
    await this.#d.graph.record(key, options.tags ?? [], options.dependsOn ?? [], this.#ttlMs(options.ttl));
  }

  #checkRelations(key: string, options: SetOptions): void {
    for (const t of options.tags ?? []) if (typeof t !== 'string' || t.length === 0) throw new InvalidArgumentError('tags must be non-empty strings', { key });
    for (const d of options.dependsOn ?? []) this.#d.keys.validate(d);
  }

  invalidateTags(tags: string[]): Promise<number> {
    if (this.#d.events.active || TRACE.invalidateTags.hasSubscribers) {
      return this.#observed({ operation: 'invalidateTags', namespace: this.#d.config.namespace, tags }, () => this.#invalidateTags(tags));
    }
    return this.#invalidateTags(tags);
  }

  async #invalidateTags(tags: string[]): Promise<number> {
    this.#d.ready();
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) throw new InvalidArgumentError('tags must be an array of non-empty strings');
    // Tagged writes issued before this call are members once their record lands.
    const recorded = this.#relationsSettled();
    if (recorded !== null) await recorded;
    return this.#d.graph.invalidateTags(tags);
  }

  delete(key: string, options?: ConsistencyOptions): Promise<boolean> {
    if (this.#d.events.active || TRACE.delete.hasSubscribers) {
      return this.#observed({ operation: 'delete', namespace: this.#d.config.namespace, key }, () => this.#delete(key, options));
    }
    return this.#delete(key, options);
  }

  async #delete(key: string, options: ConsistencyOptions | undefined): Promise<boolean> {
    const stack = this.#d.ready();
    this.#d.keys.validate(key);
    const session = options?.consistency === ConsistencyLevel.SESSION ? this.#sessionOf(options, key) : null;
    const recorded = this.#relationsSettled();
    const start = performance.now();
    const existed = await stack.delete(key);
    // What depends on this key goes with it (dependency invalidation; one SMEMBERS when none),
    // including dependents written before this call whose record had not landed yet.
    if (recorded !== null) await recorded;
    await this.#d.graph.cascade([key]);
    // The removal is what the session has seen last: an L1 elsewhere confirmed before it may
    // still hold the old value, and must not answer this session's next read.
    session?.observe(key);
    this.#d.stats.record('delete', performance.now() - start);
    return existed;
  }

  has(key: string, options?: ConsistencyOptions): Promise<boolean> {
    if (TRACE.has.hasSubscribers) return this.#observed({ operation: 'has', namespace: this.#d.config.namespace, key }, () => this.#has(key, options));
    return this.#has(key, options);
  }

  async #has(key: string, options: ConsistencyOptions | undefined): Promise<boolean> {
    const stack = this.#d.ready();
    this.#d.keys.validate(key);
    const level = this.#levelOf(options);
    if (level === ConsistencyLevel.STRONG) return stack.has(key, 'strong');
    if (level !== ConsistencyLevel.SESSION) return stack.has(key, 'l1-or-l2');
    const session = this.#sessionOf(options, key);
    const found = await stack.has(key, this.#sessionMayUseL1(session, key) ? 'l1-or-l2' : 'l2');
    session.observe(key);
    return found;
  }

  getMany<T = unknown>(keys: readonly string[], options?: ConsistencyOptions): Promise<(T | undefined)[]> {
    if (this.#d.events.active || TRACE.getMany.hasSubscribers) {
      return this.#observed({ operation: 'getMany', namespace: this.#d.config.namespace, keys }, (ctx) => this.#getMany<T>(keys, options, ctx));
    }
    return this.#getMany(keys, options, null);
  }

  /** With `ctx`, records which keys L1 answered (for the per-key hit/miss events). */
  async #getMany<T>(keys: readonly string[], options: ConsistencyOptions | undefined, ctx: (TraceContext & { fromL1?: boolean[] }) | null): Promise<(T | undefined)[]> {
    const stack = this.#d.ready();
    for (const k of keys) this.#d.keys.validate(k);
    const level = this.#levelOf(options);
    // STRONG: like get, every key from the Redis master, an L2 failure an error.
    const strong = level === ConsistencyLevel.STRONG;
    // SESSION: like get, L1 answers a key only if confirmed after the session last saw it.
    const session = level === ConsistencyLevel.SESSION ? this.#sessionOf(options, keys[0] ?? '') : null;
    const l1 = strong ? null : this.#d.l1();
    const out = new Array<T | undefined>(keys.length);
    const pending: Promise<void>[] = [];
    const fromL1 = ctx === null ? null : (ctx.fromL1 = new Array<boolean>(keys.length).fill(false));
    for (let i = 0; i < keys.length; i++) {
      const v = session !== null && !this.#sessionMayUseL1(session, keys[i]) ? undefined : l1?.get(keys[i]);
      if (v !== undefined) {
        out[i] = v as T;
        if (fromL1 !== null) fromL1[i] = true;
      } else pending.push((strong ? stack.readStrong(keys[i]) : stack.readL2(keys[i])).then((x) => void (out[i] = x as T | undefined)));
    }
    if (pending.length > 0) await Promise.all(pending);
    if (session !== null) for (const k of keys) session.observe(k);
    if (ctx !== null) ctx.hits = out.reduce<number>((n, v) => (v === undefined ? n : n + 1), 0);
    return out;
  }

  setMany(entries: readonly SetManyEntry[], options?: ConsistencyOptions): Promise<void> {
    if (this.#d.events.active || TRACE.setMany.hasSubscribers) {
      return this.#observed({ operation: 'setMany', namespace: this.#d.config.namespace, keys: entries.map((e) => e.key) }, () => this.#setMany(entries, options), entries);
    }
    return this.#setMany(entries, options);
  }

  async #setMany(entries: readonly SetManyEntry[], options: ConsistencyOptions | undefined): Promise<void> {
    const stack = this.#d.ready();
    const ttls = entries.map((e) => {
      this.#d.keys.validate(e.key);
      return this.#ttlMs(e.ttl);
    });
    const level = this.#levelOf(options);
    const session = level === ConsistencyLevel.SESSION ? this.#sessionOf(options, entries[0]?.key ?? '') : null;
    // STRONG: like set, an L2 failure rejects instead of keeping the values in L1 only.
    await stack.writeMany(
      entries.map((e) => e.key),
      entries.map((e) => e.value),
      ttls,
      level === ConsistencyLevel.STRONG,
    );
    if (session !== null) for (const e of entries) session.observe(e.key);
  }

  getOrSet<T>(key: string, loader: LoaderLike<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    const signal = options?.signal;
    if (signal !== undefined) {
      if (!(signal instanceof AbortSignal)) return Promise.reject(new InvalidArgumentError('getOrSet: signal must be an AbortSignal', { key }));
      // An aborted call answers nothing, not even an L1 hit: the caller has moved on.
      if (signal.aborted) return Promise.reject(abortedError(key, signal));
    }
    if (this.#d.events.active || TRACE.getOrSet.hasSubscribers) {
      return this.#observed({ operation: 'getOrSet', namespace: this.#d.config.namespace, key }, (ctx) => this.#getOrSet(key, loader, options, ctx), options);
    }
    return this.#getOrSet(key, loader, options, null);
  }

  #getOrSet<T>(key: string, loader: LoaderLike<T>, options: GetOrSetOptions | undefined, ctx: (TraceContext & { loaded?: boolean }) | null): Promise<T | undefined> {
    const l1 = this.#d.l1();
    if (l1 !== null && !this.#d.strong) {
      const v = l1.get(key);
      if (v !== undefined) {
        if (ctx !== null) [ctx.tier, ctx.hit] = ['l1', true];
        return Promise.resolve(v as T);
      }
    }
    return this.#getOrSetSlow(key, loader, options, ctx);
  }

  async #getOrSetSlow<T>(key: string, loader: LoaderLike<T>, options: GetOrSetOptions | undefined, ctx: (TraceContext & { loaded?: boolean }) | null): Promise<T | undefined> {
    const stack = this.#d.ready();
    validateArgs('getOrSet', [key, loader, options], this.#d.args, () => keysWith(key, options?.dependsOn));
    let fn: Loader<T>;
    if (typeof loader === 'function') fn = loader;
    else if (typeof loader === 'object' && loader !== null && typeof loader.load === 'function') fn = (k, c) => loader.load(k, c);
    else throw new InvalidArgumentError('loader must be a function or a DataLoader', { key });
    if (ctx !== null) {
      const load = fn;
      // Marks that this call's loader produced the value (not a concurrent load it waited for).
      fn = (k, c) => {
        const r = load(k, c);
        if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
          return Promise.resolve(r as PromiseLike<T | undefined>).then((v) => ((ctx.loaded = true), v));
        }
        ctx.loaded = true;
        return r;
      };
    }
    const relations = options !== undefined && (options.tags !== undefined || options.dependsOn !== undefined) ? options : null;
    if (relations !== null) {
      this.#checkRelations(key, relations);
      // The key joins its tags and dependencies before its loader runs, not only once its value
      // is written: an invalidation of them from then on removes the key and its stampede lock,
      // which fences this load (returned, not cached). One taking effect before the record landed
      // came before the loader read its source.
      const load = fn;
      fn = async (k, c) => {
        await this.#d.graph.record(k, relations.tags ?? [], relations.dependsOn ?? [], this.#ttlMs(relations.ttl));
        return load(k, c);
      };
    }
    const start = performance.now();
    try {
      const value = await stack.getOrLoad(key, fn, this.#loadOptions(options, loader), options?.signal);
      if (ctx !== null) {
        ctx.hit = value !== undefined && ctx.loaded !== true;
        if (value !== undefined) ctx.tier = ctx.loaded === true ? 'loader' : 'l2';
      }
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

  invalidatePattern(pattern: string): Promise<number> {
    if (this.#d.events.active || TRACE.invalidatePattern.hasSubscribers) {
      return this.#observed({ operation: 'invalidatePattern', namespace: this.#d.config.namespace, pattern }, () => this.#invalidatePattern(pattern));
    }
    return this.#invalidatePattern(pattern);
  }

  async #invalidatePattern(pattern: string): Promise<number> {
    const stack = this.#d.ready();
    this.#d.keys.validatePattern(pattern);
    const graph = this.#d.graph;
    const recorded = this.#relationsSettled();
    return stack.deleteMatching(pattern, globMatcher(pattern), async (keys) => {
      if (recorded !== null) await recorded;
      await graph.cascadeFromRoots(keys);
    });
  }

  clear(): Promise<void> {
    if (TRACE.clear.hasSubscribers) return this.#observed({ operation: 'clear', namespace: this.#d.config.namespace }, () => this.#clear());
    return this.#clear();
  }

  async #clear(): Promise<void> {
    await this.#d.ready().deleteMatching('*', () => true);
  }

  /**
   * Runs `fn` traced on its operation's channel (when subscribed), then emits its events (when
   * listened to). `extra`: what the events need beyond the context (the entries of a setMany,
   * the options of a getOrSet).
   */
  #observed<R, C extends TraceContext>(ctx: C, fn: (ctx: C) => Promise<R>, extra?: unknown): Promise<R> {
    const channel = TRACE[ctx.operation];
    const run = channel.hasSubscribers ? channel.tracePromise(() => fn(ctx), ctx) : fn(ctx);
    if (!this.#d.events.active) return run;
    return run.then((result) => {
      this.#emitOutcome(ctx, result, extra);
      return result;
    });
  }

  #emitOutcome(ctx: TraceContext & { fromL1?: boolean[]; loaded?: boolean }, result: unknown, extra: unknown): void {
    const ev = this.#d.events;
    switch (ctx.operation) {
      case 'get':
      case 'getOrSet': {
        const key = ctx.key as string;
        if (ctx.hit === true) ev.fire('hit', { operation: ctx.operation, key, tier: ctx.tier as 'l1' | 'l2' });
        else ev.fire('miss', { operation: ctx.operation, key, loaded: ctx.loaded === true });
        if (ctx.operation === 'getOrSet' && ctx.loaded === true && result !== undefined) {
          ev.fire('set', { operation: 'getOrSet', key, ttl: this.#ttlMs((extra as GetOrSetOptions | undefined)?.ttl) / 1000 });
        }
        return;
      }
      case 'getMany': {
        const keys = ctx.keys as readonly string[];
        const values = result as unknown[];
        for (let i = 0; i < keys.length; i++) {
          if (values[i] === undefined) ev.fire('miss', { operation: 'getMany', key: keys[i], loaded: false });
          else ev.fire('hit', { operation: 'getMany', key: keys[i], tier: ctx.fromL1?.[i] === true ? 'l1' : 'l2' });
        }
        return;
      }
      case 'set':
        ev.fire('set', { operation: 'set', key: ctx.key as string, ttl: this.#ttlMs((extra as SetOptions | undefined)?.ttl) / 1000 });
        return;
      case 'setMany':
        for (const e of extra as readonly SetManyEntry[]) ev.fire('set', { operation: 'setMany', key: e.key, ttl: this.#ttlMs(e.ttl) / 1000 });
        return;
      case 'delete':
        ev.fire('delete', { key: ctx.key as string, existed: result as boolean });
        return;
      case 'invalidatePattern':
        ev.fire('invalidated', { source: 'pattern', pattern: ctx.pattern as string, count: result as number });
        return;
      case 'invalidateTags':
        ev.fire('invalidated', { source: 'tags', tags: [...(ctx.tags as readonly string[])], count: result as number });
        return;
    }
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
  breakers(): BreakerCore[] {
    const out: BreakerCore[] = [...this.#keyedBreakers.values()];
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
  #loaderBreaker(loader: object, breakerKey?: string): BreakerCore | null {
    const c = this.#d.config.circuitBreaker;
    if (c === false) return null;
    if (breakerKey !== undefined) {
      let b = this.#keyedBreakers.get(breakerKey);
      if (b === undefined) {
        b = new BreakerCore({ name: `loader:${breakerKey}`, ...c, onStateChange: breakerEvents(this.#d.events, `loader:${breakerKey}`) });
        this.#keyedBreakers.set(breakerKey, b);
      }
      return b;
    }
    if (typeof loader === 'function') return null;
    let b = this.#loaderBreakers.get(loader);
    if (b === undefined) {
      const name = `loader:${loader.constructor.name || 'DataLoader'}`;
      b = new BreakerCore({ name, ...c, onStateChange: breakerEvents(this.#d.events, name) });
      this.#loaderBreakers.set(loader, b);
      this.#loaderBreakerList.push(new WeakRef(b));
    }
    return b;
  }

  /** Resolves a call's read-through options against the config (validated; typed errors). */
  #loadOptions(options: GetOrSetOptions | undefined, loader?: object): LoadOptions {
    const c = this.#d.config;
    const ms = (name: string, v: number | undefined, fallback: number, max: number): number => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new InvalidArgumentError(`${name} must be a number in 0..${max}, got ${String(v)}`);
      return v;
    };
    const ttlMs = this.#ttlMs(options?.ttl);
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

  #ttlMs(ttl: number | undefined): number {
    if (ttl === undefined) return this.#defaultTtlMs;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl * 1000 > MAX_TTL_MS) {
      throw new InvalidArgumentError(`ttl must be a positive number of seconds up to ${MAX_TTL_MS / 1000}, got ${String(ttl)}`);
    }
    return ttl * 1000;
  }
}
