import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../src/policy/policies.js';
import { replay } from '../src/sim/replay.js';
import { readTrace } from '../src/sim/trace.js';

/**
 * Regression guard on the L1 policy's hit ratio: the LIRS traces in ../shared/traces replayed
 * through the real MemoryTier, against figures recorded when the policy last changed
 * (`npm run bench:hitrate` prints them all). Not a timing test. A policy change that moves any
 * figure by more than 0.3 points must re-record it here and say why in docs/decisions.md.
 */
const RECORDED: [trace: string, size: number, hitRatio: number][] = [
  ['2_pools', 100, 47.87],
  ['2_pools', 250, 50.64],
  ['2_pools', 500, 51.91],
  ['2_pools', 1000, 54.34],
  ['2_pools', 2000, 59.19],
  ['cpp', 100, 76.17],
  ['cpp', 250, 84.64],
  ['cpp', 500, 85.81],
  ['cpp', 1000, 86.40],
  ['cpp', 2000, 86.48],
  ['cs', 100, 1.80],
  ['cs', 250, 13.12],
  ['cs', 500, 28.89],
  ['cs', 1000, 58.10],
  ['cs', 2000, 79.22],
  ['gli', 100, 1.51],
  ['gli', 250, 14.50],
  ['gli', 500, 33.25],
  ['gli', 1000, 50.32],
  ['gli', 2000, 57.96],
  ['loop', 100, 6.96],
  ['loop', 250, 24.14],
  ['loop', 500, 48.83],
  ['loop', 1000, 97.71],
  ['loop', 2000, 99.80],
  ['multi1', 100, 42.83],
  ['multi1', 250, 47.55],
  ['multi1', 500, 54.86],
  ['multi1', 1000, 68.34],
  ['multi1', 2000, 83.38],
  ['multi2', 100, 28.49],
  ['multi2', 250, 38.36],
  ['multi2', 500, 49.11],
  ['multi2', 1000, 57.29],
  ['multi2', 2000, 68.86],
  ['ps', 100, 24.51],
  ['ps', 250, 50.57],
  ['ps', 500, 56.95],
  ['ps', 1000, 66.26],
  ['ps', 2000, 70.49],
  ['sprite', 100, 30.63],
  ['sprite', 250, 55.38],
  ['sprite', 500, 78.91],
  ['sprite', 1000, 89.48],
  ['sprite', 2000, 92.59],
];

const TRACES = join(import.meta.dirname, '..', '..', 'shared', 'traces');
const available = existsSync(join(TRACES, 'reference.tsv'));
if (!available && process.env.CI) throw new Error(`trace folder ${TRACES} is missing; CI must run beside shared/`);

describe.skipIf(!available)('hit ratio on the LIRS traces (adaptive-tinylfu, recorded ±0.3)', () => {
  const byTrace = new Map<string, [number, number][]>();
  for (const [t, size, ratio] of RECORDED) byTrace.set(t, [...(byTrace.get(t) ?? []), [size, ratio]]);
  for (const [name, rows] of byTrace) {
    it(name, () => {
      const trace = readTrace(join(TRACES, `${name}.keys.gz`));
      const drift = rows
        .map(([size, recorded]) => ({ size, recorded, ratio: Number(replay(trace, size, POLICIES['adaptive-tinylfu']).toFixed(2)) }))
        .filter((r) => Math.abs(r.ratio - r.recorded) > 0.3);
      expect(drift).toEqual([]);
    });
  }
});
