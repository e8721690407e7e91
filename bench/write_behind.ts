/**
 * `npm run bench:writebehind`: the write-behind backlog benchmark (issue 14).
 *
 * 1. Sustained acknowledged writes/s: 64 concurrent producers call `setWithPattern(...,
 *    WRITE_BEHIND)` over 10,000 keys for a few seconds against a DataWriter that takes 20 ms per
 *    batch (a slow database). Reports acks/s, entries the flusher took off the queue per second,
 *    the backlog left and how long it took to drain.
 * 2. Added latency of other commands: L2 reads (L1 off) on the same cache, measured in
 *    interleaved slices with the queue's flusher stopped, running idle, and flushing a standing
 *    backlog; p50/p99 per condition and the ratio to "no queue" (goal: under 1.10).
 *
 * Slices alternate (none, idle, busy, none, ...) so the machine's drift hits every condition alike.
 */
import { createHistogram } from 'node:perf_hooks';
import { CachePattern, createIntegratedCache, type DataWriter } from '../src/index.js';
import { RedisServer } from '../src/embedded/redis_server.js';
import { writeBehindInternals } from '../src/patterns/write_behind_queue.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const log = (...a: unknown[]): void => {
  if (!json) console.log(...a);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const WB = CachePattern.WRITE_BEHIND;
const KEYS = 10_000;
const PRODUCERS = 64;
const BATCH_MS = 20;
const value = { id: 123456, name: 'John Smith', email: 'john.smith@example.com', roles: ['admin', 'user'], active: true, score: 98.5 };

const server = await RedisServer.start();
const source = new Map<string, unknown>();
let batches = 0;
let written = 0;
/** A source that takes 20 ms per batch, whatever its size (one round trip to a slow database). */
const writer: DataWriter<typeof value> = {
  name: 'bench-source',
  async writeBatch(items) {
    await sleep(BATCH_MS);
    for (const [key, v] of items) source.set(key, v);
    batches++;
    written += items.size;
    return true;
  },
};

const cache = createIntegratedCache({ redisUrl: server.url, namespace: 'bench-wb', enableL1Cache: false, logLevel: 'silent' });
await cache.initialize();
const pm = cache.patternManager;
const queue = pm.writeBehindQueue(writer);
const stats = (): { queued: number; flushedKeys: number; coalesced: number } => queue.stats;

// --- 1. sustained acknowledged writes -----------------------------------------------------------
const WRITE_MS = quick ? 2000 : 5000;
{
  let acked = 0;
  let i = 0;
  const t0 = performance.now();
  const end = t0 + WRITE_MS;
  const flushed0 = stats().flushedKeys + stats().coalesced;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (performance.now() < end) {
        await pm.setWithPattern(`user:${i++ % KEYS}`, value, { dataWriter: writer, pattern: WB });
        acked++;
      }
    }),
  );
  const dt = (performance.now() - t0) / 1000;
  const takenOff = stats().flushedKeys + stats().coalesced - flushed0;
  const backlog = await queue.backlog();
  const d0 = performance.now();
  while ((await queue.backlog()) > 0) await sleep(5);
  const drainMs = performance.now() - d0;
  log(`write-behind, ${PRODUCERS} producers, ${KEYS} keys, writer ${BATCH_MS} ms per batch, ${(dt).toFixed(1)} s:`);
  log(`  acknowledged writes   ${Math.round(acked / dt).toLocaleString('en-US')} /s`);
  log(`  taken off the queue   ${Math.round(takenOff / dt).toLocaleString('en-US')} entries/s (${batches} batches, ${written} source writes after coalescing)`);
  log(`  backlog at the end    ${backlog} entries, drained in ${Math.round(drainMs)} ms`);
  if (json) console.log(JSON.stringify({ ackedPerSec: acked / dt, takenOffPerSec: takenOff / dt, backlog, drainMs }));
}

// --- 2. added latency of other commands ---------------------------------------------------------
for (let k = 0; k < 1000; k++) await cache.set(`read:${k}`, value);
type Condition = 'no queue' | 'queue idle' | 'queue flushing';
const hist = new Map<Condition, ReturnType<typeof createHistogram>>([
  ['no queue', createHistogram()],
  ['queue idle', createHistogram()],
  ['queue flushing', createHistogram()],
]);
const SLICE_MS = 300;
const ROUNDS = quick ? 4 : 10;
const READERS = 8;

async function readSlice(h: ReturnType<typeof createHistogram>): Promise<void> {
  const end = performance.now() + SLICE_MS;
  let n = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await cache.get(`read:${n++ % 1000}`);
        h.record(Math.max(1, Math.round((performance.now() - t) * 1000)));
      }
    }),
  );
}

/** Enqueues without waiting on the flusher, so a standing backlog is there to flush. */
async function fillBacklog(entries: number): Promise<void> {
  await writeBehindInternals(queue).stop();
  let i = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (i < entries) {
        const n = i++;
        await writeBehindInternals(queue).enqueue(`bulk:${n}`, value);
      }
    }),
  );
}

const run: Record<Condition, () => Promise<void>> = {
  'no queue': async () => {
    await writeBehindInternals(queue).stop();
    await readSlice(hist.get('no queue')!);
  },
  'queue idle': async () => {
    writeBehindInternals(queue).start();
    while ((await queue.backlog()) > 0) await sleep(5);
    await sleep(50);
    await readSlice(hist.get('queue idle')!);
  },
  'queue flushing': async () => {
    // A backlog the flusher cannot finish within the slice: 20 ms per batch of up to 500 entries.
    await fillBacklog(Math.ceil((SLICE_MS / BATCH_MS) * 500 * 2));
    writeBehindInternals(queue).start();
    await readSlice(hist.get('queue flushing')!);
  },
};
const order: Condition[] = ['no queue', 'queue idle', 'queue flushing'];
for (let r = 0; r < ROUNDS; r++) {
  // Rotated each round, so no condition always follows the same one.
  for (let c = 0; c < order.length; c++) await run[order[(r + c) % order.length]]();
}
writeBehindInternals(queue).start();
while ((await queue.backlog()) > 0) await sleep(10);

const base = hist.get('no queue')!;
log(`\nL2 reads on the same cache (L1 off), ${READERS} concurrent readers, ${ROUNDS} interleaved rounds of ${SLICE_MS} ms:`);
log('  condition          p50 ms   p99 ms   p50 vs no queue   p99 vs no queue');
const out: Record<string, { p50: number; p99: number; count: number }> = {};
for (const [name, h] of hist) {
  const p50 = h.percentile(50) / 1000;
  const p99 = h.percentile(99) / 1000;
  out[name] = { p50, p99, count: h.count };
  log(
    `  ${name.padEnd(17)}  ${p50.toFixed(3).padStart(6)}   ${p99.toFixed(3).padStart(6)}   ${(h.percentile(50) / base.percentile(50)).toFixed(2).padStart(15)}x   ${(h.percentile(99) / base.percentile(99)).toFixed(2).padStart(14)}x`,
  );
}
if (json) console.log(JSON.stringify(out));

await cache.close();
await server.stop();
