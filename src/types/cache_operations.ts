/**
 * The narrow operations interface every secondary component (pattern manager, invalidation
 * manager, warmer, benchmark) is given. It lives below core, patterns and security so that none
 * of them needs to import the manager: they hold a `CacheOperations`, and the only implementation
 * a public object ever holds is the guarded one (security/secure_operations.ts).
 */
import type { ConsistencyLevel, ConsistencySession } from '../core/consistency.js';

/** What a loader is given beside the key. */
export interface LoaderContext {
  /**
   * Aborted when no caller waits for this load any more (every `getOrSet` sharing it passed a
   * `signal` and all of them aborted): the loader may stop its work (pass it to `fetch`, a driver).
   */
  signal: AbortSignal;
}

/** A loader (L3): the value for `key` from the source, `undefined` for none. */
export type Loader<T> = (key: string, context: LoaderContext) => T | undefined | Promise<T | undefined>;

/** A loader function or an object with `load` (a DataLoader). */
export type LoaderLike<T> = Loader<T> | { load(key: string, context: LoaderContext): T | undefined | Promise<T | undefined> };

/** The session an operation runs under (required when security is on). */
export interface GuardOptions {
  sessionId?: string;
}

/** Options of the calls that take a per-call consistency level (get, has, getMany, setMany, delete; set's own options too). */
export interface ConsistencyOptions extends GuardOptions {
  /** This call's consistency (default: `config.consistencyLevel`). */
  consistency?: ConsistencyLevel;
  /**
   * Required with SESSION: the session this call belongs to. Reads record what they saw, a delete
   * records its removal, so the session's later reads on any instance see it (read-your-writes).
   */
  session?: ConsistencySession;
}

export interface GetOptions<T> extends ConsistencyOptions {
  /** Returned instead of `undefined` on a miss. */
  default?: T;
}

export interface SetOptions extends GuardOptions {
  /** Time to live in seconds (fractions allowed). @default config.defaultTtl */
  ttl?: number;
  /** With security on: the value's level (default INTERNAL, or the writer's level if lower; never above the writer's). */
  securityLevel?: number;
  /** Tags for `invalidateTags` (set, getOrSet). */
  tags?: string[];
  /** Keys this value is derived from: deleting or invalidating any of them removes this key too (transitively). */
  dependsOn?: string[];
  /** STRONG: an L2 failure rejects (never kept in L1 only). SESSION: recorded in `session`. */
  consistency?: ConsistencyLevel;
  session?: ConsistencySession;
}

export interface GetOrSetOptions extends SetOptions {
  /**
   * Fail-safe: keep the value this many seconds past its TTL, and serve it when the reload fails,
   * is refused by an open breaker, or outlasts `softTimeoutMs`. @default config.defaultGrace (0)
   */
  grace?: number;
  /** With a stale value at hand, answer it after this many ms of loading (the load goes on and fills the cache). */
  softTimeoutMs?: number;
  /** Fail with `LoaderTimeoutError` after this many ms of loading (the load goes on and fills the cache). */
  hardTimeoutMs?: number;
  /**
   * Abandons this call: once aborted, the call rejects with `AbortedError` (`E_ABORTED`). A load
   * shared with other callers (single flight) goes on for them; the loader's own signal
   * (`LoaderContext.signal`) aborts only when every caller waiting on the load has aborted, and
   * its stampede lock is then released.
   */
  signal?: AbortSignal;
  /**
   * Refresh-ahead: a read that finds the entry past this fraction of its TTL (0 < f < 1, e.g. 0.8)
   * answers the cached value at once and starts one background reload (one per key per remaining
   * life across instances), so a hot key is replaced before it expires. Runs the pattern manager's
   * REFRESH_AHEAD read. @default off
   */
  refreshAhead?: number;
  /** Names the circuit breaker this loader shares with every call using the same key (DataLoaders get one each without it). */
  breakerKey?: string;
}

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl?: number;
}

/** A cached value with the end of its fresh life (ms since epoch; 0: none): what refresh-ahead needs. */
export interface CacheEntry {
  value: unknown;
  freshUntil: number;
}

/**
 * What a component may do with the cache. Every method takes the caller's session in its options;
 * the guarded implementation validates, rate-limits, authorizes and audits each call.
 */
export interface CacheOperations {
  get(key: string, options?: GetOptions<unknown>): Promise<unknown>;
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  delete(key: string, options?: ConsistencyOptions): Promise<boolean>;
  has(key: string, options?: ConsistencyOptions): Promise<boolean>;
  getMany(keys: readonly string[], options?: ConsistencyOptions): Promise<unknown[]>;
  setMany(entries: readonly SetManyEntry[], options?: ConsistencyOptions): Promise<void>;
  getOrSet(key: string, loader: LoaderLike<unknown>, options?: GetOrSetOptions): Promise<unknown>;
  /** The entry with its fresh-until time, or undefined on a miss (refresh-ahead). */
  getEntry(key: string, options?: GuardOptions): Promise<CacheEntry | undefined>;
  invalidatePattern(pattern: string, options?: GuardOptions): Promise<number>;
  invalidateTags(tags: string[], options?: GuardOptions): Promise<number>;
  clear(options?: GuardOptions): Promise<void>;
  /**
   * Admits an operation done outside the cache (a pattern's write to the data source, a
   * registration) before it happens: the same validation, limits, authorization and audit as a
   * cache call, with nothing run. `permissions` are Permission values ('read', 'write', 'delete', 'admin').
   */
  check(op: string, permissions: readonly string[], keys: readonly string[], options?: GuardOptions): Promise<void>;
  /** Runs `fn` as an ADMIN-only operation named `op` (observability, tuning, benchmarks), audited. */
  admin<R>(op: string, options: GuardOptions | undefined, fn: () => Promise<R> | R): Promise<R>;
  /** A synchronous call has no session check: with security on it is refused (audited); a no-op otherwise. */
  refuseSync(op: string): void;
  /**
   * Runs `shapes` (argument checks of an entry point that reads its arguments before the door
   * sees them); a refusal is audited like the door's own (with security on) and rethrown.
   */
  validate(op: string, options: unknown, shapes: () => void): Promise<void>;
}

/**
 * The tier-level operations below the guards (core/tier_operations.ts): the cache operations
 * without sessions, plus what the guards need to decide (which keys a delete would reach).
 * Only the guard chain holds one.
 */
export interface RawOperations {
  get(key: string, options?: GetOptions<unknown>): Promise<unknown>;
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  delete(key: string, options?: ConsistencyOptions): Promise<boolean>;
  has(key: string, options?: ConsistencyOptions): Promise<boolean>;
  getMany(keys: readonly string[], options?: ConsistencyOptions): Promise<unknown[]>;
  setMany(entries: readonly SetManyEntry[], options?: ConsistencyOptions): Promise<void>;
  getOrSet(key: string, loader: LoaderLike<unknown>, options?: GetOrSetOptions): Promise<unknown>;
  getEntry(key: string): Promise<CacheEntry | undefined>;
  invalidatePattern(pattern: string): Promise<number>;
  invalidateTags(tags: string[]): Promise<number>;
  clear(): Promise<void>;
  /** Keys matching a pattern, without deleting (dry run). */
  scanKeys(pattern: string): Promise<string[]>;
  /** Every key a cascade from `roots` would remove (roots excluded). */
  collectCascade(roots: readonly string[]): Promise<string[]>;
  /** Members of the given tags. */
  tagMembers(tags: readonly string[]): Promise<string[]>;
}
