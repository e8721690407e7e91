import type { CacheStatsSnapshot } from './cache_stats.js';
import type { MemoryMetrics } from './memory_monitor.js';

/** What the rules look at: the live figures. */
export interface HealthInputs {
  stats: CacheStatsSnapshot;
  memory: MemoryMetrics;
  redisConnected: boolean | null;
  redisLatencyMs: number | null;
  l1MaxSize: number;
}

export interface HealthRule {
  id: string;
  /** When it fires and what it says; docs/operations.md lists the same. */
  doc: string;
  /** A recommendation computed from the inputs, or null when the rule does not apply. */
  evaluate(i: HealthInputs): string | null;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Recommendations, each from a measured figure (never a fixed string that ignores the numbers).
 * Thresholds are stated in `doc` and tested one by one (test/operations.test.ts).
 */
export const HEALTH_RULES: HealthRule[] = [
  {
    id: 'l1-too-small',
    doc: 'L1 hit ratio below 50% after 1,000 lookups while L1 evicts: L1 is too small for the working set.',
    evaluate: ({ stats, l1MaxSize }) => {
      const l1 = stats.l1;
      if (!l1.enabled || l1.hits + l1.misses < 1000 || l1.hitRate >= 0.5 || l1.evictions === 0) return null;
      return `L1 hit ratio is ${pct(l1.hitRate)} with ${l1.evictions} evictions at ${l1MaxSize} entries: run quickTune(cache) for the size the traffic needs (or raise l1MaxSize)`;
    },
  },
  {
    id: 'l2-errors',
    doc: 'More than 1% of operations hit an L2 error: Redis is failing or timing out.',
    evaluate: ({ stats }) => {
      const ops = stats.hits + stats.misses + stats.sets + stats.deletes;
      if (ops < 100 || stats.l2.errors / ops <= 0.01) return null;
      return `${stats.l2.errors} L2 errors in ${ops} operations (${pct(stats.l2.errors / ops)}): check Redis reachability and l2CommandTimeoutMs (${stats.latency.get.p99Ms.toFixed(1)} ms p99 get)`;
    },
  },
  {
    id: 'redis-slow',
    doc: 'Redis PING above 10 ms: the network or Redis is slow; reads that miss L1 pay it.',
    evaluate: ({ redisLatencyMs }) => (redisLatencyMs !== null && redisLatencyMs > 10 ? `Redis answered PING in ${redisLatencyMs.toFixed(1)} ms: move Redis closer, or raise L1 size so fewer reads need it` : null),
  },
  {
    id: 'memory-pressure',
    doc: 'Memory pressure high or critical: L1 is being shrunk.',
    evaluate: ({ memory }) =>
      memory.pressureLevel === 'high' || memory.pressureLevel === 'critical'
        ? `memory pressure ${memory.pressureLevel} (${memory.processMemoryMb.toFixed(0)} MiB RSS against ${memory.thresholdMb} MiB; heap ${memory.heapPercent.toFixed(0)}%): lower l1MaxSize / l1MaxBytes or raise memoryThresholdMb; L1 limit now ${memory.l1EntryLimit}`
        : null,
  },
  {
    id: 'breaker-open',
    doc: 'A circuit breaker is open or half-open.',
    evaluate: ({ stats }) => {
      const open = stats.breakers.filter((b) => b.state !== 'closed');
      return open.length === 0 ? null : `circuit ${open.map((b) => `${b.name} ${b.state} (${b.rejected} calls refused)`).join(', ')}: fix the failing dependency; reads are served from L1 / stale values meanwhile`;
    },
  },
  {
    id: 'coherence-outage',
    doc: 'L1 coherence unconfirmed past its bound: L1 entries live at most coherenceStalenessMs.',
    evaluate: ({ stats }) => (stats.coherence.outage ? `invalidations unconfirmed for ${stats.coherence.unconfirmedForMs ?? stats.coherence.confirmedAgoMs ?? 0} ms${stats.coherence.confirmedAgoMs === null ? ' (never confirmed since start)' : ''}: L1 serves short-lived entries only until Redis answers` : null),
  },
  {
    id: 'rejected-values',
    doc: 'Values rejected as corrupt or failing authentication: tampering, a wrong key, or a writer with another format.',
    evaluate: ({ stats }) =>
      stats.l2.corrupt + stats.security.events === 0
        ? null
        : `${stats.l2.corrupt} values in Redis could not be read${stats.security.events > 0 ? ` (${stats.security.events} failed authentication)` : ''}: check that every instance has the same encryption keys and serializer; investigate tampering`,
  },
  {
    id: 'loader-errors',
    doc: 'More than 5% of loader calls fail (after 20 calls).',
    evaluate: ({ stats }) =>
      stats.loader.calls >= 20 && stats.loader.errors / stats.loader.calls > 0.05
        ? `${stats.loader.errors} of ${stats.loader.calls} loader calls failed: set a grace period (getOrSet { grace }) so callers get the last good value`
        : null,
  },
];

export function evaluateRules(inputs: HealthInputs, rules: HealthRule[] = HEALTH_RULES): { id: string; recommendation: string }[] {
  const out: { id: string; recommendation: string }[] = [];
  for (const r of rules) {
    const rec = r.evaluate(inputs);
    if (rec !== null) out.push({ id: r.id, recommendation: rec });
  }
  return out;
}
