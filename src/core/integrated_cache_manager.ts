import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { BenchmarkType, runBenchmark, type BenchmarkResult } from '../bench/cache_benchmark.js';
import { defaultLogger, type CacheLogger as Logger } from '../observability/logger.js';
import { EnvelopeCodec } from '../codec/envelope_codec.js';
import { resolveConfig, type IntegratedCacheConfig, type IntegratedCacheOptions } from '../config/integrated_cache_config.js';
import { CacheStateError, InvalidArgumentError, InvalidOptionsError, TierUnavailableError } from '../errors.js';
import { AesGcmCipher } from '../security/aes_gcm_cipher.js';
import { configFromEnv } from '../config/env_config.js';
import { KeyValidator } from '../guards/key_validator.js';
import { CacheStats, type CacheStatsSnapshot } from '../observability/cache_stats.js';
import { POLICIES } from '../policy/policies.js';
import { MemoryTier } from '../tiers/memory/memory_tier.js';
import { isConfigurationError, openBackend, type RedisEndpoint } from '../tiers/redis/redis_connection.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import { RedisTier } from '../tiers/redis/redis_tier.js';
import { CoherenceWatchdog } from '../coherence/coherence_watchdog.js';
import { StampedeLock } from '../coherence/stampede_lock.js';
import { TrackingInvalidator } from '../coherence/tracking_invalidator.js';
import { CircuitBreaker } from '../resilience/circuit_breaker.js';
import { getMemoryMonitor, type MemoryMonitor, type MemoryMetrics } from '../observability/memory_monitor.js';
import { evaluateRules } from '../observability/health_rules.js';
import { PrometheusMetrics, registerOpenTelemetry } from '../observability/prometheus_metrics.js';
import { hostname } from 'node:os';
import { AuditLog } from '../security/audit_log.js';
import { RateLimiter } from '../security/rate_limiter.js';
import type { Permission, SecurityLevel } from '../security/role.js';
import { SecureOperations, type GuardOptions } from '../security/secure_operations.js';
import { SecurityManager } from '../security/security_manager.js';
import { SessionStore } from '../security/session_store.js';
import { WIRE_VERSION } from '../codec/envelope_header.js';
import { globMatcher } from '../util/glob.js';
import { SystemClock, type Clock } from './clock.js';
import { TierStack, type Loader, type LoadOptions } from './tier_stack.js';
import { ConsistencyLevel, ConsistencySession } from './consistency.js';
import type { DataLoader } from '../patterns/cache_pattern.js';
import { InvalidationManager } from '../patterns/invalidation_manager.js';
import { PatternManager, type PatternManagerOptions } from '../patterns/pattern_manager.js';
import { CacheWarmer } from '../patterns/cache_warmer.js';

export interface GetOptions<T> extends GuardOptions {
  /** Returned instead of `undefined` on a miss. */
  default?: T;
  /** This read's consistency (default: `config.consistencyLevel`). */
  consistency?: ConsistencyLevel;
  /** Required with SESSION: the session this read belongs to (it records what it saw). */
  session?: ConsistencySession;
}

export interface SetOptions extends GuardOptions {
  /** Time to live in seconds (fractions allowed). @default config.defaultTtl */
  ttl?: number;
  /** With security on: the value's level (default INTERNAL, or the writer's level if lower; never above the writer's). */
  securityLevel?: SecurityLevel;
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
  /** Names the circuit breaker this loader shares with every call using the same key (DataLoaders get one each without it). */
  breakerKey?: string;
}

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl?: number;
}

/** What `healthCheck()` reports. */
export interface HealthReport {
  overallHealth: 'healthy' | 'degraded' | 'unhealthy';
  /** `null` when no Redis is configured (L1-only mode). */
  redisConnected: boolean | null;
  /** PING round trip, when Redis answered. */
  redisLatencyMs: number | null;
  l1Enabled: boolean;
  l1Size: number;
  l1Bytes: number;
  l1MaxSize: number;
  /** 'standalone' | 'cluster' | 'sentinel'; null without Redis. */
  topology: string | null;
  /** What the topology reports (cluster state and slot coverage, replication), when Redis answered. */
  redis: Record<string, unknown> | null;
  /**
   * How long Redis has been failing the coherence watchdog's PINGs (0 when it answers), and the
   * length of the last such window that ended: the degraded window of an outage or failover.
   * Null when coherence is off.
   */
  degradedForMs: number | null;
  lastDegradedWindowMs: number | null;
  /** Every circuit breaker and its state. */
  breakers: { name: string; state: 'closed' | 'open' | 'half-open'; opens: number; rejected: number }[];
  /** Memory figures and pressure level. */
  memory: MemoryMetrics;
  /** The pressure level alone (the seed's `health.memory_pressure`). */
  memoryPressure: MemoryMetrics['pressureLevel'];
  /** Each problem found, in words; empty when healthy. */
  issues: string[];
  /** What to do about what was measured (observability/health_rules.ts; each names its rule). */
  recommendations: string[];
  checkedAt: Date;
}

type State = 'new' | 'initializing' | 'ready' | 'closed';

/**
 * The cache: guards → tiers (L1 → L2 → loader) → codec. Create it with `createIntegratedCache`
 * (or `new IntegratedCacheManager(options)`), then `await initialize()` before use.
 *
 * Consistency: with Redis, L1 is kept coherent across instances (coherence/, EVENTUAL by default);
 * per cache or per call, STRONG, WEAK and SESSION are available (docs/consistency.md). With
 * security on, every operation is guarded (security/secure_operations.ts) and needs a `sessionId`.
 */
export class IntegratedCacheManager {
  readonly config: IntegratedCacheConfig;
  readonly logger: Logger;
  readonly #clock: Clock;
  readonly #keys: KeyValidator;
  readonly #stats: CacheStats;
  readonly #codec: EnvelopeCodec;
  #state: State = 'new';
  /** Null until `initialize()` and after `close()`: the fast path's only state check. */
  #l1: MemoryTier | null = null;
  #stack: TierStack | null = null;
  /** The Redis backend when tiercache opened its connections (and so closes them). */
  #ownedBackend: RedisBackend | null = null;
  #tracker: TrackingInvalidator | null = null;
  #watchdog: CoherenceWatchdog | null = null;
  #lock: StampedeLock | null = null;
  #l2Breaker: CircuitBreaker | null = null;
  #memory: MemoryMonitor | null = null;
  #unregisterMemory: (() => void) | null = null;
  #prom: PrometheusMetrics | null = null;
  /** A connection error retrying cannot fix, seen while initializing. */
  #configError: unknown = undefined;
  /** The guards (security, global rate limit); null when neither is on: the plain fast paths. */
  #guard: SecureOperations | null = null;
  #security: SecurityManager | null = null;
  #sessions: SessionStore | null = null;
  #invalidation: InvalidationManager | null = null;
  #patterns: PatternManager | null = null;
  #warmer: CacheWarmer | null = null;
  /** One breaker per loader (by identity); weak, so per-call closures cost nothing once gone. */
  readonly #loaderBreakers = new WeakMap<object, CircuitBreaker>();
  /** The named loader breakers, for stats (a WeakMap cannot be listed). */
  readonly #loaderBreakerList: WeakRef<CircuitBreaker>[] = [];
  readonly #keyedBreakers = new Map<string, CircuitBreaker>();
  readonly #defaultTtlMs: number;
  readonly #cipher: AesGcmCipher | null;
  /** 'security' events: `{ type, key, reason }` (a rejected value, a denied access). */
  readonly events = new EventEmitter();
  /** Cache-level STRONG: reads never use L1, writes never degrade to L1 only. */
  readonly #strong: boolean;

  readonly #patternOptions: PatternManagerOptions;
  readonly #inputOptions: IntegratedCacheOptions;

  /**
   * @param patternOptions the pattern manager's defaults (read/write pattern, TTLs, adaptive TTL,
   *   write-behind settings); see PatternManagerOptions.
   */
  constructor(options: IntegratedCacheOptions = {}, patternOptions: PatternManagerOptions = {}) {
    this.#patternOptions = patternOptions;
    this.#inputOptions = options;
    this.config = resolveConfig(options);
    const c = this.config;
    this.logger = (c.logger ?? defaultLogger(c.logLevel)).child({ component: 'tiercache' });
    this.#clock = c.clock ?? new SystemClock();
    this.#keys = new KeyValidator(c.maxKeyLength, c.allowedKeyPattern === undefined ? null : new RegExp(c.allowedKeyPattern, 'u'));
    this.#stats = new CacheStats(c.enableMonitoring);
    let cipher: AesGcmCipher | undefined;
    if (c.enableEncryption) {
      const keys = c.encryptionKeys ?? configFromEnv(process.env).encryptionKeys;
      if (keys === undefined) throw new InvalidOptionsError('encryptionKeys', 'required when enableEncryption is true (or set CACHE_ENCRYPTION_KEY)');
      cipher = new AesGcmCipher(keys, c.encryptionKeyId ?? configFromEnv(process.env).encryptionKeyId);
    }
    this.#cipher = cipher ?? null;
    this.#codec = new EnvelopeCodec({
      serializer: c.serializer,
      compressAbove: c.enableCompression ? c.compressionThreshold : false,
      maxValueBytes: c.maxValueBytes,
      cipher,
    });
    this.#defaultTtlMs = c.defaultTtl * 1000;
    this.#strong = c.consistencyLevel === ConsistencyLevel.STRONG;
    if (this.#strong && c.redisUrl === undefined && c.redisClient === undefined && c.redisClusterNodes === undefined && c.sentinels === undefined) {
      // One process, one copy: L1 alone is linearizable, nothing to bypass.
      this.#strong = false;
    }
  }

  /** Whether an L2 (Redis) is configured. */
  get hasL2(): boolean {
    return this.#endpoint() !== null;
  }

  #endpoint(): RedisEndpoint | null {
    const c = this.config;
    if (c.redisUrl !== undefined) return { kind: 'url', url: c.redisUrl };
    if (c.redisClient !== undefined) return { kind: 'client', client: c.redisClient };
    if (c.redisClusterNodes !== undefined) return { kind: 'cluster', nodes: c.redisClusterNodes };
    if (c.sentinels !== undefined) return { kind: 'sentinel', sentinels: c.sentinels, masterName: c.sentinelMasterName as string };
    return null;
  }

  /**
   * Builds the tiers and connects to Redis. If Redis cannot be reached within `connectTimeoutMs`,
   * the cache still starts: reads degrade to L1 + misses, the client keeps reconnecting, and
   * `healthCheck()` reports `degraded` until Redis answers.
   */
  async initialize(): Promise<void> {
    if (this.#state !== 'new') throw new CacheStateError(`initialize() called on a cache that is ${this.#state}`);
    this.#state = 'initializing';
    const c = this.config;
    const l1 = c.enableL1Cache
      ? new MemoryTier({
          maxEntries: c.l1MaxSize,
          maxBytes: c.l1MaxBytes,
          clock: this.#clock,
          policy: typeof c.l1Policy === 'string' ? POLICIES[c.l1Policy] : c.l1Policy,
        })
      : null;
    let l2: RedisTier | null = null;
    const endpoint = this.#endpoint();
    const prefix = `${c.namespace}:v${WIRE_VERSION}:`;
    if (endpoint !== null) {
      const coherent = c.enableCoherence && c.consistencyLevel !== ConsistencyLevel.WEAK && l1 !== null;
      const sessionPrefix = `${c.namespace}:session:`;
      const tracker = coherent
        ? new TrackingInvalidator(
            `${c.namespace}:`,
            prefix,
            {
              // The stack exists before any connection is made, so these never see null in practice.
              invalidate: (key) => this.#stack?.invalidate(key),
              invalidateAll: (reason) => this.#stack?.invalidateAll(reason),
              coherenceLost: () => {
                this.#stack?.coherenceLost();
                this.#watchdog?.confirmSoon();
              },
            },
            [{ prefix: sessionPrefix, onKey: (k) => this.#sessions?.onInvalidated(k), onFlush: () => this.#sessions?.forgetAll() }],
          )
        : null;
      this.#tracker = tracker;
      const { backend, owned } = openBackend({
        endpoint,
        connectTimeoutMs: c.connectTimeoutMs,
        logger: this.logger,
        tracker,
        connections: c.redisConnections,
        scriptedWrites: c.redisScriptedWrites,
        username: c.redisUsername,
        password: c.redisPassword,
        tls: c.redisTls,
        onConnectionError: (err) => {
          if (this.#state === 'initializing' && isConfigurationError(err)) this.#configError ??= err;
        },
      });
      if (owned) this.#ownedBackend = backend;
      this.#l2Breaker = c.circuitBreaker === false ? null : new CircuitBreaker({ name: 'redis', ...c.circuitBreaker });
      l2 = new RedisTier({ backend, prefix, commandTimeoutMs: c.l2CommandTimeoutMs, maxBatch: c.l2MaxBatch, breaker: this.#l2Breaker });
      if (c.enableDistributedLock) {
        this.#lock = new StampedeLock({
          backend,
          namespacePrefix: `${c.namespace}:`,
          dataPrefix: prefix,
          leaseMs: c.lockLeaseMs,
          maxWaitMs: c.lockWaitMs,
          commandTimeoutMs: c.l2CommandTimeoutMs,
          tracker,
        });
      }
    }
    this.#stack = new TierStack({
      l1,
      l2,
      codec: this.#codec,
      clock: this.#clock,
      stats: this.#stats,
      logger: this.logger,
      suppressL2Errors: c.suppressL2Errors,
      lock: this.#lock,
      failedWriteL1TtlMs: this.#tracker !== null ? c.coherenceStalenessMs : 0,
      encrypted: this.#cipher !== null,
      onSecurityEvent: (e) => {
        this.logger.warn({ event: e.type, key: e.key, reason: e.reason }, 'security event');
        this.events.emit('security', e);
      },
    });
    if (l2 !== null) {
      const needsConnect = this.#ownedBackend !== null || !(c.redisClient as { isOpen?: boolean }).isOpen;
      if (needsConnect) await this.#connect(l2.backend);
      if (this.#tracker !== null && l1 !== null) {
        // The gate follows whichever L1 is current (tuning may resize it).
        const gate = {
          setServableUntil: (t: number) => this.#stack?.l1?.setServableUntil(t),
          setFillTtlCap: (ms: number) => this.#stack?.l1?.setFillTtlCap(ms),
          lossEpoch: () => this.#stack?.lossEpoch ?? 0,
          coherenceRestored: (epoch: number) => this.#stack?.coherenceRestored(epoch),
        };
        this.#watchdog = new CoherenceWatchdog(l2.backend, gate, (reason) => this.#stack?.invalidateAll(reason), c.coherenceStalenessMs, this.logger);
        await this.#watchdog.start();
      }
    }
    const stack = this.#stack;
    this.#sessions = new SessionStore(l2?.backend ?? null, `${c.namespace}:`, c.l2CommandTimeoutMs, this.#tracker !== null);
    this.#invalidation = new InvalidationManager({
      namespacePrefix: `${c.namespace}:`,
      backend: l2?.backend ?? null,
      commandTimeoutMs: c.l2CommandTimeoutMs,
      deleteKeys: (keys) => stack.deleteKeys(keys),
    });
    this.#patterns = new PatternManager(
      {
        cache: this,
        invalidation: this.#invalidation,
        lock: this.#lock,
        backend: l2?.backend ?? null,
        codec: this.#codec,
        namespace: c.namespace,
        commandTimeoutMs: c.l2CommandTimeoutMs,
        logger: this.logger,
        readEntry: (key) => stack.readEntry(key),
      },
      {
        readPattern: c.defaultReadPattern,
        writePattern: c.defaultWritePattern,
        ...this.#patternOptions,
      },
    );
    this.#warmer = new CacheWarmer(this);
    const secured = c.enableSecurity || c.enableAccessControl;
    if (secured || c.globalRateLimit !== undefined) {
      const backend = l2?.backend ?? null;
      const limiter = new RateLimiter(backend, `${c.namespace}:`, c.l2CommandTimeoutMs);
      if (secured) {
        const audit = new AuditLog({
          path: c.auditLogPath,
          logger: c.auditLogPath === undefined ? this.logger.child({ component: 'audit' }) : undefined,
          hmacKey: c.auditHmacKey === undefined ? null : Buffer.from(c.auditHmacKey),
          instance: c.instanceId ?? `${hostname()}:${process.pid}`,
        });
        this.#security = new SecurityManager({ sessions: this.#sessions as SessionStore, audit, limiter });
        this.#security.on('security', (e) => this.events.emit('security', e));
      }
      this.#guard = new SecureOperations({
        security: this.#security,
        limiter,
        global: c.globalRateLimit === undefined ? null : { ratePerSecond: c.globalRateLimit.opsPerSecond, burst: c.globalRateLimit.burst },
        invalidation: this.#invalidation,
        raw: {
          get: (k, o) => this.#getRaw(k, o),
          set: (k, v, o) => this.#setRaw(k, v, o),
          delete: (k) => this.#deleteRaw(k),
          has: (k) => this.#hasRaw(k),
          getMany: (ks) => this.#getManyRaw(ks),
          setMany: (es) => this.#setManyRaw(es),
          getOrSet: (k, l, o) => this.#getOrSetRaw(k, l, o),
          invalidatePattern: (p) => this.#invalidatePatternRaw(p),
          invalidateTags: (t) => this.#invalidateTagsRaw(t),
          clear: () => this.#clearRaw(),
          scanKeys: (p) => this.#scanKeys(p),
        },
      });
    }
    this.#memory = getMemoryMonitor();
    if (c.enableMemoryMonitoring) {
      this.#unregisterMemory = this.#memory.register({ l1: () => this.#l1, temporaryPatterns: c.temporaryKeyPatterns, intervalMs: c.memoryCheckIntervalMs, thresholdMb: c.memoryThresholdMb, logger: this.logger });
    }
    if (c.meter !== undefined) registerOpenTelemetry(c.meter, () => this.getStatsSync());
    this.#l1 = l1;
    this.#state = 'ready';
    this.#stats.start(() => this.#totalOps());
  }

  async #connect(backend: RedisBackend): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const connecting = backend.connect().then(
      () => true,
      (err: unknown) => {
        if (isConfigurationError(err)) this.#configError ??= err;
        this.logger.warn({ err: (err as Error).message }, 'redis connect failed');
        return false;
      },
    );
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.config.connectTimeoutMs);
      // A wrong password or certificate will not fix itself: stop waiting as soon as one shows.
      poll = setInterval(() => this.#configError !== undefined && resolve(false), 10);
    });
    const ok = await Promise.race([connecting, timedOut]);
    clearTimeout(timer);
    clearInterval(poll);
    const configError = this.#configError;
    if (!ok && configError !== undefined) {
      this.#state = 'closed';
      this.#watchdog?.stop();
      if (this.#ownedBackend !== null) await this.#ownedBackend.close().catch(() => undefined);
      this.#ownedBackend = null;
      throw new TierUnavailableError('l2', `Redis refused the connection (check credentials / TLS settings): ${(configError as Error).message ?? String(configError)}`, { cause: configError });
    }
    if (!ok) this.logger.warn('redis not reachable at start; running degraded (L1 and misses) until it answers');
  }

  /**
   * The value for `key`, from L1, else L2; `options.default` (or `undefined`) on a miss.
   * A Redis failure is a miss here, never an error.
   */
  get<T = unknown>(key: string, options?: GetOptions<T>): Promise<T | undefined> {
    if (this.#guard !== null) return this.#guard.get(key, options as GetOptions<unknown>) as Promise<T | undefined>;
    return this.#getRaw(key, options);
  }

  #getRaw<T = unknown>(key: string, options?: GetOptions<T>): Promise<T | undefined> {
    const l1 = this.#l1;
    if (l1 !== null && !this.#strong && options?.consistency === undefined) {
      const v = l1.get(key);
      if (v !== undefined) return Promise.resolve(v as T);
    }
    return this.#getSlow(key, options);
  }

  #getSlow<T>(key: string, options: GetOptions<T> | undefined): Promise<T | undefined> {
    let read: Promise<unknown>;
    try {
      const stack = this.#ready();
      this.#keys.validate(key);
      const level = options?.consistency ?? (this.#strong ? ConsistencyLevel.STRONG : undefined);
      read = level === undefined ? stack.readL2(key) : this.#readAt(stack, key, level, options?.session);
    } catch (err) {
      return Promise.reject(err);
    }
    // L2 latency is recorded per round trip inside the read handler (tier_stack.ts).
    if (options === undefined || options.default === undefined) return read as Promise<T | undefined>;
    const fallback = options.default;
    return read.then((v) => (v === undefined ? fallback : (v as T)));
  }

  /** A read at an explicit consistency level (the fast path handles EVENTUAL without one). */
  #readAt(stack: TierStack, key: string, level: ConsistencyLevel, session: ConsistencySession | undefined): Promise<unknown> {
    const l1 = stack.l1;
    switch (level) {
      case ConsistencyLevel.STRONG:
        return stack.readStrong(key);
      case ConsistencyLevel.WEAK: {
        const v = l1?.peekUngated(key);
        return v !== undefined ? Promise.resolve(v) : stack.readL2(key);
      }
      case ConsistencyLevel.SESSION: {
        if (!(session instanceof ConsistencySession)) throw new InvalidArgumentError('SESSION consistency needs options.session (a ConsistencySession)', { key });
        const seen = session.lastSeen(key);
        // L1 may answer only if this instance's coherence was confirmed after the session last
        // saw the key: then every write the session could have seen has been applied here.
        const confirmed = this.#watchdog?.confirmedAt ?? (this.hasL2 ? 0 : Infinity);
        const l1Ok = seen === undefined || confirmed - this.config.sessionClockSkewMs > seen;
        const v = l1Ok ? l1?.get(key) : undefined;
        const read = v !== undefined ? Promise.resolve(v) : stack.readL2(key);
        return read.then((value) => {
          if (value !== undefined) session.observe(key);
          return value;
        });
      }
      default: {
        const v = l1?.get(key);
        return v !== undefined ? Promise.resolve(v) : stack.readL2(key);
      }
    }
  }

  /**
   * L1 only, synchronous, for hot paths: no promise, no allocation on a hit. A miss here says
   * nothing about L2; use `get` to look further.
   */
  getSync<T = unknown>(key: string): T | undefined {
    if (this.#security !== null) throw new CacheStateError('getSync has no session to check: with security on, use get(key, { sessionId })');
    const l1 = this.#l1;
    if (l1 === null) {
      this.#ready();
      return undefined;
    }
    const v = l1.get(key);
    if (v === undefined) this.#stats.syncMisses++;
    return v as T | undefined;
  }

  /**
   * Stores `value` in L2 then L1. `options.ttl` in seconds. Rejects with a typed error on bad input
   * (nothing is written then). Resolves once L2 acknowledged the write (batched with the other
   * writes of this tick).
   */
  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    if (this.#guard !== null) return this.#guard.set(key, value, options);
    return this.#setRaw(key, value, options);
  }

  #setRaw(key: string, value: unknown, options?: SetOptions): Promise<void> {
    try {
      const stack = this.#ready();
      this.#keys.validate(key);
      if (options === undefined) return stack.write(key, value, this.#defaultTtlMs) as Promise<void>;
      const strict = options.consistency === ConsistencyLevel.STRONG || (this.#strong && options.consistency === undefined);
      let written = stack.write(key, value, this.#ttlMs(options.ttl), 0, strict) as Promise<void>;
      if (options.consistency === ConsistencyLevel.SESSION) {
        const session = options.session;
        if (!(session instanceof ConsistencySession)) throw new InvalidArgumentError('SESSION consistency needs options.session (a ConsistencySession)', { key });
        written = written.then(() => session.observe(key));
      }
      if (options.tags === undefined && options.dependsOn === undefined) return written;
      return written.then(() => this.#recordRelations(key, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #recordRelations(key: string, options: SetOptions): Promise<void> {
    const tags = options.tags ?? [];
    const deps = options.dependsOn ?? [];
    for (const t of tags) if (typeof t !== 'string' || t.length === 0) throw new InvalidArgumentError('tags must be non-empty strings', { key });
    for (const d of deps) this.#keys.validate(d);
    await (this.#invalidation as InvalidationManager).record(key, tags, deps, this.#ttlMs(options.ttl));
  }

  /**
   * Removes every key carrying any of `tags` (and what depends on them) from every tier and, through
   * coherence, from every instance's L1. Resolves to how many keys were removed.
   */
  invalidateTags(tags: string[], options?: GuardOptions): Promise<number> {
    if (this.#guard !== null) return this.#guard.invalidateTags(tags, options);
    return this.#invalidateTagsRaw(tags);
  }

  async #invalidateTagsRaw(tags: string[]): Promise<number> {
    this.#ready();
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) throw new InvalidArgumentError('tags must be an array of non-empty strings');
    return (this.#invalidation as InvalidationManager).invalidateTags(tags);
  }

  /**
   * Runs a built-in benchmark on a scratch namespace (same Redis, same settings, its keys removed
   * afterwards): your data is never read or written. Figures are measured (perf_hooks histogram).
   */
  async benchmark(type: BenchmarkType = BenchmarkType.MIXED, options: { durationSeconds?: number; onProgress?: (fraction: number) => void } = {}): Promise<BenchmarkResult> {
    this.#ready();
    const c = this.config;
    const scratch = new IntegratedCacheManager({
      ...this.#inputOptions,
      namespace: `${c.namespace}-bench-${randomBytes(4).toString('hex')}`.slice(0, 64),
      enableSecurity: false,
      enableAccessControl: false,
      globalRateLimit: undefined,
      enableMemoryMonitoring: false,
      meter: undefined,
      auditLogPath: undefined,
      logLevel: 'silent',
      logger: undefined,
    });
    await scratch.initialize();
    try {
      return await runBenchmark(
        {
          get: (k) => scratch.get(k),
          set: (k, v) => scratch.set(k, v),
          delete: (k) => scratch.delete(k),
          getOrSet: (k, l) => scratch.getOrSet(k, l),
          l1Size: c.enableL1Cache ? c.l1MaxSize : 1000,
        },
        type,
        options.durationSeconds ?? 5,
        options.onProgress,
      );
    } finally {
      await scratch.clear().catch(() => undefined);
      await scratch.close();
    }
  }

  /** Prometheus exposition text of the live figures (prom-client; names `tiercache_*`). */
  metrics(): Promise<string> {
    return this.#prometheus().metrics();
  }

  /** A ready HTTP handler serving `metrics()` (mount it on /metrics). */
  get metricsHandler(): PrometheusMetrics['handler'] {
    return this.#prometheus().handler;
  }

  #prometheus(): PrometheusMetrics {
    this.#ready();
    this.#prom ??= new PrometheusMetrics(() => this.getStatsSync(), { namespace: this.config.namespace });
    return this.#prom;
  }

  /** The process's memory monitor (figures always; it acts on this L1 with `enableMemoryMonitoring`). */
  getMemoryMonitor(): MemoryMonitor {
    this.#ready();
    return this.#memory as MemoryMonitor;
  }

  /** The L1 tier, or null (L1 off, or before initialize). For tuning and memory management. */
  get l1Tier(): MemoryTier | null {
    return this.#l1;
  }

  /**
   * Resizes L1 to `maxEntries`: within the allocated capacity by moving the entry bound, beyond
   * it by building a larger tier and moving the live entries over. Returns the new bound.
   */
  resizeL1(maxEntries: number): number {
    const stack = this.#ready();
    const l1 = stack.l1;
    if (l1 === null) throw new CacheStateError('L1 is off');
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 50_000_000) throw new InvalidArgumentError('maxEntries must be an integer in 1..50,000,000');
    if (maxEntries <= l1.maxEntries) {
      l1.setEntryLimit(maxEntries);
      return maxEntries;
    }
    const next = l1.resized(maxEntries);
    stack.replaceL1(next);
    this.#l1 = next;
    return maxEntries;
  }

  /** Roles, sessions and the audit trail (with `enableSecurity`). */
  get securityManager(): SecurityManager {
    this.#ready();
    if (this.#security === null) throw new CacheStateError('security is off: create the cache with enableSecurity: true');
    return this.#security;
  }

  /**
   * Authorizes an operation that happens outside the cache (the pattern manager writing the data
   * source) under `sessionId`, before it happens; a no-op without security. Denials are audited.
   */
  async checkAccess(op: string, permissions: Permission[], keys: string[], sessionId: string | undefined): Promise<void> {
    this.#ready();
    if (this.#guard !== null) await this.#guard.check(op, sessionId, permissions, keys);
  }

  /** A session for `userId` with role `roleName` (see SecurityManager.createSession); `ttl` in seconds. */
  createSession(userId: string, roleName: string, options?: { ttl?: number }): Promise<string> {
    return this.securityManager.createSession(userId, roleName, options);
  }

  /** Keys of the namespace matching `pattern`, without deleting them. */
  async #scanKeys(pattern: string): Promise<string[]> {
    const stack = this.#ready();
    this.#keys.validatePattern(pattern);
    const out: string[] = [];
    if (stack.l2 === null) {
      const test = globMatcher(pattern);
      for (const k of stack.l1?.keys() ?? []) if (test(k)) out.push(k);
      return out;
    }
    await stack.l2.scanMatching(pattern, async (keys) => void out.push(...keys));
    return out;
  }

  /** The cache patterns (read-through, write-through, write-behind, refresh-ahead, cache-aside). */
  get patternManager(): PatternManager {
    this.#ready();
    return this.#patterns as PatternManager;
  }

  /** Pre-loads keys (see CacheWarmer). */
  get warmer(): CacheWarmer {
    this.#ready();
    return this.#warmer as CacheWarmer;
  }

  /** Removes `key` from every tier. Resolves to whether it existed in any. */
  delete(key: string, options?: GuardOptions): Promise<boolean> {
    if (this.#guard !== null) return this.#guard.delete(key, options);
    return this.#deleteRaw(key);
  }

  async #deleteRaw(key: string): Promise<boolean> {
    const stack = this.#ready();
    this.#keys.validate(key);
    const start = performance.now();
    const existed = await stack.delete(key);
    // What depends on this key goes with it (dependency invalidation; one SMEMBERS when none).
    await (this.#invalidation as InvalidationManager).cascade([key]);
    this.#stats.record('delete', performance.now() - start);
    return existed;
  }

  /** Whether a live value exists for `key` in L1 or L2 (does not count as a read). */
  has(key: string, options?: GuardOptions): Promise<boolean> {
    if (this.#guard !== null) return this.#guard.has(key, options);
    return this.#hasRaw(key);
  }

  async #hasRaw(key: string): Promise<boolean> {
    const stack = this.#ready();
    this.#keys.validate(key);
    return stack.has(key);
  }

  /** Values for `keys`, in order; L2 lookups of the L1 misses go out as one batched round trip. */
  getMany<T = unknown>(keys: readonly string[], options?: GuardOptions): Promise<(T | undefined)[]> {
    if (this.#guard !== null) return this.#guard.getMany(keys, options) as Promise<(T | undefined)[]>;
    return this.#getManyRaw(keys);
  }

  async #getManyRaw<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const stack = this.#ready();
    for (const k of keys) this.#keys.validate(k);
    const out = new Array<T | undefined>(keys.length);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const v = this.#l1?.get(keys[i]);
      if (v !== undefined) out[i] = v as T;
      else pending.push(stack.readL2(keys[i]).then((x) => void (out[i] = x as T | undefined)));
    }
    if (pending.length > 0) await Promise.all(pending);
    return out;
  }

  /** Stores several entries; their L2 writes go out batched. All are validated before any is written. */
  setMany(entries: readonly SetManyEntry[], options?: GuardOptions): Promise<void> {
    if (this.#guard !== null) return this.#guard.setMany(entries, options);
    return this.#setManyRaw(entries);
  }

  async #setManyRaw(entries: readonly SetManyEntry[]): Promise<void> {
    const stack = this.#ready();
    const ttls = entries.map((e) => {
      this.#keys.validate(e.key);
      return this.#ttlMs(e.ttl);
    });
    await stack.writeMany(
      entries.map((e) => e.key),
      entries.map((e) => e.value),
      ttls,
    );
  }

  /**
   * Read-through: the cached value, else `loader(key)`'s result, stored with `options.ttl`.
   * Concurrent calls for one key in this process share one loader call and its outcome; a loader
   * failure reaches every waiter as a `LoaderError` (its `cause` is what the loader threw) and
   * nothing is cached. A loader result of `undefined` is returned but not cached.
   */
  getOrSet<T>(key: string, loader: Loader<T> | DataLoader<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    if (this.#guard !== null) return this.#guard.getOrSet(key, loader as Loader<unknown>, options) as Promise<T | undefined>;
    return this.#getOrSetRaw(key, loader, options);
  }

  #getOrSetRaw<T>(key: string, loader: Loader<T> | DataLoader<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    const l1 = this.#l1;
    if (l1 !== null && !this.#strong) {
      const v = l1.get(key);
      if (v !== undefined) return Promise.resolve(v as T);
    }
    return this.#getOrSetSlow(key, loader, options);
  }

  async #getOrSetSlow<T>(key: string, loader: Loader<T> | DataLoader<T>, options: GetOrSetOptions | undefined): Promise<T | undefined> {
    const stack = this.#ready();
    this.#keys.validate(key);
    let fn: Loader<T>;
    if (typeof loader === 'function') fn = loader;
    else if (typeof loader === 'object' && loader !== null && typeof loader.load === 'function') fn = (k) => loader.load(k);
    else throw new InvalidArgumentError('loader must be a function or a DataLoader', { key });
    const start = performance.now();
    try {
      const value = await stack.getOrLoad(key, fn, this.loadOptions(options, loader));
      if (value !== undefined && (options?.tags !== undefined || options?.dependsOn !== undefined)) await this.#recordRelations(key, options);
      return value;
    } finally {
      this.#stats.record('getOrSet', performance.now() - start);
    }
  }

  /**
   * Removes every key matching the Redis glob `pattern` (`*`, `?`, `[…]`, `\` escapes) from L1
   * and L2. Resolves to the number of L2 keys removed (L1 keys in L1-only mode).
   */
  invalidatePattern(pattern: string, options?: GuardOptions): Promise<number> {
    if (this.#guard !== null) return this.#guard.invalidatePattern(pattern, options);
    return this.#invalidatePatternRaw(pattern);
  }

  async #invalidatePatternRaw(pattern: string): Promise<number> {
    const stack = this.#ready();
    this.#keys.validatePattern(pattern);
    const invalidation = this.#invalidation as InvalidationManager;
    return stack.deleteMatching(pattern, globMatcher(pattern), (keys) => invalidation.cascadeFromRoots(keys).then(() => undefined));
  }

  /** Removes every key of this cache's namespace from L1 and L2. */
  clear(options?: GuardOptions): Promise<void> {
    if (this.#guard !== null) return this.#guard.clear(options);
    return this.#clearRaw();
  }

  async #clearRaw(): Promise<void> {
    const stack = this.#ready();
    await stack.deleteMatching('*', () => true);
  }

  /** Counters and measured latencies (see {@link CacheStatsSnapshot}). */
  async getStats(): Promise<CacheStatsSnapshot> {
    return this.getStatsSync();
  }

  getStatsSync(): CacheStatsSnapshot {
    const s = this.#stats;
    const l1s = this.#stack?.l1?.stats();
    const l2 = this.#stack?.l2 ?? null;
    const hits = (l1s?.hits ?? 0) + s.l2Hits;
    const misses = s.misses + s.syncMisses;
    const lat = s.latency();
    const total = this.#totalOps();
    return {
      hits,
      misses,
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      l1: l1s
        ? { enabled: true, ...l1s, hitRate: l1s.hits + l1s.misses === 0 ? 0 : l1s.hits / (l1s.hits + l1s.misses) }
        : { enabled: false },
      l2: {
        enabled: l2 !== null,
        hits: s.l2Hits,
        misses: s.l2Misses,
        errors: s.l2Errors,
        skipped: s.l2Skipped,
        corrupt: s.l2Corrupt,
        roundTrips: l2?.roundTrips ?? { reads: 0, writes: 0 },
      },
      loader: { calls: s.loaderCalls, errors: s.loaderErrors, fenced: s.fencedLoads, failSafeHits: s.failSafeHits, softTimeouts: s.softTimeouts, hardTimeouts: s.hardTimeouts },
      sets: s.sets,
      deletes: s.deletes,
      avgLatencyMs: lat.meanMs,
      latency: lat.byOp,
      opsPerSecond: s.opsPerSecond(total),
      memoryUsageMb: (l1s?.bytes ?? 0) / (1024 * 1024),
      processMemoryMb: process.memoryUsage.rss() / (1024 * 1024),
      errorRate: total === 0 ? 0 : (s.l2Errors + s.loaderErrors) / total,
      coherence: {
        enabled: this.#tracker !== null,
        invalidationsReceived: this.#stack?.remoteInvalidations ?? 0,
        fullFlushes: this.#stack?.remoteFlushes ?? 0,
        outage: this.#watchdog?.outage ?? false,
        confirmedAgoMs: this.#watchdog && this.#watchdog.confirmedAt > 0 ? Date.now() - this.#watchdog.confirmedAt : null,
      },
      locks: { acquired: this.#lock?.acquired ?? 0, waited: this.#lock?.waited ?? 0, lostLeases: this.#lock?.lostLeases ?? 0 },
      breakers: this.#breakers().map((b) => b.snapshot()),
      security: { encryption: this.#cipher !== null, currentKeyId: this.#cipher?.currentKeyId ?? null, events: s.securityEvents },
      patterns: this.#patterns?.snapshot() ?? { refreshes: 0, refreshErrors: 0, writeThrough: 0, writeBehind: 0, batchLoads: 0, queues: {} },
    };
  }

  /** Pings Redis (bounded by `l2CommandTimeoutMs`) and reports what it found. */
  async healthCheck(): Promise<HealthReport> {
    const stack = this.#ready();
    const issues: string[] = [];
    let redisConnected: boolean | null = null;
    let redisLatencyMs: number | null = null;
    let redis: Record<string, unknown> | null = null;
    if (stack.l2 !== null) {
      try {
        redisLatencyMs = await stack.l2.ping();
        redisConnected = true;
        redis = await stack.l2.describe();
        if (redis.clusterState !== undefined && redis.clusterState !== 'ok') {
          issues.push(`Redis Cluster state is ${String(redis.clusterState)} (${String(redis.slotsOk)} of 16384 slots ok); some keys are unavailable`);
        }
      } catch (err) {
        redisConnected = false;
        issues.push(`Redis is not reachable (${(err as Error).message}); reads are served from L1 or miss`);
      }
    }
    for (const b of this.#breakers()) {
      if (b.state !== 'closed') issues.push(`circuit ${b.name} is ${b.state}: ${b.name === 'redis' ? 'L2 is skipped (L1 and loaders still serve)' : 'the loader is not called (stale values or errors)'}`);
    }
    const memory = (this.#memory as MemoryMonitor).getCurrentMetrics();
    if (memory.pressureLevel === 'high' || memory.pressureLevel === 'critical') issues.push(`memory pressure is ${memory.pressureLevel}`);
    const recommendations = evaluateRules({ stats: this.getStatsSync(), memory, redisConnected, redisLatencyMs, l1MaxSize: stack.l1?.entryLimit ?? 0 }).map((r) => `[${r.id}] ${r.recommendation}`);
    const wd = this.#watchdog;
    if (wd?.outage) issues.push(`L1 coherence unconfirmed for ${wd.degradedForMs} ms; L1 entries live at most ${this.config.coherenceStalenessMs} ms`);
    const l1 = stack.l1;
    return {
      overallHealth: issues.length === 0 ? 'healthy' : l1 !== null ? 'degraded' : 'unhealthy',
      redisConnected,
      redisLatencyMs,
      topology: stack.l2?.backend.topology ?? null,
      redis,
      degradedForMs: wd ? wd.degradedForMs : null,
      lastDegradedWindowMs: wd ? wd.lastWindowMs : null,
      breakers: this.#breakers().map((b) => b.snapshot()),
      memory,
      memoryPressure: memory.pressureLevel,
      recommendations,
      l1Enabled: l1 !== null,
      l1Size: l1?.size ?? 0,
      l1Bytes: l1?.bytes ?? 0,
      l1MaxSize: l1?.entryLimit ?? 0,
      issues,
      checkedAt: new Date(),
    };
  }

  /** Stops timers and closes the Redis connection tiercache opened (a client you passed stays open). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    // Write-behind queues drain first, while Redis is still open.
    if (this.#state === 'ready') await this.#patterns?.close().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'write-behind drain failed'));
    this.#state = 'closed';
    this.#l1 = null;
    this.#stats.stop();
    this.#watchdog?.stop();
    this.#unregisterMemory?.();
    const backend = this.#ownedBackend;
    this.#ownedBackend = null;
    if (backend !== null) await backend.close().catch(() => undefined);
  }

  #ready(): TierStack {
    if (this.#state !== 'ready' || this.#stack === null) {
      throw new CacheStateError(this.#state === 'closed' ? 'Cache is closed' : 'Call and await initialize() first');
    }
    return this.#stack;
  }

  #breakers(): CircuitBreaker[] {
    const out: CircuitBreaker[] = [];
    if (this.#l2Breaker !== null) out.push(this.#l2Breaker);
    out.push(...this.#keyedBreakers.values());
    for (const ref of this.#loaderBreakerList) {
      const b = ref.deref();
      if (b !== undefined) out.push(b);
    }
    return out;
  }

  /** The breaker guarding `loader` (created on first use), or null with breakers off. */
  /**
   * The breaker guarding a loader: one per `breakerKey` (a string you choose, e.g. 'users-db'),
   * else one per DataLoader object. Plain functions get none: a loader is usually a closure made
   * per call, and a breaker per closure would never see a second call (and cost an allocation
   * on every miss, measured).
   */
  loaderBreaker(loader: object, breakerKey?: string): CircuitBreaker | null {
    const c = this.config.circuitBreaker;
    if (c === false) return null;
    if (breakerKey !== undefined) {
      let b = this.#keyedBreakers.get(breakerKey);
      if (b === undefined) {
        b = new CircuitBreaker({ name: `loader:${breakerKey}`, ...c });
        this.#keyedBreakers.set(breakerKey, b);
      }
      return b;
    }
    if (typeof loader === 'function') return null;
    let b = this.#loaderBreakers.get(loader);
    if (b === undefined) {
      b = new CircuitBreaker({ name: `loader:${loader.constructor.name || 'DataLoader'}`, ...c });
      this.#loaderBreakers.set(loader, b);
      this.#loaderBreakerList.push(new WeakRef(b));
    }
    return b;
  }

  /** Resolves a call's read-through options against the config (validated; typed errors). */
  loadOptions(options: GetOrSetOptions | undefined, loader?: object): LoadOptions {
    const c = this.config;
    const ms = (name: string, v: number | undefined, fallback: number): number => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got ${String(v)}`);
      return v;
    };
    return {
      ttlMs: this.#ttlMs(options?.ttl),
      graceMs: ms('grace', options?.grace, c.defaultGrace) * 1000,
      softTimeoutMs: ms('softTimeoutMs', options?.softTimeoutMs, c.loaderSoftTimeoutMs),
      hardTimeoutMs: ms('hardTimeoutMs', options?.hardTimeoutMs, c.loaderHardTimeoutMs),
      guard: guardOf(loader === undefined ? null : this.loaderBreaker(loader, options?.breakerKey)),
      strong: this.#strong,
    };
  }

  #ttlMs(ttl: number | undefined): number {
    if (ttl === undefined) return this.#defaultTtlMs;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
      throw new InvalidArgumentError(`ttl must be a positive number of seconds, got ${String(ttl)}`);
    }
    return ttl * 1000;
  }

  #totalOps(): number {
    const s = this.#stats;
    const l1s = this.#stack?.l1?.stats();
    return (l1s?.hits ?? 0) + s.misses + s.syncMisses + s.l2Hits + s.sets + s.deletes;
  }
}

function guardOf(breaker: CircuitBreaker | null): LoadOptions['guard'] {
  return breaker === null ? undefined : (call) => breaker.run(call);
}

/** Creates a cache from options (validated; an invalid option throws `InvalidOptionsError` naming it). */
export function createIntegratedCache(options: IntegratedCacheOptions = {}, patternOptions: PatternManagerOptions = {}): IntegratedCacheManager {
  return new IntegratedCacheManager(options, patternOptions);
}
