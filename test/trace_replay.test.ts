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
  ['2_pools', 100, 48.88],
  ['2_pools', 250, 50.65],
  ['2_pools', 500, 51.94],
  ['2_pools', 1000, 54.38],
  ['2_pools', 2000, 59.31],
  ['cpp', 100, 76.94],
  ['cpp', 250, 84.83],
  ['cpp', 500, 85.86],
  ['cpp', 1000, 86.39],
  ['cpp', 2000, 86.48],
  ['cs', 100, 3.51],
  ['cs', 250, 13.94],
  ['cs', 500, 28.48],
  ['cs', 1000, 57.68],
  ['cs', 2000, 79.22],
  ['gli', 100, 6.20],
  ['gli', 250, 16.08],
  ['gli', 500, 33.33],
  ['gli', 1000, 50.21],
  ['gli', 2000, 57.96],
  ['loop', 100, 7.84],
  ['loop', 250, 24.37],
  ['loop', 500, 48.84],
  ['loop', 1000, 97.28],
  ['loop', 2000, 99.80],
  ['multi1', 100, 43.47],
  ['multi1', 250, 48.19],
  ['multi1', 500, 54.90],
  ['multi1', 1000, 68.43],
  ['multi1', 2000, 83.37],
  ['multi2', 100, 28.95],
  ['multi2', 250, 38.30],
  ['multi2', 500, 48.16],
  ['multi2', 1000, 57.19],
  ['multi2', 2000, 68.82],
  ['ps', 100, 26.79],
  ['ps', 250, 50.87],
  ['ps', 500, 56.96],
  ['ps', 1000, 66.26],
  ['ps', 2000, 70.49],
  ['sprite', 100, 30.70],
  ['sprite', 250, 55.67],
  ['sprite', 500, 78.71],
  ['sprite', 1000, 89.62],
  ['sprite', 2000, 92.52],
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
