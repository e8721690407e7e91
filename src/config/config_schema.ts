// The validator of the options. Internal: no public declaration refers to this module, so the
// published types never name zod (it is bundled into dist/, scripts/bundle.ts).
import * as z from 'zod';
import type { CacheLogger as Logger } from '../observability/logger.js';
import type { MeterLike } from '../observability/prometheus_metrics.js';
import type { Clock } from '../core/clock.js';
import type { IntegratedCacheConfig, IntegratedCacheOptions } from './integrated_cache_options.js';
import type { PolicyFactory } from '../policy/eviction_policy.js';
import type { RedisClient } from '../tiers/redis/redis_connection.js';

// Upper bound: core/tier_operations.ts MAX_TTL_MS (Redis PX, exact integer ms).
const seconds = z.number().finite().positive().max(2 ** 52 / 1000);

/**
 * The schema behind {@link IntegratedCacheConfig}. Validated once, in `createIntegratedCache`;
 * every rejection names the option. Unknown options are errors (a typo must not silently
 * fall back to a default). Each option is documented on {@link IntegratedCacheOptions}, which
 * the type check holds equal to this schema's input.
 */
export const integratedCacheConfigSchema = z
  .object({
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    redisClusterNodes: z.array(z.string().regex(/^(rediss?:\/\/)?[^\s/]+:\d+\/?$/, 'each node must be host:port or a redis:// URL')).min(1).optional(),
    redisUsername: z.string().min(1).optional(),
    redisPassword: z.string().min(1).optional(),
    redisTls: z
      .object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), servername: z.string().optional(), rejectUnauthorized: z.boolean().optional() })
      .strict()
      .optional(),
    sentinels: z.array(z.string().regex(/^[^\s/:]+:\d+$/, 'each sentinel must be host:port')).min(1).optional(),
    sentinelMasterName: z.string().min(1).optional(),
    redisClient: z.custom<RedisClient>((v) => typeof v === 'object' && v !== null && 'sendCommand' in v, 'must be a node-redis v5 client').optional(),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
      .default('tiercache'),
    enableL1Cache: z.boolean().default(true),
    l1MaxSize: z.number().int().min(1).max(50_000_000).default(10_000),
    l1MaxBytes: z.number().int().min(0).default(64 * 1024 * 1024),
    defaultTtl: seconds.default(3600),
    defaultGrace: z.number().finite().min(0).max(2 ** 52 / 1000).default(0),
    loaderSoftTimeoutMs: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    loaderHardTimeoutMs: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    serializer: z.enum(['json', 'msgpack', 'v8']).default('json'),
    enableCompression: z.boolean().default(true),
    compressEncrypted: z.boolean().default(false),
    compressionThreshold: z.number().int().min(0).default(1024),
    maxValueBytes: z.number().int().min(1).max(512 * 1024 * 1024).default(8 * 1024 * 1024),
    maxKeyLength: z.number().int().min(1).max(65_536).default(1024),
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
    maxTagsPerKey: z.number().int().min(1).max(1_000_000).default(1000),
    maxDependencies: z.number().int().min(1).max(1_000_000).default(1000),
    maxBatchSize: z.number().int().min(1).max(10_000_000).default(10_000),
    enableMonitoring: z.boolean().default(true),
    suppressL2Errors: z.boolean().default(true),
    l2CommandTimeoutMs: z.number().int().min(1).default(1000),
    connectTimeoutMs: z.number().int().min(1).default(2000),
    l2MaxBatch: z.number().int().min(1).max(100_000).default(512),
    redisConnections: z.number().int().min(1).max(16).default(1),
    redisScriptedWrites: z.boolean().default(false),
    enableCoherence: z.boolean().default(true),
    coherenceStalenessMs: z.number().int().min(10).max(3_600_000).default(2000),
    enableDistributedLock: z.boolean().default(true),
    lockLeaseMs: z.number().int().min(50).default(10_000),
    lockWaitMs: z.number().int().min(0).default(15_000),
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
    consistencyLevel: z.enum(['strong', 'eventual', 'weak', 'session']).default('eventual'),
    defaultReadPattern: z.enum(['cache_aside', 'read_through', 'refresh_ahead']).optional(),
    defaultWritePattern: z.enum(['cache_aside', 'write_through', 'write_behind']).optional(),
    sessionClockSkewMs: z.number().int().min(0).default(50),
    enableEncryption: z.boolean().default(false),
    encryptionKeys: z
      .array(z.object({ id: z.number().int().min(1).max(255), key: z.union([z.string(), z.custom<Buffer>((v) => Buffer.isBuffer(v), 'must be a Buffer or a string')]) }).strict())
      .min(1)
      .optional(),
    encryptionKeyId: z.number().int().min(1).max(255).optional(),
    enableSecurity: z.boolean().default(false),
    enableAccessControl: z.boolean().default(false),
    auditLogPath: z.string().min(1).optional(),
    sessionSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    auditHmacKey: z.string().min(16, 'must be at least 16 characters').optional(),
    globalRateLimit: z.object({ opsPerSecond: z.number().positive(), burst: z.number().int().min(1) }).strict().optional(),
    instanceId: z.string().min(1).max(128).optional(),
    enableMemoryMonitoring: z.boolean().default(false),
    memoryThresholdMb: z.number().positive().default(2048),
    memoryCheckIntervalMs: z.number().int().min(10).default(1000),
    temporaryKeyPatterns: z.array(z.string().min(1)).default(['temp:*']),
    meter: z.custom<MeterLike>((v) => typeof v === 'object' && v !== null && 'createObservableGauge' in v, 'must be an OpenTelemetry Meter').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
    logger: z
      .custom<Logger>((v) => typeof v === 'object' && v !== null && ['error', 'warn', 'info', 'debug', 'child'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'), 'must be a pino-shaped logger (error, warn, info, debug, child)')
      .optional(),
    clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v && 'coarseNow' in v, 'must be a Clock').optional(),
    l1Policy: z
      .union([z.enum(['adaptive-tinylfu', 'lru']), z.custom<PolicyFactory>((v) => typeof v === 'function', 'must be a policy name or a factory function')])
      .default('adaptive-tinylfu'),
  })
  .strict();


/** Whether two types are identical (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
// The documented interface and the schema describe one shape: an option added, renamed or
// retyped in one and not the other fails the type check here.
type _OptionsMatchSchema = Assert<Equals<IntegratedCacheOptions, z.input<typeof integratedCacheConfigSchema>>>;
// Likewise the resolved config: the published type (written without zod) and what parsing returns.
type _ConfigMatchesSchema = Assert<Equals<IntegratedCacheConfig, z.output<typeof integratedCacheConfigSchema>>>;
