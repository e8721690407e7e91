/**
 * Issue 13, "prove it": three cache processes over one redis-server, coherence on, random
 * get/set/delete/getOrSet over 20 keys, then bursts where every process writes the same keys at
 * the same instant. Every operation is logged with invoke/complete times; the checker
 * (support/history_checker.ts) verifies (a) no read returned a value overwritten more than
 * `coherenceStalenessMs` before it began, and (b) after each quiet period every process reads
 * what L2 holds. HISTORY_MS sets the workload time (default 20 s, half per mode).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from 'redis';
import { BINARY } from '../src/tiers/redis/redis_backend.js';
import { summarize } from './support/history_checker.js';
import { HistoryProcess } from './support/history_process.js';
import { runHistory } from './support/history_run.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const TOTAL_MS = Number(process.env.HISTORY_MS ?? 20_000);
const BOUND_MS = 300;

const redis = useRedisServer();
const processes: HistoryProcess[] = [];
const ns = uniqueNamespace('hist');

beforeAll(async () => {
  const base = { redisUrl: redis.url, namespace: ns, coherenceStalenessMs: BOUND_MS };
  // The third instance reads over two connections (the second lane is not the tracking one).
  const started = await Promise.all([
    HistoryProcess.start(base, 'p1'),
    HistoryProcess.start(base, 'p2'),
    HistoryProcess.start({ ...base, redisConnections: 2 }, 'p3'),
  ]);
  processes.push(...started);
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
});

it(`3 processes, random and same-instant writes: no read staler than ${BOUND_MS} ms, every L1 agrees with L2 after each quiet period`, async () => {
  const raw = createClient({ url: redis.url });
  raw.on('error', () => {});
  await raw.connect();
  try {
    const result = await runHistory({
      processes,
      namespace: ns,
      keys: Array.from({ length: 20 }, (_, i) => `k${i}`),
      totalMs: TOTAL_MS,
      boundMs: BOUND_MS,
      rawGet: (k) => raw.sendCommand<Buffer | null>(['GET', k], BINARY),
    });
    console.log(summarize('history random', result.random));
    console.log(summarize('history burst', result.burst));
    console.log(summarize('history all', result.all));
    const r = result.all;
    for (const s of r.staleReads.slice(0, 5)) console.log('stale read', JSON.stringify(s));
    for (const d of r.divergences.slice(0, 5)) console.log('divergence', JSON.stringify(d));
    for (const op of r.impossibleReads.slice(0, 5)) console.log('impossible read', JSON.stringify(op));
    expect(r.readsChecked).toBeGreaterThan(1000);
    expect(r.impossibleReads).toEqual([]);
    expect(r.staleReads).toEqual([]);
    expect(r.maxStalenessMs).toBeLessThanOrEqual(BOUND_MS);
    expect(r.divergentPeriods).toBe(0);
  } finally {
    await raw.close();
  }
}, TOTAL_MS + 120_000);
