/**
 * The public types, checked by the type checker (`npm run typecheck` covers test/): each
 * `expectTypeOf` is a compile-time assertion and each `@ts-expect-error` a call that must not
 * compile. The runtime part only proves the calls run on an L1-only cache.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheConfig, type IntegratedCacheManager, type IntegratedCacheOptions, quickTune } from '../../src/index.js';
import { integratedCacheConfigSchema } from '../../src/config/config_schema.js';
import type { z } from 'zod';
import { KeyvTiercache } from '../../src/adapters/keyv_store.js';

interface User {
  id: number;
  name: string;
}
interface Session {
  token: string;
}
interface AppCache {
  'user:': User;
  'session:': Session;
}

describe('types', () => {
  it('getOrSet returns what the loader returns, undefined only if the loader may', async () => {
    const cache = createIntegratedCache({ enableMonitoring: false });
    await cache.initialize();
    const a = await cache.getOrSet('k:1', async () => ({ n: 1 }));
    expectTypeOf(a).toEqualTypeOf<{ n: number }>();
    const b = await cache.getOrSet('k:2', () => 42);
    expectTypeOf(b).toEqualTypeOf<number>();
    const c = await cache.getOrSet('k:3', async (): Promise<User | undefined> => undefined);
    expectTypeOf(c).toEqualTypeOf<User | undefined>();
    const d = await cache.getOrSet('k:4', { load: async (key: string) => ({ key }) });
    expectTypeOf(d).toEqualTypeOf<{ key: string }>();
    // The explicit form of before still compiles on an untyped cache, with its old result type.
    expectTypeOf(await cache.getOrSet<User>('k:5', async () => ({ id: 5, name: 'x' }))).toEqualTypeOf<User | undefined>();
    expect(a.n).toBe(1); // no `!` needed
    expect(b + 1).toBe(43);
    await cache.close();
  });

  it('an untyped cache keeps string keys, unknown values and caller-asserted get<T>', async () => {
    const cache = createIntegratedCache({ enableMonitoring: false });
    expectTypeOf(cache).toEqualTypeOf<IntegratedCacheManager>();
    await cache.initialize();
    const key: string = 'any:key';
    await cache.set(key, { anything: true });
    expectTypeOf(await cache.get(key)).toEqualTypeOf<unknown>();
    expectTypeOf(await cache.get<{ anything: boolean }>(key)).toEqualTypeOf<{ anything: boolean } | undefined>();
    expectTypeOf(await cache.getMany<number>([key])).toEqualTypeOf<(number | undefined)[]>();
    expectTypeOf(cache.getSync<string>(key)).toEqualTypeOf<string | undefined>();
    expect(await cache.get<{ anything: boolean }>(key)).toEqual({ anything: true });
    await cache.close();
  });

  it('a schema types keys and values by prefix', async () => {
    const cache = createIntegratedCache<AppCache>({ enableMonitoring: false });
    await cache.initialize();
    const id = 7;
    await cache.set(`user:${id}`, { id, name: 'Ada' });
    expectTypeOf(await cache.get(`user:${id}`)).toEqualTypeOf<User | undefined>();
    expectTypeOf(await cache.get('session:x', { default: { token: 't' } })).toEqualTypeOf<Session | undefined>();
    expectTypeOf(cache.getSync('user:1')).toEqualTypeOf<User | undefined>();
    expectTypeOf(await cache.getMany(['user:1', 'session:2'])).toEqualTypeOf<(User | Session | undefined)[]>();
    const u = await cache.getOrSet('user:8', async () => ({ id: 8, name: 'Grace' }));
    expectTypeOf(u).toEqualTypeOf<{ id: number; name: string }>();
    await cache.setMany([
      { key: 'user:9', value: { id: 9, name: 'x' } },
      { key: 'session:9', value: { token: 'y' }, ttl: 5 },
    ]);

    // @ts-expect-error a Session is not a User
    await cache.set('user:1', { token: 'nope' });
    // @ts-expect-error no prefix of the schema matches
    await cache.get('order:1');
    // @ts-expect-error get<T> is a cast: a typed cache does not offer it
    await cache.get<number>('user:1');
    // @ts-expect-error the explicit getOrSet<T> is for untyped caches only
    await cache.getOrSet<Session>('user:1', async () => ({ token: 'x' }));
    // @ts-expect-error the loader must produce the key's type
    await cache.getOrSet('session:1', async () => 5);
    // @ts-expect-error a setMany entry's value follows its key
    await cache.setMany([{ key: 'session:1', value: { id: 1, name: 'x' } }]);
    // @ts-expect-error typed keys for delete too
    await cache.delete('order:1').catch(() => undefined);

    expect(await cache.get('user:7')).toEqual({ id: 7, name: 'Ada' });
    expect(await cache.get('session:9')).toEqual({ token: 'y' });
    // A typed cache goes wherever an untyped one is taken (tuning, dashboard, Keyv store).
    const tuneLater = (): Promise<unknown> => quickTune(cache); // compiles: that is the check
    expect(typeof tuneLater).toBe('function');
    const store = new KeyvTiercache(cache);
    expect(await store.get('user:7')).toEqual({ id: 7, name: 'Ada' });
    await cache.close();
  });

  it('the options interface is the schema input, documented', () => {
    expectTypeOf<IntegratedCacheOptions>().toEqualTypeOf<z.input<typeof integratedCacheConfigSchema>>();
    // The resolved config is published without zod's types, and is still what parsing returns.
    expectTypeOf<IntegratedCacheConfig>().toEqualTypeOf<z.output<typeof integratedCacheConfigSchema>>();
    // @ts-expect-error unknown options are refused at compile time as at run time
    const bad: IntegratedCacheOptions = { redisURL: 'redis://x' };
    expect(bad).toBeDefined();
  });
});
