import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import type { MemoryTier } from '../tiers/memory/memory_tier.js';
import { globMatcher } from '../util/glob.js';

export type PressureLevel = 'low' | 'medium' | 'high' | 'critical';

export interface MemoryMetrics {
  pressureLevel: PressureLevel;
  /** The largest of the ratios below, 0..1+. */
  pressure: number;
  processMemoryMb: number;
  /** RSS against `memoryThresholdMb`. */
  thresholdMb: number;
  heapUsedMb: number;
  heapLimitMb: number;
  heapPercent: number;
  systemMemoryPercent: number;
  /** The cgroup (container) memory limit, when one is set; and RSS against it. */
  cgroupLimitMb: number | null;
  cgroupPercent: number | null;
  l1Entries: number;
  l1EntryLimit: number;
  l1Bytes: number;
  /** Times L1 was shrunk under pressure, and entries dropped by temporary patterns. */
  shrinks: number;
  temporaryDropped: number;
}

function cgroupLimitBytes(): number | null {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (text === 'max') return null;
      const n = Number(text);
      // cgroup v1 reports "no limit" as a huge number.
      if (Number.isFinite(n) && n > 0 && n < 2 ** 60) return n;
    } catch {
      // not in a cgroup with a memory controller
    }
  }
  return null;
}

const MB = 1024 * 1024;

/**
 * Watches process, heap, system and container memory and relieves pressure from the L1, the one
 * thing the cache controls:
 *
 *   pressure = max(RSS / memoryThresholdMb, heap used / V8 heap limit, RSS / cgroup limit)
 *   low < 0.7 ≤ medium < 0.85 ≤ high < 0.95 ≤ critical
 *
 * At high or critical: drop L1 entries matching the temporary patterns, halve L1's entry limit
 * (critical: quarter it; never below 1% of its size), and run a GC when the process exposes it
 * (`--expose-gc`). Back at low: double the limit each check until it is whole again.
 */
export class MemoryMonitor {
  readonly #l1: () => MemoryTier | null;
  #thresholdMb: number;
  readonly #temporary: ((key: string) => boolean)[];
  readonly #logger: Logger;
  readonly #cgroup = cgroupLimitBytes();
  #timer: NodeJS.Timeout | null = null;
  #shrinks = 0;
  #dropped = 0;
  #last: PressureLevel = 'low';

  constructor(options: { l1: () => MemoryTier | null; thresholdMb: number; temporaryPatterns: string[]; logger: Logger }) {
    this.#l1 = options.l1;
    this.#thresholdMb = options.thresholdMb;
    this.#temporary = options.temporaryPatterns.map((p) => globMatcher(p));
    this.#logger = options.logger;
  }

  /** The RSS level (MiB) that counts as full. */
  setThresholdMb(mb: number): void {
    this.#thresholdMb = mb;
  }

  getCurrentMetrics(): MemoryMetrics {
    const rss = process.memoryUsage.rss();
    const heap = getHeapStatistics();
    const heapPercent = heap.used_heap_size / heap.heap_size_limit;
    const cg = this.#cgroup;
    const pressure = Math.max(rss / (this.#thresholdMb * MB), heapPercent, cg === null ? 0 : rss / cg);
    const l1 = this.#l1();
    return {
      pressureLevel: pressure >= 0.95 ? 'critical' : pressure >= 0.85 ? 'high' : pressure >= 0.7 ? 'medium' : 'low',
      pressure,
      processMemoryMb: rss / MB,
      thresholdMb: this.#thresholdMb,
      heapUsedMb: heap.used_heap_size / MB,
      heapLimitMb: heap.heap_size_limit / MB,
      heapPercent: heapPercent * 100,
      systemMemoryPercent: (1 - freemem() / totalmem()) * 100,
      cgroupLimitMb: cg === null ? null : cg / MB,
      cgroupPercent: cg === null ? null : (rss / cg) * 100,
      l1Entries: l1?.size ?? 0,
      l1EntryLimit: l1?.entryLimit ?? 0,
      l1Bytes: l1?.bytes ?? 0,
      shrinks: this.#shrinks,
      temporaryDropped: this.#dropped,
    };
  }

  /** One check, and the action it calls for. */
  check(): MemoryMetrics {
    const m = this.getCurrentMetrics();
    const l1 = this.#l1();
    if (l1 !== null) {
      if (m.pressureLevel === 'high' || m.pressureLevel === 'critical') {
        for (const test of this.#temporary) this.#dropped += l1.deleteWhere(test);
        const floor = Math.max(1, Math.ceil(l1.maxEntries / 100));
        const target = Math.max(floor, Math.floor(l1.entryLimit / (m.pressureLevel === 'critical' ? 4 : 2)));
        if (target < l1.entryLimit) {
          l1.setEntryLimit(target);
          this.#shrinks++;
        }
        (globalThis as { gc?: () => void }).gc?.();
        if (this.#last !== m.pressureLevel) this.#logger.warn({ pressure: m.pressure, level: m.pressureLevel, l1Limit: l1.entryLimit }, 'memory pressure: L1 shrunk');
      } else if (m.pressureLevel === 'low' && l1.entryLimit < l1.maxEntries) {
        l1.setEntryLimit(Math.min(l1.maxEntries, l1.entryLimit * 2));
      }
    }
    this.#last = m.pressureLevel;
    return m;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
