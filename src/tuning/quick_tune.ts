import { deflateRawSync } from 'node:zlib';
import type { IntegratedCacheManager } from '../core/integrated_cache_manager.js';
import { internalsOf } from '../core/cache_internals.js';
import { CacheStateError } from '../errors.js';
import { POLICIES } from '../policy/policies.js';
import { l1Internals } from '../tiers/memory/memory_tier.js';
import { AccessSampler } from './access_sampler.js';
import { missRatioCurve, ttlCurve, type CurvePoint, type TtlPoint } from './miss_ratio_curve.js';

export interface Recommendation {
  kind: 'resize-l1' | 'extend-ttl' | 'enable-compression';
  /** A short name for lists ("Grow L1 to 16000 entries"). */
  title: string;
  /** What to change, in words, with the figures behind it. */
  description: string;
  /** The setting and values, for autoOptimize. */
  change: { setting: string; from: unknown; to: unknown };
  /** Predicted effect: hit-ratio points for L1 resizing; bytes per value for compression. */
  predictedGain: number;
  /** Ranking key (higher first). */
  score: number;
}

export interface TuneReport {
  /** Accesses observed, and the sampled ones behind the curve. */
  accessesSeen: number;
  samples: number;
  samplingRate: number;
  currentL1Size: number;
  /**
   * L1 hit ratio measured over the window's second half (0..1: the stretch the curve counts; the
   * whole window when it ended before its midpoint), and the curve's prediction at the current size (calibration).
   */
  measuredHitRatio: number;
  predictedAtCurrent: number;
  curve: CurvePoint[];
  /**
   * Predicted hit ratio at the current L1 size with every key's real TTL (per-call or default, as
   * seen on fills) scaled by 1, 2, 4, 16; `ttl` is the typical one scaled (seconds).
   */
  ttlCurve: TtlPoint[];
  /** Keys read at least 4 times in the window that missed L1 after having been in it. */
  hotKeysRemissed: string[];
  expirationsInWindow: number;
  recommendations: Recommendation[];
  /** The `n` best-ranked recommendations. */
  getTopRecommendations(n: number): Recommendation[];
}

export interface QuickTuneOptions {
  /** Accesses to observe before answering. @default 100000 */
  accesses?: number;
  /** Give up waiting for accesses after this long. @default 30000 */
  timeoutMs?: number;
  /** L1 sizes to predict, as multiples of the current size. @default [0.25, 0.5, 1, 2, 4, 8, 16] */
  factors?: number[];
  /** Cap on recommended L1 memory (estimated from the current bytes per entry). @default 1024 */
  memoryBudgetMb?: number;
  /** With security on: an ADMIN session (tuning samples live keys and values). */
  sessionId?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Tuning from live traffic. Samples the L1's lookups (SHARDS spatial sampling) for a window,
 * replays the sample through miniature copies of the real L1 at other sizes to predict the hit
 * ratio at each (a miss-ratio curve), watches hot keys that fall out of L1 and estimates what
 * compression would save on sampled values, then ranks recommendations by predicted gain.
 * The cache keeps serving throughout; sampling costs one hash per lookup for the window only.
 */
export async function quickTune<S extends object>(cache: IntegratedCacheManager<S>, options: QuickTuneOptions = {}): Promise<TuneReport> {
  await internalsOf(cache).admit('quickTune', options.sessionId);
  const l1 = internalsOf(cache).l1();
  if (l1 === null) throw new CacheStateError('quickTune needs L1 (enableL1Cache)');
  const current = l1Internals(l1).entryLimit();
  const factors = options.factors ?? [0.25, 0.5, 1, 2, 4, 8, 16];
  const smallest = Math.max(1, Math.floor(current * Math.min(...factors)));
  // At least ~200 entries in the smallest mini-cache: below that the simulation is noisy.
  const rate = Math.min(1, 200 / smallest);
  const sampler = new AccessSampler(rate, 400_000);
  const counts = new Map<string, { n: number; wasIn: boolean; remissed: boolean }>();
  const tier = l1;
  // Values of read keys, sampled during the window (compression estimate).
  const values: unknown[] = [];
  const record = (key: string): void => {
    sampler.record(key);
    if (values.length < 200 && (values.length === 0 || sampler.seen % 64 === 0)) {
      const v = tier.peek(key);
      if (v !== undefined) values.push(v);
    }
    if (counts.size < 50_000 || counts.has(key)) {
      const present = tier.expiresAt(key) !== -1;
      const c = counts.get(key) ?? { n: 0, wasIn: false, remissed: false };
      c.n++;
      if (!present && c.wasIn) c.remissed = true;
      if (present) c.wasIn = true;
      counts.set(key, c);
    }
  };
  // The TTL each sampled key was actually stored with (per-call `ttl` or the default), from fills.
  const ttlOf = new Map<string, number>();
  const onFill = (key: string, ttlMs: number): void => {
    if (sampler.includes(key) && (ttlOf.size < 400_000 || ttlOf.has(key))) ttlOf.set(key, ttlMs);
  };
  const want = options.accesses ?? 100_000;
  // The curve counts the window's second half (the first warms its mini-caches), so the measured
  // figure it is checked against is taken over the same accesses: from the midpoint on. Over the
  // whole window, a workload whose hot set moves mid-window compares two different stretches.
  const midpoint = want >> 1;
  let mid: ReturnType<typeof tier.stats> | null = null;
  const sample = (key: string): void => {
    if (sampler.seen === midpoint) mid = tier.stats();
    record(key);
  };
  const before = tier.stats();
  l1Internals(tier).setAccessSampler(sample);
  l1Internals(tier).setFillObserver(onFill);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    while (sampler.seen < want && !sampler.full && Date.now() < deadline) await sleep(10);
  } finally {
    l1Internals(tier).setAccessSampler(null);
    l1Internals(tier).setFillObserver(null);
  }
  const after = tier.stats();
  const from: { hits: number; misses: number } = mid ?? before;
  const lookups = after.hits + after.misses - from.hits - from.misses;
  const measured = lookups === 0 ? 0 : (after.hits - from.hits) / lookups;
  const policyName = cache.config.l1Policy;
  const policy = typeof policyName === 'string' ? POLICIES[policyName] : policyName;
  const bytesPerEntry = tier.size > 0 ? Math.max(64, tier.bytes / tier.size + 100) : 200;
  const maxBySize = Math.floor(((options.memoryBudgetMb ?? 1024) * 1024 * 1024) / bytesPerEntry);
  const sizes = [...new Set(factors.map((f) => Math.max(1, Math.min(maxBySize, Math.round(current * f)))))].sort((a, b) => a - b);
  // Count the sampled accesses from the measured stretch's start (the midpoint, else the sample's
  // second half), and SHARDS-adj: how many of them the sample should hold at this rate.
  let countFrom = sampler.keys.length >> 1;
  if (mid !== null) {
    countFrom = sampler.seenAt.findIndex((s) => s >= midpoint);
    if (countFrom < 0) countFrom = sampler.keys.length;
  }
  const counting = { from: countFrom, expected: (sampler.seen - (countFrom < sampler.keys.length ? (mid !== null ? midpoint : sampler.seenAt[countFrom]) : sampler.seen)) * rate };
  const curve = await missRatioCurve(sampler.keys, rate, sizes, policy, counting);
  const at = (n: number) => curve.find((p) => p.size === n)?.hitRatio ?? 0;
  const predictedAtCurrent = at(current);
  const recommendations: Recommendation[] = [];

  // L1 size: the smallest size within half a point of the best predicted hit ratio (the knee).
  const best = Math.max(...curve.map((p) => p.hitRatio));
  const knee = curve.find((p) => p.hitRatio >= best - 0.005) as CurvePoint;
  const gain = (knee.hitRatio - predictedAtCurrent) * 100;
  if (knee.size !== current && Math.abs(gain) >= 1) {
    recommendations.push({
      kind: 'resize-l1',
      title: `${knee.size > current ? 'Grow' : 'Shrink'} L1 to ${knee.size} entries`,
      description: `L1 ${current} → ${knee.size} entries: predicted L1 hit ratio ${(predictedAtCurrent * 100).toFixed(1)}% → ${(knee.hitRatio * 100).toFixed(1)}% (measured now ${(measured * 100).toFixed(1)}%), about ${((knee.size * bytesPerEntry) / 1048576).toFixed(1)} MiB`,
      change: { setting: 'l1MaxSize', from: current, to: knee.size },
      predictedGain: gain,
      score: gain,
    });
  }
  // Memory: the smallest size that loses under one point against the current size.
  const frugal = curve.find((p) => p.size < current && p.hitRatio >= predictedAtCurrent - 0.01);
  if (frugal !== undefined) {
    recommendations.push({
      kind: 'resize-l1',
      title: `Shrink L1 to ${frugal.size} entries to save memory`,
      description: `L1 ${current} → ${frugal.size} entries saves ~${(((current - frugal.size) * bytesPerEntry) / 1048576).toFixed(1)} MiB for ${((predictedAtCurrent - frugal.hitRatio) * 100).toFixed(1)} points of hit ratio`,
      change: { setting: 'l1MaxSize', from: current, to: frugal.size },
      predictedGain: (frugal.hitRatio - predictedAtCurrent) * 100,
      score: 0.1,
    });
  }
  const hot = [...counts].filter(([, c]) => c.n >= 4 && c.remissed).sort((a, b) => b[1].n - a[1].n);
  const expirations = after.expirations - before.expirations;
  // The TTL curve replays the TTLs keys carry, not defaultTtl: a key written with `{ ttl: 1 }`
  // expires after 1 s whatever the default says. Keys not filled in the window take the typical one.
  const defaultMs = cache.config.defaultTtl * 1000;
  const filled = [...ttlOf.values()].sort((a, b) => a - b);
  const fallbackMs = filled.length > 0 ? filled[filled.length >> 1] : defaultMs;
  const ttlMs = sampler.keys.map((k) => ttlOf.get(k) ?? fallbackMs);
  const byAccess = [...ttlMs].sort((a, b) => a - b);
  const typicalMs = byAccess.length > 0 ? byAccess[byAccess.length >> 1] : defaultMs;
  const typical = typicalMs / 1000;
  const perCall = Math.abs(typicalMs - defaultMs) > 0.01 * defaultMs;
  const ttls: TtlPoint[] = (await ttlCurve(sampler.keys, sampler.times, rate, current, ttlMs, [1, 2, 4, 16], policy, counting)).map((p) => ({ ttl: typical * p.factor, factor: p.factor, hitRatio: p.hitRatio }));
  const ttlBest = ttls.reduce((b, p) => (p.hitRatio > b.hitRatio + 0.005 ? p : b), ttls[0]);
  const ttlGain = (ttlBest.hitRatio - ttls[0].hitRatio) * 100;
  if (typicalMs > 0 && hot.length > 0 && expirations > 0.1 * (after.misses - before.misses) && ttlGain >= 1) {
    const which = perCall ? 'the per-call ttl these keys are written with' : 'defaultTtl';
    recommendations.push({
      kind: 'extend-ttl',
      title: `Raise the TTL to ${ttlBest.ttl} s`,
      description: `${hot.length} hot keys fell out of L1 while still being read (expirations: ${expirations} of ${after.misses - before.misses} misses): ${which} ${typical} s → ${ttlBest.ttl} s predicts L1 hit ratio ${(ttls[0].hitRatio * 100).toFixed(1)}% → ${(ttlBest.hitRatio * 100).toFixed(1)}% (or refresh-ahead for them)`,
      change: { setting: perCall ? 'ttl' : 'defaultTtl', from: typical, to: ttlBest.ttl },
      predictedGain: ttlGain,
      score: ttlGain,
    });
  }
  // Compression: deflate a sample of L1 values, as the codec would.
  if (!cache.config.enableCompression) {
    let raw = 0;
    let packed = 0;
    let n = 0;
    for (const v of values) {
      const text = Buffer.from(JSON.stringify(v) ?? '');
      raw += text.length;
      packed += Math.min(text.length, deflateRawSync(text).length);
      n++;
    }
    if (n > 0 && packed < raw * 0.8) {
      recommendations.push({
        kind: 'enable-compression',
        title: 'Enable compression',
        description: `deflate would shrink the sampled values ${(100 - (packed / raw) * 100).toFixed(0)}% (${(raw / n).toFixed(0)} → ${(packed / n).toFixed(0)} bytes each): less Redis memory and bandwidth`,
        change: { setting: 'enableCompression', from: false, to: true },
        predictedGain: (raw - packed) / n,
        score: 1,
      });
    }
  }
  recommendations.sort((a, b) => b.score - a.score);
  return {
    accessesSeen: sampler.seen,
    samples: sampler.keys.length,
    samplingRate: rate,
    currentL1Size: current,
    measuredHitRatio: measured,
    predictedAtCurrent,
    curve,
    ttlCurve: ttls,
    hotKeysRemissed: hot.slice(0, 10).map(([k]) => k),
    expirationsInWindow: expirations,
    recommendations,
    getTopRecommendations: (n: number) => recommendations.slice(0, n),
  };
}
