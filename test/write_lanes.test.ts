import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { TierUnavailableError } from '../src/errors.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

// With `redisConnections: 2` and without coherence, writes go over two connections ("lanes", by key
// hash), with `redisScriptedWrites` as one script call per lane and batch (standalone_backend.ts).
// These tests hold that path to what a single connection of plain SETs guarantees: every value and
// TTL as written, writes to one key applied in issue order, deletes ordered after earlier writes,
// typed failures. The last tests cover the default (one connection, two batches in flight).

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  // Two connections and scripted batches: the non-default path these tests are about.
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('lanes'), enableL1Cache: false, redisConnections: 2, redisScriptedWrites: true, logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const tick = () => new Promise((r) => setImmediate(r));

/** Connections of this test's server whose last command was `cmd` (CLIENT LIST). */
async function connectionsUsing(cmd: string): Promise<number> {
  const raw = await rawClient(redis.url);
  const list = await raw.sendCommand<string>(['CLIENT', 'LIST']);
  await raw.close();
  return String(list)
    .split('\n')
    .filter((l) => l.includes(`cmd=${cmd}`)).length;
}

describe('writes over several connections (no L1, so no coherence)', () => {
  for (const scripted of [true, false]) {
    it(`${scripted ? 'scripted' : 'pipelined'}: a batch of 300 values of every codec path comes back exactly, each key with its own TTL`, async () => {
      const caches = await Promise.all([
        makeCache({ redisScriptedWrites: scripted }),
        makeCache({ redisScriptedWrites: scripted, serializer: 'v8', enableCompression: true, compressionThreshold: 64 }),
      ]);
      for (const cache of caches) {
        const value = (i: number) => (cache.config.serializer === 'v8' ? new Map([[i, { big: 'x'.repeat(i % 3 === 0 ? 500 : 5), at: new Date(i) }]]) : { i, name: `n${i}`, ok: i % 2 === 0 });
        await Promise.all(Array.from({ length: 300 }, (_, i) => cache.set(`k${i}`, value(i), { ttl: i % 2 === 0 ? 10 : 100 })));
        const got = await cache.getMany(Array.from({ length: 300 }, (_, i) => `k${i}`));
        got.forEach((v, i) => expect(v).toEqual(value(i)));
        const raw = await rawClient(redis.url);
        const prefix = `${cache.config.namespace}:v${WIRE_VERSION}:`;
        for (const i of [0, 1, 150, 299]) {
          const pttl = await raw.pTTL(prefix + `k${i}`);
          if (i % 2 === 0) expect(pttl).toBeLessThanOrEqual(10_000);
          else expect(pttl).toBeGreaterThan(90_000);
          expect(pttl).toBeGreaterThan(0);
        }
        await raw.close();
      }
    });
  }

  it('uses both connections for writes, one batch each', async () => {
    const cache = await makeCache();
    const before = (await cache.getStats()).l2.roundTrips.writes;
    await Promise.all(Array.from({ length: 64 }, (_, i) => cache.set(`r${i}`, i)));
    expect((await cache.getStats()).l2.roundTrips.writes - before).toBe(2);
    expect(await connectionsUsing('eval')).toBe(2);
    expect((await cache.healthCheck()).redis).toMatchObject({ connections: 2, connectionsReady: 2 });
  });

  it('writes to one key, issued tick after tick without waiting, land in issue order (on every key)', async () => {
    const cache = await makeCache();
    const pending: Promise<void>[] = [];
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 50; k++) pending.push(cache.set(`o${k}`, round));
      await tick();
    }
    await Promise.all(pending);
    expect(await cache.getMany(Array.from({ length: 50 }, (_, k) => `o${k}`))).toEqual(Array(50).fill(39));
  });

  it('a delete issued after a write, without waiting for it, removes the value', async () => {
    const cache = await makeCache();
    const pending: Promise<unknown>[] = [];
    for (let k = 0; k < 50; k++) pending.push(cache.set(`d${k}`, k));
    await tick();
    for (let k = 0; k < 50; k++) pending.push(cache.delete(`d${k}`));
    await Promise.all(pending);
    expect(await cache.getMany(Array.from({ length: 50 }, (_, k) => `d${k}`))).toEqual(Array(50).fill(undefined));
  });

  it('a write connection that drops: writes in flight on it fail typed, later ones go on (over the first connection while it reconnects)', async () => {
    const cache = await makeCache();
    await Promise.all(Array.from({ length: 64 }, (_, i) => cache.set(`w${i}`, i)));
    const raw = await rawClient(redis.url);
    const lines = String(await raw.sendCommand<string>(['CLIENT', 'LIST'])).split('\n').filter((l) => l.includes('cmd=eval'));
    expect(lines.length).toBe(2);
    await raw.sendCommand(['CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(lines[1])![1]]);
    await raw.close();
    let failed = 0;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => cache.set(`w${i}`, round)));
      for (const r of results) {
        if (r.status === 'rejected') {
          failed++;
          expect(r.reason).toBeInstanceOf(TierUnavailableError);
        }
      }
      await tick();
    }
    // Only what was sent before the client saw the socket close can fail: one batch's share.
    expect(failed).toBeLessThanOrEqual(64);
    await Promise.all(Array.from({ length: 64 }, (_, i) => cache.set(`w${i}`, 20)));
    expect(await cache.getMany(Array.from({ length: 64 }, (_, i) => `w${i}`))).toEqual(Array(64).fill(20));
  });

  it('Redis refusing the writes (maxmemory, noeviction): every caller of the batch gets TierUnavailableError', async () => {
    const cache = await makeCache({ circuitBreaker: false });
    const raw = await rawClient(redis.url);
    await raw.configSet({ maxmemory: '1', 'maxmemory-policy': 'noeviction' });
    try {
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => cache.set(`m${i}`, i)));
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TierUnavailableError);
        expect(String((r as PromiseRejectedResult).reason.message)).toMatch(/OOM/);
      }
    } finally {
      await raw.configSet({ maxmemory: '0' });
      await raw.close();
    }
    await cache.set('after', 1);
    expect(await cache.get('after')).toBe(1);
  });

  it('with L1 and coherence, writes stay on the tracking connection as plain SETs; reads may use the second', async () => {
    const cache = await makeCache({ enableL1Cache: true });
    await Promise.all(Array.from({ length: 64 }, (_, i) => cache.set(`c${i}`, i)));
    expect((await cache.healthCheck()).redis).toMatchObject({ connections: 2 });
    expect(await connectionsUsing('eval')).toBe(0);
    const other = await makeCache({ enableL1Cache: true, namespace: cache.config.namespace });
    expect(await other.getMany(Array.from({ length: 64 }, (_, i) => `c${i}`))).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('a read that returns a value older than an invalidation already handled does not fill L1 with it', async () => {
    // Deterministic race: Redis is kept busy by a script while the reader's GET and then the
    // writer's SET queue up; when it frees, the GET reads the old value, the SET sends the reader
    // an invalidation, and that push is written before the GET's reply (Redis broadcasts tracking
    // messages before it flushes replies). The reader handles the push, then the old value: the
    // tier stack's touched-key check must keep it out of L1. (Without that check this test fails.)
    const ns = uniqueNamespace('lanes-race');
    const reader = await makeCache({ enableL1Cache: true, namespace: ns, redisConnections: 1, l2CommandTimeoutMs: 5000 });
    const writer = await makeCache({ enableL1Cache: false, namespace: ns, redisConnections: 1, l2CommandTimeoutMs: 5000 });
    const raw = await rawClient(redis.url);
    const BUSY = "local s = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 150000 return 1";
    let stale = 0;
    for (let trial = 0; trial < 5; trial++) {
      const key = `race${trial}`;
      await writer.set(key, 'old');
      const busy = raw.sendCommand(['EVAL', BUSY, '0']);
      await new Promise((r) => setTimeout(r, 30));
      const read = reader.get(key);
      await new Promise((r) => setTimeout(r, 30));
      const write = writer.set(key, 'new');
      await Promise.all([busy, read, write]);
      await new Promise((r) => setTimeout(r, 50));
      if (reader.getSync(key) === 'old') stale++;
    }
    await raw.close();
    expect(stale).toBe(0);
  });

  it('default (one connection, plain SETs): a batch goes as two round trips one loop turn apart, writes to a key keep their order', async () => {
    const cache = await makeCache({ redisConnections: 1, redisScriptedWrites: false });
    const before = (await cache.getStats()).l2.roundTrips.writes;
    await Promise.all(Array.from({ length: 64 }, (_, i) => cache.set(`h${i}`, i)));
    expect((await cache.getStats()).l2.roundTrips.writes - before).toBe(2);
    expect(await connectionsUsing('eval')).toBe(0);
    // Un-awaited rewrites of the same keys, tick after tick, while the first half-batch's partner
    // is still held for the next loop turn: the last write of each key wins.
    const pending: Promise<void>[] = [];
    for (let round = 0; round < 30; round++) {
      for (let k = 0; k < 40; k++) pending.push(cache.set(`h${k}`, round));
      // A nextTick lets this round's batch flush; the following rounds then flush while the held
      // half is still waiting for its loop turn (they must queue behind it). Every fifth round
      // waits a full turn so that a fresh split happens too.
      if (round % 5 === 4) await tick();
      else await new Promise((r) => process.nextTick(r));
    }
    await Promise.all(pending);
    expect(await cache.getMany(Array.from({ length: 40 }, (_, k) => `h${k}`))).toEqual(Array(40).fill(29));
    // Deterministically: nothing in flight, so 40 writes split (20 now, 20 held); the next batch,
    // flushed while the 20 wait, rewrites all 40 and must land after them.
    const first = Array.from({ length: 40 }, (_, k) => cache.set(`h${k}`, 'a'));
    await new Promise((r) => process.nextTick(r));
    const second = Array.from({ length: 40 }, (_, k) => cache.set(`h${k}`, 'b'));
    await Promise.all([...first, ...second]);
    expect(await cache.getMany(Array.from({ length: 40 }, (_, k) => `h${k}`))).toEqual(Array(40).fill('b'));
  });
});
