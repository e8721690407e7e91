import type { LoaderContext } from './cache_operations.js';

/**
 * Typed keys. A cache schema maps key prefixes to the type of value stored under them:
 *
 * ```ts
 * interface AppCache {
 *   'user:': User;          // every key starting with 'user:'
 *   'session:': Session;
 *   'config': Config;       // also matches 'config…': a whole key is its own prefix
 * }
 * const cache = createIntegratedCache<AppCache>({ ... });
 * const u = await cache.get(`user:${id}`);      // User | undefined
 * await cache.set('session:1', user);           // type error: a User is not a Session
 * await cache.get('order:1');                   // type error: no prefix matches
 * ```
 *
 * A key matching several prefixes (`'user:'` and `'user:admin:'`) gets the union of their
 * types: give prefixes that do not overlap. Template-literal keys (`` [k: `user:${number}`]: User ``)
 * work too. Without a schema the cache is untyped: any string key, `unknown` values.
 */

/** The schema of an untyped cache: any key, any value. */
export type UntypedSchema = Record<string, unknown>;

/** The keys a schema admits: any string starting with one of its prefixes. */
export type CacheKey<S> = `${keyof S & string}${string}`;

/** The value type stored under `K` (the union over every prefix of `K` in the schema). */
export type CacheValue<S, K extends string> = { [P in keyof S & string]: K extends `${P}${string}` ? S[P] : never }[keyof S & string];

/** An entry of `setMany` on a cache with schema `S`: its value's type follows its key's prefix. */
export type CacheSchemaEntry<S> = { [P in keyof S & string]: { key: `${P}${string}`; value: S[P]; ttl?: number } }[keyof S & string];

/** What `getOrSet` accepts as a loader: a function of the key, or an object with `load` (a DataLoader). */
export type LoaderOf<R> = ((key: string, context: LoaderContext) => R | PromiseLike<R>) | { load(key: string, context: LoaderContext): R | PromiseLike<R> };
