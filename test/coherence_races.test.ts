/**
 * Issue 13: deterministic interleavings of concurrent writers, deletes, loads and reconnects.
 *
 * How the order is fixed: writes are postponed by CLIENT PAUSE WRITE and released together
 * (`pauseWrites`), so they run in arrival order in one event-loop iteration, whose replies and
 * BCAST invalidation pushes are flushed together: the case where a push is handled before an
 * earlier reply's continuation. For a reconnect, a Lua busy loop (`busy(ms)`) holds Redis while
 * a handshake queues up.
 */
import { describe, expect, it } from 'vitest';
import { createIntegratedCache } from '../src/index.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { RecursiveLoadError, LoaderTimeoutError } from '../src/errors.js';
import { rawClient, uniqueNamespace, useCaches, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const { makeCache, raw } = useCaches(redis);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Holds Redis busy for `ms` (a Lua loop on connection `c`); resolves when Redis is free again. */
function busy(c: Awaited<ReturnType<typeof rawClient>>, ms: number): Promise<unknown> {
  const script = `local s = redis.call('TIME'); local t0 = s[1] * 1000000 + s[2]
    while true do local t = redis.call('TIME'); if t[1] * 1000000 + t[2] - t0 > tonumber(ARGV[1]) then break end end
    return 1`;
  return c.sendCommand(['EVAL', script, '0', String(ms * 1000)]);
}

/**
 * Pauses every client's writes (CLIENT PAUSE WRITE) until `unpause()`: Redis keeps reading, and
 * postpones each writing client in the order its command arrived; on unpause it runs them all in
 * that order in one event-loop iteration, then flushes replies and BCAST pushes together.
 */
async function pauseWrites(): Promise<() => Promise<unknown>> {
  const c = await raw();
  await c.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
  return () => c.sendCommand(['CLIENT', 'UNPAUSE']);
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}


describe('issue 13: concurrent writers, deletes, the stampede lock and reconnects', () => {
  it('1. a local write does not refill L1 after a later remote write to the key was heard', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const unpause = await pauseWrites();
    // A's SETs reach Redis first, B's after: one iteration runs both, then flushes A's +OK and
    // the pushes for B's writes to A together.
    const writesA = keys.map((k) => a.set(k, 'from-a'));
    await sleep(40);
    const writesB = keys.map((k) => b.set(k, 'from-b'));
    await sleep(40);
    await unpause();
    await Promise.all([...writesA, ...writesB]);
    await sleep(100);
    const r = await raw();
    let stale = 0;
    for (const k of keys) {
      expect(String(await r.get(`${ns}:v${WIRE_VERSION}:${k}`))).toContain('from-b');
      if (a.getSync(k) === 'from-a') stale++;
      expect(await a.get(k)).toBe('from-b');
    }
    expect(stale).toBe(0);
  });

  it('1b. the same for getOrSet’s locked write-and-release: L1 ends with what Redis holds', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const keys = Array.from({ length: 10 }, (_, i) => `g${i}`);
    const gate = deferred<void>();
    const loads = keys.map((k) => a.getOrSet(k, async () => {
      await gate.promise;
      return 'loaded-by-a';
    }));
    await sleep(50); // every lock taken, every loader waiting on the gate
    const unpause = await pauseWrites();
    gate.resolve(); // A's WRITE_AND_RELEASE scripts are postponed…
    await sleep(40);
    const writesB = keys.map((k) => b.set(k, 'from-b')); // …then B's SETs
    await sleep(40);
    await unpause();
    await Promise.all([...loads, ...writesB]);
    await sleep(100);
    for (const k of keys) {
      expect(a.getSync(k)).not.toBe('loaded-by-a');
      expect(await a.get(k)).toBe('from-b');
    }
  });

  it('2. a loader failing after a hard or soft timeout releases the stampede lock', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns, lockLeaseMs: 300, lockWaitMs: 20_000 });
    const r = await raw();
    const locks = async () => (await r.keys(`${ns}:lock:*`)).length;
    // Hard timeout: the caller gets LoaderTimeoutError at 50 ms; the loader fails at 200 ms.
    await expect(
      a.getOrSet('h', async () => {
        await sleep(200);
        throw new Error('source down');
      }, { hardTimeoutMs: 50 }),
    ).rejects.toBeInstanceOf(LoaderTimeoutError);
    // Soft timeout: a stale value inside its grace answers at 50 ms; the reload fails at 200 ms.
    await a.getOrSet('s', async () => 'v1', { ttl: 1, grace: 60 });
    await sleep(1100);
    expect(await a.getOrSet('s', async () => {
      await sleep(200);
      throw new Error('source down');
    }, { ttl: 1, grace: 60, softTimeoutMs: 50 })).toBe('v1');
    // Well past both failures and several lease periods: renewal would have kept the locks.
    await sleep(1200);
    expect(await locks()).toBe(0);
    // The next miss loads at once (it does not wait lockWaitMs for a lock nobody will release).
    expect(await a.getOrSet('h', async () => 'fresh')).toBe('fresh');
  });

  it('3. a loader that asks for its own key fails fast with a typed error and releases the lock', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns, lockWaitMs: 60_000 });
    const err = await a.getOrSet('self', async (k) => a.getOrSet(k, async () => 'inner')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecursiveLoadError);
    expect((err as RecursiveLoadError).code).toBe('E_RECURSIVE_LOAD');
    // Through a chain of loaders too.
    const err2 = await a.getOrSet('x', async () => a.getOrSet('y', async () => a.getOrSet('x', async () => 1))).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(RecursiveLoadError);
    const r = await raw();
    expect(await r.keys(`${ns}:lock:*`)).toEqual([]);
    expect(await a.getOrSet('self', async () => 'ok')).toBe('ok');
  }, 10_000);

  it('4. delete() is not overtaken by an earlier set of the same key that was not awaited', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const r = await raw();
    for (let i = 0; i < 20; i++) {
      const pending = a.set(`d${i}`, i);
      await a.delete(`d${i}`);
      await pending;
    }
    for (let i = 0; i < 20; i++) {
      expect(await r.exists(`${ns}:v${WIRE_VERSION}:d${i}`)).toBe(0);
      expect(a.getSync(`d${i}`)).toBeUndefined();
      expect(await b.get(`d${i}`)).toBeUndefined();
    }
    // And invalidatePattern after un-awaited sets.
    const sets = Array.from({ length: 20 }, (_, i) => a.set(`p${i}`, i));
    await a.invalidatePattern('p*');
    await Promise.all(sets);
    expect(await r.keys(`${ns}:v${WIRE_VERSION}:p*`)).toEqual([]);
  });

  it('5. delete() during an in-flight locked load: the load (begun before the delete) caches nothing', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const r = await raw();
    // "Update the database, then delete": the loader read the old row before the update.
    for (const deleter of [a, b]) {
      const key = deleter === a ? 'row-a' : 'row-b';
      const readOldRow = deferred<void>();
      const loading = a.getOrSet(key, async () => {
        await readOldRow.promise;
        return 'old-row';
      });
      await sleep(30); // A holds the lock, its loader is running
      await deleter.delete(key);
      readOldRow.resolve();
      expect(await loading).toBe('old-row'); // answered, but…
      await sleep(50);
      expect(await r.exists(`${ns}:v${WIRE_VERSION}:${key}`)).toBe(0); // …not in L2
      expect(a.getSync(key)).toBeUndefined(); // …nor in any L1
      expect(await b.get(key)).toBeUndefined();
      expect(await a.getOrSet(key, async () => 'new-row')).toBe('new-row');
    }
  });

  it('6. redisConnections 2: a read answered while tracking restarts never fills L1 with a value whose change is not pushed', async () => {
    const ns = uniqueNamespace();
    const r = await raw();
    const list = async () => trackingIds(String(await r.sendCommand(['CLIENT', 'LIST'])));
    const others = new Set(await list());
    const a = await makeCache({ namespace: ns, redisConnections: 2 });
    const aFirst = (await list()).filter((id) => !others.has(id));
    expect(aFirst.length).toBe(1); // one tracking connection
    const b = await makeCache({ namespace: ns });
    const bTracking = (await list()).filter((id) => !others.has(id) && !aFirst.includes(id));
    const aTracking = async () => (await list()).filter((id) => !others.has(id) && !bTracking.includes(id));
    let stale = 0;
    for (let round = 0; round < 4; round++) {
      const key = `r${round}`;
      await b.set(key, 'v0');
      const [id] = await aTracking();
      expect(id).toBeDefined();
      // Kill A's tracking connection and hold Redis busy, so that its reconnect (a handshake with
      // CLIENT TRACKING) waits; meanwhile A reads on its other connection, then B writes.
      const busyConn = await raw();
      const killed = r.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      const done = busy(busyConn, 400); // runs right after the kill, before the reconnect
      await killed;
      await sleep(150); // the reconnect has connected and sent its handshake (queued)
      // 16 reads in one tick: the read batcher sends half on each connection (the tracking one
      // is down, so its half fails at once; the other half waits for Redis).
      const reads = Array.from({ length: 16 }, () => a.get(key));
      await sleep(40);
      const write = b.set(key, 'v1');
      await Promise.all([done, write, ...reads]);
      await sleep(300);
      if (a.getSync(key) === 'v0') stale++;
      expect(await a.get(key)).toBe('v1');
    }
    expect(stale).toBe(0);
  }, 30_000);

  it('7. the staleness gate is checked against a real clock, also inside one long synchronous stretch', async () => {
    const a = await makeCache({ coherenceStalenessMs: 1000 });
    await a.set('k', 'v');
    expect(a.getSync('k')).toBe('v'); // reads (and caches) the coarse clock
    // Block the event loop for 1.5 s without yielding: no timer, no ping, no push runs.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    expect(a.getSync('k')).toBeUndefined(); // last confirmed ≥ 1.5 s ago > the 1 s bound
  });

  it('8. a TTL Redis cannot take (PX past its range, or past exact integers) is refused with a typed error and nothing is written', async () => {
    const a = await makeCache({ namespace: 'ttl8' });
    const b = await makeCache({ namespace: 'ttl8' });
    let loads = 0;
    for (const ttl of [9.3e15, 1e21, Number.MAX_VALUE, 5e12]) {
      await expect(a.set('k', 'v', { ttl })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
      await expect(a.setMany([{ key: 'ok', value: 1 }, { key: 'k', value: 'v', ttl }])).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
      await expect(a.getOrSet('k', () => ++loads, { ttl })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
      await expect(a.getOrSet('k', () => ++loads, { ttl: 60, grace: ttl })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    }
    await expect(a.getOrSet('k', () => 1, { softTimeoutMs: 2 ** 31 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(loads).toBe(0);
    await sleep(50);
    // Nothing anywhere: not in the writer's L1, not in Redis, not on the other instance.
    expect(a.getSync('k')).toBeUndefined();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBeUndefined();
    expect(await b.get('ok')).toBeUndefined();
    expect(() => createIntegratedCache({ defaultTtl: 1e16 })).toThrow();
    // The largest accepted TTL is really written to Redis.
    await a.set('big', 'v', { ttl: 2 ** 52 / 1000 });
    expect(await b.get('big')).toBe('v');
  });
});

/** Client ids of connections with client tracking on (flag `t`). */
function trackingIds(clientList: string): string[] {
  return clientList
    .split('\n')
    .filter((l) => /\bflags=\S*t/.test(l))
    .map((l) => /\bid=(\d+)/.exec(l)?.[1] ?? '')
    .filter((id) => id !== '');
}
