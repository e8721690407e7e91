import { randomBytes } from 'node:crypto';
import { createHistogram } from 'node:perf_hooks';
import { InvalidArgumentError } from '../errors.js';
import { zipfSampler } from '../util/zipf.js';

export const BenchmarkType = {
  /** One operation at a time (60% reads of present keys, 40% writes): per-operation latency. */
  LATENCY: 'latency',
  /** 64 concurrent callers, 80% reads / 20% writes: operations per second. */
  THROUGHPUT: 'throughput',
  /** Read-through over a Zipf(0.9) key set ten times the L1 size: the hit ratio the cache reaches. */
  HIT_RATE: 'hit_rate',
  /** 16 callers, Zipf reads through getOrSet 70%, writes 20%, deletes 10%. */
  MIXED: 'mixed',
} as const;
export type BenchmarkType = (typeof BenchmarkType)[keyof typeof BenchmarkType];

export interface BenchmarkResult {
  type: BenchmarkType;
  durationSeconds: number;
  operations: number;
  operationsPerSecond: number;
  avgLatencyMs: number;
  /** In ms; also under the numeric keys 50, 95, 99 (the seed reads `latency_percentiles[95]`). */
  latencyPercentiles: { p50: number; p95: number; p99: number; max: number; 50: number; 95: number; 99: number };
  /** Reads answered from the cache / reads (0..1). */
  hitRate: number;
  errors: number;
}

/** The operations a benchmark drives (a scratch cache's). */
export interface BenchTarget {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  getOrSet(key: string, loader: (key: string) => unknown): Promise<unknown>;
  l1Size: number;
}

/** Longest namespace the config accepts. */
const MAX_NAMESPACE = 64;

/**
 * The namespace a benchmark runs in: `${namespace}-bench-<16 hex>`, or `bench-<24 hex>` when that
 * would exceed 64 characters. Never cut to length (a cut once produced the user's own namespace,
 * and the benchmark's cleanup erased the user's data), and refused if it equals the user's
 * namespace or either one's key prefix (`ns:`) starts with the other's.
 */
export function scratchNamespace(userNamespace: string, random: (bytes: number) => string = (n) => randomBytes(n).toString('hex')): string {
  let scratch = `${userNamespace}-bench-${random(8)}`;
  if (scratch.length > MAX_NAMESPACE) scratch = `bench-${random(12)}`;
  const collides = scratch === userNamespace || `${scratch}:`.startsWith(`${userNamespace}:`) || `${userNamespace}:`.startsWith(`${scratch}:`);
  if (collides || scratch.length > MAX_NAMESPACE || !/^[A-Za-z0-9_.-]+$/.test(scratch)) {
    throw new InvalidArgumentError(`no scratch namespace for a benchmark apart from ${JSON.stringify(userNamespace)}; refusing to run on user keys`);
  }
  return scratch;
}

/**
 * Runs one workload against `target` for `durationSeconds` and reports measured figures: each
 * operation's latency into a perf_hooks histogram (ns resolution), reads' hits and misses, errors.
 * `onProgress` gets the fraction done (0..1) about ten times a second.
 */
export async function runBenchmark(target: BenchTarget, type: BenchmarkType, durationSeconds: number, onProgress?: (f: number) => void): Promise<BenchmarkResult> {
  if (!Object.values(BenchmarkType).includes(type)) throw new InvalidArgumentError(`unknown benchmark type ${String(type)}`);
  if (!(durationSeconds > 0 && durationSeconds <= 3600)) throw new InvalidArgumentError('durationSeconds must be in (0, 3600]');
  const hist = createHistogram();
  const value = { id: 1, name: 'benchmark value', tags: ['a', 'b', 'c'], body: randomBytes(48).toString('base64') };
  const keys = Math.max(1000, target.l1Size * (type === BenchmarkType.HIT_RATE || type === BenchmarkType.MIXED ? 10 : 1));
  const zipf = zipfSampler(keys, 0.9);
  let ops = 0;
  let reads = 0;
  let hits = 0;
  let errors = 0;
  if (type === BenchmarkType.LATENCY || type === BenchmarkType.THROUGHPUT) {
    for (let i = 0; i < 1000; i++) await target.set(`k${i}`, value);
  }
  const concurrency = type === BenchmarkType.LATENCY ? 1 : type === BenchmarkType.THROUGHPUT ? 64 : type === BenchmarkType.MIXED ? 16 : 8;
  const start = performance.now();
  const end = start + durationSeconds * 1000;
  const progress = onProgress
    ? setInterval(() => onProgress(Math.min(1, (performance.now() - start) / (end - start))), 100)
    : undefined;
  const loader = () => value;
  const worker = async (): Promise<void> => {
    let n = 0;
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = Math.random();
        if (type === BenchmarkType.LATENCY || type === BenchmarkType.THROUGHPUT) {
          const key = `k${Math.floor(Math.random() * 1000)}`;
          if (r < (type === BenchmarkType.LATENCY ? 0.6 : 0.8)) {
            reads++;
            if ((await target.get(key)) !== undefined) hits++;
          } else await target.set(key, value);
        } else if (type === BenchmarkType.HIT_RATE || r < 0.7) {
          reads++;
          let loaded = false;
          await target.getOrSet(`z${zipf()}`, () => {
            loaded = true;
            return loader();
          });
          if (!loaded) hits++;
        } else if (r < 0.9) await target.set(`z${zipf()}`, value);
        else await target.delete(`z${zipf()}`);
      } catch {
        errors++;
      }
      hist.record(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
      ops++;
      // Let timers (progress, coherence) run: a loop of L1 hits never yields otherwise.
      if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (progress) clearInterval(progress);
  onProgress?.(1);
  const seconds = (performance.now() - start) / 1000;
  const ms = (p: number) => hist.percentile(p) / 1e6;
  return {
    type,
    durationSeconds: seconds,
    operations: ops,
    operationsPerSecond: ops / seconds,
    avgLatencyMs: hist.mean / 1e6,
    latencyPercentiles: { p50: ms(50), p95: ms(95), p99: ms(99), max: hist.max / 1e6, 50: ms(50), 95: ms(95), 99: ms(99) },
    hitRate: reads === 0 ? 0 : hits / reads,
    errors,
  };
}
