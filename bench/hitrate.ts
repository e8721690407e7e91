/**
 * `npm run bench:hitrate`: every row of ../shared/traces/reference.tsv with the project's hit
 * ratio beside LRU, Caffeine (W-TinyLFU) and Belady's OPT, the means, and the rows where the
 * project is below max(LRU, Caffeine) - 1. `--policy NAME` picks the policy (default: the L1's);
 * `--traces DIR` another folder of traces with its own reference.tsv.
 */
import { join } from 'node:path';
import { DEFAULT_POLICY, POLICIES } from '../src/policy/policies.js';
import { evaluate, loadReference, summarize } from '../src/sim/reference.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const dir = arg('--traces') ?? join(import.meta.dirname, '..', '..', 'shared', 'traces');
const policyName = arg('--policy') ?? DEFAULT_POLICY;
const policy = POLICIES[policyName];
if (!policy) throw new Error(`unknown policy ${policyName}; known: ${Object.keys(POLICIES).join(', ')}`);

const rows = loadReference(dir);
console.log(`policy: ${policyName}\n`);
console.log('trace              size     ours      lru  caffeine       opt   vs best');
const f = (x: number, w: number): string => x.toFixed(2).padStart(w);
const out = evaluate(dir, rows, policy, (r) => {
  const gap = r.ours - Math.max(r.lru, r.caffeine);
  console.log(`${r.trace.padEnd(16)} ${String(r.size).padStart(6)} ${f(r.ours, 8)} ${f(r.lru, 8)} ${f(r.caffeine, 9)} ${f(r.opt, 9)} ${(gap >= 0 ? '+' : '') + gap.toFixed(2)}`);
});
const mean = (g: (r: (typeof out)[number]) => number): string => (out.reduce((s, r) => s + g(r), 0) / out.length).toFixed(2);
const s = summarize(out);
console.log(`\nmeans over ${out.length} rows: ours ${mean((r) => r.ours)}  lru ${mean((r) => r.lru)}  caffeine ${mean((r) => r.caffeine)}  opt ${mean((r) => r.opt)}`);
console.log(`rows below max(lru, caffeine) - 1: ${s.below1.length}${s.below1.map((r) => `\n  ${r.trace} ${r.size}: ${r.ours.toFixed(2)} vs ${Math.max(r.lru, r.caffeine).toFixed(2)}`).join('')}`);
console.log(`rows below max(lru, caffeine) - 2: ${s.below2.length}; worst gap ${s.worst.toFixed(2)}`);
