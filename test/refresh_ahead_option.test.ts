import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, createIntegratedCache, InvalidArgumentError, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const caches: IntegratedCacheManager[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300 && !(await cond()); i++) await sleep(5);
  expect(await cond()).toBe(true);
}

function suite(name: string, make: () => Promise<IntegratedCacheManager>) {
  describe(`cache.getOrSet({ refreshAhead }) (${name})`, () => {
    it('answers the cached value and reloads in the background once the entry is past the fraction of its TTL', async () => {
      const cache = await make();
      let calls = 0;
      const loader = () => `v${++calls}`;
      expect(await cache.getOrSet('hot', loader, { ttl: 2, refreshAhead: 0.5 })).toBe('v1');
      // Young entry: no reload.
      expect(await cache.getOrSet('hot', loader, { ttl: 2, refreshAhead: 0.5 })).toBe('v1');
      expect(calls).toBe(1);
      // 1.1 s of a 2 s TTL: past half its life, 0.9 s before expiry (the slack for a slow machine).
      await sleep(1_100);
      expect(await cache.getOrSet('hot', loader, { ttl: 2, refreshAhead: 0.5 })).toBe('v1');
      await until(async () => (await cache.get('hot')) === 'v2');
      expect(calls).toBe(2);
      expect(cache.patternManager.stats.refreshes).toBe(1);
    });

    it('a miss is a plain read-through', async () => {
      const cache = await make();
      expect(await cache.getOrSet('cold', () => 7, { refreshAhead: 0.8 })).toBe(7);
      expect(await cache.get('cold')).toBe(7);
    });

    it('refreshAhead outside (0, 1) is a typed InvalidArgumentError', async () => {
      const cache = await make();
      for (const bad of [0, 1, 1.5, -0.1, Number.NaN, '0.5']) {
        await expect(cache.getOrSet('k', () => 1, { refreshAhead: bad as number })).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });

    it('an aborted signal rejects even when refresh-ahead would answer from the cache', async () => {
      const cache = await make();
      await cache.set('s', 1);
      const ac = new AbortController();
      ac.abort();
      await expect(cache.getOrSet('s', () => 2, { refreshAhead: 0.8, signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
    });
  });
}

suite('L1 only', async () => {
  const c = createIntegratedCache({ logLevel: 'silent' });
  await c.initialize();
  caches.push(c);
  return c;
});

describe('with Redis', () => {
  const redis = useRedisServer();
  suite('Redis', async () => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('ra'), logLevel: 'silent' });
    await c.initialize();
    caches.push(c);
    return c;
  });
});
