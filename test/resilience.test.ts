import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { LoaderError, LoaderTimeoutError } from '../src/errors.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (t: number) => sleep(Math.max(0, t - Date.now()));

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('grace (fail-safe) and loader timeouts', () => {
  for (const mode of ['L1 + L2', 'L2 only', 'L1 only'] as const) {
    it(`${mode}: with the loader failing, callers get the stale value, not an error, until grace ends`, async () => {
      const opts: IntegratedCacheOptions = mode === 'L2 only' ? { enableL1Cache: false } : mode === 'L1 only' ? {} : {};
      const cache =
        mode === 'L1 only'
          ? createIntegratedCache({ logLevel: 'silent' })
          : await makeCache(opts);
      if (mode === 'L1 only') {
        await cache.initialize();
        open.push(cache);
      }
      // Every bound below is taken from timestamps around the write, not from sleeps added up, so
      // a slow (loaded) machine shifts the calls without moving them across the TTL or grace end.
      const call = { ttl: 0.15, grace: 2 };
      const writeBegan = Date.now();
      expect(await cache.getOrSet('k', () => 'v1', call)).toBe('v1');
      const written = Date.now();
      const staleFrom = written + call.ttl * 1000; // the value expired by then, whenever it was stored
      const graceEndsAfter = writeBegan + (call.ttl + call.grace) * 1000; // and is still in grace before this
      const graceOver = written + (call.ttl + call.grace) * 1000; // and out of grace after this
      await sleepUntil(staleFrom + 20);
      expect(await cache.get('k')).toBeUndefined(); // a plain read never sees a stale value
      const failing = () => Promise.reject(new Error('db down'));
      let served = 0;
      for (let i = 0; i < 6; i++) {
        const answer: unknown = await cache.getOrSet('k', failing, call).catch((err: unknown) => err);
        // Only a call that completed before grace could have ended is held to the promise.
        if (Date.now() >= graceEndsAfter) break;
        expect(answer).toBe('v1');
        served++;
        await sleep(20);
      }
      expect(served).toBe(6);
      expect((await cache.getStats()).loader.failSafeHits).toBeGreaterThanOrEqual(6);
      await sleepUntil(graceOver + 250); // past grace, with room for the L1 clock's resolution
      await expect(cache.getOrSet('k', failing, call)).rejects.toBeInstanceOf(LoaderError);
    });
  }

  it('soft timeout: the stale value is answered at once, the slow load goes on and fills the cache', async () => {
    const cache = await makeCache();
    await cache.getOrSet('k', () => 'v1', { ttl: 0.1, grace: 5 });
    await sleep(150);
    let finished = false;
    const slow = async () => {
      await sleep(300);
      finished = true;
      return 'v2';
    };
    expect(await cache.getOrSet('k', slow, { ttl: 10, grace: 5, softTimeoutMs: 50 })).toBe('v1');
    expect(finished).toBe(false); // answered before the loader finished
    await sleep(400);
    expect(finished).toBe(true);
    expect(await cache.get('k')).toBe('v2');
    expect((await cache.getStats()).loader.softTimeouts).toBe(1);
  });

  it('hard timeout: a typed error when there is nothing stale; the late value still lands', async () => {
    const cache = await makeCache();
    const slow = async () => {
      await sleep(200);
      return 'late';
    };
    await expect(cache.getOrSet('k', slow, { hardTimeoutMs: 50 })).rejects.toBeInstanceOf(LoaderTimeoutError);
    await sleep(300);
    expect(await cache.get('k')).toBe('late');
  });

  it('a second instance finding the key being reloaded serves its stale value instead of waiting', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    await a.getOrSet('k', () => 'v1', { ttl: 0.1, grace: 5 });
    await sleep(150);
    const reloading = a.getOrSet(
      'k',
      async () => {
        await sleep(300);
        return 'v2';
      },
      { ttl: 10, grace: 5 },
    );
    await sleep(30);
    let reloaded = false;
    void reloading.then(() => (reloaded = true));
    expect(await b.getOrSet('k', () => 'never', { ttl: 10, grace: 5 })).toBe('v1');
    expect(reloaded).toBe(false); // B answered while A was still loading, instead of waiting for it
    expect(await reloading).toBe('v2');
  });
});

describe('circuit breakers', () => {
  it('unit (issue 16): a timeout with no success since the call started opens at once; one with a success meanwhile counts as a failure only; an outside probe closes a half-open breaker', async () => {
    const { BreakerCore } = await import('../src/resilience/breaker_core.js');
    let t = 0;
    const b = new BreakerCore({ name: 't', openMs: 100, now: () => t });
    b.onSuccess();
    const slow = b.now();
    t += 10;
    b.onSuccess(); // Redis answered another call while `slow` waited
    t += 990;
    b.onTimeout(slow);
    expect(b.state).toBe('closed');
    const silent = b.now();
    t += 1000;
    b.onTimeout(silent); // nothing answered for a whole deadline
    expect(b.state).toBe('open');
    expect(b.snapshot().opens).toBe(1);
    b.probeSucceeded(silent); // sent before it opened: proves nothing about now
    expect(b.state).toBe('open');
    t += 100;
    expect(b.state).toBe('half-open');
    b.probeFailed();
    expect(b.state).toBe('open');
    t += 10;
    b.probeSucceeded(); // sent now, after it opened: Redis answers again, even within openMs
    expect(b.state).toBe('closed');
    const off = new BreakerCore({ name: 'off', tripOnSilentTimeout: false, now: () => t });
    off.onTimeout(off.now());
    expect(off.state).toBe('closed');
  });

  it('unit: opens on the failure ratio, refuses while open, probes when half-open, closes on success', async () => {
    const { BreakerCore } = await import('../src/resilience/breaker_core.js');
    let t = 0;
    const b = new BreakerCore({ name: 't', failureRatio: 0.5, minimumCalls: 4, windowMs: 1000, openMs: 100, now: () => t });
    b.onSuccess();
    b.onSuccess();
    b.onFailure();
    expect(b.state).toBe('closed'); // 1/3, and under the minimum
    b.onFailure(); // 2/4 = 0.5
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    t += 100;
    expect(b.state).toBe('half-open');
    expect(b.allow()).toBe(true); // the probe
    expect(b.allow()).toBe(false); // only one
    b.onFailure();
    expect(b.state).toBe('open');
    t += 100;
    expect(b.allow()).toBe(true);
    b.onSuccess();
    expect(b.state).toBe('closed');
    // Old failures leave the window.
    b.onFailure();
    t += 2000;
    b.onSuccess();
    b.onSuccess();
    b.onSuccess();
    b.onFailure();
    expect(b.state).toBe('closed');
  });

  it('public CircuitBreaker: run records outcomes, refuses with CircuitOpenError while open, probes and closes', async () => {
    const { CircuitBreaker, CircuitOpenError } = await import('../src/index.js');
    let t = 0;
    const changes: string[] = [];
    const b = new CircuitBreaker({ name: 'dep', failureRatio: 0.5, minimumCalls: 2, openMs: 100, now: () => t, onStateChange: (s, p) => changes.push(`${p}->${s}`) });
    expect(await b.run(async () => 1)).toBe(1);
    await expect(b.run(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(b.state).toBe('open'); // 1 of 2 failed
    let called = false;
    await expect(
      b.run(async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    t += 100;
    expect(b.state).toBe('half-open');
    expect(await b.run(async () => 'ok')).toBe('ok'); // the probe
    expect(b.snapshot()).toEqual({ name: 'dep', state: 'closed', opens: 1, rejected: 1 });
    expect([b.name, b.opens, b.rejected]).toEqual(['dep', 1, 1]);
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('L2 breaker: a stalled Redis opens it, reads then answer at once from L1/misses, and it closes after recovery', async () => {
    const cache = await makeCache({ l2CommandTimeoutMs: 100, circuitBreaker: { failureRatio: 0.5, minimumCalls: 3, windowMs: 10_000, openMs: 300 }, enableCoherence: false });
    await cache.set('warm', 1);
    redis.server.pause();
    try {
      for (let i = 0; i < 3; i++) expect(await cache.get(`cold${i}`)).toBeUndefined(); // 3 timeouts
      let h = await cache.healthCheck();
      expect(h.breakers.find((b) => b.name === 'redis')?.state).toBe('open');
      expect(h.issues.join(' ')).toMatch(/circuit redis is open/);
      const skippedBefore = (await cache.getStats()).l2.skipped;
      expect(await cache.get('cold-x')).toBeUndefined();
      expect((await cache.getStats()).l2.skipped).toBe(skippedBefore + 1); // answered without calling Redis
      expect(await cache.get('warm')).toBe(1); // L1 still serves
      await cache.set('during', 2); // kept in L1
      expect(cache.getSync('during')).toBe(2);
      expect((await cache.getStats()).l2.skipped).toBeGreaterThan(0);
      h = await cache.healthCheck();
      expect(h.overallHealth).not.toBe('healthy');
    } finally {
      redis.server.resume();
    }
    await sleep(350);
    expect(await cache.get('cold-y')).toBeUndefined(); // the half-open probe succeeds
    expect((await cache.healthCheck()).breakers.find((b) => b.name === 'redis')?.state).toBe('closed');
  });

  it('loader breaker: a failing loader stops being called; callers get the stale value meanwhile', async () => {
    const cache = await makeCache({ circuitBreaker: { failureRatio: 0.5, minimumCalls: 3, windowMs: 10_000, openMs: 200 } });
    let calls = 0;
    let healthy = true;
    async function userLoader(key: string) {
      calls++;
      if (!healthy) throw new Error('db down');
      return `value of ${key}`;
    }
    const k = { breakerKey: 'users' };
    expect(await cache.getOrSet('a', userLoader, { ...k, ttl: 0.05, grace: 60 })).toBe('value of a');
    healthy = false;
    await sleep(60);
    // 1 success + 2 failures = 2/3 over the minimum of 3 calls: open.
    for (let i = 0; i < 2; i++) await expect(cache.getOrSet(`x${i}`, (key) => userLoader(key), k)).rejects.toBeInstanceOf(LoaderError);
    const before = calls;
    // Open now: no call reaches the loader; the stale value answers, an uncached key gets a typed error.
    expect(await cache.getOrSet('a', userLoader, { ...k, ttl: 0.05, grace: 60 })).toBe('value of a');
    await expect(cache.getOrSet('y', userLoader, k)).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' });
    expect(calls).toBe(before);
    expect((await cache.getStats()).breakers.find((b) => b.name === 'loader:users')?.state).toBe('open');
    healthy = true;
    await sleep(250);
    expect(await cache.getOrSet('a', userLoader, { ...k, ttl: 10 })).toBe('value of a'); // probe goes through, refreshes
    expect((await cache.getStats()).breakers.find((b) => b.name === 'loader:users')?.state).toBe('closed');
    // A DataLoader object gets its own breaker without a key.
    await cache.getOrSet('d', { load: async () => 'dl' });
    expect((await cache.getStats()).breakers.some((b) => b.name === 'loader:Object')).toBe(true);
  });
});
