import type { IntegratedCacheConfig } from '../config/integrated_cache_config.js';
import type { CacheStats, CacheStatsSnapshot } from '../observability/cache_stats.js';
import { evaluateRules } from '../observability/health_rules.js';
import type { MemoryMetrics } from '../observability/memory_monitor.js';
import { l1Internals } from '../tiers/memory/memory_tier.js';
import type { BreakerCore } from '../resilience/breaker_core.js';
import type { TierRuntime } from './tier_setup.js';

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

/** What the report builders read: the runtime (null before initialize) and the counters. */
export interface ReportSources {
  config: IntegratedCacheConfig;
  stats: CacheStats;
  runtime: TierRuntime | null;
  breakers: () => BreakerCore[];
  cipher: { currentKeyId: number } | null;
  patterns: () => CacheStatsSnapshot['patterns'] | undefined;
}

/** Operations counted so far (ops/s, error rate). */
export function totalOps(src: ReportSources): number {
  const s = src.stats;
  const l1s = src.runtime?.stack.l1?.stats();
  return (l1s?.hits ?? 0) + s.misses + s.syncMisses + s.l2Hits + s.sets + s.deletes;
}

/** Counters and measured latencies (see CacheStatsSnapshot). */
export function statsSnapshot(src: ReportSources): CacheStatsSnapshot {
  const s = src.stats;
  const rt = src.runtime;
  const l1s = rt?.stack.l1?.stats();
  const l2 = rt?.stack.l2 ?? null;
  const hits = (l1s?.hits ?? 0) + s.l2Hits;
  const misses = s.misses + s.syncMisses;
  const lat = s.latency();
  const total = totalOps(src);
  const wd = rt?.watchdog ?? null;
  return {
    hits,
    misses,
    hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
    l1: l1s ? { enabled: true, ...l1s, hitRate: l1s.hits + l1s.misses === 0 ? 0 : l1s.hits / (l1s.hits + l1s.misses) } : { enabled: false },
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
    latencyHistogram: s.histogram(),
    opsPerSecond: s.opsPerSecond(total),
    memoryUsageMb: (l1s?.bytes ?? 0) / (1024 * 1024),
    processMemoryMb: process.memoryUsage.rss() / (1024 * 1024),
    errorRate: total === 0 ? 0 : (s.l2Errors + s.loaderErrors) / total,
    coherence: {
      enabled: (rt?.tracker ?? null) !== null,
      invalidationsReceived: rt?.stack.remoteInvalidations ?? 0,
      fullFlushes: rt?.stack.remoteFlushes ?? 0,
      outage: wd?.outage ?? false,
      confirmedAgoMs: wd && wd.confirmedAt > 0 ? Date.now() - wd.confirmedAt : null,
      unconfirmedForMs: wd ? wd.unconfirmedForMs : null,
    },
    locks: { acquired: rt?.lock?.acquired ?? 0, waited: rt?.lock?.waited ?? 0, lostLeases: rt?.lock?.lostLeases ?? 0 },
    breakers: src.breakers().map((b) => b.snapshot()),
    security: { encryption: src.cipher !== null, currentKeyId: src.cipher?.currentKeyId ?? null, events: s.securityEvents },
    patterns: src.patterns() ?? { refreshes: 0, refreshErrors: 0, writeThrough: 0, writeBehind: 0, batchLoads: 0, queues: {} },
  };
}

/** Pings Redis (bounded by `l2CommandTimeoutMs`) and reports what it found. */
export async function healthReport(src: ReportSources, rt: TierRuntime, memoryMetrics: () => MemoryMetrics): Promise<HealthReport> {
  const stack = rt.stack;
  const issues: string[] = [];
  let redisConnected: boolean | null = null;
  let redisLatencyMs: number | null = null;
  let redis: Record<string, unknown> | null = null;
  if (stack.l2 !== null) {
    try {
      const pingSentAt = rt.l2Breaker?.now() ?? 0;
      redisLatencyMs = await stack.l2.ping();
      redisConnected = true;
      // The health check's own PING is a probe: an idle cache heals without waiting for traffic.
      rt.l2Breaker?.probeSucceeded(pingSentAt);
      redis = await stack.l2.describe();
      if (redis.clusterState !== undefined && redis.clusterState !== 'ok') {
        issues.push(`Redis Cluster state is ${String(redis.clusterState)} (${String(redis.slotsOk)} of 16384 slots ok); some keys are unavailable`);
      }
    } catch (err) {
      rt.l2Breaker?.probeFailed();
      redisConnected = false;
      issues.push(`Redis is not reachable (${(err as Error).message}); reads are served from L1 or miss`);
    }
  }
  for (const b of src.breakers()) {
    if (b.state !== 'closed') issues.push(`circuit ${b.name} is ${b.state}: ${b.name === 'redis' ? 'L2 is skipped (L1 and loaders still serve)' : 'the loader is not called (stale values or errors)'}`);
  }
  const memory = memoryMetrics();
  if (memory.pressureLevel === 'high' || memory.pressureLevel === 'critical') issues.push(`memory pressure is ${memory.pressureLevel}`);
  const recommendations = evaluateRules({ stats: statsSnapshot(src), memory, redisConnected, redisLatencyMs, l1MaxSize: stack.l1 === null ? 0 : l1Internals(stack.l1).entryLimit() }).map((r) => `[${r.id}] ${r.recommendation}`);
  const wd = rt.watchdog;
  if (wd?.outage) issues.push(`L1 coherence unconfirmed for ${wd.unconfirmedForMs} ms${wd.confirmedAt > 0 ? '' : ' (never confirmed since start)'}; L1 entries live at most ${src.config.coherenceStalenessMs} ms`);
  const l1 = stack.l1;
  return {
    overallHealth: issues.length === 0 ? 'healthy' : l1 !== null ? 'degraded' : 'unhealthy',
    redisConnected,
    redisLatencyMs,
    topology: stack.l2?.backend.topology ?? null,
    redis,
    degradedForMs: wd ? wd.degradedForMs : null,
    lastDegradedWindowMs: wd ? wd.lastWindowMs : null,
    breakers: src.breakers().map((b) => b.snapshot()),
    memory,
    memoryPressure: memory.pressureLevel,
    recommendations,
    l1Enabled: l1 !== null,
    l1Size: l1?.size ?? 0,
    l1Bytes: l1?.bytes ?? 0,
    l1MaxSize: l1 === null ? 0 : l1Internals(l1).entryLimit(),
    issues,
    checkedAt: new Date(),
  };
}
