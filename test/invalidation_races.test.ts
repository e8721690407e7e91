/**
 * Deterministic interleavings of writes with tags or dependencies and the invalidations that
 * remove them (found by test/history_ops.test.ts, STYLE.md §16): a value must never outlive an
 * invalidation issued after its write, nor one invoked after its write completed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IntegratedCacheManager } from '../src/index.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { DependencyGraph } from '../src/core/dependency_graph.js';
import { StandaloneBackend } from '../src/tiers/redis/standalone_backend.js';
import { createClient } from '@redis/client';
import { rawClient, uniqueNamespace, useCaches, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const { makeCache, raw } = useCaches(redis);


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

  for (const [name, remove] of [
    ['delete', (c: IntegratedCacheManager) => c.delete('parent')],
    ['invalidatePattern', (c: IntegratedCacheManager) => c.invalidatePattern('par*')],
  ] as const) {
    it(`an un-awaited set with dependsOn, then ${name} of what it depends on: the dependent is gone`, async () => {
      const ns = uniqueNamespace();
      const a = await makeCache({ namespace: ns });
      const r = await raw();
      await a.set('parent', 'p');
      const written = a.set('child', 'c', { dependsOn: ['parent'] });
      const removed = remove(a);
      await Promise.all([written, removed]);
      expect(await r.get(`${ns}:v${WIRE_VERSION}:child`)).toBeNull();
      expect(await a.get('child')).toBeUndefined();
    });
  }
});

/**
 * A load in flight on another instance began before the invalidation: it returns its value but
 * must not cache it. Bulk invalidations must remove the keys' stampede locks (as delete does); a
 * first load with tags or dependsOn must already be a member when they are invalidated.
 */
describe('invalidations fence loads in flight on other instances', () => {
  const cases: [string, { tags?: string[]; dependsOn?: string[] } | undefined, (c: IntegratedCacheManager) => Promise<unknown>][] = [
    ['invalidatePattern', undefined, (c) => c.invalidatePattern('k*')],
    ['clear', undefined, (c) => c.clear()],
    ['invalidateTags of a key that is not a member yet', { tags: ['t'] }, (c) => c.invalidateTags(['t'])],
    ['delete of the key it depends on, not a dependent yet', { dependsOn: ['parent'] }, (c) => c.delete('parent')],
  ];
  for (const [name, options, invalidate] of cases) {
    it(`${name}: a getOrSet whose loader began before it returns its value but does not cache it`, async () => {
      const ns = uniqueNamespace();
      const a = await makeCache({ namespace: ns });
      const b = await makeCache({ namespace: ns });
      const r = await raw();
      let release!: () => void;
      const gate = new Promise<void>((res) => (release = res));
      let started!: () => void;
      const loading = new Promise<void>((res) => (started = res));
      // B's loader runs holding the key's stampede lock; it read the source before the change
      // the invalidation is for.
      const load = b.getOrSet(
        'k',
        async () => {
          started();
          await gate;
          return 'old';
        },
        options,
      );
      await loading;
      await invalidate(a);
      release();
      expect(await load).toBe('old');
      // Before: the lock was still B's (or k no member), so its write stored 'old' after the invalidation.
      expect(await r.get(`${ns}:v${WIRE_VERSION}:k`)).toBeNull();
      expect(await b.get('k')).toBeUndefined();
      expect(await a.get('k')).toBeUndefined();
    });
  }
});

/**
 * Two instances' graphs over one Redis; A's removal of values is a hook in which B writes a
 * member again, completely (value, then record), before A goes on: the interleaving where B's
 * write lands after A removed the value and B's record before A finished with the set.
 */
describe('a member recorded while an invalidation runs is not lost', () => {
  async function graphs(onDelete: () => Promise<void>): Promise<{ a: DependencyGraph; b: DependencyGraph; r: Awaited<ReturnType<typeof rawClient>>; ns: string }> {
    const ns = uniqueNamespace();
    const r = await raw();
    const make = async (hook: (() => Promise<void>) | null): Promise<DependencyGraph> => {
      const client = createClient({ url: redis.url });
      client.on('error', () => {});
      await client.connect();
      const backend = new StandaloneBackend(client as unknown as ConstructorParameters<typeof StandaloneBackend>[0]);
      closers.push(() => backend.close());
      return new DependencyGraph({
        namespacePrefix: `${ns}:`,
        backend,
        commandTimeoutMs: 2000,
        deleteKeys: async (keys) => {
          const n = Number(await r.sendCommand(['UNLINK', ...keys.map((k) => `${ns}:v:${k}`)]));
          if (hook !== null) await hook();
          return n;
        },
      });
    };
    const a = await make(onDelete);
    const b = await make(null);
    return { a, b, r, ns };
  }
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  it('invalidateTags: a tagged write of a member during the invalidation stays a member (a later invalidateTags removes it)', async () => {
    let rewrite = async (): Promise<void> => {};
    const { a, b, r, ns } = await graphs(() => rewrite());
    await r.set(`${ns}:v:k`, 'v1');
    await b.record('k', ['t'], [], 60_000);
    rewrite = async () => {
      rewrite = async () => {};
      await r.set(`${ns}:v:k`, 'v2'); // after A removed v1
      await b.record('k', ['t'], [], 60_000); // before A is done with the tag set
    };
    expect(await a.invalidateTags(['t'])).toBe(1);
    expect(await r.get(`${ns}:v:k`)).toBe('v2');
    // Before: A dropped the tag set after B's record, so this found nothing and v2 survived.
    expect(await a.invalidateTags(['t'])).toBe(1);
    expect(await r.get(`${ns}:v:k`)).toBeNull();
  });

  it('cascade: a dependent recorded during the cascade stays recorded (a later delete or pattern invalidation of its root removes it)', async () => {
    let rewrite = async (): Promise<void> => {};
    const { a, b, r, ns } = await graphs(() => rewrite());
    await r.set(`${ns}:v:child`, 'c1');
    await b.record('child', [], ['parent'], 60_000);
    rewrite = async () => {
      rewrite = async () => {};
      await r.set(`${ns}:v:child`, 'c2');
      await b.record('child', [], ['parent'], 60_000);
    };
    expect(await a.cascade(['parent'])).toBe(1);
    expect(await r.get(`${ns}:v:child`)).toBe('c2');
    // The pattern path asks the roots set first: parent must still be a root.
    expect(await a.cascadeFromRoots(['parent'])).toBe(1);
    expect(await r.get(`${ns}:v:child`)).toBeNull();
  });

  it('a failed removal puts the members back, so a retry removes them', async () => {
    let fail = true;
    const { a, b, r, ns } = await graphs(async () => {
      if (fail) throw new Error('Redis went away');
    });
    await r.set(`${ns}:v:k`, 'v1');
    await b.record('k', ['t'], [], 60_000);
    await expect(a.invalidateTags(['t'])).rejects.toThrow('Redis went away');
    fail = false;
    await r.set(`${ns}:v:k`, 'v1');
    expect(await a.invalidateTags(['t'])).toBe(1);
    expect(await r.get(`${ns}:v:k`)).toBeNull();
  });
});
