/**
 * `npm run bench:l1`: the L1 (MemoryTier with its default policy, and with LRU) beside lru-cache
 * in one run: getSync-style hits, set with eviction, and heap bytes per entry at 1,000,000 entries.
 * Memory is measured in child processes with --expose-gc (one structure per process, after GC).
 */
import { spawnSync } from 'node:child_process';
import { LRUCache } from 'lru-cache';
import { lruPolicy } from '../src/policy/lru_policy.js';
import { MemoryTier } from '../src/tiers/memory/memory_tier.js';
import { compare, formatOps, pairedRatio, syncLoop } from './harness.js';

const quick = process.argv.includes('--quick');
const SLICE = { sliceMs: quick ? 300 : 500, rounds: quick ? 3 : 11, warmupMs: quick ? 200 : 500 };

if (process.argv[2] === '--memory-child') {
  const kind = process.argv[3];
  const n = Number(process.argv[4]);
  const keys = Array.from({ length: n }, (_, i) => `key:${i}`);
  const value = { v: 1 }; // one shared value: measure the structure, not the values
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  const before = process.memoryUsage().heapUsed;
  let holder: unknown;
  if (kind === 'lru-cache') {
    const c = new LRUCache<string, object>({ max: n });
    for (const k of keys) c.set(k, value);
    holder = c;
  } else {
    const t = new MemoryTier<object>({ maxEntries: n, ...(kind === 'tiercache-lru' ? { policy: lruPolicy } : {}) });
    for (const k of keys) t.set(k, value, 0, 1);
    holder = t;
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  // Typed arrays live outside the JS heap: count them too.
  const external = process.memoryUsage().arrayBuffers;
  console.log(JSON.stringify({ kind, bytesPerEntry: (after - before) / n, arrayBuffers: external, keep: holder !== null }));
  process.exit(0);
}

const N = 10_000;
const keys = Array.from({ length: N }, (_, i) => `user:${i}`);
const value = { id: 1 };

// Hits: everything resident.
const tc = new MemoryTier<object>({ maxEntries: N * 2 });
const tcLru = new MemoryTier<object>({ maxEntries: N * 2, policy: lruPolicy });
const lru = new LRUCache<string, object>({ max: N * 2 });
for (const k of keys) {
  tc.set(k, value, 0, 1);
  tcLru.set(k, value, 0, 1);
  lru.set(k, value);
}
console.log('## L1 hit (sync get, 10,000 resident keys)');
const hits = await compare(
  [
    { name: 'tiercache L1 (adaptive-tinylfu) get', run: syncLoop((i) => tc.get(keys[i % N])) },
    { name: 'tiercache L1 (lru) get', run: syncLoop((i) => tcLru.get(keys[i % N])) },
    { name: 'lru-cache get', run: syncLoop((i) => lru.get(keys[i % N])) },
  ],
  SLICE,
);
for (const r of hits) console.log(`  ${r.name.padEnd(40)} ${formatOps(r.opsPerSec).padStart(13)} ops/s`);
console.log(`  ratio adaptive / lru-cache ${pairedRatio(hits[0], hits[2]).toFixed(2)}x`);

// Set with eviction: 1,000-entry caches, keys cycling over 100,000, so nearly every set evicts.
const M = 100_000;
const evKeys = Array.from({ length: M }, (_, i) => `k${i}`);
const tcE = new MemoryTier<object>({ maxEntries: 1000 });
const tcLruE = new MemoryTier<object>({ maxEntries: 1000, policy: lruPolicy });
const lruE = new LRUCache<string, object>({ max: 1000 });
console.log('\n## set with eviction (1,000 entries, 100,000 distinct keys)');
const sets = await compare(
  [
    { name: 'tiercache L1 (adaptive-tinylfu) set', run: syncLoop((i) => tcE.set(evKeys[i % M], value, 0, 1)) },
    { name: 'tiercache L1 (lru) set', run: syncLoop((i) => tcLruE.set(evKeys[i % M], value, 0, 1)) },
    { name: 'lru-cache set', run: syncLoop((i) => lruE.set(evKeys[i % M], value)) },
  ],
  SLICE,
);
for (const r of sets) console.log(`  ${r.name.padEnd(40)} ${formatOps(r.opsPerSec).padStart(13)} ops/s`);
console.log(`  ratio adaptive / lru-cache ${pairedRatio(sets[0], sets[2]).toFixed(2)}x`);

console.log('\n## memory per entry at 1,000,000 entries (heap + array buffers, after GC)');
const mem: Record<string, number> = {};
for (const kind of ['lru-cache', 'tiercache', 'tiercache-lru']) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--memory-child', kind, '1000000'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytesPerEntry: number; arrayBuffers: number };
  mem[kind] = out.bytesPerEntry + out.arrayBuffers / 1_000_000;
  console.log(`  ${kind.padEnd(40)} ${mem[kind].toFixed(1).padStart(8)} bytes/entry`);
}
console.log(`  ratio tiercache / lru-cache ${(mem['tiercache'] / mem['lru-cache']).toFixed(2)}x`);
