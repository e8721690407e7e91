/**
 * A write-behind leader that stalls (Atomics.wait) in the middle of a flush, longer than its
 * lease. It queues a=1 and k=1 (one batch) and reports: "stalling" just before the loop blocks,
 * "resumed" after, then every later writer call as "write" (key, value, fence).
 * Modes: naive (the stall is inside the write of `a`, before `k` is written; the writer ignores
 * fences) and fenced (the stall is inside the write of `k` itself, after the queue's checks; only
 * the fence can stop it).
 */
import { CachePattern, createIntegratedCache } from '../../src/index.js';
import { FencedTable } from './fenced_table.js';

const [redisUrl, namespace, table, mode, stallMs] = process.argv.slice(2);
const db = await FencedTable.create(table);
let resumed = false;
const writer = db.writer(
  `fence-${table}`,
  mode === 'fenced',
  { key: mode === 'fenced' ? 'k' : 'a', ms: Number(stallMs), before: () => process.send?.({ stalling: true }), after: () => (resumed = true) },
  (key, value, fence) => {
    if (resumed) process.send?.({ write: { key, value, fence } });
  },
);
const cache = createIntegratedCache({ redisUrl, namespace, logLevel: 'silent' }, { writeBehind: { leaseMs: 500, flushIntervalMs: 10, retryBaseMs: 5 } });
await cache.initialize();
await Promise.all(['a', 'k'].map((key) => cache.patternManager.setWithPattern(key, { v: 1 }, { dataWriter: writer, pattern: CachePattern.WRITE_BEHIND })));
setInterval(() => {
  if (resumed) process.send?.({ resumed: true });
}, 20);
