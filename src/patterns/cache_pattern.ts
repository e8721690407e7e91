import { CacheError, LoaderError, WriterError } from '../errors.js';
import { errorText } from '../util/error_text.js';
import type { Loader, LoaderContext } from '../types/cache_operations.js';
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
  /** `context.signal` aborts when no caller waits for this load any more (see LoaderContext). */
  load(key: string, context: LoaderContext): Promise<T | undefined> | T | undefined;
  /**
   * Values for several keys in one source round trip; keys absent from the result have no value.
   * Used by `getMany`-style work (pattern manager `getMany`, the warmer) when present.
   */
  loadBatch?(keys: string[]): Promise<Map<string, T> | Record<string, T>> | Map<string, T> | Record<string, T>;
}

/**
 * What a write-behind flush tells the writer. `fence` is the flusher's fencing token: a number that
 * grows with every leadership term of the queue. A source that keeps, per row (or per queue), the
 * highest fence it has accepted and refuses a write with a lower one is safe even against a
 * flusher that stalled past its lease with a write already on its way (the queue itself stops a
 * stale flusher before it calls the writer, but cannot recall a call already made). Write-through
 * and cache-aside calls pass no context.
 */
export interface WriteContext {
  fence: number;
}

/**
 * A writer's answer: `false` means nothing was written; `true`/nothing means all was; a map (or
 * record) of key → boolean names the keys that were (`true`) or were not (`false`) written, keys
 * absent from it count as written. A throw means none was written (write-behind then retries
 * each key on its own, so one refused key does not hold back or dead-letter the others).
 */
export type WriteResult = boolean | void | null | undefined | Map<string, boolean> | Record<string, boolean>;

/**
 * The data source's write side: `write`, `writeBatch`, or both (a writer with only `writeBatch`
 * gets single writes as a batch of one).
 *
 * Contract for write-behind: writes must be idempotent upserts (after a crash, a key may be
 * written again with the same value); entries of a key arrive in the order they were queued; a
 * write with a `fence` lower than one already accepted should be refused (return `false`, a map
 * with the key `false`, or throw).
 */
export interface DataWriter<T = unknown> {
  write?(key: string, value: T, context?: WriteContext): Promise<WriteResult> | WriteResult;
  /** Several writes in one source round trip (write-behind flushes use it when present). */
  writeBatch?(items: Map<string, T>, context?: WriteContext): Promise<WriteResult> | WriteResult;
  /** A name that identifies this writer across processes (write-behind queues are per writer). */
  readonly name?: string;
}

/**
 * Writes one key with whichever method `writer` has; throws WriterError when the writer says it
 * did not write, or throws (its error is the `cause`).
 */
export async function writeOne<T>(writer: DataWriter<T>, key: string, value: T): Promise<void> {
  let r: WriteResult;
  try {
    r = writer.write ? await writer.write(key, value) : await writer.writeBatch?.(new Map([[key, value]]));
  } catch (err) {
    if (err instanceof CacheError) throw err;
    // The writer's own message first: it is what the caller acts on (a constraint, a timeout).
    throw new WriterError(`${errorText(err)} (the dataWriter's write failed)`, { cause: err, key });
  }
  if (r === false || (r instanceof Map ? r.get(key) === false : typeof r === 'object' && r !== null && (r as Record<string, boolean>)[key] === false)) {
    throw new WriterError('dataWriter did not write the key (it answered false)', { key });
  }
}

/** Runs a writer's `writeBatch`; a `false` answer or a throw is a WriterError. */
export async function writeBatchOf<T>(writer: DataWriter<T>, items: Map<string, T>): Promise<void> {
  let r: WriteResult;
  try {
    r = await writer.writeBatch?.(items);
  } catch (err) {
    if (err instanceof CacheError) throw err;
    throw new WriterError(`${errorText(err)} (the dataWriter's writeBatch failed)`, { cause: err });
  }
  if (r === false) throw new WriterError('dataWriter.writeBatch answered false: nothing was written');
  if (r instanceof Map || (typeof r === 'object' && r !== null)) {
    for (const k of items.keys()) if ((r instanceof Map ? r.get(k) : (r as Record<string, boolean>)[k]) === false) throw new WriterError('dataWriter.writeBatch did not write a key', { key: k });
  }
}

/** Calls a loader from a pattern: what it throws reaches the caller as a LoaderError (its `cause`). */
export async function loadVia<R>(fn: () => R | Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CacheError) throw err;
    throw new LoaderError(`loader failed: ${errorText(err)}`, { cause: err });
  }
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

export function toLoaderFn<T>(loader: DataLoader<T> | Loader<T>): Loader<T> {
  if (typeof loader === 'function') return loader;
  return (key, context) => loader.load(key, context);
}

/** A loadBatch result as a Map. */
export function batchToMap<T>(r: Map<string, T> | Record<string, T>): Map<string, T> {
  return r instanceof Map ? r : new Map(Object.entries(r));
}
