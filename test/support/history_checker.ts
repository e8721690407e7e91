/**
 * A bounded-staleness checker over logged multi-process histories (STYLE.md §16; Jepsen's Knossos
 * is the model, much simplified because every written value is unique).
 *
 * (a) Staleness. For a read returning value v of key k, written by w: w is superseded by any
 *     set or delete w' of k that is definitely after it, i.e. invoked after w completed (real
 *     time), or issued after w by the same process (tiercache promises that one process's writes
 *     and deletes of a key reach Redis in issue order). Concurrent writes may be ordered either
 *     way, so they never supersede each other. The read's staleness is
 *     read.invoke - (completion of the earliest such w'), or 0. A read of "absent" may come from
 *     the initial state or from any delete; the most favourable source is taken. A getOrSet
 *     that ran its loader is a possible source (its value may be read) but supersedes nothing:
 *     the cache may return a loaded value without keeping it (a load fenced by a concurrent
 *     change or by a coherence gap, a write-back refused by the lock), and a miss afterwards is
 *     not a wrong value.
 * (b) Divergence. After a quiet period longer than the bound, every process's read of every key
 *     must equal what Redis (L2) holds.
 *
 * All times are ms on one clock shared by the processes (support/machine_clock.ts: CLOCK_MONOTONIC).
 */

export type HistoryOpKind = 'get' | 'set' | 'delete' | 'getOrSet' | 'has';

/** The value of a `has` that answered true: some value was present (any non-null write is a source). */
export const PRESENT = '\u0000present';

export interface HistoryOp {
  process: string;
  op: HistoryOpKind;
  key: string;
  /** set: the value written; get/getOrSet: the value returned (null: absent); delete: null. */
  value: string | null;
  /** getOrSet whose own loader ran: the value it loaded (a write with the op's interval). */
  loaded?: string;
  invoke: number;
  complete: number;
  /** Issue order within the process (a counter incremented at each call). */
  seq: number;
  /** The call threw: a write may or may not have applied; a read says nothing. */
  failed?: boolean;
  /** The error's code (or message) when it failed. */
  error?: string;
  /**
   * The public call this event belongs to when it is not the op itself (getMany, setMany,
   * invalidatePattern, invalidateTags, clear): a multi-key call is one event per key, all with the
   * call's invoke/complete times and seq.
   */
  call?: string;
  /**
   * A delete made by a bulk invalidation (invalidatePattern, invalidateTags, clear): it is ordered
   * after the writes its process issued before it (it waits for them), but not before the ones
   * its process issued after it while it ran (those are concurrent with it: either may win).
   */
  bulk?: boolean;
  /** The consistency session (ConsistencyLevel.SESSION) the call was made in. */
  session?: string;
}

export interface StaleRead {
  op: HistoryOp;
  stalenessMs: number;
  /** The write that definitely superseded the value returned (undefined: none, e.g. unknown value). */
  supersededBy?: HistoryOp;
}

export interface QuietPeriod {
  /** What Redis held at the end of the period, per key (null: absent). Keys missing were unreadable. */
  l2: Record<string, string | null>;
  /** Each process's read of each key, taken after the quiet wait (`failed`: not judged). */
  reads: { process: string; key: string; value: string | null; failed?: boolean }[];
}

export interface HistoryReport {
  readsChecked: number;
  writesChecked: number;
  maxStalenessMs: number;
  /** Reads whose staleness exceeded the bound, the worst first. */
  staleReads: StaleRead[];
  staleCount: number;
  /** Reads of a value nobody had invoked a write of by the time the read completed. */
  impossibleReads: HistoryOp[];
  quietPeriods: number;
  divergentPeriods: number;
  /** (period index, process, key, value read, value in L2), at most 20 kept. */
  divergences: { period: number; process: string; key: string; read: string | null; l2: string | null }[];
  /** Session reads checked for read-your-writes and monotonic reads. */
  sessionReadsChecked: number;
  /** Session reads that returned a value older than the session's own write, or than a value it had read. */
  sessionViolations: SessionViolation[];
}

export interface SessionViolation {
  op: HistoryOp;
  rule: 'read-your-writes' | 'monotonic-reads';
  /** The session's write, or its earlier read, that the value returned is older than. */
  against: HistoryOp;
}

interface Write {
  op: HistoryOp | null; // null: the initial absent state
  value: string | null;
  invoke: number;
  /** Infinity when the write failed: it was never definitely done, so it supersedes nothing. */
  done: number;
  process: string;
  seq: number;
  /** Plain set/delete: issue-ordered within its process, and supersedes older values; loads do neither. */
  ordered: boolean;
  /** A bulk invalidation's delete: after its process's earlier writes, not before its later ones. */
  bulk: boolean;
  supersededAt: number;
  supersededBy: HistoryOp | undefined;
}

export interface CheckOptions {
  boundMs: number;
  /** Apply the per-process issue order of writes (default true). */
  processOrder?: boolean;
  /** Judge only the reads it accepts (every write still counts); default all. */
  reads?: (op: HistoryOp) => boolean;
  /**
   * Writes that may have been lost by the store itself (e.g. acknowledged by a Redis master that
   * died before replicating them): like failed writes, they supersede nothing. Default none.
   */
  uncertainWrites?: (op: HistoryOp) => boolean;
}

function writesOf(ops: HistoryOp[], uncertain?: (op: HistoryOp) => boolean): Write[] {
  const out: Write[] = [{ op: null, value: null, invoke: -Infinity, done: -Infinity, process: '', seq: -1, ordered: false, bulk: false, supersededAt: Infinity, supersededBy: undefined }];
  for (const op of ops) {
    let value: string | null | undefined;
    if (op.op === 'set') value = op.value;
    else if (op.op === 'delete') value = null;
    else if (op.op === 'getOrSet' && op.loaded !== undefined) value = op.loaded;
    else continue;
    out.push({
      op,
      value,
      invoke: op.invoke,
      done: op.failed || uncertain?.(op) === true ? Infinity : op.complete,
      process: op.process,
      seq: op.seq,
      ordered: op.op !== 'getOrSet',
      bulk: op.bulk === true,
      supersededAt: Infinity,
      supersededBy: undefined,
    });
  }
  return out;
}

/** Fills each write's `supersededAt`: the earliest completion of a write definitely after it. */
function computeSuperseded(writes: Write[], processOrder: boolean): void {
  // Real-time order: writes sorted by invoke, with the suffix minimum of completion times.
  const byInvoke = [...writes].sort((a, b) => a.invoke - b.invoke);
  const n = byInvoke.length;
  const sufMin = new Float64Array(n + 1).fill(Infinity);
  const sufArg: (Write | undefined)[] = new Array(n + 1).fill(undefined);
  for (let i = n - 1; i >= 0; i--) {
    if (byInvoke[i].ordered && byInvoke[i].done < sufMin[i + 1]) {
      sufMin[i] = byInvoke[i].done;
      sufArg[i] = byInvoke[i];
    } else {
      sufMin[i] = sufMin[i + 1];
      sufArg[i] = sufArg[i + 1];
    }
  }
  for (const w of writes) {
    if (w.done === Infinity) continue;
    // First write invoked strictly after w completed.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byInvoke[mid].invoke > w.done) hi = mid;
      else lo = mid + 1;
    }
    if (sufMin[lo] < w.supersededAt) {
      w.supersededAt = sufMin[lo];
      w.supersededBy = sufArg[lo]?.op ?? undefined;
    }
  }
  if (!processOrder) return;
  // Issue order within a process: a later set/delete of the key by the same process supersedes.
  const byProcess = new Map<string, Write[]>();
  for (const w of writes) {
    if (!w.ordered) continue;
    let list = byProcess.get(w.process);
    if (list === undefined) byProcess.set(w.process, (list = []));
    list.push(w);
  }
  for (const list of byProcess.values()) {
    list.sort((a, b) => a.seq - b.seq);
    let best = Infinity;
    let bestOp: HistoryOp | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
      // A bulk delete is not ordered before the writes its process issued after it.
      if (!w.bulk && best < w.supersededAt) {
        w.supersededAt = best;
        w.supersededBy = bestOp;
      }
      if (w.done < best) {
        best = w.done;
        bestOp = w.op ?? undefined;
      }
    }
  }
}

/** Checks (a) over `history` and (b) over `quiet`; see the file comment. */
export function checkHistory(history: HistoryOp[], quiet: QuietPeriod[], options: CheckOptions): HistoryReport {
  const processOrder = options.processOrder ?? true;
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const report: HistoryReport = {
    readsChecked: 0,
    writesChecked: 0,
    maxStalenessMs: 0,
    staleReads: [],
    staleCount: 0,
    impossibleReads: [],
    quietPeriods: quiet.length,
    divergentPeriods: 0,
    divergences: [],
    sessionReadsChecked: 0,
    sessionViolations: [],
  };
  for (const ops of byKey.values()) {
    const writes = writesOf(ops, options.uncertainWrites);
    report.writesChecked += writes.length - 1;
    computeSuperseded(writes, processOrder);
    const byValue = new Map<string | null, Write[]>();
    const present: Write[] = [];
    for (const w of writes) {
      let list = byValue.get(w.value);
      if (list === undefined) byValue.set(w.value, (list = []));
      list.push(w);
      if (w.value !== null) present.push(w);
    }
    // The writes a read's value may come from (a `has` that answered true: any value).
    const sourcesOf = (value: string | null): Write[] => (value === PRESENT ? present : (byValue.get(value) ?? []));
    for (const op of ops) {
      if (op.failed) continue;
      const isRead = op.op === 'get' || op.op === 'has' || (op.op === 'getOrSet' && op.loaded === undefined);
      if (!isRead || (options.reads !== undefined && !options.reads(op))) continue;
      report.readsChecked++;
      let best = Infinity;
      let bestBy: HistoryOp | undefined;
      for (const w of sourcesOf(op.value)) {
        if (w.invoke > op.complete) continue; // written after the read: cannot be its source
        const s = Math.max(0, op.invoke - w.supersededAt);
        if (s < best) {
          best = s;
          bestBy = w.supersededBy;
        }
        if (best === 0) break;
      }
      if (best === Infinity) {
        report.impossibleReads.push(op);
        continue;
      }
      if (best > report.maxStalenessMs) report.maxStalenessMs = best;
      if (best > options.boundMs) {
        report.staleCount++;
        report.staleReads.push({ op, stalenessMs: best, supersededBy: bestBy });
      }
    }
    checkSessions(ops, writes, sourcesOf, report);
  }
  report.staleReads.sort((a, b) => b.stalenessMs - a.stalenessMs);
  quiet.forEach((period, i) => {
    let divergent = false;
    for (const r of period.reads) {
      if (r.failed || !(r.key in period.l2)) continue;
      const l2 = period.l2[r.key];
      if (r.value === l2) continue;
      divergent = true;
      if (report.divergences.length < 20) report.divergences.push({ period: i, process: r.process, key: r.key, read: r.value, l2 });
    }
    if (divergent) report.divergentPeriods++;
  });
  return report;
}

/**
 * `a` definitely took effect before `b` (so `b`'s value is newer): `a` is the initial state, or
 * completed before `b` was invoked, or was issued before it by the same process (issue order; a
 * bulk delete is not ordered before the writes issued after it). A failed `b`, or a load (which
 * may return a value without keeping it), supersedes nothing.
 */
function definitelyBefore(a: Write, b: Write): boolean {
  if (a === b || b.op === null || !b.ordered || b.done === Infinity) return false;
  if (a.op === null) return true;
  if (a.done < b.invoke) return true;
  return a.ordered && !a.bulk && a.process === b.process && a.seq < b.seq;
}

/**
 * SESSION (docs/consistency.md): within one session, for one key, a read returns the session's
 * own last write or something newer (read-your-writes), and nothing older than a value the
 * session already read (monotonic reads). "Older" is `definitelyBefore`; a read passes if any
 * write its value may come from is not definitely before the session's last write (resp. any
 * source of its earlier read). A session's calls are sequential (each waits for the previous).
 */
function checkSessions(ops: HistoryOp[], writes: Write[], sourcesOf: (v: string | null) => Write[], report: HistoryReport): void {
  const writeOf = new Map<HistoryOp, Write>();
  for (const w of writes) if (w.op !== null) writeOf.set(w.op, w);
  const bySession = new Map<string, HistoryOp[]>();
  for (const op of ops) {
    if (op.session === undefined) continue;
    let list = bySession.get(op.session);
    if (list === undefined) bySession.set(op.session, (list = []));
    list.push(op);
  }
  for (const list of bySession.values()) {
    list.sort((a, b) => a.invoke - b.invoke);
    let lastWrite: HistoryOp | undefined;
    let lastRead: { op: HistoryOp; sources: Write[] } | undefined;
    for (const op of list) {
      if (op.op === 'set' || op.op === 'delete') {
        // A failed write says nothing; the session's later reads are held to its earlier ones.
        if (!op.failed) lastWrite = op;
        continue;
      }
      if (op.failed || (op.op !== 'get' && op.op !== 'has')) continue;
      report.sessionReadsChecked++;
      const sources = sourcesOf(op.value).filter((w) => w.invoke <= op.complete);
      if (lastWrite !== undefined) {
        const own = writeOf.get(lastWrite) as Write;
        if (!sources.some((w) => !definitelyBefore(w, own))) {
          report.sessionViolations.push({ op, rule: 'read-your-writes', against: lastWrite });
          continue;
        }
      }
      if (lastRead !== undefined && (lastWrite === undefined || lastRead.op.invoke > lastWrite.invoke)) {
        const earlier = lastRead.sources;
        if (!sources.some((w2) => earlier.some((w1) => !definitelyBefore(w2, w1)))) {
          report.sessionViolations.push({ op, rule: 'monotonic-reads', against: lastRead.op });
          continue;
        }
      }
      lastRead = { op, sources };
    }
  }
}

/** One line for the console. */
export function summarize(label: string, r: HistoryReport): string {
  return `${label}: reads checked ${r.readsChecked}, writes ${r.writesChecked}, max staleness ${r.maxStalenessMs.toFixed(2)} ms, ` +
    `reads over the bound ${r.staleCount}, impossible reads ${r.impossibleReads.length}, divergent quiet periods ${r.divergentPeriods}/${r.quietPeriods}` +
    (r.sessionReadsChecked > 0 ? `, session reads ${r.sessionReadsChecked} (violations ${r.sessionViolations.length})` : '');
}
