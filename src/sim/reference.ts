import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyFactory } from '../policy/eviction_policy.js';
import { replay } from './replay.js';
import { readTrace, type Trace } from './trace.js';

export interface ReferenceRow {
  trace: string;
  size: number;
  lru: number;
  caffeine: number;
  opt: number;
}

export interface EvaluatedRow extends ReferenceRow {
  ours: number;
}

/** Rows of `reference.tsv` in `dir` (see ../shared/traces/README.md). */
export function loadReference(dir: string): ReferenceRow[] {
  return readFileSync(join(dir, 'reference.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([trace, size, lru, caffeine, opt]) => ({ trace, size: Number(size), lru: Number(lru), caffeine: Number(caffeine), opt: Number(opt) }));
}

/** Replays every row with `policy`; reads each trace once (rows are grouped by trace). */
export function evaluate(dir: string, rows: ReferenceRow[], policy: PolicyFactory, onRow?: (row: EvaluatedRow) => void): EvaluatedRow[] {
  let current: Trace | undefined;
  const out: EvaluatedRow[] = [];
  for (const r of rows) {
    if (current?.name !== r.trace) current = readTrace(join(dir, `${r.trace}.keys.gz`));
    const row = { ...r, ours: replay(current, r.size, policy) };
    out.push(row);
    onRow?.(row);
  }
  return out;
}

export function summarize(rows: EvaluatedRow[]): { mean: number; below1: EvaluatedRow[]; below2: EvaluatedRow[]; worst: number } {
  const mean = rows.reduce((s, r) => s + r.ours, 0) / rows.length;
  const gap = (r: EvaluatedRow): number => r.ours - Math.max(r.lru, r.caffeine);
  return {
    mean,
    below1: rows.filter((r) => gap(r) < -1),
    below2: rows.filter((r) => gap(r) < -2),
    worst: Math.min(...rows.map(gap)),
  };
}
