// Issue 15, hole 12: one call could stall the process for one rate-limit token (1e6 tags: ~5 s of
// event loop at ~2 GB RSS; getMany of 200,000 keys likewise). Tags, dependencies and batch sizes
// are bounded (configurable, typed errors), and bulk calls cost their size in rate-limit tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegratedCache, LimitExceededError, Permission, RateLimitError, SecurityLevel, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
let cache: IntegratedCacheManager;
const caches: IntegratedCacheManager[] = [];

beforeAll(async () => {
  cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('lim'), logLevel: 'silent' });
  await cache.initialize();
});
afterAll(async () => {
  await cache?.close();
  for (const c of caches) await c.close();
});

const keys = (n: number, p = 'k') => Array.from({ length: n }, (_, i) => `${p}:${i}`);

describe('hole 12: bounded calls', () => {
  it('the defaults: 1000 tags, 1000 dependencies, 10,000 keys per batch; above them a LimitExceededError, nothing written', async () => {
    const tooManyTags = keys(1001, 't');
    await expect(cache.set('big:tags', 1, { tags: tooManyTags })).rejects.toBeInstanceOf(LimitExceededError);
    await expect(cache.getOrSet('big:tags2', () => 1, { tags: tooManyTags })).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED', size: 1001, limit: 1000 });
    await expect(cache.set('big:deps', 1, { dependsOn: keys(1001, 'd') })).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED' });
    await expect(cache.invalidateTags(tooManyTags)).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED' });
    await expect(cache.getMany(keys(10_001))).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED', limit: 10_000 });
    await expect(cache.setMany(keys(10_001).map((key) => ({ key, value: 1 })))).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED' });
    await expect(cache.warmer.warmKeys(keys(10_001), () => 1)).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED' });
    await expect(cache.patternManager.getMany(keys(10_001), () => 1)).rejects.toMatchObject({ code: 'E_LIMIT_EXCEEDED' });
    expect(await cache.has('big:tags')).toBe(false);
    expect(await cache.has('big:deps')).toBe(false);
    // At the limit, accepted.
    await cache.set('ok:tags', 1, { tags: keys(1000, 't') });
    expect((await cache.getMany(keys(10_000))).length).toBe(10_000);
  });

  it('a million tags is refused before any of them is looked at', async () => {
    const million = new Array<string>(1_000_000).fill('t');
    const started = performance.now();
    await expect(cache.set('huge', 1, { tags: million })).rejects.toBeInstanceOf(LimitExceededError);
    await expect(cache.getMany(new Array<string>(200_000).fill('k'))).rejects.toBeInstanceOf(LimitExceededError);
    // The refusal reads the length only (it was ~5 s of work before).
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('the limits are configurable', async () => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('lim2'), logLevel: 'silent', maxTagsPerKey: 2, maxDependencies: 1, maxBatchSize: 3 });
    caches.push(c);
    await c.initialize();
    await expect(c.set('a', 1, { tags: ['x', 'y', 'z'] })).rejects.toBeInstanceOf(LimitExceededError);
    await expect(c.set('a', 1, { dependsOn: ['b', 'c'] })).rejects.toBeInstanceOf(LimitExceededError);
    await expect(c.getMany(['a', 'b', 'c', 'd'])).rejects.toBeInstanceOf(LimitExceededError);
    await c.set('a', 1, { tags: ['x', 'y'], dependsOn: ['b'] });
    expect(await c.getMany(['a', 'b', 'c'])).toEqual([1, undefined, undefined]);
    expect(() => createIntegratedCache({ maxBatchSize: 0 })).toThrow(/maxBatchSize/);
  });
});

describe('hole 12: bulk calls cost their size in rate-limit tokens', () => {
  it('a role limit: one getMany of 100 keys spends what 100 gets would', async () => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('limrl'), logLevel: 'silent', enableSecurity: true });
    caches.push(c);
    await c.initialize();
    // 600/min: 10/s sustained, burst 100.
    await c.securityManager.addCustomRole({ name: 'bulk', permissions: [Permission.READ, Permission.WRITE], keyPatterns: ['k:*'], securityLevel: SecurityLevel.INTERNAL, rateLimit: 600 });
    const sid = await c.createSession('bob', 'bulk');
    await c.getMany(keys(95), { sessionId: sid });
    await expect(c.getMany(keys(95), { sessionId: sid })).rejects.toBeInstanceOf(RateLimitError);
  });

  it('the global limit: setMany of 40 entries spends 40 tokens', async () => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('limgl'), logLevel: 'silent', globalRateLimit: { opsPerSecond: 5, burst: 50 } });
    caches.push(c);
    await c.initialize();
    await c.setMany(keys(40).map((key) => ({ key, value: 1 })));
    await expect(c.setMany(keys(40).map((key) => ({ key, value: 2 })))).rejects.toBeInstanceOf(RateLimitError);
  });

  it('a call larger than the burst is charged a full burst, so it is not refused forever', async () => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('limbu'), logLevel: 'silent', globalRateLimit: { opsPerSecond: 5, burst: 50 } });
    caches.push(c);
    await c.initialize();
    await c.setMany(keys(60).map((key) => ({ key, value: 1 })));
    await expect(c.get('k:1')).rejects.toBeInstanceOf(RateLimitError);
  });
});
