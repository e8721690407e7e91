/**
 * How reads and writes involve the data source (L3). Values are the snake_case names the product
 * description uses, so configs written as strings stay readable.
 */
export const CachePattern = {
  /** The caller reads the cache, loads on a miss and writes the cache; writes go to the source and drop the cached copy. */
  CACHE_ASIDE: 'cache_aside',
  /** The cache loads on a miss (one loader call per key across instances) and stores the result. */
  READ_THROUGH: 'read_through',
  /** A write goes to the source first, then to the cache; if the source fails nothing is cached. */
  WRITE_THROUGH: 'write_through',
  /** A write goes to the cache and a durable queue in Redis; the source is written later, in batches. */
  WRITE_BEHIND: 'write_behind',
  /** Read-through, plus a background reload once an entry has lived a set fraction of its TTL. */
  REFRESH_AHEAD: 'refresh_ahead',
} as const;
export type CachePattern = (typeof CachePattern)[keyof typeof CachePattern];

/** The data source's read side. `undefined` means "no such value" (nothing is cached). */
export interface DataLoader<T = unknown> {
  load(key: string): Promise<T | undefined> | T | undefined;
  /**
   * Values for several keys in one source round trip; keys absent from the result have no value.
   * Used by `getMany`-style work (pattern manager `getMany`, the warmer) when present.
   */
  loadBatch?(keys: string[]): Promise<Map<string, T> | Record<string, T>> | Map<string, T> | Record<string, T>;
}

/** The data source's write side. A thrown error (or `false`) means the write did not happen. */
export interface DataWriter<T = unknown> {
  write(key: string, value: T): Promise<boolean | void> | boolean | void;
  /** Several writes in one source round trip (write-behind flushes use it when present). */
  writeBatch?(items: Map<string, T>): Promise<boolean | void> | boolean | void;
  /** A name that identifies this writer across processes (write-behind queues are per writer). */
  readonly name?: string;
}

/** Settings of a pattern, for the whole manager or for a key prefix. */
export interface CachePatternConfig {
  readPattern?: CachePattern;
  writePattern?: CachePattern;
  /** TTL in seconds for values this pattern stores. @default the cache's defaultTtl */
  ttl?: number;
  /** Refresh-ahead: reload in the background once an entry has lived this fraction of its TTL. @default 0.8 */
  refreshAheadFactor?: number;
  /** Fail-safe grace in seconds (see GetOrSetOptions.grace). */
  grace?: number;
  softTimeoutMs?: number;
  hardTimeoutMs?: number;
  /** Use the source's batch calls for multi-key work. @default true */
  batchOperations?: boolean;
}

export function toLoaderFn<T>(loader: DataLoader<T> | ((key: string) => T | undefined | Promise<T | undefined>)): (key: string) => T | undefined | Promise<T | undefined> {
  if (typeof loader === 'function') return loader;
  return (key) => loader.load(key);
}

/** A loadBatch result as a Map. */
export function batchToMap<T>(r: Map<string, T> | Record<string, T>): Map<string, T> {
  return r instanceof Map ? r : new Map(Object.entries(r));
}
