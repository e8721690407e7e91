/**
 * The history workload shared by test/history.test.ts (one redis-server) and
 * test/history_cluster.test.ts: random and burst segments, each followed by a quiet period and a
 * comparison of every process's view with L2.
 */
import { EnvelopeCodec } from '../../src/codec/envelope_codec.js';
import { ConsistencySession } from '../../src/core/consistency.js';
import { WIRE_VERSION } from '../../src/codec/envelope_header.js';
import { checkHistory, type HistoryOp, type HistoryReport, type QuietPeriod } from './history_checker.js';
import type { HistoryProcess } from './history_process.js';
import { machineNow } from './machine_clock.js';

export interface HistoryRunOptions {
  processes: HistoryProcess[];
  namespace: string;
  keys: string[];
  /** Total time spent in workload segments (quiet periods come on top). */
  totalMs: number;
  boundMs: number;
  /** GET of one full Redis key as raw bytes (null: absent); may throw (the key is then not judged). */
  rawGet: (fullKey: string) => Promise<Buffer | null>;
  segmentMs?: number;
  /** Concurrent workers per process in random mode. */
  workers?: number;
  /** Called before each segment with the time elapsed so far (e.g. to kill a node mid-run). */
  beforeSegment?: (elapsedMs: number) => Promise<void>;
  /** Called before each quiet period's reads (e.g. to wait until a failover is over). */
  beforeQuietReads?: () => Promise<void>;
  /** Writes the store itself may have lost (see CheckOptions.uncertainWrites). */
  uncertainWrites?: (op: HistoryOp) => boolean;
  /** Decodes L2 bytes as the children's caches do (default: json, compression above 1 KiB, no cipher). */
  codec?: EnvelopeCodec;
  /**
   * Consistency sessions run during the random segments (extended workload): each makes SESSION
   * gets and sets of `sessionKeys`, one call at a time, each on a process picked at random, its
   * token carried from call to call, now and then pausing so that an L1 may answer.
   */
  sessions?: number;
  sessionKeys?: string[];
}

export interface HistoryRunResult {
  all: HistoryReport;
  random: HistoryReport;
  burst: HistoryReport;
  history: HistoryOp[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = machineNow;

// Decodes L2 as the cache does (the children use these same settings: json, compression above 1 KiB).
const codec = new EnvelopeCodec({ serializer: 'json', compressAbove: 1024, maxValueBytes: 8 * 1024 * 1024 });

export async function runHistory(o: HistoryRunOptions): Promise<HistoryRunResult> {
  const segmentMs = o.segmentMs ?? 1500;
  const workers = o.workers ?? 2;
  const prefix = `${o.namespace}:v${WIRE_VERSION}:`;
  const history: HistoryOp[] = [];
  const mode = new Map<HistoryOp, 'random' | 'burst'>();
  const quiet: { mode: 'random' | 'burst'; period: QuietPeriod }[] = [];

  const drain = async (m: 'random' | 'burst'): Promise<void> => {
    for (const p of o.processes) {
      const ops = await p.call<HistoryOp[]>('drain');
      for (const op of ops) mode.set(op, m);
      history.push(...ops);
    }
  };

  const quietCheck = async (m: 'random' | 'burst'): Promise<void> => {
    // Every write has completed (each segment call returns only then); wait past the bound.
    await sleep(o.boundMs + 200);
    await o.beforeQuietReads?.();
    const views = await Promise.all(o.processes.map((p) => p.call<{ key: string; value: string | null; failed?: boolean }[]>('quiet', o.keys)));
    const l2: Record<string, string | null> = {};
    for (const key of o.keys) {
      try {
        const bytes = await o.rawGet(prefix + key);
        // Values may carry padding after a '|' (history_child.ts): the logged value is before it.
        l2[key] = bytes === null ? null : String((o.codec ?? codec).decode(bytes, prefix + key).value).split('|')[0];
      } catch {
        // unreadable (a failover in progress): this key is not judged in this period
      }
    }
    quiet.push({ mode: m, period: { l2, reads: views.flatMap((v, i) => v.map((r) => ({ process: o.processes[i].tag, ...r }))) } });
    await drain(m);
  };

  const tokens = Array.from({ length: o.sessions ?? 0 }, () => new ConsistencySession().token);
  const sessionDrivers = (until: number): Promise<void>[] =>
    tokens.map(async (_, i) => {
      const keys = o.sessionKeys ?? o.keys;
      while (now() < until) {
        const p = o.processes[Math.floor(Math.random() * o.processes.length)];
        const key = keys[Math.floor(Math.random() * keys.length)];
        tokens[i] = await p.call<string>('session', `s${i}`, tokens[i], key, Math.random() < 0.35 ? 'set' : 'get', o.keys);
        // Now and then a pause longer than a watchdog period plus the session clock skew, so an
        // instance's L1 may answer the session (it does only when confirmed after the session
        // last saw the key); otherwise the reads go to Redis.
        if (Math.random() < 0.5) await sleep(100 + Math.random() * 150);
      }
    });

  let spent = 0;
  const half = o.totalMs / 2;
  while (spent < half) {
    await o.beforeSegment?.(spent);
    const len = Math.min(segmentMs, half - spent);
    const until = now() + len;
    await Promise.all([...o.processes.map((p) => p.call('random', until, o.keys, workers)), ...sessionDrivers(until)]);
    spent += len;
    await quietCheck('random');
  }
  while (spent < o.totalMs) {
    await o.beforeSegment?.(spent);
    const len = Math.min(segmentMs, o.totalMs - spent);
    const end = now() + len;
    while (now() < end) {
      // All processes write the same few keys at the same instant.
      const burstKeys = [...o.keys].sort(() => Math.random() - 0.5).slice(0, 4);
      const at = now() + 50;
      await Promise.all(o.processes.map((p) => p.call('burst', at, burstKeys, o.keys)));
    }
    spent += len;
    await quietCheck('burst');
  }

  const check = (m?: 'random' | 'burst'): HistoryReport =>
    checkHistory(
      history,
      quiet.filter((q) => m === undefined || q.mode === m).map((q) => q.period),
      { boundMs: o.boundMs, reads: m === undefined ? undefined : (op) => mode.get(op) === m, uncertainWrites: o.uncertainWrites },
    );
  return { all: check(), random: check('random'), burst: check('burst'), history };
}
