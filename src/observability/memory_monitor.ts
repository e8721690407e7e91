import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { CacheLogger as Logger } from './logger.js';
import { l1Internals, type MemoryTier } from '../tiers/memory/memory_tier.js';
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

interface Member {
  l1: () => MemoryTier | null;
  temporary: ((key: string) => boolean)[];
  /** This cache's own threshold; null follows the monitor's default. */
  thresholdMb: number | null;
  last: PressureLevel;
}

/** What registering a cache returns: call it to unregister; `metrics()` reads the figures against this cache's threshold. */
export type MemoryRegistration = (() => void) & { metrics(): MemoryMetrics };

/** A cache's L1 put under a monitor (see {@link MemoryMonitorInternals.register}). */
export interface MemoryMember {
  l1: () => MemoryTier | null;
  temporaryPatterns: string[];
  intervalMs: number;
  thresholdMb?: number;
  logger?: Logger;
}

/**
 * What the cache does with the process's monitor beyond its public API: register its L1 (which
 * starts the checks) and run a check. Reached with {@link monitorInternals}, which src/index.ts
 * does not export: `cache.getMemoryMonitor()` shows the figures and the operator's threshold only.
 */
export interface MemoryMonitorInternals {
  /**
   * Puts a cache's L1 under this monitor (its temporary patterns dropped first under pressure)
   * and starts checking every `intervalMs` (the shortest any member asked for). Returns the
   * function that takes it out again (the checks stop with the last member). `thresholdMb` is
   * this member's alone (default: the monitor's).
   */
  register(member: MemoryMember): MemoryRegistration;
  /** One check, and the action it calls for on every registered L1. */
  check(): MemoryMetrics;
  /** The figures now against `scope.thresholdMb`, with `scope.l1` alone (one cache's view, registered or not). */
  metrics(scope: { thresholdMb?: number; l1?: () => MemoryTier | null }): MemoryMetrics;
}

let hooksOf: (monitor: MemoryMonitor) => MemoryMonitorInternals;

/** The internal hooks of `monitor` (see {@link MemoryMonitorInternals}). */
export function monitorInternals(monitor: MemoryMonitor): MemoryMonitorInternals {
  return hooksOf(monitor);
}

/**
 * Watches process, heap, system and container memory and relieves pressure from the L1, the one
 * thing the cache controls:
 *
 *   pressure = max(RSS / memoryThresholdMb, heap used / V8 heap limit, RSS / cgroup limit)
 *   low < 0.7 ≤ medium < 0.85 ≤ high < 0.95 ≤ critical
 *
 * At high or critical: drop L1 entries matching the temporary patterns, halve L1's entry limit
 * (critical: quarter it; never below 1% of its size), and run a GC when the process exposes it
 * (`--expose-gc`). Back at low: double the limit each check until it is whole again. One monitor
 * per process (`getMemoryMonitor()`) acts on every cache registered with it, each against its own
 * threshold: one cache's `memoryThresholdMb` never presses another cache, nor outlives its close.
 */
export class MemoryMonitor {
  readonly #members = new Set<Member>();
  #thresholdMb: number;
  #logger: Logger | null;
  readonly #cgroup = cgroupLimitBytes();
  #timer: NodeJS.Timeout | null = null;
  #intervalMs = Infinity;
  #shrinks = 0;
  #dropped = 0;

  static {
    hooksOf = (monitor) => ({ register: (member) => monitor.#register(member), check: () => monitor.#check(), metrics: (scope) => monitor.#metrics(scope) });
  }

  constructor(options: { thresholdMb?: number; logger?: Logger } = {}) {
    this.#thresholdMb = options.thresholdMb ?? 2048;
    this.#logger = options.logger ?? null;
  }

  #register(member: MemoryMember): MemoryRegistration {
    const m: Member = { l1: member.l1, temporary: member.temporaryPatterns.map((p) => globMatcher(p)), thresholdMb: member.thresholdMb ?? null, last: 'low' };
    this.#members.add(m);
    this.#logger ??= member.logger ?? null;
    if (member.intervalMs < this.#intervalMs) {
      this.#intervalMs = member.intervalMs;
      this.#stop();
      this.#timer = setInterval(() => this.#check(), member.intervalMs);
      this.#timer.unref();
    }
    const unregister = () => {
      this.#members.delete(m);
      if (this.#members.size === 0) {
        this.#stop();
        this.#intervalMs = Infinity;
      }
    };
    return Object.assign(unregister, { metrics: () => this.#metrics({ thresholdMb: m.thresholdMb ?? this.#thresholdMb, l1: m.l1 }) });
  }

  /**
   * The RSS level (MiB) that counts as full, for the whole process: the default and every cache
   * registered now (an operator's override; a cache's own `memoryThresholdMb` is set at register).
   */
  setThresholdMb(mb: number): void {
    this.#thresholdMb = mb;
    for (const m of this.#members) m.thresholdMb = mb;
  }

  /** The figures now, against the process-wide threshold, with every registered L1 summed. */
  getCurrentMetrics(): MemoryMetrics {
    return this.#metrics();
  }

  /** The figures now; with `scope`: against `scope.thresholdMb`, and `scope.l1` alone (one cache's view). */
  #metrics(scope?: { thresholdMb?: number; l1?: () => MemoryTier | null }): MemoryMetrics {
    const rss = process.memoryUsage.rss();
    const heap = getHeapStatistics();
    const heapPercent = heap.used_heap_size / heap.heap_size_limit;
    const cg = this.#cgroup;
    const thresholdMb = scope?.thresholdMb ?? this.#thresholdMb;
    const pressure = Math.max(rss / (thresholdMb * MB), heapPercent, cg === null ? 0 : rss / cg);
    let entries = 0;
    let limit = 0;
    let bytes = 0;
    for (const read of scope?.l1 ? [scope.l1] : [...this.#members].map((m) => m.l1)) {
      const l1 = read();
      entries += l1?.size ?? 0;
      limit += l1 === null ? 0 : l1Internals(l1).entryLimit();
      bytes += l1?.bytes ?? 0;
    }
    return {
      pressureLevel: pressure >= 0.95 ? 'critical' : pressure >= 0.85 ? 'high' : pressure >= 0.7 ? 'medium' : 'low',
      pressure,
      processMemoryMb: rss / MB,
      thresholdMb,
      heapUsedMb: heap.used_heap_size / MB,
      heapLimitMb: heap.heap_size_limit / MB,
      heapPercent: heapPercent * 100,
      systemMemoryPercent: (1 - freemem() / totalmem()) * 100,
      cgroupLimitMb: cg === null ? null : cg / MB,
      cgroupPercent: cg === null ? null : (rss / cg) * 100,
      l1Entries: entries,
      l1EntryLimit: limit,
      l1Bytes: bytes,
      shrinks: this.#shrinks,
      temporaryDropped: this.#dropped,
    };
  }

  #check(): MemoryMetrics {
    let anyPressed = false;
    for (const member of this.#members) {
      const m = this.#metrics({ thresholdMb: member.thresholdMb ?? this.#thresholdMb, l1: member.l1 });
      const pressed = m.pressureLevel === 'high' || m.pressureLevel === 'critical';
      anyPressed ||= pressed;
      if (pressed && member.last !== m.pressureLevel) this.#logger?.warn({ pressure: m.pressure, level: m.pressureLevel, thresholdMb: m.thresholdMb }, 'memory pressure: L1 shrunk');
      member.last = m.pressureLevel;
      const l1 = member.l1();
      if (l1 === null) continue;
      const hooks = l1Internals(l1);
      const limit = hooks.entryLimit();
      if (pressed) {
        for (const test of member.temporary) this.#dropped += l1.deleteWhere(test);
        const floor = Math.max(1, Math.ceil(l1.maxEntries / 100));
        const target = Math.max(floor, Math.floor(limit / (m.pressureLevel === 'critical' ? 4 : 2)));
        if (target < limit) {
          hooks.setEntryLimit(target);
          this.#shrinks++;
        }
      } else if (m.pressureLevel === 'low' && limit < l1.maxEntries) {
        hooks.setEntryLimit(Math.min(l1.maxEntries, limit * 2));
      }
    }
    if (anyPressed) (globalThis as { gc?: () => void }).gc?.();
    return this.#metrics();
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

let processMonitor: MemoryMonitor | null = null;

/**
 * The process's memory monitor (the seed's `get_memory_monitor()`): one per process, since memory
 * is per process. Every cache created with `enableMemoryMonitoring` registers its L1 with it.
 */
export function getMemoryMonitor(): MemoryMonitor {
  processMonitor ??= new MemoryMonitor();
  return processMonitor;
}
