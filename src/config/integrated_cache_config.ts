import { z } from 'zod';
import type { CacheLogger as Logger } from '../observability/logger.js';
import type { MeterLike } from '../observability/prometheus_metrics.js';
import type { Clock } from '../core/clock.js';
import { InvalidOptionsError } from '../errors.js';
import { redactedConfig, redactWith } from '../util/redaction.js';
import type { PolicyFactory } from '../policy/eviction_policy.js';
import type { RedisClient } from '../tiers/redis/redis_connection.js';

// Upper bound: core/tier_operations.ts MAX_TTL_MS (Redis PX, exact integer ms).
const seconds = z.number().finite().positive().max(2 ** 52 / 1000);

/**
 * The schema behind {@link IntegratedCacheConfig}. Validated once, in `createIntegratedCache`;
 * every rejection names the option. Unknown options are errors (a typo must not silently
 * fall back to a default).
 */
export const integratedCacheConfigSchema = z
  .object({
    /** Redis URL (`redis://` or `rediss://`). Absent (and no `redisClient`): L1-only mode. */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    /**
     * Redis Cluster seed nodes (`host:port` or `redis://` / `rediss://` URLs); the rest of the
     * cluster is discovered. Exclusive with `redisUrl`, `redisClient` and `sentinels`.
     */
    redisClusterNodes: z.array(z.string().regex(/^(rediss?:\/\/)?[^\s/]+:\d+\/?$/, 'each node must be host:port or a redis:// URL')).min(1).optional(),
    /** Redis ACL user (or put it in the URL). */
    redisUsername: z.string().min(1).optional(),
    /** Redis password (or put it in the URL). Never logged. */
    redisPassword: z.string().min(1).optional(),
    /** TLS to Redis: CA, client certificate and key (PEM text or file paths), server name. Implies TLS. */
    redisTls: z
      .object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), servername: z.string().optional(), rejectUnauthorized: z.boolean().optional() })
      .strict()
      .optional(),
    /** Sentinel addresses (`host:port`); requires `sentinelMasterName`. */
    sentinels: z.array(z.string().regex(/^[^\s/:]+:\d+$/, 'each sentinel must be host:port')).min(1).optional(),
    /** The master name the sentinels monitor. */
    sentinelMasterName: z.string().min(1).optional(),
    /** A node-redis v5 client you own (connected or not). tiercache never closes it. */
    redisClient: z.custom<RedisClient>((v) => typeof v === 'object' && v !== null && 'sendCommand' in v, 'must be a node-redis v5 client').optional(),
    /** Key namespace in Redis; every L2 key is `${namespace}:v2:${key}` (v = wire version). @default 'tiercache' */
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
      .default('tiercache'),
    /** Keep an in-process L1 in front of Redis. @default true */
    enableL1Cache: z.boolean().default(true),
    /** L1 entry bound. @default 10000 */
    l1MaxSize: z.number().int().min(1).max(50_000_000).default(10_000),
    /** L1 byte bound on the sum of serialized value sizes; 0 = none. @default 64 MiB */
    l1MaxBytes: z.number().int().min(0).default(64 * 1024 * 1024),
    /** TTL in seconds when a call gives none. @default 3600 */
    defaultTtl: seconds.default(3600),
    /** Fail-safe grace in seconds for `getOrSet` (see GetOrSetOptions.grace); 0 = off. @default 0 */
    defaultGrace: z.number().finite().min(0).max(2 ** 52 / 1000).default(0),
    /** Default soft timeout of a loader, in ms (needs a stale value to answer); 0 = none. @default 0 */
    loaderSoftTimeoutMs: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    /** Default hard timeout of a loader, in ms; 0 = none. @default 0 */
    loaderHardTimeoutMs: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    /** Wire format for values. @default 'json' */
    serializer: z.enum(['json', 'msgpack', 'v8']).default('json'),
    /** Compress L2 values whose serialized size exceeds `compressionThreshold`. @default true */
    enableCompression: z.boolean().default(true),
    /**
     * With `enableEncryption`: compress before encrypting too. Off by default: compressed size
     * depends on content, so when a value mixes a secret with attacker-controlled text and its
     * stored size is visible (anyone reading Redis), the secret can be guessed from sizes (CRIME
     * / BREACH: an 8-character secret fell in 288 writes). Turn on only for values that do not
     * mix trust levels, where the smaller values are worth it. @default false
     */
    compressEncrypted: z.boolean().default(false),
    /** Bytes above which values are compressed. @default 1024 */
    compressionThreshold: z.number().int().min(0).default(1024),
    /** Largest serialized value accepted. @default 8 MiB */
    maxValueBytes: z.number().int().min(1).max(512 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Longest key accepted, in UTF-16 code units. @default 1024 */
    maxKeyLength: z.number().int().min(1).max(65_536).default(1024),
    /**
     * A regular expression every key must match in full (anchor it), e.g. `^[A-Za-z0-9:_.{}-]+$`.
     * Control characters, NUL, new lines and lone surrogates are refused whatever it says.
     */
    allowedKeyPattern: z
      .string()
      .refine((s) => {
        try {
          new RegExp(s, 'u');
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
    /**
     * Most tags one `set`/`getOrSet` may carry, and most tags one `invalidateTags` may name (a
     * larger call is a LimitExceededError: one call with 1e6 tags stalled the event loop ~5 s).
     * @default 1000
     */
    maxTagsPerKey: z.number().int().min(1).max(1_000_000).default(1000),
    /** Most `dependsOn` keys one write may declare. @default 1000 */
    maxDependencies: z.number().int().min(1).max(1_000_000).default(1000),
    /**
     * Most keys or entries in one bulk call: getMany, setMany, the pattern manager's getMany /
     * setManyWithPattern, warmKeys. Bulk calls also cost their size in rate-limit tokens. @default 10000
     */
    maxBatchSize: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Record per-operation latency histograms. @default true */
    enableMonitoring: z.boolean().default(true),
    /** With L1 on, an L2 failure on a write is logged and counted instead of thrown. @default true */
    suppressL2Errors: z.boolean().default(true),
    /** Timeout of each Redis command (a batch counts as one). @default 1000 */
    l2CommandTimeoutMs: z.number().int().min(1).default(1000),
    /** Socket connect timeout, and how long `initialize()` waits for Redis. @default 2000 */
    connectTimeoutMs: z.number().int().min(1).default(2000),
    /** Most keys in one MGET or batched write. @default 512 */
    l2MaxBatch: z.number().int().min(1).max(100_000).default(512),
    /**
     * Connections to a standalone Redis given by `redisUrl` (cluster and sentinel keep one per
     * node). One is enough for speed: the batchers keep two round trips in flight, out of phase,
     * pipelined on it. More spread reads over them and, without coherence, map writes to one by
     * key hash (so writes to a key keep their order); with coherence on, writes stay on the first
     * (the one that tracks). @default 1
     */
    redisConnections: z.number().int().min(1).max(16).default(1),
    /**
     * Without coherence (no L1, or `enableCoherence: false`) on a standalone server: send each
     * batch of writes as one script call instead of one `SET … PX` per key. This process does
     * about a third less work per write; Redis spends about 1.5x the CPU per key (measured,
     * docs/decisions.md). Worth it when the application's CPU, not Redis's, is the scarce one.
     * @default false
     */
    redisScriptedWrites: z.boolean().default(false),
    /**
     * Keep every instance's L1 coherent through Redis server-assisted invalidation (CLIENT
     * TRACKING, BCAST, on the connections that carry reads): a write, delete, expiry or eviction
     * of a key in Redis, by any instance or any other client, drops it from every other instance's
     * L1 within a round trip. Needs L1 and Redis; off means L1 entries live until their TTL.
     * @default true
     */
    enableCoherence: z.boolean().default(true),
    /**
     * With coherence on: the longest L1 may go on serving while invalidations cannot be confirmed
     * (Redis stalled or unreachable). Past it, L1 misses until Redis answers again. @default 2000
     */
    coherenceStalenessMs: z.number().int().min(10).max(3_600_000).default(2000),
    /**
     * `getOrSet` takes a Redis lock per missing key so that one loader runs across all instances
     * (others wait for its value). @default true
     */
    enableDistributedLock: z.boolean().default(true),
    /** Lease of a loader's lock, renewed while the loader runs. @default 10000 */
    lockLeaseMs: z.number().int().min(50).default(10_000),
    /** Longest a `getOrSet` waits for another instance's loader before loading itself. @default 15000 */
    lockWaitMs: z.number().int().min(0).default(15_000),
    /**
     * Circuit breakers around L2 and around each loader (resilience/circuit_breaker.ts), or
     * `false` for none. A loader's breaker follows the loader's identity: pass a stable function
     * or DataLoader to have one breaker see all of its calls.
     */
    circuitBreaker: z
      .union([
        z.literal(false),
        z
          .object({
            failureRatio: z.number().gt(0).max(1).default(0.5),
            minimumCalls: z.number().int().min(1).default(20),
            windowMs: z.number().int().min(10).default(10_000),
            openMs: z.number().int().min(1).default(1000),
            /** Open at once when a Redis round trip times out and nothing succeeded since it started (see CircuitBreakerOptions). */
            tripOnSilentTimeout: z.boolean().default(true),
          })
          .strict(),
      ])
      .default({ failureRatio: 0.5, minimumCalls: 20, windowMs: 10_000, openMs: 1000, tripOnSilentTimeout: true }),
    /**
     * Default consistency of reads and writes (core/consistency.ts, docs/consistency.md): STRONG
     * reads never use L1; WEAK turns cross-instance invalidation off. @default 'eventual'
     */
    consistencyLevel: z.enum(['strong', 'eventual', 'weak', 'session']).default('eventual'),
    /** The pattern manager's read pattern when a call and its key prefix name none. @default 'read_through' */
    defaultReadPattern: z.enum(['cache_aside', 'read_through', 'refresh_ahead']).optional(),
    /** The pattern manager's write pattern when a call and its key prefix name none. @default 'write_through' */
    defaultWritePattern: z.enum(['cache_aside', 'write_through', 'write_behind']).optional(),
    /**
     * SESSION reads: an instance answers from L1 only if its coherence was confirmed this long
     * after the session last observed the key (allowance for clock differences between
     * instances). @default 50
     */
    sessionClockSkewMs: z.number().int().min(0).default(50),
    /**
     * Encrypt every L2 value with AES-256-GCM (security/aes_gcm_cipher.ts); values that fail
     * authentication are misses and security events. Keys: `encryptionKeys`, else the
     * CACHE_ENCRYPTION_KEY / CACHE_ENCRYPTION_KEYRING environment variables. @default false
     */
    enableEncryption: z.boolean().default(false),
    /** The keyring: `{ id: 1-255, key: 32 bytes as Buffer, base64 or 64 hex digits }`. New values use `encryptionKeyId`. */
    encryptionKeys: z
      .array(z.object({ id: z.number().int().min(1).max(255), key: z.union([z.string(), z.custom<Buffer>((v) => Buffer.isBuffer(v), 'must be a Buffer or a string')]) }).strict())
      .min(1)
      .optional(),
    /** The key id new values are encrypted with. @default the highest id in the keyring */
    encryptionKeyId: z.number().int().min(1).max(255).optional(),
    /**
     * Access control (security/): every operation needs `sessionId` from `createSession`, is
     * checked against the session's role (permissions, key patterns, level, rate limit) and
     * audited. @default false
     */
    enableSecurity: z.boolean().default(false),
    /** The seed's name for the same switch: either turns access control on. @default false */
    enableAccessControl: z.boolean().default(false),
    /** Audit trail file (JSON lines, hash-chained); without it records go to the cache's logger. */
    auditLogPath: z.string().min(1).optional(),
    /**
     * The server key that authenticates session records in Redis (HMAC-SHA256): every instance
     * sharing sessions needs the same one. Without it the key is derived from the current
     * encryption key (HKDF; rotating that key ends existing sessions), else it is random per
     * process (sessions then work only on the instance that created them; a warning says so).
     */
    sessionSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Makes the audit chain an HMAC chain (editing needs the key to go unnoticed). */
    auditHmacKey: z.string().min(16, 'must be at least 16 characters').optional(),
    /** A token bucket shared by every instance of the namespace, for all operations. */
    globalRateLimit: z.object({ opsPerSecond: z.number().positive(), burst: z.number().int().min(1) }).strict().optional(),
    /** Names this instance in audit records. @default `${hostname}:${pid}` */
    instanceId: z.string().min(1).max(128).optional(),
    /** Watch memory and shrink L1 under pressure (observability/memory_monitor.ts). @default false */
    enableMemoryMonitoring: z.boolean().default(false),
    /** RSS (MiB) that counts as full for the pressure level. @default 2048 */
    memoryThresholdMb: z.number().positive().default(2048),
    /** How often memory is checked, in ms. @default 1000 */
    memoryCheckIntervalMs: z.number().int().min(10).default(1000),
    /** L1 keys dropped first under pressure (Redis globs). @default ['temp:*'] */
    temporaryKeyPatterns: z.array(z.string().min(1)).default(['temp:*']),
    /** An OpenTelemetry Meter (`@opentelemetry/api`) to publish the cache's figures on. */
    meter: z.custom<MeterLike>((v) => typeof v === 'object' && v !== null && 'createObservableGauge' in v, 'must be an OpenTelemetry Meter').optional(),
    /** pino level for the default logger. @default 'warn' */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
    /** Your logger: pino, or any object with pino's `error`/`warn`/`info`/`debug`/`child` (its level wins over `logLevel`). */
    logger: z
      .custom<Logger>((v) => typeof v === 'object' && v !== null && ['error', 'warn', 'info', 'debug', 'child'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'), 'must be a pino-shaped logger (error, warn, info, debug, child)')
      .optional(),
    /** Time source (tests pass a ManualClock). */
    clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v && 'coarseNow' in v, 'must be a Clock').optional(),
    /**
     * L1 eviction/admission policy: a name ('adaptive-tinylfu', 'lru') or your own factory.
     * @default 'adaptive-tinylfu'
     */
    l1Policy: z
      .union([z.enum(['adaptive-tinylfu', 'lru']), z.custom<PolicyFactory>((v) => typeof v === 'function', 'must be a policy name or a factory function')])
      .default('adaptive-tinylfu'),
  })
  .strict();

/** Options accepted by `createIntegratedCache` (input shape: every field optional). */
export type IntegratedCacheOptions = z.input<typeof integratedCacheConfigSchema>;
/** The resolved configuration (defaults applied). */
export type IntegratedCacheConfig = z.output<typeof integratedCacheConfigSchema>;

/** Validates `options` and applies defaults. Throws `InvalidOptionsError` naming the first bad option. */
export function resolveConfig(options: IntegratedCacheOptions = {}): IntegratedCacheConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('(root)', 'options must be an object');
  const parsed = integratedCacheConfigSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option =
      issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new InvalidOptionsError(option, issue.code === 'unrecognized_keys' ? 'unknown option' : issue.message);
  }
  const d = parsed.data;
  const endpoints = (['redisUrl', 'redisClient', 'redisClusterNodes', 'sentinels'] as const).filter((k) => d[k] !== undefined);
  if (endpoints.length > 1) {
    throw new InvalidOptionsError(endpoints[1], `cannot be combined with ${endpoints[0]}: give one way to reach Redis`);
  }
  if (d.enableEncryption && d.encryptionKeys === undefined && !process.env.CACHE_ENCRYPTION_KEY && !process.env.CACHE_ENCRYPTION_KEYRING) {
    // Asking for encryption without a key must not start an unencrypted cache.
    throw new InvalidOptionsError('encryptionKeys', 'required when enableEncryption is true (or set CACHE_ENCRYPTION_KEY / CACHE_ENCRYPTION_KEYRING)');
  }
  if (d.redisTls !== undefined && [d.redisUrl, ...(d.redisClusterNodes ?? [])].some((u) => u?.startsWith('redis://'))) {
    // An explicit plaintext URL and TLS settings contradict each other: say so rather than guess.
    throw new InvalidOptionsError('redisTls', 'needs rediss:// URLs (a redis:// URL asks for plaintext)');
  }
  if (d.sentinels !== undefined && d.sentinelMasterName === undefined) {
    throw new InvalidOptionsError('sentinelMasterName', 'is required with sentinels');
  }
  if (d.sentinelMasterName !== undefined && d.sentinels === undefined) {
    throw new InvalidOptionsError('sentinels', 'is required with sentinelMasterName');
  }
  // The resolved config is public (`cache.config`) and holds the keyring: it never prints it.
  return redactWith(d, () => redactedConfig(d));
}
