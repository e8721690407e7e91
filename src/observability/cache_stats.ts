import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { MemoryTierStats } from '../tiers/memory/memory_tier.js';

export type TimedOperation = 'get' | 'set' | 'getOrSet' | 'delete';

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Upper bounds, in seconds, of the latency histogram's buckets (Prometheus `le`; +Inf is implied).
 * Fixed so that scrapes from every instance aggregate: 50 µs (an L1 hit that was timed) to 10 s
 * (a loader past any sane timeout).
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BOUNDS_MS = Float64Array.from(LATENCY_BUCKETS_SECONDS, (s) => s * 1000);

/** One operation's latency histogram: per-bucket counts (not cumulative; the last is +Inf), sum and count. */
export interface LatencyHistogram {
  counts: number[];
  sumSeconds: number;
  count: number;
}

/** What `getStats()` returns. Every figure is counted or measured, never estimated from config. */
export interface CacheStatsSnapshot {
  /** Reads answered from L1 or L2. */
  hits: number;
  /** Reads answered by neither (a loader call may follow). */
  misses: number;
  /** hits / (hits + misses); 0 before the first read. */
  hitRate: number;
  l1: (MemoryTierStats & { hitRate: number; enabled: boolean }) | { enabled: false };
  l2: { enabled: boolean; hits: number; misses: number; errors: number; skipped: number; corrupt: number; roundTrips: { reads: number; writes: number } };
  /** Pattern manager: refresh-ahead reloads, write-through/behind calls, and each write-behind queue. */
  patterns: {
    refreshes: number;
    refreshErrors: number;
    writeThrough: number;
    writeBehind: number;
    batchLoads: number;
    queues: Record<string, { queued: number; flushedKeys: number; batches: number; coalesced: number; retries: number; deadLettered: number; leader: boolean }>;
  };
  /** Encryption state and security events (rejected values, denied access). */
  security: { encryption: boolean; currentKeyId: number | null; events: number };
  /** Circuit breakers: L2's, and one per loader. */
  breakers: { name: string; state: 'closed' | 'open' | 'half-open'; opens: number; rejected: number }[];
  loader: { calls: number; errors: number; /** Loads returned but not cached (the key changed meanwhile). */ fenced: number; failSafeHits: number; softTimeouts: number; hardTimeouts: number };
  sets: number;
  deletes: number;
  /**
   * Mean latency of timed operations, in ms. Operations answered by L1 in the synchronous fast
   * path are counted in `hits` but not timed: timing them would cost more than serving them.
   */
  avgLatencyMs: number;
  latency: Record<TimedOperation, LatencySummary>;
  /**
   * The same timings as fixed buckets (bounds in `LATENCY_BUCKETS_SECONDS`), what Prometheus'
   * `tiercache_operation_duration_seconds` histogram exposes. Counts only grow.
   */
  latencyHistogram: Record<TimedOperation, LatencyHistogram>;
  /** Operations per second over the last 10 seconds (1 s buckets). */
  opsPerSecond: number;
  /** L1 bytes held, in MiB (serialized size of the values). */
  memoryUsageMb: number;
  /** The process's resident memory, in MiB. */
  processMemoryMb: number;
  /** (L2 errors + loader errors) / operations. */
  errorRate: number;
  /** Cross-instance L1 coherence (coherence/). */
  coherence: {
    enabled: boolean;
    /** Keys other instances (or other Redis clients) changed, dropped from this L1. */
    invalidationsReceived: number;
    /** Times all of L1 was dropped (connection lost, topology refresh, staleness bound passed). */
    fullFlushes: number;
    /** True while invalidations cannot be confirmed past `coherenceStalenessMs`. */
    outage: boolean;
    /** Age of the last confirmation, in ms (null when coherence is off or never confirmed). */
    confirmedAgoMs: number | null;
    /** How long invalidations have gone unconfirmed (since the last confirmation, or since start when never confirmed); null when coherence is off. */
    unconfirmedForMs: number | null;
  };
  /** Cross-process stampede locks taken by getOrSet. */
  locks: { acquired: number; waited: number; lostLeases: number };
}

const OPS: TimedOperation[] = ['get', 'set', 'getOrSet', 'delete'];
const WINDOW = 10;

/** Counters and latency histograms of one cache instance. Plain integer fields: cheap to bump. */
export class CacheStats {
  syncMisses = 0;
  l2Hits = 0;
  l2Misses = 0;
  l2Errors = 0;
  /** L2 calls an open breaker answered without calling Redis. */
  l2Skipped = 0;
  l2Corrupt = 0;
  /** Values rejected in an encrypted cache (failed authentication, plaintext where ciphertext belongs). */
  securityEvents = 0;
  misses = 0;
  loaderCalls = 0;
  loaderErrors = 0;
  /** Loads whose value was returned but not cached: the key was deleted, written or invalidated meanwhile. */
  fencedLoads = 0;
  /** Loader failures answered with a stale value (grace), soft timeouts answered with one, hard timeouts. */
  failSafeHits = 0;
  softTimeouts = 0;
  hardTimeouts = 0;
  sets = 0;
  deletes = 0;
  readonly #histograms: Record<TimedOperation, RecordableHistogram> | null;
  // Bucket counts beside the perf_hooks histograms: percentiles for getStats come from those,
  // while Prometheus needs fixed, cumulative-able buckets that aggregate across instances.
  // Per operation: the bucket counts (the last one +Inf), then the sum of durations in ms.
  readonly #buckets: Record<TimedOperation, Float64Array> | null;
  readonly #opTotals: number[] = [];
  readonly #opTimes: number[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(monitoring: boolean) {
    this.#histograms = monitoring
      ? { get: createHistogram(), set: createHistogram(), getOrSet: createHistogram(), delete: createHistogram() }
      : null;
    const b = (): Float64Array => new Float64Array(BOUNDS_MS.length + 2);
    this.#buckets = monitoring ? { get: b(), set: b(), getOrSet: b(), delete: b() } : null;
  }

  get monitoring(): boolean {
    return this.#histograms !== null;
  }

  /** Starts the 1 s sampler behind `opsPerSecond` (unref'd: never keeps the process alive). */
  start(totalOps: () => number): void {
    if (this.#timer !== undefined) return;
    const sample = (): void => {
      this.#opTotals.push(totalOps());
      this.#opTimes.push(performance.now());
      if (this.#opTotals.length > WINDOW + 1) {
        this.#opTotals.shift();
        this.#opTimes.shift();
      }
    };
    sample();
    this.#timer = setInterval(sample, 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records that one `op` took `durationMs`. Stored in whole microseconds. */
  record(op: TimedOperation, durationMs: number): void {
    const h = this.#histograms;
    if (h === null) return;
    h[op].record(durationMs >= 0.001 ? Math.round(durationMs * 1000) : 1);
    // Binary search for the first bound >= the duration: 5 comparisons whatever the latency.
    let lo = 0;
    let hi = BOUNDS_MS.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (durationMs > BOUNDS_MS[mid]) lo = mid + 1;
      else hi = mid;
    }
    const b = (this.#buckets as Record<TimedOperation, Float64Array>)[op];
    b[lo]++;
    b[BOUNDS_MS.length + 1] += durationMs;
  }

  /** Per-operation bucket counts (see `LATENCY_BUCKETS_SECONDS`); all zero with monitoring off. */
  histogram(): Record<TimedOperation, LatencyHistogram> {
    const out = {} as Record<TimedOperation, LatencyHistogram>;
    for (const op of OPS) {
      const b = this.#buckets?.[op];
      const counts = b ? Array.from(b.subarray(0, BOUNDS_MS.length + 1)) : new Array<number>(BOUNDS_MS.length + 1).fill(0);
      out[op] = { counts, sumSeconds: b ? b[BOUNDS_MS.length + 1] / 1000 : 0, count: counts.reduce((a, c) => a + c, 0) };
    }
    return out;
  }

  opsPerSecond(currentTotal: number): number {
    if (this.#opTotals.length === 0) return 0;
    const dt = (performance.now() - this.#opTimes[0]) / 1000;
    return dt > 0 ? (currentTotal - this.#opTotals[0]) / dt : 0;
  }

  latency(): { byOp: Record<TimedOperation, LatencySummary>; meanMs: number } {
    const byOp = {} as Record<TimedOperation, LatencySummary>;
    let weighted = 0;
    let count = 0;
    for (const op of OPS) {
      const h = this.#histograms?.[op];
      const n = h?.count ?? 0;
      const us = (x: number): number => (n === 0 ? 0 : x / 1000);
      byOp[op] = {
        count: n,
        meanMs: h && n > 0 ? us(h.mean) : 0,
        p50Ms: h && n > 0 ? us(h.percentile(50)) : 0,
        p95Ms: h && n > 0 ? us(h.percentile(95)) : 0,
        p99Ms: h && n > 0 ? us(h.percentile(99)) : 0,
        maxMs: h && n > 0 ? us(h.max) : 0,
      };
      weighted += byOp[op].meanMs * n;
      count += n;
    }
    return { byOp, meanMs: count > 0 ? weighted / count : 0 };
  }
}
