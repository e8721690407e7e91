/**
 * "Never a wrong value" through every entry point: the randomized history test of
 * history.test.ts (same child, runner and checker) with the extended workload: getMany, setMany,
 * has, invalidatePattern, invalidateTags (the first keys are always written with a tag), clear,
 * and consistency sessions hopping between the processes (SESSION gets and sets: read-your-writes
 * and monotonic reads). A multi-key call is one event per key sharing the call's times; an
 * invalidation is a delete of every key of the keyspace it matches (history_checker.ts).
 * A second run changes the codec path: encryption, compression above a low threshold (values
 * padded past it) and msgpack. HISTORY_OPS_MS sets the first run's workload time (default 10 s;
 * the codec run takes 60% of it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from 'redis';
import { EnvelopeCodec } from '../src/codec/envelope_codec.js';
import { AesGcmCipher } from '../src/security/aes_gcm_cipher.js';
import { BINARY } from '../src/tiers/redis/redis_backend.js';
import { summarize, type HistoryReport } from './support/history_checker.js';
import { HistoryProcess, type HistoryWorkload } from './support/history_process.js';
import { runHistory, type HistoryRunOptions } from './support/history_run.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const TOTAL_MS = Number(process.env.HISTORY_OPS_MS ?? 10_000);
const BOUND_MS = 300;
const KEYS = Array.from({ length: 20 }, (_, i) => `k${i}`);
/** k0..k5 always carry a tag; sessions use untagged keys (a SESSION set takes no tags here). */
const WORKLOAD: HistoryWorkload = { extended: true, taggedKeys: 6 };
const SESSION_KEYS = ['k6', 'k8', 'k16', 'k18'];

const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
const CODEC_OPTIONS = {
  enableEncryption: true,
  encryptionKeys: [{ id: 1, key: ENCRYPTION_KEY }],
  enableCompression: true,
  compressEncrypted: true,
  compressionThreshold: 16,
  serializer: 'msgpack',
};

const redis = useRedisServer();
const plain: HistoryProcess[] = [];
const coded: HistoryProcess[] = [];
const ns = uniqueNamespace('hops');
const nsCoded = uniqueNamespace('hopsc');

function trio(options: Record<string, unknown>, prefix: string, workload: HistoryWorkload): Promise<HistoryProcess>[] {
  return [
    HistoryProcess.start(options, `${prefix}1`, false, workload),
    HistoryProcess.start(options, `${prefix}2`, false, workload),
    // The third instance reads over two connections (the second lane is not the tracking one).
    HistoryProcess.start({ ...options, redisConnections: 2 }, `${prefix}3`, false, workload),
  ];
}

beforeAll(async () => {
  const base = { redisUrl: redis.url, coherenceStalenessMs: BOUND_MS };
  const started = await Promise.allSettled([
    ...trio({ ...base, namespace: ns }, 'p', WORKLOAD),
    ...trio({ ...base, namespace: nsCoded, ...CODEC_OPTIONS }, 'c', { ...WORKLOAD, pad: 40 }),
  ]);
  for (const [i, s] of started.entries()) if (s.status === 'fulfilled') (i < 3 ? plain : coded).push(s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
}, 90_000);

afterAll(async () => {
  await Promise.all([...plain, ...coded].map((p) => p.close()));
});

async function run(label: string, o: Omit<HistoryRunOptions, 'rawGet' | 'boundMs' | 'keys'>): Promise<HistoryReport> {
  const raw = createClient({ url: redis.url });
  raw.on('error', () => {});
  await raw.connect();
  try {
    const result = await runHistory({
      ...o,
      keys: KEYS,
      boundMs: BOUND_MS,
      sessions: 8,
      sessionKeys: SESSION_KEYS,
      rawGet: (k) => raw.sendCommand<Buffer | null>(['GET', k], BINARY),
    });
    console.log(summarize(`${label} random`, result.random));
    console.log(summarize(`${label} burst`, result.burst));
    console.log(summarize(`${label} all`, result.all));
    const calls = new Map<string, number>();
    for (const op of result.history) {
      const c = (op.call ?? op.op).replace(/\(.*\)$/, '') + (op.session !== undefined ? ' (session)' : '');
      calls.set(c, (calls.get(c) ?? 0) + 1);
    }
    console.log(`${label} events by call: ${[...calls].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    // HISTORY_DUMP=dir: the whole history as JSON, for looking into a failure.
    if (process.env.HISTORY_DUMP !== undefined) writeFileSync(join(process.env.HISTORY_DUMP, `${label.replace(/ /g, '_')}.json`), JSON.stringify(result.history));
    const r = result.all;
    for (const s of r.staleReads.slice(0, 5)) console.log('stale read', JSON.stringify(s));
    for (const d of r.divergences.slice(0, 5)) console.log('divergence', JSON.stringify(d));
    for (const op of r.impossibleReads.slice(0, 5)) console.log('impossible read', JSON.stringify(op));
    for (const v of r.sessionViolations.slice(0, 5)) console.log('session violation', JSON.stringify(v));
    return r;
  } finally {
    await raw.close();
  }
}

function expectClean(r: HistoryReport): void {
  expect(r.readsChecked).toBeGreaterThan(1000);
  expect(r.sessionReadsChecked).toBeGreaterThan(20);
  expect(r.impossibleReads).toEqual([]);
  expect(r.staleReads).toEqual([]);
  expect(r.maxStalenessMs).toBeLessThanOrEqual(BOUND_MS);
  expect(r.divergentPeriods).toBe(0);
  expect(r.sessionViolations).toEqual([]);
}

it(`every entry point, 3 processes: no read staler than ${BOUND_MS} ms, sessions read their writes, every L1 agrees with L2 after each quiet period`, async () => {
  expectClean(await run('history ops', { processes: plain, namespace: ns, totalMs: TOTAL_MS }));
}, TOTAL_MS + 120_000);

it('the same with encryption, compression above 16 bytes and msgpack (the codec path of every fill and compare)', async () => {
  const codec = new EnvelopeCodec({
    serializer: 'msgpack',
    compressAbove: 16,
    maxValueBytes: 8 * 1024 * 1024,
    cipher: new AesGcmCipher([{ id: 1, key: ENCRYPTION_KEY }]),
  });
  const totalMs = Math.round(TOTAL_MS * 0.6);
  expectClean(await run('history ops codec', { processes: coded, namespace: nsCoded, totalMs, codec }));
}, TOTAL_MS + 120_000);
