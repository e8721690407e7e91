import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { LoaderError, LoaderTimeoutError } from '../src/errors.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
      const call = { ttl: 0.15, grace: 0.6 };
      expect(await cache.getOrSet('k', () => 'v1', call)).toBe('v1');
      await sleep(200); // past the TTL, inside grace
      expect(await cache.get('k')).toBeUndefined(); // a plain read never sees a stale value
      const failing = () => Promise.reject(new Error('db down'));
      const start = Date.now();
      let served = 0;
      while (Date.now() - start < 300) {
        expect(await cache.getOrSet('k', failing, call)).toBe('v1');
        served++;
        await sleep(20);
      }
      expect(served).toBeGreaterThan(5);
      expect((await cache.getStats()).loader.failSafeHits).toBeGreaterThan(5);
      await sleep(450); // grace over (0.15 + 0.6 s after the write)
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
    const t0 = Date.now();
    expect(await cache.getOrSet('k', slow, { ttl: 10, grace: 5, softTimeoutMs: 50 })).toBe('v1');
    expect(Date.now() - t0).toBeLessThan(250);
    expect(finished).toBe(false);
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
    const t0 = Date.now();
    expect(await b.getOrSet('k', () => 'never', { ttl: 10, grace: 5 })).toBe('v1');
    expect(Date.now() - t0).toBeLessThan(150);
    expect(await reloading).toBe('v2');
  });
});
