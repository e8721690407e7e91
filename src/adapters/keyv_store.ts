/**
 * tiercache as a Keyv storage adapter (`tiercache/keyv`): Keyv, cache-manager v7 and NestJS's
 * CacheModule (which sit on Keyv) get L1 + Redis + coherence through it.
 *
 * ```ts
 * import Keyv from 'keyv';
 * import { createCache } from 'cache-manager';
 * import { KeyvTiercache } from 'tiercache/keyv';
 * const cache = createCache({ stores: [new Keyv({ store: new KeyvTiercache({ redisUrl }) })] });
 * ```
 *
 * The shape is Keyv's `KeyvStoreAdapter`, written out here so that the package's declarations
 * need no `keyv` (not a dependency of tiercache).
 */
import { EventEmitter } from 'node:events';
import type { IntegratedCacheOptions } from '../config/integrated_cache_options.js';
import { IntegratedCacheManager } from '../core/integrated_cache_manager.js';
import type { GuardOptions } from '../types/cache_operations.js';
import { escapeGlob } from '../util/glob.js';

/** Options of {@link KeyvTiercache} beyond the cache itself. */
export interface KeyvTiercacheOptions {
  /** With security on: the session every call runs under. @default undefined */
  sessionId?: string;
}

/**
 * A Keyv store backed by a tiercache cache. Give it a cache you created (you close it; the
 * store's `disconnect` leaves it open), or cache options (the store creates, initializes on first
 * use, and closes that cache on `disconnect`).
 *
 * Keyv passes TTLs in milliseconds; tiercache stores them in seconds, so any TTL works. A value
 * Keyv sets without a TTL gets the cache's `defaultTtl` (a tiercache entry always expires), not
 * "forever". Keyv prefixes keys with its namespace (`keyv:` by default); `clear()` removes only
 * that namespace's keys (every key of the cache when Keyv has no namespace). Keys pass tiercache's
 * key checks (no control characters, at most `maxKeyLength`): a refused key makes Keyv emit
 * `error` and answer false. No `iterator` (tiercache has no public key listing).
 */
export class KeyvTiercache extends EventEmitter {
  /** Keyv reads `opts` (and checks it before using `iterator`). */
  readonly opts: { cache: IntegratedCacheManager; owned: boolean; dialect: 'tiercache' };
  /** Set by Keyv: the prefix of this Keyv instance's keys, without the `:`. */
  namespace?: string;
  readonly #cache: IntegratedCacheManager;
  readonly #guard: GuardOptions | undefined;
  #ready: Promise<void> | null;

  constructor(cache: IntegratedCacheManager<object> | IntegratedCacheOptions = {}, options: KeyvTiercacheOptions = {}) {
    super();
    const owned = !(cache instanceof IntegratedCacheManager);
    // The store moves Keyv's serialized strings: the cache's value types do not apply here.
    this.#cache = owned ? new IntegratedCacheManager(cache) : (cache as unknown as IntegratedCacheManager);
    this.#ready = owned ? null : Promise.resolve();
    this.#guard = options.sessionId === undefined ? undefined : { sessionId: options.sessionId };
    this.opts = { cache: this.#cache, owned, dialect: 'tiercache' };
  }

  /** The cache behind the store, initialized. */
  async cache(): Promise<IntegratedCacheManager> {
    this.#ready ??= this.#cache.initialize();
    await this.#ready;
    return this.#cache;
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    return (await this.cache()).get<Value>(key, this.#guard);
  }

  async getMany<Value>(keys: string[]): Promise<(Value | undefined)[]> {
    if (keys.length === 0) return [];
    return (await this.cache()).getMany<Value>(keys, this.#guard);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await (await this.cache()).set(key, value, { ...this.#guard, ttl: seconds(ttl) });
    return true;
  }

  /** Keyv hands on what this resolves to as `setMany`'s result: one boolean per entry. */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    const cache = await this.cache();
    await cache.setMany(
      entries.map((e) => ({ key: e.key, value: e.value, ttl: seconds(e.ttl) })),
      this.#guard,
    );
    return entries.map(() => true);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.cache()).delete(key, this.#guard);
  }

  /** True if any of `keys` existed (as Redis's DEL count > 0). */
  async deleteMany(keys: string[]): Promise<boolean> {
    const cache = await this.cache();
    const existed = await Promise.all(keys.map((k) => cache.delete(k, this.#guard)));
    return existed.some(Boolean);
  }

  async has(key: string): Promise<boolean> {
    return (await this.cache()).has(key, this.#guard);
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    const cache = await this.cache();
    return Promise.all(keys.map((k) => cache.has(k, this.#guard)));
  }

  /** Removes this Keyv namespace's keys, or, without a namespace, every key of the cache. */
  async clear(): Promise<void> {
    const cache = await this.cache();
    if (this.namespace === undefined || this.namespace === '') await cache.clear(this.#guard);
    else await cache.invalidatePattern(`${escapeGlob(this.namespace)}:*`, this.#guard);
  }

  /** Closes the cache if the store created it; a cache you passed stays open. */
  async disconnect(): Promise<void> {
    if (this.opts.owned && this.#ready !== null) await this.#cache.close();
  }
}

/** Keyv's milliseconds to tiercache's seconds; none (or 0, Keyv's "no TTL") leaves the default. */
function seconds(ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined || ttlMs === 0 ? undefined : ttlMs / 1000;
}
