import { describe, expect, it } from 'vitest';
import { createIntegratedCache, ManualClock } from '../src/index.js';
import { CacheStateError, InvalidKeyError, LoaderError } from '../src/errors.js';

describe('L1-only mode (no Redis configured)', () => {
  it('serves the whole API from memory', async () => {
    const clock = new ManualClock();
    const cache = createIntegratedCache({ clock, logLevel: 'silent' });
    await cache.initialize();
    expect(cache.hasL2).toBe(false);
    await cache.set('user:1', { name: 'Ann' }, { ttl: 10 });
    expect(await cache.get('user:1')).toEqual({ name: 'Ann' });
    expect(cache.getSync('user:1')).toEqual({ name: 'Ann' });
    expect(await cache.has('user:1')).toBe(true);
    clock.advance(10_000);
    expect(await cache.get('user:1')).toBeUndefined();
    expect(await cache.get('user:1', { default: 0 })).toBe(0);

    let calls = 0;
    const [a, b] = await Promise.all([cache.getOrSet('k', () => ++calls), cache.getOrSet('k', () => ++calls)]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    await expect(cache.getOrSet('e', () => Promise.reject(new Error('x')))).rejects.toBeInstanceOf(LoaderError);

    await cache.setMany([{ key: 'temp:1', value: 1 }, { key: 'temp:2', value: 2 }, { key: 'keep', value: 3 }]);
    expect(await cache.getMany(['temp:1', 'keep', 'none'])).toEqual([1, 3, undefined]);
    expect(await cache.invalidatePattern('temp:*')).toBe(2);
    expect(await cache.getMany(['temp:1', 'temp:2', 'keep'])).toEqual([undefined, undefined, 3]);
    expect(await cache.delete('keep')).toBe(true);
    await cache.set('x', 1);
    await cache.clear();
    expect(cache.getSync('x')).toBeUndefined();

    const h = await cache.healthCheck();
    expect(h).toMatchObject({ overallHealth: 'healthy', redisConnected: null, l1Enabled: true });
    const s = await cache.getStats();
    expect(s.l2.enabled).toBe(false);
    expect(s.hits).toBeGreaterThan(0);
    expect(s.misses).toBeGreaterThan(0);
    expect(s.hitRate).toBeCloseTo(s.hits / (s.hits + s.misses));
    expect(s.latency.get.count + s.latency.getOrSet.count).toBeGreaterThan(0);
    await cache.close();
  });

  it('the entry bound holds through the facade', async () => {
    const cache = createIntegratedCache({ l1MaxSize: 100, logLevel: 'silent' });
    await cache.initialize();
    for (let i = 0; i < 1000; i++) await cache.set(`k${i}`, i);
    const s = await cache.getStats();
    expect(s.l1.enabled && s.l1.size).toBe(100);
    expect(s.l1.enabled && s.l1.evictions).toBe(900);
    expect(cache.getSync('k999')).toBe(999);
    await cache.close();
  });

  it('refuses use before initialize and after close with CacheStateError', async () => {
    const cache = createIntegratedCache({ logLevel: 'silent' });
    expect(() => cache.getSync('a')).toThrow(CacheStateError);
    await expect(cache.get('a')).rejects.toBeInstanceOf(CacheStateError);
    await cache.initialize();
    await expect(cache.initialize()).rejects.toBeInstanceOf(CacheStateError);
    await cache.close();
    await expect(cache.set('a', 1)).rejects.toBeInstanceOf(CacheStateError);
    expect(() => cache.getSync('a')).toThrow(CacheStateError);
  });

  it('validates keys on the miss path of reads', async () => {
    const cache = createIntegratedCache({ logLevel: 'silent' });
    await cache.initialize();
    await expect(cache.get('')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.get('bad\u0007key')).rejects.toBeInstanceOf(InvalidKeyError);
    await cache.close();
  });
});
