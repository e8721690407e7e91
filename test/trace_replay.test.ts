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
  ['2_pools', 100, 48.92],
  ['2_pools', 250, 50.66],
  ['2_pools', 500, 51.91],
  ['2_pools', 1000, 54.40],
  ['2_pools', 2000, 59.19],
  ['cpp', 100, 76.79],
  ['cpp', 250, 84.88],
  ['cpp', 500, 85.86],
  ['cpp', 1000, 86.39],
  ['cpp', 2000, 86.48],
  ['cs', 100, 3.80],
  ['cs', 250, 14.72],
  ['cs', 500, 28.33],
  ['cs', 1000, 58.06],
  ['cs', 2000, 79.22],
  ['gli', 100, 3.64],
  ['gli', 250, 16.71],
  ['gli', 500, 33.28],
  ['gli', 1000, 50.82],
  ['gli', 2000, 57.96],
  ['loop', 100, 7.80],
  ['loop', 250, 24.33],
  ['loop', 500, 48.83],
  ['loop', 1000, 97.72],
  ['loop', 2000, 99.80],
  ['multi1', 100, 43.39],
  ['multi1', 250, 48.75],
  ['multi1', 500, 54.69],
  ['multi1', 1000, 68.36],
  ['multi1', 2000, 83.38],
  ['multi2', 100, 29.03],
  ['multi2', 250, 39.12],
  ['multi2', 500, 48.32],
  ['multi2', 1000, 57.15],
  ['multi2', 2000, 68.90],
  ['ps', 100, 26.00],
  ['ps', 250, 50.94],
  ['ps', 500, 56.96],
  ['ps', 1000, 66.26],
  ['ps', 2000, 70.49],
  ['sprite', 100, 30.43],
  ['sprite', 250, 55.49],
  ['sprite', 500, 78.63],
  ['sprite', 1000, 89.56],
  ['sprite', 2000, 92.60],
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
