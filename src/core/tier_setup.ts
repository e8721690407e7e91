import type { CacheLogger as Logger } from '../observability/logger.js';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import { WIRE_VERSION } from '../codec/envelope_header.js';
import type { CoherenceWatchdog } from '../coherence/coherence_watchdog.js';
import type { StampedeLock } from '../coherence/stampede_lock.js';
import type { TrackingInvalidator } from '../coherence/tracking_invalidator.js';
import type { IntegratedCacheConfig } from '../config/integrated_cache_config.js';
import { TierUnavailableError } from '../errors.js';
import type { CacheStats } from '../observability/cache_stats.js';
import { POLICIES } from '../policy/policies.js';
import { BreakerCore } from '../resilience/breaker_core.js';
import { breakerEvents, type CacheEvents } from '../observability/cache_events.js';
import { l1Internals, MemoryTier } from '../tiers/memory/memory_tier.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import type { RedisEndpoint } from '../tiers/redis/redis_connection.js';
import type { RedisTier } from '../tiers/redis/redis_tier.js';
import type { Clock } from './clock.js';
import { ConsistencyLevel } from './consistency.js';
import { TierStack } from './tier_stack.js';

/** The L2 modules (node-redis and what builds on it), loaded only when there is an endpoint. */
type L2Modules = typeof import('../tiers/redis/l2_modules.js');

async function loadL2Modules(): Promise<L2Modules> {
  try {
    return await import('../tiers/redis/l2_modules.js');
  } catch (err) {
    // A dependency the package manager did not install (or a broken install): say which.
    throw new TierUnavailableError('l2', `Redis is configured but its client could not be loaded (is @redis/client installed?): ${(err as Error).message}`, { cause: err });
  }
}

/** Where L2 lives, from the config; null in L1-only mode. */
export function endpointOf(c: IntegratedCacheConfig): RedisEndpoint | null {
  if (c.redisUrl !== undefined) return { kind: 'url', url: c.redisUrl };
  if (c.redisClient !== undefined) return { kind: 'client', client: c.redisClient };
  if (c.redisClusterNodes !== undefined) return { kind: 'cluster', nodes: c.redisClusterNodes };
  if (c.sentinels !== undefined) return { kind: 'sentinel', sentinels: c.sentinels, masterName: c.sentinelMasterName as string };
  return null;
}

export interface TierSetupOptions {
  config: IntegratedCacheConfig;
  clock: Clock;
  stats: CacheStats;
  codec: EnvelopeCodec;
  logger: Logger;
  encrypted: boolean;
  onSecurityEvent: (e: { type: string; key: string; reason: string }) => void;
  /** Session records live under the namespace too: coherence tells the session store what changed. */
  sessionHooks: { onKey: (key: string) => void; onFlush: () => void };
  /** The cache's typed events (coherence invalidations, absorbed L2 errors, breaker changes). */
  events: CacheEvents;
}

/**
 * The tiers and what runs beside them (coherence tracker and watchdog, stampede lock, L2 breaker),
 * built and connected from the config. Internal: the manager holds one, no public object exposes it.
 */
export class TierRuntime {
  readonly stack: TierStack;
  readonly backend: RedisBackend | null;
  readonly tracker: TrackingInvalidator | null;
  readonly lock: StampedeLock | null;
  readonly l2Breaker: BreakerCore | null;
  watchdog: CoherenceWatchdog | null = null;
  /** The Redis backend when tiercache opened its connections (and so closes them). */
  #owned: RedisBackend | null;
  /** A connection error retrying cannot fix, seen while initializing. */
  #configError: unknown = undefined;
  #initializing = true;
  readonly #o: TierSetupOptions;

  private constructor(o: TierSetupOptions, l2Modules: L2Modules | null) {
    this.#o = o;
    const c = o.config;
    const l1 = c.enableL1Cache
      ? new MemoryTier({ maxEntries: c.l1MaxSize, maxBytes: c.l1MaxBytes, clock: o.clock, policy: typeof c.l1Policy === 'string' ? POLICIES[c.l1Policy] : c.l1Policy })
      : null;
    let l2: RedisTier | null = null;
    let tracker: TrackingInvalidator | null = null;
    let lock: StampedeLock | null = null;
    let breaker: BreakerCore | null = null;
    let owned: RedisBackend | null = null;
    const endpoint = endpointOf(c);
    const prefix = `${c.namespace}:v${WIRE_VERSION}:`;
    if (endpoint !== null && l2Modules !== null) {
      const { TrackingInvalidator, openBackend, isConfigurationError, RedisTier, StampedeLock } = l2Modules;
      const coherent = c.enableCoherence && c.consistencyLevel !== ConsistencyLevel.WEAK && l1 !== null;
      tracker = coherent
        ? new TrackingInvalidator(
            `${c.namespace}:`,
            prefix,
            {
              // The stack exists before any connection is made, so these never see it missing.
              invalidate: (key) => this.stack.invalidate(key),
              invalidateAll: (reason) => this.stack.invalidateAll(reason),
              coherenceLost: () => {
                this.stack.coherenceLost();
                this.watchdog?.confirmSoon();
              },
            },
            [{ prefix: `${c.namespace}:session:`, onKey: o.sessionHooks.onKey, onFlush: o.sessionHooks.onFlush }],
          )
        : null;
      const opened = openBackend({
        endpoint,
        connectTimeoutMs: c.connectTimeoutMs,
        logger: o.logger,
        tracker,
        connections: c.redisConnections,
        scriptedWrites: c.redisScriptedWrites,
        username: c.redisUsername,
        password: c.redisPassword,
        tls: c.redisTls,
        onConnectionError: (err) => {
          if (this.#initializing && isConfigurationError(err)) this.#configError ??= err;
        },
      });
      if (opened.owned) owned = opened.backend;
      breaker = c.circuitBreaker === false ? null : new BreakerCore({ name: 'redis', ...c.circuitBreaker, onStateChange: breakerEvents(o.events, 'redis') });
      l2 = new RedisTier({ backend: opened.backend, prefix, commandTimeoutMs: c.l2CommandTimeoutMs, maxBatch: c.l2MaxBatch, breaker });
      if (c.enableDistributedLock) {
        lock = new StampedeLock({
          backend: opened.backend,
          namespacePrefix: `${c.namespace}:`,
          dataPrefix: prefix,
          leaseMs: c.lockLeaseMs,
          maxWaitMs: c.lockWaitMs,
          commandTimeoutMs: c.l2CommandTimeoutMs,
          tracker,
        });
      }
    }
    this.backend = l2?.backend ?? null;
    this.tracker = tracker;
    this.lock = lock;
    this.l2Breaker = breaker;
    this.#owned = owned;
    this.stack = new TierStack({
      l1,
      l2,
      codec: o.codec,
      clock: o.clock,
      stats: o.stats,
      logger: o.logger,
      suppressL2Errors: c.suppressL2Errors,
      lock,
      failedWriteL1TtlMs: tracker !== null ? c.coherenceStalenessMs : 0,
      encrypted: o.encrypted,
      onSecurityEvent: o.onSecurityEvent,
      events: o.events,
    });
  }

  /**
   * Builds the tiers and connects to Redis. If Redis cannot be reached within `connectTimeoutMs`,
   * the cache still starts degraded; a configuration error (credentials, TLS) fails at once.
   */
  static async open(o: TierSetupOptions): Promise<TierRuntime> {
    const l2Modules = endpointOf(o.config) === null ? null : await loadL2Modules();
    const rt = new TierRuntime(o, l2Modules);
    const c = o.config;
    const l2 = rt.stack.l2;
    const l1 = rt.stack.l1;
    if (l2 !== null && l2Modules !== null) {
      const needsConnect = rt.#owned !== null || !(c.redisClient as { isOpen?: boolean }).isOpen;
      if (needsConnect) await rt.#connect(l2.backend, l2Modules.isConfigurationError);
      if (rt.tracker !== null && l1 !== null) {
        // The gate follows whichever L1 is current (tuning may resize it).
        const gate = {
          setServableUntil: (t: number) => { if (rt.stack.l1 !== null) l1Internals(rt.stack.l1).setServableUntil(t); },
          setFillTtlCap: (ms: number) => { if (rt.stack.l1 !== null) l1Internals(rt.stack.l1).setFillTtlCap(ms); },
          lossEpoch: () => rt.stack.lossEpoch,
          coherenceRestored: (epoch: number) => rt.stack.coherenceRestored(epoch),
          redisAnswered: (sentAt: number) => rt.l2Breaker?.probeSucceeded(sentAt),
          trackingConfirmed: () => rt.tracker?.trackingConfirmed(),
        };
        rt.watchdog = new l2Modules.CoherenceWatchdog(l2.backend, gate, (reason) => rt.stack.invalidateAll(reason), c.coherenceStalenessMs, o.logger);
        await rt.watchdog.start();
        // A tracking handshake can land after the first confirmation (a connection finishing its
        // set-up): initialize() must not resolve into a window where sets and loads do not fill L1.
        for (let i = 0; i < 10 && rt.stack.fillsPaused && !rt.watchdog.outage; i++) {
          if (!(await rt.watchdog.confirm())) await new Promise((r) => setTimeout(r, 5));
        }
      }
    }
    rt.#initializing = false;
    return rt;
  }

  async #connect(backend: RedisBackend, isConfigurationError: L2Modules['isConfigurationError']): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const connecting = backend.connect().then(
      () => true,
      (err: unknown) => {
        if (isConfigurationError(err)) this.#configError ??= err;
        this.#o.logger.warn({ err: (err as Error).message }, 'redis connect failed');
        return false;
      },
    );
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#o.config.connectTimeoutMs);
      // A wrong password or certificate will not fix itself: stop waiting as soon as one shows.
      poll = setInterval(() => this.#configError !== undefined && resolve(false), 10);
    });
    const ok = await Promise.race([connecting, timedOut]);
    clearTimeout(timer);
    clearInterval(poll);
    const configError = this.#configError;
    if (!ok && configError !== undefined) {
      await this.close();
      throw new TierUnavailableError('l2', `Redis refused the connection (check credentials / TLS settings): ${(configError as Error).message ?? String(configError)}`, { cause: configError });
    }
    if (!ok) this.#o.logger.warn('redis not reachable at start; running degraded (L1 and misses) until it answers');
  }

  /** Stops the watchdog and closes the connections tiercache opened (a client you passed stays open). */
  async close(): Promise<void> {
    this.watchdog?.stop();
    const backend = this.#owned;
    this.#owned = null;
    if (backend !== null) await backend.close().catch(() => undefined);
  }
}
