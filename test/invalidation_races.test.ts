/**
 * Deterministic interleavings of writes with tags or dependencies and the invalidations that
 * remove them (found by test/history_ops.test.ts, STYLE.md §16): a value must never outlive an
 * invalidation issued after its write, nor one invoked after its write completed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const raws: Awaited<ReturnType<typeof rawClient>>[] = [];

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

async function raw(): Promise<Awaited<ReturnType<typeof rawClient>>> {
  const c = await rawClient(redis.url);
  raws.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(raws.splice(0).map((c) => c.close().catch(() => undefined)));
});

describe('invalidations and the writes issued before them (issue order)', () => {
  it('an un-awaited tagged set, then invalidateTags of its tag: the value is gone from L2 and every L1', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const r = await raw();
    // Before: invalidateTags read the tag's members (SMEMBERS went out at once) before the set's
    // SET and its tag record (SADD, after the SET's reply) had reached Redis: the value survived.
    const written = a.set('k', 'v', { tags: ['t'] });
    const removed = a.invalidateTags(['t']);
    await Promise.all([written, removed]);
    expect(await removed).toBe(1);
    expect(await r.get(`${ns}:v${WIRE_VERSION}:k`)).toBeNull();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBeUndefined();
  });

  it('an un-awaited set with dependsOn, then delete of what it depends on: the dependent is gone', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const r = await raw();
    await a.set('parent', 'p');
    const written = a.set('child', 'c', { dependsOn: ['parent'] });
    const deleted = a.delete('parent');
    await Promise.all([written, deleted]);
    expect(await r.get(`${ns}:v${WIRE_VERSION}:child`)).toBeNull();
    expect(await a.get('child')).toBeUndefined();
  });

  it('an un-awaited set with dependsOn, then invalidatePattern of what it depends on: the dependent is gone', async () => {
    const ns = uniqueNamespace();
    const a = await makeCache({ namespace: ns });
    const r = await raw();
    await a.set('parent', 'p');
    const written = a.set('child', 'c', { dependsOn: ['parent'] });
    const removed = a.invalidatePattern('par*');
    await Promise.all([written, removed]);
    expect(await r.get(`${ns}:v${WIRE_VERSION}:child`)).toBeNull();
    expect(await a.get('child')).toBeUndefined();
  });
});
