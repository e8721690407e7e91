/**
 * Every error tiercache throws on purpose is a {@link CacheError} with a stable `code`.
 * Callers branch on `code` (or `instanceof`), never on message text: messages may change,
 * codes do not. Secrets (encryption keys, passwords) never appear in a message.
 */
export class CacheError extends Error {
  static readonly code: string = 'E_CACHE';
  readonly code: string;
  /** The cache key the failing operation was about, when there is one. */
  readonly key: string | undefined;

  constructor(message: string, options?: { cause?: unknown; key?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = (new.target as unknown as { code: string }).code;
    this.key = options?.key;
  }
}

/** A configuration option (or `CACHE_*` variable) has a value that is not accepted. */
export class InvalidOptionsError extends CacheError {
  static override readonly code = 'E_INVALID_OPTIONS';
  /** Dotted path of the offending option, e.g. `l1MaxSize`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(`Invalid option "${option}": ${message}`);
    this.option = option;
  }
}

/** The key is empty, too long, not a string, or contains characters that are not allowed. */
export class InvalidKeyError extends CacheError {
  static override readonly code = 'E_INVALID_KEY';
}

/** A per-call option (ttl, default, …) is not acceptable. */
export class InvalidArgumentError extends CacheError {
  static override readonly code: string = 'E_INVALID_ARGUMENT';
}

/**
 * A call is larger than a configured bound (`maxTagsPerKey`, `maxDependencies`, `maxBatchSize`):
 * refused before any work, so one call cannot stall the event loop or fill memory.
 */
export class LimitExceededError extends InvalidArgumentError {
  static override readonly code = 'E_LIMIT_EXCEEDED';
  readonly limit: number;
  readonly size: number;
  constructor(message: string, size: number, limit: number) {
    super(message);
    this.size = size;
    this.limit = limit;
  }
}

/** The value cannot be stored: `undefined`, a function, a cycle under JSON, a type the serializer lacks. */
export class SerializationError extends CacheError {
  static override readonly code = 'E_SERIALIZATION';
}

/** The encoded value is larger than `maxValueBytes`. Nothing was written. */
export class ValueTooLargeError extends CacheError {
  static override readonly code = 'E_VALUE_TOO_LARGE';
  readonly size: number;
  readonly limit: number;
  constructor(key: string, size: number, limit: number) {
    super(`Value for key is ${size} bytes encoded, above maxValueBytes=${limit}`, { key });
    this.size = size;
    this.limit = limit;
  }
}

/** Bytes read from L2 are not a value tiercache wrote (bad header, bad payload, failed authentication). */
export class CorruptValueError extends CacheError {
  static override readonly code = 'E_CORRUPT_VALUE';
}

/** The loader (L3) passed to `getOrSet` threw or rejected; `cause` holds what it threw. */
export class LoaderError extends CacheError {
  static override readonly code: string = 'E_LOADER';
}

/**
 * A loader asked for the key it is loading (directly, or through a chain of loaders): waiting for
 * itself would never end, so the inner call fails at once and the outer load fails with it.
 */
export class RecursiveLoadError extends LoaderError {
  static override readonly code = 'E_RECURSIVE_LOAD';
}

/** The loader did not answer within the call's hard timeout (it may still complete and fill the cache). */
export class LoaderTimeoutError extends CacheError {
  static override readonly code = 'E_LOADER_TIMEOUT';
}

/**
 * The caller's `signal` (the `signal` option of `getOrSet`) aborted before the value arrived; `cause`
 * holds the signal's reason. A load shared with other callers goes on for them: only when every
 * caller waiting on it has aborted is the loader's own signal aborted (and its stampede lock released).
 */
export class AbortedError extends CacheError {
  static override readonly code = 'E_ABORTED';
}

/** The DataWriter (the source's write side) refused a write, or threw; `cause` holds what it threw. */
export class WriterError extends CacheError {
  static override readonly code = 'E_WRITER';
}

/** An invalidation event handler (`addEventHandler`) threw; `cause` holds what it threw. */
export class HandlerError extends CacheError {
  static override readonly code = 'E_HANDLER';
}

/** A circuit breaker is open: the protected dependency failed too often and is not being called. */
export class CircuitOpenError extends CacheError {
  static override readonly code = 'E_CIRCUIT_OPEN';
}

/** A rate limit was exceeded; `retryAfterMs` says when a token will be available. */
export class RateLimitError extends CacheError {
  static override readonly code = 'E_RATE_LIMITED';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: { key?: string }) {
    super(message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The session may not do this: wrong permission, key outside its patterns, level too high, expired or unknown session. */
export class AccessDeniedError extends CacheError {
  static override readonly code: string = 'E_ACCESS_DENIED';
}

/**
 * A session record in Redis did not authenticate (its HMAC is missing or wrong): it was written or
 * changed by someone other than tiercache (`HSET <ns>:session:<id> role admin`). Refused, audited.
 */
export class SessionForgedError extends AccessDeniedError {
  static override readonly code = 'E_SESSION_FORGED';
}

/** A tier (Redis) could not be reached and the call required it. */
export class TierUnavailableError extends CacheError {
  static override readonly code = 'E_TIER_UNAVAILABLE';
  readonly tier: string;
  constructor(tier: string, message: string, options?: { cause?: unknown; key?: string }) {
    super(message, options);
    this.tier = tier;
  }
}

/** The cache was used before `initialize()` finished, or after `close()`. */
export class CacheStateError extends CacheError {
  static override readonly code = 'E_CACHE_STATE';
}

/** All error classes by name, for `instanceof` checks without deep imports. */
export const errors = {
  CacheError,
  InvalidOptionsError,
  InvalidKeyError,
  InvalidArgumentError,
  LimitExceededError,
  SerializationError,
  ValueTooLargeError,
  CorruptValueError,
  LoaderError,
  LoaderTimeoutError,
  RecursiveLoadError,
  AbortedError,
  WriterError,
  HandlerError,
  CircuitOpenError,
  RateLimitError,
  AccessDeniedError,
  SessionForgedError,
  TierUnavailableError,
  CacheStateError,
} as const;
