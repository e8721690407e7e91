/**
 * The Keyv store (`tiercache/keyv`) under Keyv's own adapter test suite (@keyv/test-suite: API,
 * values, namespaces) with the real `keyv` package, over an L1-only cache and over a real
 * redis-server; then through cache-manager v7 as a NestJS CacheModule would use it.
 */
import Keyv from 'keyv';
import keyvTestSuite from '@keyv/test-suite';
import { createCache } from 'cache-manager';
import * as vitest from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyvTiercache } from '../src/adapters/keyv_store.js';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
// The suite takes vitest's module; its declarations name its own (newer) vitest's types.
type SuiteVitest = Parameters<typeof keyvTestSuite>[0];
const suiteVitest = vitest as unknown as SuiteVitest;

describe('Keyv adapter suite, L1-only cache', () => {
  let cache: IntegratedCacheManager;
  beforeAll(async () => {
    cache = createIntegratedCache({ enableMonitoring: false, logLevel: 'silent' });
    await cache.initialize();
  });
  afterAll(() => cache.close());
  keyvTestSuite(suiteVitest, Keyv, () => new KeyvTiercache(cache));
});

describe('Keyv adapter suite, L1 + Redis', () => {
  let cache: IntegratedCacheManager;
  beforeAll(async () => {
    cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent' });
    await cache.initialize();
  });
  afterAll(() => cache.close());
  keyvTestSuite(suiteVitest, Keyv, () => new KeyvTiercache(cache));
});

describe('KeyvTiercache', () => {
  it('stores in Redis under the cache namespace, with Keyv TTLs in ms as PX', async () => {
    const ns = uniqueNamespace();
    const store = new KeyvTiercache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent' });
    const keyv = new Keyv({ store, namespace: 'app' });
    expect(await keyv.set('a', { n: 1 }, 1500)).toBe(true);
    expect(await keyv.get('a')).toEqual({ n: 1 });
    const raw = await rawClient(redis.url);
    try {
      const pttl = await raw.pTTL(`${ns}:v2:app:a`);
      expect(pttl).toBeGreaterThan(1000);
      expect(pttl).toBeLessThanOrEqual(1500);
    } finally {
      raw.destroy();
    }
    expect(await keyv.getMany(['a', 'missing'])).toEqual([{ n: 1 }, undefined]);
    await keyv.disconnect(); // the store created the cache: it closes it
    await expect((await store.cache()).get('x')).rejects.toThrow(/closed/);
  });

  it('a namespace with glob characters clears only itself', async () => {
    const cache = createIntegratedCache({ enableMonitoring: false, logLevel: 'silent' });
    await cache.initialize();
    try {
      const star = new Keyv({ store: new KeyvTiercache(cache), namespace: 'a*' });
      const other = new Keyv({ store: new KeyvTiercache(cache), namespace: 'ab' });
      await star.set('k', 1);
      await other.set('k', 2);
      await star.clear();
      expect(await star.get('k')).toBeUndefined();
      expect(await other.get('k')).toBe(2);
      await star.disconnect(); // a cache passed in stays open
      expect(await other.get('k')).toBe(2);
    } finally {
      await cache.close();
    }
  });

  it('a refused key is a Keyv error event and false, not a crash', async () => {
    const cache = createIntegratedCache({ enableMonitoring: false, logLevel: 'silent', maxKeyLength: 16 });
    await cache.initialize();
    try {
      const keyv = new Keyv({ store: new KeyvTiercache(cache) });
      const errors: unknown[] = [];
      keyv.on('error', (e) => errors.push(e));
      expect(await keyv.set('x'.repeat(40), 1)).toBe(false);
      expect(errors).toHaveLength(1);
      expect((errors[0] as Error).constructor.name).toBe('InvalidKeyError');
    } finally {
      await cache.close();
    }
  });

  it('cache-manager v7 over the store: get/set/del/wrap, and two instances share through Redis', async () => {
    const ns = uniqueNamespace();
    const make = () => createCache({ stores: [new Keyv({ store: new KeyvTiercache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent' }) })] });
    const a = make();
    const b = make();
    try {
      await a.set('user:1', { name: 'Ada' }, 60_000);
      expect(await a.get('user:1')).toEqual({ name: 'Ada' });
      expect(await b.get('user:1')).toEqual({ name: 'Ada' });
      let loads = 0;
      const loader = async () => {
        loads++;
        return { name: 'Grace' };
      };
      expect(await a.wrap('user:2', loader, 60_000)).toEqual({ name: 'Grace' });
      expect(await b.wrap('user:2', loader, 60_000)).toEqual({ name: 'Grace' });
      expect(loads).toBe(1);
      expect(await a.ttl('user:2')).toBeGreaterThan(Date.now());
      await b.del('user:1');
      // Coherence: b's delete reaches a's L1 through Redis invalidation.
      await vitest.vi.waitFor(async () => expect(await a.get('user:1')).toBeUndefined(), { timeout: 2000 });
      await a.mset([
        { key: 'm:1', value: 1 },
        { key: 'm:2', value: 2 },
      ]);
      expect(await b.mget(['m:1', 'm:2', 'm:3'])).toEqual([1, 2, undefined]);
      await a.clear();
      expect(await b.get('m:1')).toBeUndefined();
    } finally {
      await a.disconnect();
      await b.disconnect();
    }
  });
});
