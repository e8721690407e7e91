import type { Clock } from '../core/clock.js';
import type { ConsistencyLevel } from '../core/consistency.js';
import type { CacheLogger } from '../observability/logger.js';
import type { MeterLike } from '../observability/prometheus_metrics.js';
import type { PolicyFactory } from '../policy/eviction_policy.js';
import type { RedisClient, RedisTlsOptions } from '../tiers/redis/redis_connection.js';

export type { RedisTlsOptions };

/** Circuit-breaker settings (resilience/circuit_breaker.ts). */
export interface CircuitBreakerSettings {
  /** Share of failed calls in the window that opens the breaker (0 < x ≤ 1). @default 0.5 */
  failureRatio?: number;
  /** Calls in the window before the ratio is judged. @default 20 */
  minimumCalls?: number;
  /** Length of the sliding window, in ms. @default 10000 */
  windowMs?: number;
  /** How long an open breaker refuses calls before letting a probe through, in ms. @default 1000 */
  openMs?: number;
  /**
   * Open at once when a Redis round trip times out and nothing succeeded since it started: a few
   * closed-loop callers against a stalled Redis never reach `minimumCalls`. @default true
   */
  tripOnSilentTimeout?: boolean;
}

/** One key of the encryption keyring. */
export interface EncryptionKeyOption {
  /** Key id, 1-255 (stored with each value, so old values stay readable after a rotation). */
  id: number;
  /** 32 bytes: a Buffer, base64, or 64 hex digits. */
  key: string | Buffer;
}

/**
 * Options of `createIntegratedCache` (all optional). Validated once at construction: an unknown
 * option or a bad value throws `InvalidOptionsError` naming it. The zod schema that checks them
 * (`integratedCacheConfigSchema`) is held equal to this interface at compile time.
 *
 * Units: TTLs and grace in seconds, every other duration in milliseconds (named `…Ms`).
 */
export interface IntegratedCacheOptions {
  /** Redis URL (`redis://` or `rediss://`). Without it (and without `redisClient`, cluster or sentinels) the cache is L1-only. @default undefined (L1-only) */
  redisUrl?: string;
  /**
   * Redis Cluster seed nodes (`host:port` or `redis://` / `rediss://` URLs); the rest of the
   * cluster is discovered. Exclusive with `redisUrl`, `redisClient` and `sentinels`.
   * @default undefined
   */
  redisClusterNodes?: string[];
  /** Redis ACL user (or put it in the URL). @default undefined */
  redisUsername?: string;
  /** Redis password (or put it in the URL). Never logged. @default undefined */
  redisPassword?: string;
  /** TLS to Redis (CA, client certificate and key, server name). Giving it implies TLS. @default undefined (TLS only with `rediss://`) */
  redisTls?: RedisTlsOptions;
  /** Sentinel addresses (`host:port`); requires `sentinelMasterName`. @default undefined */
  sentinels?: string[];
  /** The master name the sentinels monitor; requires `sentinels`. @default undefined */
  sentinelMasterName?: string;
  /** A node-redis v5 client you own (connected or not). tiercache never closes it. @default undefined */
  redisClient?: RedisClient;
  /** Key namespace in Redis; every L2 key is `${namespace}:v2:${key}` (v = wire version). 1-64 characters of `A-Z a-z 0-9 _ . -`. @default 'tiercache' */
  namespace?: string;
  /** Keep an in-process L1 in front of Redis. @default true */
  enableL1Cache?: boolean;
  /** L1 entry bound. @default 10000 */
  l1MaxSize?: number;
  /** L1 byte bound on the sum of serialized value sizes; 0 = none. @default 67108864 (64 MiB) */
  l1MaxBytes?: number;
  /** TTL in seconds when a call gives none. @default 3600 */
  defaultTtl?: number;
  /** Fail-safe grace in seconds for `getOrSet` (see `GetOrSetOptions.grace`); 0 = off. @default 0 */
  defaultGrace?: number;
  /** Default soft timeout of a loader, in ms (needs a stale value to answer); 0 = none. @default 0 */
  loaderSoftTimeoutMs?: number;
  /** Default hard timeout of a loader, in ms; 0 = none. @default 0 */
  loaderHardTimeoutMs?: number;
  /** Wire format for values (`msgpack` needs the optional peer `msgpackr`). @default 'json' */
  serializer?: 'json' | 'msgpack' | 'v8';
  /** Compress L2 values whose serialized size exceeds `compressionThreshold`. @default true */
  enableCompression?: boolean;
  /**
   * With `enableEncryption`: compress before encrypting too. Compressed size depends on content,
   * so when a value mixes a secret with attacker-controlled text and its stored size is visible
   * (anyone reading Redis), the secret can be guessed from sizes (CRIME / BREACH: an 8-character
   * secret fell in 288 writes). Turn on only for values that do not mix trust levels.
   * @default false
   */
  compressEncrypted?: boolean;
  /** Bytes above which values are compressed. @default 1024 */
  compressionThreshold?: number;
  /** Largest serialized value accepted, in bytes. @default 8388608 (8 MiB) */
  maxValueBytes?: number;
  /** Longest key accepted, in UTF-16 code units. @default 1024 */
  maxKeyLength?: number;
  /**
   * A regular expression every key must match in full (anchor it), e.g. `^[A-Za-z0-9:_.{}-]+$`.
   * Control characters, NUL, new lines and lone surrogates are refused whatever it says.
   * @default undefined (any key without those characters)
   */
  allowedKeyPattern?: string;
  /**
   * Most tags one `set`/`getOrSet` may carry, and most tags one `invalidateTags` may name (a larger
   * call is a `LimitExceededError`). @default 1000
   */
  maxTagsPerKey?: number;
  /** Most `dependsOn` keys one write may declare. @default 1000 */
  maxDependencies?: number;
  /**
   * Most keys or entries in one bulk call (getMany, setMany, the pattern manager's getMany /
   * setManyWithPattern, warmKeys). Bulk calls also cost their size in rate-limit tokens. @default 10000
   */
  maxBatchSize?: number;
  /** Record per-operation latency histograms. @default true */
  enableMonitoring?: boolean;
  /** With L1 on, an L2 failure on a write is logged and counted (and emitted as an `error` event) instead of thrown. @default true */
  suppressL2Errors?: boolean;
  /** Timeout of each Redis command (a batch counts as one), in ms. @default 1000 */
  l2CommandTimeoutMs?: number;
  /** Socket connect timeout, and how long `initialize()` waits for Redis, in ms. @default 2000 */
  connectTimeoutMs?: number;
  /** Most keys in one MGET or batched write. @default 512 */
  l2MaxBatch?: number;
  /**
   * Connections to a standalone Redis given by `redisUrl` (cluster and sentinel keep one per
   * node). One is enough for speed: the batchers keep two round trips in flight, pipelined on it.
   * More spread reads over them and, without coherence, map writes to one by key hash; with
   * coherence on, writes stay on the first (the one that tracks).
   * @default 1
   */
  redisConnections?: number;
  /**
   * Without coherence on a standalone server: send each batch of writes as one script call instead
   * of one `SET … PX` per key (less CPU here, about 1.5× the CPU per key in Redis; docs/decisions.md).
   * @default false
   */
  redisScriptedWrites?: boolean;
  /**
   * Keep every instance's L1 coherent through Redis server-assisted invalidation (CLIENT TRACKING,
   * BCAST): a write, delete, expiry or eviction of a key in Redis drops it from every other
   * instance's L1 within a round trip. Needs L1 and Redis; off means L1 entries live until their TTL.
   * @default true
   */
  enableCoherence?: boolean;
  /**
   * With coherence on: the longest L1 may go on serving while invalidations cannot be confirmed
   * (Redis stalled or unreachable), in ms. Past it, L1 misses until Redis answers again.
   * @default 2000
   */
  coherenceStalenessMs?: number;
  /** `getOrSet` takes a Redis lock per missing key so that one loader runs across all instances. @default true */
  enableDistributedLock?: boolean;
  /** Lease of a loader's lock, renewed while the loader runs, in ms. @default 10000 */
  lockLeaseMs?: number;
  /** Longest a `getOrSet` waits for another instance's loader before loading itself, in ms. @default 15000 */
  lockWaitMs?: number;
  /**
   * Circuit breakers around L2 and around each loader, or `false` for none. A loader's breaker
   * follows the loader's identity (or `GetOrSetOptions.breakerKey`).
   * @default { failureRatio: 0.5, minimumCalls: 20, windowMs: 10000, openMs: 1000, tripOnSilentTimeout: true }
   */
  circuitBreaker?: false | CircuitBreakerSettings;
  /**
   * Default consistency of reads and writes (docs/consistency.md): STRONG reads never use L1;
   * WEAK turns cross-instance invalidation off.
   * @default 'eventual'
   */
  consistencyLevel?: ConsistencyLevel;
  /** The pattern manager's read pattern when a call and its key prefix name none. @default 'read_through' */
  defaultReadPattern?: 'cache_aside' | 'read_through' | 'refresh_ahead';
  /** The pattern manager's write pattern when a call and its key prefix name none. @default 'write_through' */
  defaultWritePattern?: 'cache_aside' | 'write_through' | 'write_behind';
  /**
   * SESSION reads: an instance answers from L1 only if its coherence was confirmed this long (ms)
   * after the session last observed the key (allowance for clock differences between instances).
   * @default 50
   */
  sessionClockSkewMs?: number;
  /**
   * Encrypt every L2 value with AES-256-GCM; values that fail authentication are misses and
   * security events. Keys: `encryptionKeys`, else CACHE_ENCRYPTION_KEY / CACHE_ENCRYPTION_KEYRING.
   * @default false
   */
  enableEncryption?: boolean;
  /** The keyring. New values use `encryptionKeyId`. @default undefined (from the environment) */
  encryptionKeys?: EncryptionKeyOption[];
  /** The key id new values are encrypted with. @default the highest id in the keyring */
  encryptionKeyId?: number;
  /**
   * Access control: every operation needs `sessionId` from `createSession`, is checked against the
   * session's role (permissions, key patterns, level, rate limit) and audited.
   * @default false
   */
  enableSecurity?: boolean;
  /** Another name for `enableSecurity`: either turns access control on. @default false */
  enableAccessControl?: boolean;
  /** Audit trail file (JSON lines, hash-chained). @default undefined (records go to the cache's logger) */
  auditLogPath?: string;
  /**
   * The server key that authenticates session records in Redis (HMAC-SHA256), 32+ characters:
   * every instance sharing sessions needs the same one.
   * @default undefined (derived from the current encryption key; else random per process, so sessions work only on the instance that created them)
   */
  sessionSecret?: string;
  /** Makes the audit chain an HMAC chain (editing needs the key to go unnoticed); 16+ characters. @default undefined (plain hash chain) */
  auditHmacKey?: string;
  /** A token bucket shared by every instance of the namespace, for all operations. @default undefined (no global limit) */
  globalRateLimit?: { opsPerSecond: number; burst: number };
  /** Names this instance in audit records. @default `${hostname}:${pid}` */
  instanceId?: string;
  /** Watch memory and shrink L1 under pressure. @default false */
  enableMemoryMonitoring?: boolean;
  /** RSS (MiB) that counts as full for the pressure level. @default 2048 */
  memoryThresholdMb?: number;
  /** How often memory is checked, in ms. @default 1000 */
  memoryCheckIntervalMs?: number;
  /** L1 keys dropped first under pressure (Redis globs). @default ['temp:*'] */
  temporaryKeyPatterns?: string[];
  /** An OpenTelemetry Meter (`@opentelemetry/api`) to publish the cache's figures on. @default undefined */
  meter?: MeterLike;
  /** Level of the built-in logger (ignored when `logger` is given). @default 'warn' */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Your logger: pino, or any object with pino's `error`/`warn`/`info`/`debug`/`child`. @default pino on stderr at `logLevel` when pino is installed, else a built-in JSON-lines logger */
  logger?: CacheLogger;
  /** Time source (tests pass a `ManualClock`). @default a SystemClock */
  clock?: Clock;
  /** L1 eviction/admission policy: a name or your own factory. @default 'adaptive-tinylfu' */
  l1Policy?: 'adaptive-tinylfu' | 'lru' | PolicyFactory;
}

/**
 * The options that keep no default: absent from {@link IntegratedCacheConfig} too, meaning the
 * feature (or that way of reaching Redis) is not used.
 */
export type OptionsWithoutDefault =
  | 'redisUrl'
  | 'redisClusterNodes'
  | 'redisUsername'
  | 'redisPassword'
  | 'redisTls'
  | 'sentinels'
  | 'sentinelMasterName'
  | 'redisClient'
  | 'allowedKeyPattern'
  | 'defaultReadPattern'
  | 'defaultWritePattern'
  | 'encryptionKeys'
  | 'encryptionKeyId'
  | 'auditLogPath'
  | 'sessionSecret'
  | 'auditHmacKey'
  | 'globalRateLimit'
  | 'instanceId'
  | 'meter'
  | 'logger'
  | 'clock';

/**
 * The resolved configuration (`cache.config`): every option with its default applied. Written
 * out from {@link IntegratedCacheOptions} rather than inferred from the validator, so the
 * published types need no validation library; the type check holds it equal to what the
 * validator returns (integrated_cache_config.ts).
 */
export interface IntegratedCacheConfig
  extends Omit<Required<IntegratedCacheOptions>, OptionsWithoutDefault | 'circuitBreaker'>,
    Pick<IntegratedCacheOptions, OptionsWithoutDefault> {
  /** The L2 breaker's settings with their defaults, or `false` when it is off. */
  circuitBreaker: false | Required<CircuitBreakerSettings>;
}
