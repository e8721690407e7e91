import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, createIntegratedCache, type IntegratedCacheManager, type LoaderContext } from '../src/index.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

/** A loader that blocks until released, recording the signal it was given. */
function gate<T>(value: T) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const seen: AbortSignal[] = [];
  let calls = 0;
  const loader = async (_key: string, ctx: LoaderContext): Promise<T> => {
    calls++;
    seen.push(ctx.signal);
    await released;
    return value;
  };
  return { loader, release, seen, calls: () => calls };
}

const caches: IntegratedCacheManager[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
});

function suite(name: string, make: () => Promise<IntegratedCacheManager>) {
  describe(`getOrSet signal (${name})`, () => {
    it('an already-aborted signal rejects with AbortedError (E_ABORTED) and calls no loader, even on a hit', async () => {
      const cache = await make();
      await cache.set('hit', 1);
      const ac = new AbortController();
      ac.abort(new Error('gone'));
      let calls = 0;
      const miss = cache.getOrSet('miss', () => ++calls, { signal: ac.signal });
      await expect(miss).rejects.toBeInstanceOf(AbortedError);
      await expect(miss).rejects.toMatchObject({ code: 'E_ABORTED', key: 'miss' });
      await expect(cache.getOrSet('hit', () => 2, { signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
      expect(calls).toBe(0);
    });

    it('a signal that is not an AbortSignal is a typed InvalidArgumentError', async () => {
      const cache = await make();
      await expect(cache.getOrSet('k', () => 1, { signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    });

    it("one waiter's abort rejects only that waiter; the shared load goes on for the other and its signal stays live", async () => {
      const cache = await make();
      const g = gate('v');
      const ac = new AbortController();
      const a = cache.getOrSet('k', g.loader, { signal: ac.signal });
      const b = cache.getOrSet('k', g.loader); // no signal: holds the load
      await waitFor(() => g.calls() === 1);
      ac.abort();
      await expect(a).rejects.toBeInstanceOf(AbortedError);
      expect(g.seen[0].aborted).toBe(false);
      g.release();
      expect(await b).toBe('v');
      expect(g.calls()).toBe(1);
      expect(await cache.get('k')).toBe('v');
    });

    it("the loader's signal aborts only when the last waiter aborts, and the next call starts a fresh load", async () => {
      const cache = await make();
      const g = gate('v');
      const ac1 = new AbortController();
      const ac2 = new AbortController();
      const a = cache.getOrSet('k2', g.loader, { signal: ac1.signal });
      const b = cache.getOrSet('k2', g.loader, { signal: ac2.signal });
      await waitFor(() => g.calls() === 1);
      ac1.abort();
      await expect(a).rejects.toBeInstanceOf(AbortedError);
      expect(g.seen[0].aborted).toBe(false);
      ac2.abort('stop');
      await expect(b).rejects.toMatchObject({ code: 'E_ABORTED', cause: 'stop' });
      expect(g.seen[0].aborted).toBe(true);
      // The abandoned load is gone: a new caller loads anew (the old loader never returned).
      expect(await cache.getOrSet('k2', () => 'fresh')).toBe('fresh');
      g.release();
    });
  });
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
}

suite('L1 only', async () => {
  const c = createIntegratedCache({ logLevel: 'silent' });
  await c.initialize();
  caches.push(c);
  return c;
});

describe('with Redis', () => {
  const redis = useRedisServer();
  const make = async (namespace = uniqueNamespace('abort')) => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace, logLevel: 'silent', lockWaitMs: 10_000 });
    await c.initialize();
    caches.push(c);
    return c;
  };
  suite('Redis', () => make());

  it('the last waiter abort releases the stampede lock: another instance loads at once instead of waiting lockWaitMs', async () => {
    const ns = uniqueNamespace('abortlock');
    const a = await make(ns);
    const b = await make(ns);
    const g = gate('never');
    const ac = new AbortController();
    const pending = a.getOrSet('locked', g.loader, { signal: ac.signal });
    await waitFor(() => g.calls() === 1);
    const raw = await rawClient(redis.url);
    try {
      const lockKeys = async () => (await raw.keys(`${ns}*`)).filter((k) => k.includes('lock'));
      expect((await lockKeys()).length).toBe(1);
      ac.abort();
      await expect(pending).rejects.toBeInstanceOf(AbortedError);
      await waitForAsync(async () => (await lockKeys()).length === 0);
      const t0 = Date.now();
      expect(await b.getOrSet('locked', () => 'from-b')).toBe('from-b');
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      g.release();
      await raw.close();
    }
  });
});

async function waitForAsync(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(await cond()).toBe(true);
}
