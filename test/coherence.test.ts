import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';
import { InstanceProcess } from './support/instance_process.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const procs: InstanceProcess[] = [];

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every ms for up to `ms`; resolves to whether it became true. */
async function eventually(check: () => boolean, ms = 500): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(1);
  }
  return check();
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(procs.splice(0).map((p) => p.close()));
});

describe('L1 coherence across instances (CLIENT TRACKING, BCAST)', () => {
  it('a set on A drops the old value from B’s L1; B then reads the new one', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1');
    expect(b.getSync('k')).toBe('v1'); // in B's L1 now
    await a.set('k', 'v2');
    expect(await eventually(() => b.getSync('k') === undefined)).toBe(true);
    expect(await b.get('k')).toBe('v2');
    expect((await b.getStats()).coherence.invalidationsReceived).toBeGreaterThan(0);
  });

  it('an instance never reacts to its own writes (NOLOOP)', async () => {
    const a = await makeCache();
    await a.set('k', 1);
    await a.set('k', 2);
    await a.delete('k');
    await a.set('k', 3);
    await sleep(20);
    expect(a.getSync('k')).toBe(3);
    expect((await a.getStats()).coherence.invalidationsReceived).toBe(0);
  });

  it('delete and invalidatePattern on A reach B’s L1; keys outside the pattern stay', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    for (const k of ['user:1', 'user:2', 'order:1']) await a.set(k, k);
    for (const k of ['user:1', 'user:2', 'order:1']) expect(await b.get(k)).toBe(k);
    await a.invalidatePattern('user:*');
    expect(await eventually(() => b.getSync('user:1') === undefined && b.getSync('user:2') === undefined)).toBe(true);
    expect(b.getSync('order:1')).toBe('order:1');
    await a.delete('order:1');
    expect(await eventually(() => b.getSync('order:1') === undefined)).toBe(true);
  });

  it('writes made outside tiercache (another Redis client) also invalidate L1', async () => {
    const ns = uniqueNamespace();
    const b = await makeCache({ namespace: ns });
    const a = await makeCache({ namespace: ns });
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1');
    const raw = await rawClient(redis.url);
    await raw.del(`${ns}:v${WIRE_VERSION}:k`);
    await raw.close();
    expect(await eventually(() => b.getSync('k') === undefined)).toBe(true);
    expect(await b.get('k')).toBeUndefined();
  });

  it('FLUSHALL drops every L1 entry', async () => {
    const b = await makeCache();
    await b.set('k', 1);
    const raw = await rawClient(redis.url);
    await raw.flushAll();
    await raw.close();
    expect(await eventually(() => b.getSync('k') === undefined)).toBe(true);
  });

  it('a killed connection drops all of L1 (an invalidation may have been missed), then tracking resumes', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1');
    const raw = await rawClient(redis.url);
    // Kill every client connection but this one: B's (and A's) tracking connections.
    await raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    // A write B cannot hear about while its connection is down.
    await raw.set(`${ns}:v${WIRE_VERSION}:k`, 'garbage-not-an-envelope');
    await raw.close();
    expect(await eventually(() => b.getSync('k') === undefined, 2000)).toBe(true);
    expect((await b.getStats()).coherence.fullFlushes).toBeGreaterThan(0);
    // Reconnected with tracking on again: a later write from A reaches B.
    expect(await eventually(() => a.getStatsSync().l2.enabled && b.getStatsSync().coherence.confirmedAgoMs !== null, 2000)).toBe(true);
    await sleep(200);
    await a.set('k', 'v2');
    expect(await b.get('k')).toBe('v2');
    await a.set('k', 'v3');
    expect(await eventually(() => b.getSync('k') === undefined)).toBe(true);
  });

  it('Redis stalled (SIGSTOP): no L1 value older than the staleness bound is served', async () => {
    const bound = 300;
    const b = await makeCache({ coherenceStalenessMs: bound, l2CommandTimeoutMs: 100 });
    await b.set('k', 'v1');
    expect(b.getSync('k')).toBe('v1');
    const stalledAt = Date.now();
    redis.server.pause();
    try {
      // Served while within the bound of the last confirmation...
      let lastServedAt = stalledAt;
      while (Date.now() - stalledAt < bound * 3) {
        if (b.getSync('k') !== undefined) lastServedAt = Date.now();
        await sleep(5);
      }
      // ...and never after: the last confirmation was sent before the stall.
      expect(lastServedAt - stalledAt).toBeLessThanOrEqual(bound);
      expect(b.getStatsSync().coherence.outage).toBe(true);
      // Local writes during the outage serve, each for at most the bound.
      await b.set('local', 1);
      expect(b.getSync('local')).toBe(1);
      await sleep(bound + 50);
      expect(b.getSync('local')).toBeUndefined();
    } finally {
      redis.server.resume();
    }
    // Recovered: coherence confirmed, and the L2 breaker (tripped by the stall's timeouts) closed
    // again by the watchdog's own round trips, with no other traffic.
    expect(await eventually(() => !b.getStatsSync().coherence.outage && b.getStatsSync().breakers.every((x) => x.state === 'closed'), 3000)).toBe(true);
    await b.set('k', 'v2');
    await sleep(bound * 2);
    expect(b.getSync('k')).toBe('v2'); // normal lifetimes again
  });

  it('with coherence off, B keeps its stale L1 value (the test above would fail without the mechanism)', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns, enableCoherence: false });
    const b = await makeCache({ namespace: ns, enableCoherence: false });
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1');
    await a.set('k', 'v2');
    await sleep(50);
    expect(b.getSync('k')).toBe('v1');
  });

  it('two OS processes: set on A, then read on B returns the new value', async () => {
    const ns = uniqueNamespace();
    const [a, b] = await Promise.all([
      InstanceProcess.start({ redisUrl: redis.url, namespace: ns }),
      InstanceProcess.start({ redisUrl: redis.url, namespace: ns }),
    ]);
    procs.push(a, b);
    for (let i = 0; i < 50; i++) {
      await a.call('set', 'k', i);
      // B has the previous value in L1 (read it last round); A's set already returned, so the
      // invalidation is on its way or processed: B must never answer an older value twice.
      let seen = await b.call<number>('get', 'k');
      if (seen !== i) {
        await sleep(5);
        seen = await b.call<number>('get', 'k');
      }
      expect(seen).toBe(i);
    }
    const stats = await b.call<{ coherence: { invalidationsReceived: number } }>('stats');
    expect(stats.coherence.invalidationsReceived).toBeGreaterThan(0);
  });

  it('4 processes × 250 concurrent getOrSet on one missing key: the loader runs once', async () => {
    const ns = uniqueNamespace();
    const instances = await Promise.all(Array.from({ length: 4 }, () => InstanceProcess.start({ redisUrl: redis.url, namespace: ns })));
    procs.push(...instances);
    const key = `hot:${ns}`;
    const served = await Promise.all(instances.map((p) => p.call<number>('stampede', key, 250, 150, { v: 42 })));
    expect(served).toEqual([250, 250, 250, 250]);
    const raw = await rawClient(redis.url);
    expect(await raw.get(`loads:${key}`)).toBe('1');
    await raw.close();
  });
});

describe('stampede lock details', () => {
  it('without coherence (no release pushes) waiters poll and the loader still runs once', async () => {
    const ns = uniqueNamespace();
    const caches = await Promise.all([1, 2, 3].map(() => makeCache({ namespace: ns, enableCoherence: false })));
    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(80);
      return 'v';
    };
    const out = await Promise.all(caches.flatMap((c) => [c.getOrSet('k', loader), c.getOrSet('k', loader)]));
    expect(out.every((v) => v === 'v')).toBe(true);
    expect(loads).toBe(1);
  });

  it('a loader failure releases the lock: the next caller (another instance) loads', async () => {
    const ns = uniqueNamespace();
    const [a, b] = await Promise.all([makeCache({ namespace: ns }), makeCache({ namespace: ns })]);
    await expect(a.getOrSet('k', () => Promise.reject(new Error('db down')))).rejects.toThrow(/db down/);
    expect(await b.getOrSet('k', () => 'fresh')).toBe('fresh');
  });

  it('a loader whose lease lapsed does not overwrite the value written by the next holder', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns, lockLeaseMs: 60 });
    const b = await makeCache({ namespace: ns, lockLeaseMs: 60, lockWaitMs: 0 });
    // A's loader stalls its event loop past the lease (renewals cannot run), as a GC pause would.
    const slow = a.getOrSet('k', async () => {
      await sleep(5);
      const until = Date.now() + 150;
      while (Date.now() < until) {
        /* blocked */
      }
      return 'old';
    });
    await sleep(200);
    // A's lease expired while it was stalled; its write was refused; B now takes the lock, loads and writes.
    expect(await b.getOrSet('k', () => 'new')).toBe('new');
    expect(await slow).toBe('old'); // A's callers get what A loaded...
    expect(await b.get('k')).toBe('new'); // ...but Redis keeps the newer holder's value
    const raw = await rawClient(redis.url);
    expect(await raw.exists(`${ns}:v${WIRE_VERSION}:k`)).toBe(1);
    await raw.close();
    // A's write was refused by the token check (its lease had lapsed), not merely overwritten later.
    expect(a.getStatsSync().locks.lostLeases).toBe(1);
  });

  it('a value that lands between the miss and the lock is returned without loading', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns, enableL1Cache: false });
    const b = await makeCache({ namespace: ns });
    let loads = 0;
    // The first L2 read misses; A's set lands before B's acquire.
    const pending = b.getOrSet('k', () => {
      loads++;
      return 'loaded';
    });
    await a.set('k', 'set-by-a');
    const got = await pending;
    expect(['set-by-a', 'loaded']).toContain(got);
    if (got === 'set-by-a') expect(loads).toBe(0);
  });
});

describe('stampede lock regressions', () => {
  it('a loader result that cannot be encoded releases the lock (found by the fuzz test: the next getOrSet waited 15 s)', async () => {
    const cache = await makeCache();
    await expect(cache.getOrSet('k', () => (() => 1) as unknown)).rejects.toMatchObject({ code: 'E_SERIALIZATION' });
    const t0 = Date.now();
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(7_500); // not the 15 s lock wait
  });
});
