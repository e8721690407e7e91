import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BenchmarkType, runBenchmark, scratchNamespace, type BenchmarkResult } from '../bench/cache_benchmark.js';
import { defaultLogger, type CacheLogger as Logger } from '../observability/logger.js';
import { EnvelopeCodec } from '../codec/envelope_codec.js';
import { configFromEnv } from '../config/env_config.js';
import { resolveConfig, type IntegratedCacheConfig, type IntegratedCacheOptions } from '../config/integrated_cache_config.js';
import { AccessDeniedError, CacheStateError, InvalidArgumentError, InvalidOptionsError, RateLimitError } from '../errors.js';
import { requireShape, type ArgumentContext } from '../guards/argument_validator.js';
import { KeyValidator } from '../guards/key_validator.js';
import { CacheEvents, type CacheEventListener, type CacheEventName } from '../observability/cache_events.js';
import { CacheStats, type CacheStatsSnapshot } from '../observability/cache_stats.js';
import { getMemoryMonitor, monitorInternals, type MemoryMetrics, type MemoryMonitor, type MemoryRegistration } from '../observability/memory_monitor.js';
import { PrometheusMetrics, registerOpenTelemetry } from '../observability/prometheus_metrics.js';
import { CacheWarmer } from '../patterns/cache_warmer.js';
import { InvalidationManager } from '../patterns/invalidation_manager.js';
import { CachePattern } from '../patterns/cache_pattern.js';
import { PatternManager, type PatternManagerOptions } from '../patterns/pattern_manager.js';
import { AesGcmCipher, deriveCipherKey } from '../security/aes_gcm_cipher.js';
import { AuditLog } from '../security/audit_log.js';
import { RateLimiter } from '../security/rate_limiter.js';
import { SecureOperations } from '../security/secure_operations.js';
import { AccessControl } from '../security/access_control.js';
import { SecurityManager } from '../security/security_manager.js';
import { SessionStore } from '../security/session_store.js';
import type { ConsistencyOptions, GetOptions, GetOrSetOptions, GuardOptions, LoaderLike, SetOptions } from '../types/cache_operations.js';
import { redactWith } from '../util/redaction.js';
import type { CacheKey, CacheSchemaEntry, CacheValue, LoaderOf, UntypedSchema } from '../types/cache_schema.js';
import { registerInternals } from './cache_internals.js';
import { healthReport, statsSnapshot, totalOps, type HealthReport, type ReportSources } from './cache_report.js';
import { SystemClock, type Clock } from './clock.js';
import { ConsistencyLevel } from './consistency.js';
import { DependencyGraph } from './dependency_graph.js';
import { TierOperations } from './tier_operations.js';
import { endpointOf, TierRuntime } from './tier_setup.js';
import { loadPeer } from '../util/optional_peer.js';
import { l1Internals } from '../tiers/memory/memory_tier.js';

export type { ConsistencyOptions, GetOptions, SetOptions, GetOrSetOptions, SetManyEntry } from '../types/cache_operations.js';
export type { HealthReport } from './cache_report.js';

type State = 'new' | 'initializing' | 'ready' | 'closed';

/**
 * The cache, a facade over one door: every operation (its own, and those of the pattern manager,
 * invalidation manager, warmer and benchmark, which hold only the guarded operations) passes the
 * guard chain in security/secure_operations.ts, then the tiers (L1 → L2 → loader) and the codec.
 * Create it with `createIntegratedCache` (or `new IntegratedCacheManager(options)`), then
 * `await initialize()` before use.
 *
 * Consistency: with Redis, L1 is kept coherent across instances (coherence/, EVENTUAL by default);
 * per cache or per call, STRONG, WEAK and SESSION are available (docs/consistency.md). With
 * security on, every operation needs a `sessionId`; monitoring, tuning and benchmarks need ADMIN.
 */
export class IntegratedCacheManager<S extends object = UntypedSchema> {
  readonly config: IntegratedCacheConfig;
  readonly logger: Logger;
  /**
   * The typed event emitter behind `on`/`off`/`once` (see {@link CacheEventMap}). Events are built
   * only while a listener is attached.
   */
  readonly events = new CacheEvents();
  readonly #clock: Clock;
  readonly #keys: KeyValidator;
  readonly #stats: CacheStats;
  readonly #codec: EnvelopeCodec;
  readonly #cipher: AesGcmCipher | null;
  /** Cache-level STRONG: reads never use L1, writes never degrade to L1 only. */
  readonly #strong: boolean;
  readonly #patternOptions: PatternManagerOptions;
  readonly #inputOptions: IntegratedCacheOptions;
  #state: State = 'new';
  /** initialize()'s work while it runs (settles, never rejects), for close() to wait on. */
  #opening: Promise<void> | null = null;
  #runtime: TierRuntime | null = null;
  #tierOps: TierOperations | null = null;
  /** The one door: the only operations object any component or public call reaches. */
  #door: SecureOperations | null = null;
  #securityManager: SecurityManager | null = null;
  #sessions: SessionStore | null = null;
  #patterns: PatternManager | null = null;
  #patternCounters: (() => CacheStatsSnapshot['patterns']) | null = null;
  #warmer: CacheWarmer | null = null;
  #memory: MemoryMonitor | null = null;
  #unregisterMemory: MemoryRegistration | null = null;
  #prom: PrometheusMetrics | null = null;
  #audit: AuditLog | null = null;
  #unregisterMeter: (() => void) | null = null;

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
    // What printing the cache shows: its namespace, state and (redacted) config, never a key.
    redactWith(this, () => ({ IntegratedCacheManager: { namespace: this.config.namespace, state: this.#state, config: this.config } }));
    this.#keys = new KeyValidator(c.maxKeyLength, c.allowedKeyPattern === undefined ? null : new RegExp(c.allowedKeyPattern, 'u'));
    this.#stats = new CacheStats(c.enableMonitoring);
    let cipher: AesGcmCipher | undefined;
    if (c.enableEncryption) {
      const keys = c.encryptionKeys ?? configFromEnv(process.env).encryptionKeys;
      if (keys === undefined) throw new InvalidOptionsError('encryptionKeys', 'required when enableEncryption is true (or set CACHE_ENCRYPTION_KEY)');
      cipher = new AesGcmCipher(keys, c.encryptionKeyId ?? configFromEnv(process.env).encryptionKeyId);
    }
    this.#cipher = cipher ?? null;
    // Encrypted values are not compressed unless asked (compressEncrypted: size leaks content).
    const compress = c.enableCompression && (cipher === undefined || c.compressEncrypted);
    // Asking for msgpack without msgpackr is a configuration error: say so here, not at the first set.
    if (c.serializer === 'msgpack') loadPeer('msgpackr', 'serializer');
    this.#codec = new EnvelopeCodec({ serializer: c.serializer, compressAbove: compress ? c.compressionThreshold : false, maxValueBytes: c.maxValueBytes, cipher });
    // One process, one copy: without Redis, L1 alone is linearizable and there is nothing to bypass.
    this.#strong = c.consistencyLevel === ConsistencyLevel.STRONG && endpointOf(c) !== null;
    registerInternals(this, {
      l1: () => (this.#state === 'ready' ? (this.#runtime?.stack.l1 ?? null) : null), resizeL1: (n) => this.#resize(n),
      admit: (op, sessionId) => {
        const door = this.#door;
        if (door === null || this.#state !== 'ready') return this.#notReady();
        return door.admin(op, { sessionId }, () => undefined);
      },
    });
  }

  /**
   * Listens to a cache event: 'hit', 'miss', 'set', 'delete', 'invalidated', 'error' (failures the
   * cache absorbed), 'breaker', 'security'; payloads in {@link CacheEventMap}. While no listener is
   * attached, operations build no event payloads.
   */
  on<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): this {
    checkListener('on', event, listener);
    this.events.on(event, listener);
    return this;
  }

  /** Like `on`, for one event. */
  once<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): this {
    checkListener('once', event, listener);
    this.events.once(event, listener);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): this {
    checkListener('off', event, listener);
    this.events.off(event, listener);
    return this;
  }

  /** Whether an L2 (Redis) is configured. */
  get hasL2(): boolean {
    return endpointOf(this.config) !== null;
  }

  /**
   * Builds the tiers and connects to Redis. If Redis cannot be reached within `connectTimeoutMs`,
   * the cache still starts: reads degrade to L1 + misses, the client keeps reconnecting, and
   * `healthCheck()` reports `degraded` until Redis answers.
   */
  async initialize(): Promise<void> {
    if (this.#state !== 'new') throw new CacheStateError(`initialize() called on a cache that is ${this.#state}`);
    this.#state = 'initializing';
    const opening = this.#open();
    this.#opening = opening.catch(() => undefined);
    return opening;
  }

  async #open(): Promise<void> {
    const c = this.config;
    const secured = c.enableSecurity || c.enableAccessControl;
    let rt: TierRuntime;
    let audit: AuditLog | null = null;
    try {
      // First: an unusable audit path fails initialize() before any connection is opened.
      if (secured) {
        audit = new AuditLog({
          path: c.auditLogPath,
          logger: c.auditLogPath === undefined ? this.logger.child({ component: 'audit' }) : undefined,
          hmacKey: c.auditHmacKey === undefined ? null : Buffer.from(c.auditHmacKey),
          instance: c.instanceId ?? `${hostname()}:${process.pid}`,
        });
      }
      rt = await TierRuntime.open({
        config: c,
        clock: this.#clock,
        stats: this.#stats,
        codec: this.#codec,
        logger: this.logger,
        encrypted: this.#cipher !== null,
        onSecurityEvent: (e) => {
          this.logger.warn({ event: e.type, key: e.key, reason: e.reason }, 'security event');
          this.events.emit('security', e);
        },
        sessionHooks: { onKey: (k) => this.#sessions?.onInvalidated(k), onFlush: () => this.#sessions?.forgetAll() },
        events: this.events,
      });
    } catch (err) {
      this.#state = 'closed';
      audit?.close();
      throw err;
    }
    this.#audit = audit;
    this.#runtime = rt;
    const backend = rt.backend;
    const stack = rt.stack;
    this.#sessions = new SessionStore(backend, `${c.namespace}:`, c.l2CommandTimeoutMs, rt.tracker !== null, this.#sessionKey(backend !== null && secured));
    const graph = new DependencyGraph({ namespacePrefix: `${c.namespace}:`, backend, commandTimeoutMs: c.l2CommandTimeoutMs, deleteKeys: (keys) => stack.deleteKeys(keys) });
    this.#tierOps = new TierOperations({
      config: c,
      ready: () => this.#ready().stack,
      l1: () => (this.#state === 'ready' ? stack.l1 : null),
      keys: this.#keys,
      args: this.#argumentContext(),
      stats: this.#stats,
      graph,
      strong: this.#strong,
      hasL2: this.hasL2,
      confirmedAt: () => rt.watchdog?.confirmedAt ?? null,
      events: this.events,
    });
    const limiter = secured || c.globalRateLimit !== undefined ? new RateLimiter(backend, `${c.namespace}:`, c.l2CommandTimeoutMs) : null;
    let security: AccessControl | null = null;
    if (secured) {
      security = new AccessControl({ sessions: this.#sessions, audit, limiter: limiter as RateLimiter });
      security.on('security', (e) => this.events.emit('security', e));
    }
    const door = new SecureOperations({
      security,
      limiter,
      global: c.globalRateLimit === undefined ? null : { ratePerSecond: c.globalRateLimit.opsPerSecond, burst: c.globalRateLimit.burst },
      raw: this.#tierOps,
      args: this.#argumentContext(),
    });
    this.#door = door;
    this.#securityManager = security === null ? null : new SecurityManager(security, door);
    this.#patterns = new PatternManager(
      {
        ops: door,
        invalidation: new InvalidationManager(door),
        lock: rt.lock,
        backend,
        codec: this.#codec,
        namespace: c.namespace,
        defaultTtl: c.defaultTtl,
        registerSnapshot: (read) => (this.#patternCounters = read),
        commandTimeoutMs: c.l2CommandTimeoutMs,
        logger: this.logger,
      },
      { readPattern: c.defaultReadPattern, writePattern: c.defaultWritePattern, ...this.#patternOptions },
    );
    this.#warmer = new CacheWarmer(door);
    this.#memory = getMemoryMonitor();
    if (c.enableMemoryMonitoring) {
      this.#unregisterMemory = monitorInternals(this.#memory).register({ l1: () => (this.#state === 'ready' ? stack.l1 : null), temporaryPatterns: c.temporaryKeyPatterns, intervalMs: c.memoryCheckIntervalMs, thresholdMb: c.memoryThresholdMb, logger: this.logger });
    }
    if (c.meter !== undefined) this.#unregisterMeter = registerOpenTelemetry(c.meter, () => statsSnapshot(this.#sources()), c.namespace);
    this.#state = 'ready';
    this.#stats.start(() => totalOps(this.#sources()));
  }

  /**
   * The value for `key`, from L1, else L2; `options.default` (or `undefined`) on a miss.
   * A Redis failure is a miss here, never an error.
   */
  /** Untyped caches only: `T` is the caller's assertion of what is stored under `key`. */
  get<T>(this: IntegratedCacheManager<UntypedSchema>, key: string, options?: GetOptions<T>): Promise<T | undefined>;
  get<K extends CacheKey<S>>(key: K, options?: GetOptions<CacheValue<S, K>>): Promise<CacheValue<S, K> | undefined>;
  get(key: string, options?: GetOptions<unknown>): Promise<unknown> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.get(key, options);
  }

  /**
   * L1 only, synchronous, for hot paths: no promise, no allocation on a hit. A miss here says
   * nothing about L2; use `get` to look further. Refused with security on (no session check).
   */
  /** Untyped caches only: `T` is the caller's assertion of what is stored under `key`. */
  getSync<T>(this: IntegratedCacheManager<UntypedSchema>, key: string): T | undefined;
  getSync<K extends CacheKey<S>>(key: K): CacheValue<S, K> | undefined;
  getSync(key: string): unknown {
    this.#ops().refuseSync('getSync');
    const l1 = this.#runtime?.stack.l1 ?? null;
    if (l1 === null) return undefined;
    const v = l1.get(key);
    if (v === undefined) this.#stats.syncMisses++;
    return v;
  }

  /**
   * Stores `value` in L2 then L1. `options.ttl` in seconds. Rejects with a typed error on bad input
   * (nothing is written then). Resolves once L2 acknowledged the write (batched with the other
   * writes of this tick).
   */
  set<K extends CacheKey<S>>(key: K, value: CacheValue<S, K>, options?: SetOptions): Promise<void> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.set(key, value, options);
  }

  /** Removes `key` from every tier (and what depends on it). Resolves to whether it existed in any. */
  delete(key: CacheKey<S>, options?: ConsistencyOptions): Promise<boolean> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.delete(key, options);
  }

  /** Whether a live value exists for `key` in L1 or L2 (does not count as a read). */
  has(key: CacheKey<S>, options?: ConsistencyOptions): Promise<boolean> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.has(key, options);
  }

  /** Values for `keys`, in order; L2 lookups of the L1 misses go out as one batched round trip. */
  /** Untyped caches only: `T` is the caller's assertion of what is stored under the keys. */
  getMany<T>(this: IntegratedCacheManager<UntypedSchema>, keys: readonly string[], options?: ConsistencyOptions): Promise<(T | undefined)[]>;
  getMany<K extends CacheKey<S>>(keys: readonly K[], options?: ConsistencyOptions): Promise<(CacheValue<S, K> | undefined)[]>;
  getMany(keys: readonly string[], options?: ConsistencyOptions): Promise<unknown[]> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.getMany(keys, options);
  }

  /** Stores several entries; their L2 writes go out batched. All are validated before any is written. */
  setMany(entries: readonly CacheSchemaEntry<S>[], options?: ConsistencyOptions): Promise<void> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.setMany(entries, options);
  }

  /**
   * Read-through: the cached value, else `loader(key)`'s result, stored with `options.ttl`.
   * Concurrent calls for one key in this process share one loader call and its outcome; a loader
   * failure reaches every waiter as a `LoaderError` (its `cause` is what the loader threw) and
   * nothing is cached. A loader result of `undefined` is returned but not cached.
   *
   * Typed by the loader: a loader returning `T` (or `Promise<T>`) makes this `Promise<T>`;
   * `undefined` is in the result only if the loader may return it. With a schema, the loader's
   * result must fit the key's value type.
   */
  getOrSet<K extends CacheKey<S>, R extends CacheValue<S, K> | undefined>(key: K, loader: LoaderOf<R>, options?: GetOrSetOptions): Promise<R>;
  /** Untyped caches, an explicit `getOrSet<T>` (the form before loader typing): `T | undefined`. */
  getOrSet<T>(this: IntegratedCacheManager<UntypedSchema>, key: string, loader: LoaderLike<T>, options?: GetOrSetOptions): Promise<T | undefined>;
  getOrSet(key: string, loader: LoaderLike<unknown>, options?: GetOrSetOptions): Promise<unknown> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    // One getOrSet: refresh-ahead is the pattern manager's read, which reaches the cache through the same door.
    if (options?.refreshAhead !== undefined) return (this.#patterns as PatternManager).getOrSet(key, loader, { ...options, pattern: CachePattern.REFRESH_AHEAD });
    return door.getOrSet(key, loader, options);
  }

  /**
   * Removes every key matching the Redis glob `pattern` (`*`, `?`, `[…]`, `\` escapes) from L1
   * and L2. Resolves to the number of L2 keys removed (L1 keys in L1-only mode).
   */
  invalidatePattern(pattern: string, options?: GuardOptions): Promise<number> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.invalidatePattern(pattern, options);
  }

  /**
   * Removes every key carrying any of `tags` (and what depends on them) from every tier and, through
   * coherence, from every instance's L1. Resolves to how many keys were removed.
   */
  invalidateTags(tags: string[], options?: GuardOptions): Promise<number> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.invalidateTags(tags, options);
  }

  /** Removes every key of this cache's namespace from L1 and L2 (ADMIN with security on). */
  clear(options?: GuardOptions): Promise<void> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.clear(options);
  }

  /**
   * Runs a built-in benchmark on a scratch namespace (same Redis, same settings, its keys removed
   * afterwards; see `scratchNamespace`): your data is never read or written. Figures are measured
   * (perf_hooks histogram). ADMIN with security on.
   */
  benchmark(type: BenchmarkType = BenchmarkType.MIXED, options: { durationSeconds?: number; onProgress?: (fraction: number) => void } & GuardOptions = {}): Promise<BenchmarkResult> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    const checked = door.validate('benchmark', options, () => requireShape.benchmark(type, options, Object.values(BenchmarkType)));
    return checked.then(() => door.admin('benchmark', options, async () => {
      const c = this.config;
      const scratch = new IntegratedCacheManager({
        ...this.#inputOptions,
        namespace: scratchNamespace(c.namespace),
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
          { get: (k) => scratch.get(k), set: (k, v) => scratch.set(k, v), delete: (k) => scratch.delete(k), getOrSet: (k, l) => scratch.getOrSet(k, l), l1Size: c.enableL1Cache ? c.l1MaxSize : 1000 },
          type,
          options?.durationSeconds ?? 5,
          options?.onProgress,
        );
      } finally {
        await scratch.clear().catch(() => undefined);
        await scratch.close();
      }
    }));
  }

  /** Counters and measured latencies (see {@link CacheStatsSnapshot}). ADMIN with security on. */
  getStats(options?: GuardOptions): Promise<CacheStatsSnapshot> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.admin('getStats', options, () => statsSnapshot(this.#sources()));
  }

  /** `getStats` without a promise (refused with security on: no session check). */
  getStatsSync(): CacheStatsSnapshot {
    if (this.#door !== null) this.#door.refuseSync('getStatsSync');
    return statsSnapshot(this.#sources());
  }

  /** Pings Redis (bounded by `l2CommandTimeoutMs`) and reports what it found. ADMIN with security on. */
  healthCheck(options?: GuardOptions): Promise<HealthReport> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.admin('healthCheck', options, () => healthReport(this.#sources(), this.#ready(), () => this.#memoryMetrics()));
  }

  /** Prometheus exposition text of the live figures (prom-client; names `tiercache_*`). ADMIN with security on. */
  metrics(options?: GuardOptions): Promise<string> {
    const door = this.#door;
    if (door === null || this.#state !== 'ready') return this.#notReady();
    return door.admin('metrics', options, () => this.#prometheus().metrics());
  }

  /**
   * A ready HTTP handler serving `metrics()` (mount it on /metrics). With security on, a request
   * must carry `Authorization: Bearer <sessionId>` of an ADMIN session (401/403/429 otherwise,
   * audited like any call).
   */
  get metricsHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    const door = this.#ops();
    return (req, res) => {
      const auth = req.headers?.authorization;
      const sessionId = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
      door.admin('metricsHandler', { sessionId }, () => this.#prometheus().metrics()).then(
        (text) => {
          res.writeHead(200, { 'content-type': (this.#prom as PrometheusMetrics).registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          const status = err instanceof AccessDeniedError ? (sessionId === undefined ? 401 : 403) : err instanceof RateLimitError ? 429 : 500;
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end(status === 500 ? 'metrics failed' : (err as Error).message);
        },
      );
    };
  }

  #prometheus(): PrometheusMetrics {
    this.#ready();
    this.#prom ??= new PrometheusMetrics(() => statsSnapshot(this.#sources()), { namespace: this.config.namespace });
    return this.#prom;
  }

  /** This cache's memory figures: against its own `memoryThresholdMb`, with its own L1. */
  #memoryMetrics(): MemoryMetrics {
    if (this.#unregisterMemory !== null) return this.#unregisterMemory.metrics();
    return monitorInternals(this.#memory as MemoryMonitor).metrics({ thresholdMb: this.config.memoryThresholdMb, l1: () => this.#runtime?.stack.l1 ?? null });
  }

  /** The process's memory monitor (figures always; it acts on this L1 with `enableMemoryMonitoring`). Refused with security on. */
  getMemoryMonitor(): MemoryMonitor {
    this.#ops().refuseSync('getMemoryMonitor');
    return this.#memory as MemoryMonitor;
  }

  /**
   * Resizes L1 to `maxEntries`: within the allocated capacity by moving the entry bound, beyond
   * it by building a larger tier and moving the live entries over. Returns the new bound.
   * Refused with security on (no session check); tuning with security uses `autoOptimize`'s owner path.
   */
  resizeL1(maxEntries: number): number {
    this.#ops().refuseSync('resizeL1');
    return this.#resize(maxEntries);
  }

  #resize(maxEntries: number): number {
    const stack = this.#ready().stack;
    const l1 = stack.l1;
    if (l1 === null) throw new CacheStateError('L1 is off');
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 50_000_000) throw new InvalidArgumentError('maxEntries must be an integer in 1..50,000,000');
    if (maxEntries <= l1.maxEntries) {
      l1Internals(l1).setEntryLimit(maxEntries);
      return maxEntries;
    }
    stack.replaceL1(l1Internals(l1).resized(maxEntries));
    return maxEntries;
  }

  /** Roles and sessions (with `enableSecurity`); see {@link SecurityManager}. */
  get securityManager(): SecurityManager {
    this.#ops();
    if (this.#securityManager === null) throw new CacheStateError('security is off: create the cache with enableSecurity: true');
    return this.#securityManager;
  }

  /** A session for `userId` with role `roleName` (see {@link SecurityManager.createSession}); `ttl` in seconds. */
  createSession(userId: string, roleName: string, options?: { ttl?: number } & GuardOptions): Promise<string> {
    try {
      return this.securityManager.createSession(userId, roleName, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The cache patterns (read-through, write-through, write-behind, refresh-ahead, cache-aside). */
  get patternManager(): PatternManager {
    this.#ops();
    return this.#patterns as PatternManager;
  }

  /** Pre-loads keys (see CacheWarmer). */
  get warmer(): CacheWarmer {
    this.#ops();
    return this.#warmer as CacheWarmer;
  }

  /** Stops timers and closes the Redis connection tiercache opened (a client you passed stays open). */
  async close(): Promise<void> {
    // A close during initialize() waits for it (bounded by connectTimeoutMs): closing only what
    // exists so far left the connections it was about to open with no one to close them.
    if (this.#state === 'initializing') await this.#opening;
    if (this.#state === 'closed') return;
    // Write-behind queues drain first, while Redis is still open.
    if (this.#state === 'ready') await this.#patterns?.close().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'write-behind drain failed'));
    this.#state = 'closed';
    this.#stats.stop();
    this.#unregisterMemory?.();
    this.#unregisterMeter?.();
    this.#unregisterMeter = null;
    await this.#runtime?.close();
    this.#audit?.close();
  }

  #ready(): TierRuntime {
    if (this.#state !== 'ready' || this.#runtime === null) {
      throw new CacheStateError(this.#state === 'closed' ? 'Cache is closed' : 'Call and await initialize() first');
    }
    return this.#runtime;
  }

  #notReady<R>(): Promise<R> {
    return Promise.reject(new CacheStateError(this.#state === 'closed' ? 'Cache is closed' : 'Call and await initialize() first'));
  }

  /** The door, once the cache is ready (a CacheStateError before initialize and after close). */
  #ops(): SecureOperations {
    this.#ready();
    return this.#door as SecureOperations;
  }

  /** The key that authenticates session records (see `sessionSecret`). */
  #sessionKey(shared: boolean): Buffer {
    const secret = this.config.sessionSecret ?? configFromEnv(process.env).sessionSecret;
    if (secret !== undefined) return createHash('sha256').update(`tiercache-session-secret:${secret}`).digest();
    if (this.#cipher !== null) return deriveCipherKey(this.#cipher, 'tiercache session records v1');
    if (shared) this.logger.warn('no sessionSecret and no encryption key: session records are authenticated with a key of this process only, so a session works only on the instance that created it');
    return randomBytes(32);
  }

  #argumentContext(): ArgumentContext {
    const c = this.config;
    return { keys: this.#keys, limits: { maxTags: c.maxTagsPerKey, maxDependencies: c.maxDependencies, maxBatch: c.maxBatchSize } };
  }

  #sources(): ReportSources {
    const rt = this.#runtime;
    return {
      config: this.config,
      stats: this.#stats,
      runtime: rt,
      breakers: () => [...(rt?.l2Breaker ? [rt.l2Breaker] : []), ...(this.#tierOps?.breakers() ?? [])],
      cipher: this.#cipher,
      patterns: () => this.#patternCounters?.(),
    };
  }
}

/** Bad arguments to on/once/off are typed errors, not EventEmitter's TypeError. */
function checkListener(op: string, event: unknown, listener: unknown): void {
  if (typeof event !== 'string') throw new InvalidArgumentError(`${op}: event must be a string`);
  if (typeof listener !== 'function') throw new InvalidArgumentError(`${op}: listener must be a function`);
}

/**
 * Creates a cache from options (validated; an invalid option throws `InvalidOptionsError` naming it).
 * `S`, a schema of key prefixes to value types, types `get`, `set` and `getOrSet` (see CacheKey);
 * without it the cache takes any string key and any value.
 */
export function createIntegratedCache<S extends object = UntypedSchema>(options: IntegratedCacheOptions = {}, patternOptions: PatternManagerOptions = {}): IntegratedCacheManager<S> {
  return new IntegratedCacheManager<S>(options, patternOptions);
}
