/**
 * Typed events (`cache.on(...)`) and diagnostics_channel tracing (`tiercache:<operation>`):
 * payloads for each operation and tier, nothing built while nobody listens or subscribes,
 * coherence invalidations and absorbed L2 failures over a real redis-server, breaker changes.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIntegratedCache, LoaderError, type CacheEventMap, type IntegratedCacheManager, type IntegratedCacheOptions, type TraceContext } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ enableMonitoring: false, logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** Records every payload of the given events, in order. */
function record(cache: IntegratedCacheManager, names: (keyof CacheEventMap)[]): Array<[string, unknown]> {
  const seen: Array<[string, unknown]> = [];
  for (const n of names) cache.on(n, (p: unknown) => seen.push([n, p]));
  return seen;
}

describe('typed events', () => {
  it('hit, miss, set and delete carry the operation, key and tier', async () => {
    const cache = await makeCache();
    const seen = record(cache, ['hit', 'miss', 'set', 'delete']);
    await cache.set('a', 1, { ttl: 5 });
    await cache.get('a');
    await cache.get('nope');
    await cache.getOrSet('b', () => 2);
    await cache.getOrSet('b', () => 3);
    await cache.getMany(['a', 'zz']);
    await cache.setMany([{ key: 'c', value: 3 }]);
    await cache.delete('a');
    await cache.delete('a');
    expect(seen).toEqual([
      ['set', { operation: 'set', key: 'a', ttl: 5 }],
      ['hit', { operation: 'get', key: 'a', tier: 'l1' }],
      ['miss', { operation: 'get', key: 'nope', loaded: false }],
      ['miss', { operation: 'getOrSet', key: 'b', loaded: true }],
      ['set', { operation: 'getOrSet', key: 'b', ttl: 3600 }],
      ['hit', { operation: 'getOrSet', key: 'b', tier: 'l1' }],
      ['hit', { operation: 'getMany', key: 'a', tier: 'l1' }],
      ['miss', { operation: 'getMany', key: 'zz', loaded: false }],
      ['set', { operation: 'setMany', key: 'c', ttl: 3600 }],
      ['delete', { key: 'a', existed: true }],
      ['delete', { key: 'a', existed: false }],
    ]);
  });

  it("a thenable loader counts as this call's load only once it resolves (a failed reload serving grace is no set)", async () => {
    const cache = await makeCache();
    const ok: PromiseLike<number> = { then: (res) => Promise.resolve(res?.(7)) as never };
    expect(await cache.getOrSet('t', () => ok, { ttl: 0.05, grace: 5 })).toBe(7);
    await new Promise((r) => setTimeout(r, 100));
    const seen = record(cache, ['miss', 'set', 'hit']);
    const failing: PromiseLike<number> = { then: (_res, rej) => Promise.resolve(rej?.(new Error('source down'))) as never };
    expect(await cache.getOrSet('t', () => failing, { ttl: 0.05, grace: 5 })).toBe(7); // the stale value
    expect(seen.filter(([name]) => name === 'set')).toEqual([]);
    expect(seen).toEqual([['hit', { operation: 'getOrSet', key: 't', tier: 'l2' }]]);
  });

  it('invalidatePattern and invalidateTags are invalidated events with their counts', async () => {
    const cache = await makeCache();
    await cache.set('p:1', 1);
    await cache.set('p:2', 2, { tags: ['t'] });
    const seen = record(cache, ['invalidated']);
    await cache.invalidateTags(['t']);
    await cache.invalidatePattern('p:*');
    expect(seen).toEqual([
      ['invalidated', { source: 'tags', tags: ['t'], count: 1 }],
      ['invalidated', { source: 'pattern', pattern: 'p:*', count: 1 }],
    ]);
  });

  it('nothing is built while no listener is attached, and listeners can go again', async () => {
    const cache = await makeCache();
    const fire = vi.spyOn(cache.events, 'fire');
    await cache.set('k', 1);
    await cache.get('k');
    expect(cache.events.active).toBe(false);
    expect(fire).not.toHaveBeenCalled();
    const onHit = vi.fn();
    cache.on('hit', onHit);
    expect(cache.events.active).toBe(true);
    await cache.get('k');
    expect(onHit).toHaveBeenCalledWith({ operation: 'get', key: 'k', tier: 'l1' });
    cache.off('hit', onHit);
    expect(cache.events.active).toBe(false);
    fire.mockClear();
    await cache.get('k');
    expect(fire).not.toHaveBeenCalled();
    // A 'security' listener alone (usual with security on) does not switch the operation events on.
    const onSecurity = vi.fn();
    cache.on('security', onSecurity);
    expect(cache.events.active).toBe(false);
    await cache.get('k');
    expect(fire).not.toHaveBeenCalled();
    cache.off('security', onSecurity);
    // once() detaches itself.
    const onMiss = vi.fn();
    cache.once('miss', onMiss);
    await cache.get('x');
    await cache.get('y');
    expect(onMiss).toHaveBeenCalledTimes(1);
    expect(cache.events.active).toBe(false);
  });

  it('a listener that throws does not fail the call', async () => {
    const cache = await makeCache();
    cache.on('hit', () => {
      throw new Error('listener bug');
    });
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    await cache.set('k', 1);
    await expect(cache.get('k')).resolves.toBe(1);
    expect((await warned).message).toContain('listener bug');
  });

  it('breaker: a loader breaker opening and half-opening', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const cache = await makeCache({ circuitBreaker: { failureRatio: 0.5, minimumCalls: 2, windowMs: 10_000, openMs: 1000 } });
      const seen = record(cache, ['breaker']);
      const failing = async (): Promise<number> => {
        throw new Error('db down');
      };
      for (let i = 0; i < 2; i++) await expect(cache.getOrSet(`k${i}`, failing, { breakerKey: 'db' })).rejects.toBeInstanceOf(LoaderError);
      expect(seen).toEqual([['breaker', { name: 'loader:db', state: 'open', previous: 'closed' }]]);
      now += 1001;
      await cache.getOrSet('k9', async () => 9, { breakerKey: 'db' });
      expect(seen.slice(1)).toEqual([
        ['breaker', { name: 'loader:db', state: 'half-open', previous: 'open' }],
        ['breaker', { name: 'loader:db', state: 'closed', previous: 'half-open' }],
      ]);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('events over Redis', () => {
  it("another instance's write is an invalidated event; an L2 hit says tier l2", async () => {
    const namespace = uniqueNamespace();
    const a = await makeCache({ redisUrl: redis.url, namespace });
    const b = await makeCache({ redisUrl: redis.url, namespace });
    await a.set('k', 1);
    const seen = record(a, ['invalidated']);
    const hits = record(b, ['hit']);
    await b.set('k', 2);
    await vi.waitFor(() => expect(seen).toContainEqual(['invalidated', { source: 'coherence', key: 'k' }]), { timeout: 2000 });
    const c = await makeCache({ redisUrl: redis.url, namespace });
    const cHits = record(c, ['hit']);
    expect(await c.get('k')).toBe(2);
    expect(cHits).toEqual([['hit', { operation: 'get', key: 'k', tier: 'l2' }]]);
    expect(hits).toEqual([]);
  });

  it('an L2 failure served as a miss is an error event (and no throw)', async () => {
    const cache = await makeCache({ redisUrl: redis.url, namespace: uniqueNamespace(), l2CommandTimeoutMs: 100, enableCoherence: false, circuitBreaker: false });
    const errors: CacheEventMap['error'][] = [];
    cache.on('error', (e) => errors.push(e));
    redis.server.pause();
    try {
      expect(await cache.get('absent')).toBeUndefined();
    } finally {
      redis.server.resume();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: 'get', key: 'absent', tier: 'l2' });
    expect(errors[0].error).toBeInstanceOf(Error);
  });
});

describe('diagnostics_channel tracing', () => {
  /** Subscribes to one operation's tracing channel and returns what each phase saw. */
  function trace(op: string) {
    const channel = diagnosticsChannel.tracingChannel<object, TraceContext>(`tiercache:${op}`);
    const events: Array<{ phase: string; ctx: TraceContext }> = [];
    const handlers = {
      start: (ctx: TraceContext) => events.push({ phase: 'start', ctx: { ...ctx } }),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (ctx: TraceContext) => events.push({ phase: 'asyncEnd', ctx: { ...ctx } }),
      error: (ctx: TraceContext) => events.push({ phase: 'error', ctx: { ...ctx } }),
    };
    channel.subscribe(handlers);
    return { events, channel, stop: () => channel.unsubscribe(handlers) };
  }

  it('tiercache:get reports key, tier and hit/miss; tiercache:getOrSet the loader; errors on the error channel', async () => {
    const namespace = uniqueNamespace();
    const writer = await makeCache({ redisUrl: redis.url, namespace });
    const cache = await makeCache({ redisUrl: redis.url, namespace });
    await writer.set('remote', 'r');
    const get = trace('get');
    const getOrSet = trace('getOrSet');
    try {
      await cache.get('remote'); // L2
      await cache.get('remote'); // now L1
      await cache.get('missing');
      await cache.getOrSet('loaded', async () => 'v');
      await expect(
        cache.getOrSet('fails', async () => {
          throw new Error('source down');
        }),
      ).rejects.toBeInstanceOf(LoaderError);
    } finally {
      get.stop();
      getOrSet.stop();
    }
    const ends = get.events.filter((e) => e.phase === 'asyncEnd').map((e) => e.ctx);
    expect(ends).toEqual([
      { operation: 'get', namespace, key: 'remote', tier: 'l2', hit: true, result: 'r' },
      { operation: 'get', namespace, key: 'remote', tier: 'l1', hit: true, result: 'r' },
      { operation: 'get', namespace, key: 'missing', hit: false, result: undefined },
    ]);
    expect(get.events.filter((e) => e.phase === 'start').map((e) => e.ctx.key)).toEqual(['remote', 'remote', 'missing']);
    const loaded = getOrSet.events.find((e) => e.phase === 'asyncEnd' && e.ctx.key === 'loaded')?.ctx;
    expect(loaded).toMatchObject({ operation: 'getOrSet', key: 'loaded', tier: 'loader', hit: false, result: 'v' });
    const failed = getOrSet.events.find((e) => e.phase === 'error')?.ctx;
    expect(failed?.key).toBe('fails');
    expect(failed?.error).toBeInstanceOf(LoaderError);
    expect(get.channel.hasSubscribers).toBe(false);
  });

  it('set, delete, getMany, invalidatePattern have channels too', async () => {
    const cache = await makeCache();
    const set = trace('set');
    const del = trace('delete');
    const many = trace('getMany');
    const inv = trace('invalidatePattern');
    try {
      await cache.set('x:1', 1);
      await cache.getMany(['x:1', 'x:2']);
      await cache.delete('x:1');
      await cache.invalidatePattern('x:*');
    } finally {
      for (const t of [set, del, many, inv]) t.stop();
    }
    expect(set.events.at(-1)?.ctx).toMatchObject({ operation: 'set', key: 'x:1' });
    expect(many.events.at(-1)?.ctx).toMatchObject({ operation: 'getMany', keys: ['x:1', 'x:2'], hits: 1 });
    expect(del.events.at(-1)?.ctx).toMatchObject({ operation: 'delete', key: 'x:1', result: true });
    expect(inv.events.at(-1)?.ctx).toMatchObject({ operation: 'invalidatePattern', pattern: 'x:*', result: 0 });
  });
});
