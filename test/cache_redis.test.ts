import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { InvalidArgumentError, InvalidKeyError, LoaderError, SerializationError, ValueTooLargeError } from '../src/errors.js';
import { MAGIC, WIRE_VERSION } from '../src/codec/envelope_header.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (t: number) => sleep(Math.max(0, t - Date.now()));

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('tiers over a real redis-server', () => {
  it('set writes L2 with the TTL as PX and an envelope; get reads it back', async () => {
    const cache = await makeCache();
    const user = { name: 'John', email: 'john@example.com' };
    const setAt = Date.now();
    await cache.set('user:123', user, { ttl: 60 });
    expect(await cache.get('user:123')).toEqual(user);
    const raw = await rawClient(redis.url);
    const ns = cache.config.namespace;
    const pttl = await raw.pTTL(`${ns}:v${WIRE_VERSION}:user:123`);
    // PX 60000 less the time since the write (seconds on a loaded machine, never a TTL in seconds).
    expect(pttl).toBeGreaterThanOrEqual(60_000 - (Date.now() - setAt) - 5);
    expect(pttl).toBeLessThanOrEqual(60_000);
    await raw.close();
  });

  it('an L2 hit fills L1 with the remaining TTL, not a fresh one', async () => {
    const ns = uniqueNamespace();
    const writer = await makeCache({ namespace: ns });
    await writer.set('k', { v: 1 }, { ttl: 10 });
    await sleep(300);
    const reader = await makeCache({ namespace: ns });
    expect(reader.getSync('k')).toBeUndefined(); // not in reader's L1 yet
    expect(await reader.get('k')).toEqual({ v: 1 }); // L2 hit
    expect(reader.getSync('k')).toEqual({ v: 1 }); // now filled into L1
    const s = await reader.getStats();
    expect(s.l2.hits).toBe(1);
    expect(s.l1.enabled && s.l1.size).toBe(1);
  });

  it('L1 entry expiry matches the writer-side expiry (remaining TTL carried in the envelope)', async () => {
    const ns = uniqueNamespace();
    const writer = await makeCache({ namespace: ns });
    // Instants from timestamps around the write and the fill (not summed sleeps), with ~1 s of
    // room each way, so a loaded machine delays the steps without moving them across an expiry.
    const ttlMs = 2000;
    const writeBegan = Date.now();
    await writer.set('short', 'v', { ttl: ttlMs / 1000 });
    const written = Date.now();
    await sleepUntil(written + 1000);
    const reader = await makeCache({ namespace: ns });
    const fillBegan = Date.now();
    expect(await reader.get('short')).toBe('v'); // filled into L1 with ~1 s left
    expect(Date.now()).toBeLessThan(writeBegan + ttlMs); // (the fill happened before the expiry)
    await sleepUntil(written + ttlMs + 100);
    // A fresh TTL from the fill would still be live; the carried remaining TTL has run out.
    expect(Date.now()).toBeLessThan(fillBegan + ttlMs);
    expect(reader.getSync('short')).toBeUndefined();
    expect(await reader.get('short')).toBeUndefined();
  });

  it('TTL expiry in L2: Redis drops the key and get misses', async () => {
    const cache = await makeCache({ enableL1Cache: false });
    await cache.set('gone', 'soon', { ttl: 1 });
    const written = Date.now();
    expect(await cache.get('gone')).toBe('soon');
    await sleepUntil(written + 1100);
    expect(await cache.get('gone')).toBeUndefined();
    expect(await cache.has('gone')).toBe(false);
  });

  it('get returns the default on a miss', async () => {
    const cache = await makeCache();
    expect(await cache.get('nope', { default: 'fallback' })).toBe('fallback');
  });

  it('getOrSet: a loader result fills L2 and L1', async () => {
    const ns = uniqueNamespace();
    const cache = await makeCache({ namespace: ns });
    let calls = 0;
    const v = await cache.getOrSet('user:7', async (k) => ({ id: k, n: ++calls }), { ttl: 30 });
    expect(v).toEqual({ id: 'user:7', n: 1 });
    expect(cache.getSync('user:7')).toEqual(v);
    const other = await makeCache({ namespace: ns });
    expect(await other.getOrSet('user:7', async () => ({ id: 'x', n: 99 }))).toEqual(v); // from L2, no load
    const raw = await rawClient(redis.url);
    expect(await raw.pTTL(`${ns}:v${WIRE_VERSION}:user:7`)).toBeGreaterThan(29_000);
    await raw.close();
  });

  it('getOrSet is single-flight: 1000 concurrent callers, one loader call, one value', async () => {
    const cache = await makeCache();
    let calls = 0;
    const loader = async () => {
      calls++;
      await sleep(50);
      return { loaded: true };
    };
    const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('hot', loader)));
    expect(calls).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toEqual({ loaded: true });
  });

  it('getOrSet: a loader error reaches all 1000 callers, nothing is cached, the next call retries', async () => {
    const cache = await makeCache();
    let calls = 0;
    const boom = new Error('db down');
    const failing = async () => {
      calls++;
      await sleep(20);
      throw boom;
    };
    const settled = await Promise.allSettled(Array.from({ length: 1000 }, () => cache.getOrSet('bad', failing)));
    expect(calls).toBe(1);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      const err = (s as PromiseRejectedResult).reason;
      expect(err).toBeInstanceOf(LoaderError);
      expect(err.code).toBe('E_LOADER');
      expect(err.cause).toBe(boom);
    }
    expect(await cache.has('bad')).toBe(false);
    expect(await cache.getOrSet('bad', () => 'ok')).toBe('ok');
    expect(calls).toBe(1);
  });

  it('concurrent gets in one tick share MGET round trips: two, sent one loop turn apart (so Redis serves one while we handle the other)', async () => {
    for (const redisConnections of [1, 2]) {
      const cache = await makeCache({ enableL1Cache: false, redisConnections });
      await cache.setMany(Array.from({ length: 64 }, (_, i) => ({ key: `b${i}`, value: i })));
      const before = (await cache.getStats()).l2.roundTrips.reads;
      const values = await Promise.all(Array.from({ length: 64 }, (_, i) => cache.get(`b${i}`)));
      expect(values).toEqual(Array.from({ length: 64 }, (_, i) => i));
      expect((await cache.getStats()).l2.roundTrips.reads - before).toBe(2);
    }
  });

  it('setMany batches writes into few round trips and getMany reads them back', async () => {
    const cache = await makeCache({ enableL1Cache: false });
    const before = (await cache.getStats()).l2.roundTrips.writes;
    await cache.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `m${i}`, value: { i } })));
    // Two: half now, half one loop turn later, so two round trips are in flight (set_batcher.ts).
    expect((await cache.getStats()).l2.roundTrips.writes - before).toBe(2);
    const got = await cache.getMany(['m0', 'm50', 'missing', 'm99']);
    expect(got).toEqual([{ i: 0 }, { i: 50 }, undefined, { i: 99 }]);
  });

  it('writes with different TTLs in one batch keep their own TTLs', async () => {
    const cache = await makeCache();
    const setAt = Date.now();
    await Promise.all([cache.set('t10', 1, { ttl: 10 }), cache.set('t100', 2, { ttl: 100 }), cache.set('t10b', 3, { ttl: 10 })]);
    const raw = await rawClient(redis.url);
    const p = (k: string) => raw.pTTL(`${cache.config.namespace}:v${WIRE_VERSION}:${k}`);
    // Less the time since the writes (seconds on a loaded machine), so only a wrong TTL fails.
    const elapsed = () => Date.now() - setAt + 5;
    expect(await p('t10')).toBeLessThanOrEqual(10_000);
    expect(await p('t10b')).toBeGreaterThanOrEqual(10_000 - elapsed());
    expect(await p('t100')).toBeGreaterThanOrEqual(100_000 - elapsed());
    expect(await p('t100')).toBeGreaterThan(10_000);
    await raw.close();
  });

  it('delete removes from both tiers', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    await a.set('d', 1);
    expect(await a.delete('d')).toBe(true);
    expect(a.getSync('d')).toBeUndefined();
    const b = await makeCache({ namespace: ns });
    expect(await b.get('d')).toBeUndefined();
    expect(await a.delete('d')).toBe(false);
  });

  it('invalidatePattern removes matching keys from L1 and L2 and nothing else', async () => {
    const cache = await makeCache();
    const keys = ['user:1', 'user:2', 'user:10:profile', 'users', 'user_x', 'post:1', 'temp:a', 'a*b'];
    await cache.setMany(keys.map((key) => ({ key, value: key })));
    expect(await cache.invalidatePattern('user:*')).toBe(3);
    for (const k of ['user:1', 'user:2', 'user:10:profile']) {
      expect(cache.getSync(k)).toBeUndefined();
      expect(await cache.get(k)).toBeUndefined();
    }
    for (const k of ['users', 'user_x', 'post:1', 'temp:a', 'a*b']) expect(await cache.get(k)).toBe(k);
    // glob metacharacters escaped by the caller match literally
    expect(await cache.invalidatePattern('a\\*b')).toBe(1);
    expect(await cache.get('temp:a')).toBe('temp:a');
  });

  it('invalidatePattern and clear never touch another namespace', async () => {
    const a = await makeCache();
    const b = await makeCache();
    await a.set('k', 'a');
    await b.set('k', 'b');
    await a.clear();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBe('b');
    const raw = await rawClient(redis.url);
    await raw.set('unrelated', 'x');
    await a.invalidatePattern('*');
    expect(await raw.get('unrelated')).toBe('x');
    await raw.close();
  });

  it('corrupt bytes in L2 are a counted miss, never a crash or a wrong value', async () => {
    const cache = await makeCache();
    const raw = await rawClient(redis.url);
    const ns = cache.config.namespace;
    const header = Buffer.concat([Buffer.from([MAGIC, WIRE_VERSION, 0, 0]), Buffer.from('000000000000')]);
    const garbage = [
      Buffer.from('hello'),
      Buffer.from([MAGIC, WIRE_VERSION, 0, 0, 1, 2]), // truncated header
      Buffer.concat([header, Buffer.from('{"a":')]), // valid header, broken JSON
      Buffer.concat([header.subarray(0, 6), Buffer.from('zz'), header.subarray(8), Buffer.from('1')]), // bad expiry digits
      Buffer.alloc(4096, 0xff),
    ];
    for (let i = 0; i < garbage.length; i++) await raw.set(`${ns}:v${WIRE_VERSION}:bad${i}`, garbage[i]);
    for (let i = 0; i < garbage.length; i++) expect(await cache.get(`bad${i}`)).toBeUndefined();
    const s = await cache.getStats();
    expect(s.l2.corrupt).toBe(garbage.length);
    // getOrSet over a corrupt value loads and overwrites it
    expect(await cache.getOrSet('bad0', () => 'fresh')).toBe('fresh');
    await raw.close();
  });

  it('bad input gets typed errors and writes nothing', async () => {
    const cache = await makeCache({ maxKeyLength: 50, maxValueBytes: 1000 });
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    await expect(cache.set('', 1)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.set('x'.repeat(51), 1)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.set('a\nb', 1)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.set('a\u0000b', 1)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.get(undefined as unknown as string)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.set('fn', () => 1)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('cyc', cyc)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('undef', undefined)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('big', 'x'.repeat(2000))).rejects.toBeInstanceOf(ValueTooLargeError);
    await expect(cache.set('ttl', 1, { ttl: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.set('ttl', 1, { ttl: Number.NaN })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.invalidatePattern('')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.getOrSet('x', 'notfn' as unknown as () => number)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.setMany([{ key: 'ok1', value: 1 }, { key: 'bad', value: () => 1 }, { key: 'ok2', value: 2 }])).rejects.toBeInstanceOf(SerializationError);
    for (const k of ['fn', 'cyc', 'undef', 'big', 'ttl', 'ok1', 'ok2']) expect(await cache.has(k)).toBe(false);
    const raw = await rawClient(redis.url);
    expect(await raw.keys(`${cache.config.namespace}:*`)).toEqual([]);
    await raw.close();
  });

  it('serializers round-trip through Redis (v8 keeps Map/Set/Date/BigInt)', async () => {
    for (const serializer of ['json', 'msgpack', 'v8'] as const) {
      const ns = uniqueNamespace();
      const w = await makeCache({ namespace: ns, serializer });
      const r = await makeCache({ namespace: ns, serializer: 'json' }); // reader config differs on purpose
      const v = serializer === 'v8' ? { m: new Map([['a', 1]]), s: new Set([1]), d: new Date(5), b: 7n } : { a: [1, 'x'], b: { c: null } };
      await w.set('v', v);
      expect(await r.get('v')).toEqual(v);
    }
  });

  it('compression on and off: large values stored smaller when on, readable by both', async () => {
    const ns = uniqueNamespace();
    const on = await makeCache({ namespace: ns, enableCompression: true });
    const off = await makeCache({ namespace: ns, enableCompression: false });
    const big = { text: 'all work and no play makes jack a dull boy '.repeat(100) };
    await on.set('z-on', big);
    await off.set('z-off', big);
    const raw = await rawClient(redis.url);
    const lenOn = await raw.strLen(`${ns}:v${WIRE_VERSION}:z-on`);
    const lenOff = await raw.strLen(`${ns}:v${WIRE_VERSION}:z-off`);
    expect(lenOn).toBeLessThan(lenOff / 5);
    expect(await off.get('z-on')).toEqual(big);
    expect(await on.get('z-off')).toEqual(big);
    await raw.close();
  });

  it('a write racing an in-flight L2 read is not overwritten in L1 by the older value', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    await a.set('race', 'old');
    const b = await makeCache({ namespace: ns });
    const reading = b.get('race'); // L2 read in flight
    await b.set('race', 'new');
    await reading;
    expect(b.getSync('race')).toBe('new');
    const reading2 = b.get('other');
    await b.delete('race');
    await reading2;
    expect(b.getSync('race')).toBeUndefined();
  });

  it('a second process instance sees values written by the first (shared L2)', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    await a.set('shared', { from: 'a' });
    expect(await b.get('shared')).toEqual({ from: 'a' });
  });

  it('uses a client the caller passes and leaves it open on close', async () => {
    const client = await rawClient(redis.url);
    const cache = createIntegratedCache({ redisClient: client, namespace: uniqueNamespace(), logLevel: 'silent' });
    await cache.initialize();
    await cache.set('mine', 1);
    expect(await cache.get('mine')).toBe(1);
    await cache.close();
    expect(client.isReady).toBe(true);
    await client.close();
  });
});
