import type { IntegratedCacheManager } from '../core/integrated_cache_manager.js';
import { internalsOf } from '../core/cache_internals.js';
import { CacheStateError } from '../errors.js';
import { quickTune, type QuickTuneOptions, type Recommendation, type TuneReport } from './quick_tune.js';

export const PerformanceGoal = {
  MAXIMIZE_HIT_RATE: 'maximize_hit_rate',
  /** L1 hits are the fast path: latency follows the L1 hit ratio, so this sizes L1 for it too. */
  MINIMIZE_LATENCY: 'minimize_latency',
  MINIMIZE_MEMORY: 'minimize_memory',
} as const;
export type PerformanceGoal = (typeof PerformanceGoal)[keyof typeof PerformanceGoal];

export interface OptimizeResult {
  goal: PerformanceGoal;
  applied: Recommendation[];
  /** What was applied, in words (the seed's `optimizations_applied`). */
  optimizationsApplied: string[];
  /** L1 hit ratio (0..1) measured over a window before and after applying. */
  before: number;
  after: number;
  /** after − before, in points; and what the tuning predicted. */
  measuredGain: number;
  predictedGain: number;
  report: TuneReport;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** L1 hit ratio over the next `accesses` lookups (or `timeoutMs`). */
export async function measureL1HitRatio<S extends object>(cache: IntegratedCacheManager<S>, accesses: number, timeoutMs = 30_000): Promise<number> {
  const l1 = internalsOf(cache).l1();
  if (l1 === null) throw new CacheStateError('needs L1');
  const s0 = l1.stats();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A resized L1 carries its predecessor's counters on, so the baseline holds across a resize.
    const s = (internalsOf(cache).l1() ?? l1).stats();
    const n = s.hits + s.misses - (s0.hits + s0.misses);
    if (n >= accesses || Date.now() > deadline) {
      const h = s.hits - s0.hits;
      return n === 0 ? 0 : h / n;
    }
    await sleep(10);
  }
}

/**
 * Tunes the live cache for `goal`: quickTune, apply the best matching L1 recommendation (resizing
 * L1 in place), let the L1 refill for `warmupAccesses`, then measure over `accesses` lookups.
 * Reports what it applied, the measured before/after and the prediction. Traffic must be flowing.
 */
export async function autoOptimize<S extends object>(
  cache: IntegratedCacheManager<S>,
  goal: PerformanceGoal = PerformanceGoal.MAXIMIZE_HIT_RATE,
  options: QuickTuneOptions & { warmupAccesses?: number } = {},
): Promise<OptimizeResult> {
  const accesses = options.accesses ?? 100_000;
  const report = await quickTune(cache, options);
  const before = report.measuredHitRatio;
  const resizes = report.recommendations.filter((r) => r.kind === 'resize-l1');
  const pick = goal === PerformanceGoal.MINIMIZE_MEMORY ? resizes.find((r) => (r.change.to as number) < report.currentL1Size) : resizes.find((r) => r.predictedGain > 0);
  const applied: Recommendation[] = [];
  if (pick !== undefined) {
    internalsOf(cache).resizeL1(pick.change.to as number);
    applied.push(pick);
    await measureL1HitRatio(cache, options.warmupAccesses ?? accesses, options.timeoutMs);
  }
  const after = pick === undefined ? before : await measureL1HitRatio(cache, accesses, options.timeoutMs);
  return { goal, applied, optimizationsApplied: applied.map((r) => r.description), before, after, measuredGain: (after - before) * 100, predictedGain: pick?.predictedGain ?? 0, report };
}
