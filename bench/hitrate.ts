/**
 * `npm run bench:hitrate`: every row of ../shared/traces/reference.tsv with the project's hit
 * ratio beside LRU, Caffeine (W-TinyLFU) and Belady's OPT, the means, and the rows where the
 * project is below max(LRU, Caffeine) - 1. `--policy NAME` picks the policy (default: the L1's).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLICY, POLICIES } from '../src/sim/policies.js';
import { replay } from '../src/sim/replay.js';
import { readTrace, type Trace } from '../src/sim/trace.js';

const dirArg = process.argv.indexOf('--traces');
const dir = dirArg > 0 ? process.argv[dirArg + 1] : join(import.meta.dirname, '..', '..', 'shared', 'traces');
const policyArg = process.argv.indexOf('--policy');
const policyName = policyArg > 0 ? process.argv[policyArg + 1] : DEFAULT_POLICY;
const policy = POLICIES[policyName];
if (!policy) throw new Error(`unknown policy ${policyName}; known: ${Object.keys(POLICIES).join(', ')}`);

const rows = readFileSync(join(dir, 'reference.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map(([trace, size, lru, caffeine, opt]) => ({ trace, size: Number(size), lru: Number(lru), caffeine: Number(caffeine), opt: Number(opt) }));

const traces = new Map<string, Trace>();
const out: (typeof rows[number] & { ours: number })[] = [];
console.log(`policy: ${policyName}\n`);
console.log('trace              size     ours      lru  caffeine       opt   vs best');
for (const r of rows) {
  let t = traces.get(r.trace);
  if (!t) {
    traces.clear();
    t = readTrace(join(dir, `${r.trace}.keys.gz`));
    traces.set(r.trace, t);
  }
  const ours = replay(t, r.size, policy);
  out.push({ ...r, ours });
  const best = Math.max(r.lru, r.caffeine);
  console.log(
    `${r.trace.padEnd(16)} ${String(r.size).padStart(6)} ${ours.toFixed(2).padStart(8)} ${r.lru.toFixed(2).padStart(8)} ${r.caffeine.toFixed(2).padStart(9)} ${r.opt.toFixed(2).padStart(9)} ${(ours - best >= 0 ? '+' : '') + (ours - best).toFixed(2).padStart(8)}`,
  );
}
const mean = (f: (r: (typeof out)[number]) => number): number => out.reduce((s, r) => s + f(r), 0) / out.length;
console.log(`\nmeans over ${out.length} rows: ours ${mean((r) => r.ours).toFixed(2)}  lru ${mean((r) => r.lru).toFixed(2)}  caffeine ${mean((r) => r.caffeine).toFixed(2)}  opt ${mean((r) => r.opt).toFixed(2)}`);
const below1 = out.filter((r) => r.ours < Math.max(r.lru, r.caffeine) - 1);
const below2 = out.filter((r) => r.ours < Math.max(r.lru, r.caffeine) - 2);
console.log(`rows below max(lru, caffeine) - 1: ${below1.length}${below1.map((r) => `\n  ${r.trace} ${r.size}: ${r.ours.toFixed(2)} vs ${Math.max(r.lru, r.caffeine).toFixed(2)}`).join('')}`);
console.log(`rows below max(lru, caffeine) - 2: ${below2.length}`);
