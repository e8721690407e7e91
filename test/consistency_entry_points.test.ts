/**
 * The consistency levels through the entry points beside get/set (found while extending the
 * history test to every entry point, test/history_ops.test.ts): two instances in this process
 * over one Redis, coherence off where only the level may make the answer right (as in
 * consistency.test.ts), so each case is deterministic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConsistencyLevel, ConsistencySession, createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { TierUnavailableError } from '../src/errors.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];

async function pair(options: IntegratedCacheOptions): Promise<[IntegratedCacheManager, IntegratedCacheManager]> {
  const ns = uniqueNamespace('cep');
  const make = async (): Promise<IntegratedCacheManager> => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent', ...options });
    await c.initialize();
    open.push(c);
    return c;
  };
  return [await make(), await make()];
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('STRONG (cache level): getMany and has read the master, never L1', () => {
  it('getMany returns the other instance\'s later write, not this L1\'s copy', async () => {
    const [a, b] = await pair({ consistencyLevel: ConsistencyLevel.STRONG, enableCoherence: false });
    await a.set('k', 'v1');
    await a.set('j', 'w1');
    expect(await a.getMany(['k', 'j'])).toEqual(['v1', 'w1']);
    await b.set('k', 'v2');
    // Before: L1 answered getMany (as it never does get at STRONG): ['v1', 'w1'].
    expect(await a.getMany(['k', 'j'])).toEqual(['v2', 'w1']);
    expect(await a.get('k')).toBe('v2');
  });

  it('has answers false once the other instance deleted the key', async () => {
    const [a, b] = await pair({ consistencyLevel: ConsistencyLevel.STRONG, enableCoherence: false });
    await a.set('k', 'v1');
    expect(await a.has('k')).toBe(true);
    await b.delete('k');
    // Before: L1 answered true.
    expect(await a.has('k')).toBe(false);
  });
});

describe('STRONG (cache level): set and setMany never degrade to L1 only', () => {
  it('a set or setMany Redis refuses rejects and leaves nothing in L1', async () => {
    const [a] = await pair({ consistencyLevel: ConsistencyLevel.STRONG });
    const r = await rawClient(redis.url);
    try {
      await a.setMany([{ key: 'k', value: 'v0' }]);
      // Every write is refused (NOREPLICAS): no replica is connected.
      await r.sendCommand(['CONFIG', 'SET', 'min-replicas-to-write', '1']);
      // Before: both resolved, with v1 kept in L1 only (the EVENTUAL degraded path); set did so
      // only when called without options.
      await expect(a.set('k', 'v1')).rejects.toBeInstanceOf(TierUnavailableError);
      await expect(a.set('k', 'v1', { ttl: 60 })).rejects.toBeInstanceOf(TierUnavailableError);
      await expect(a.setMany([{ key: 'k', value: 'v1' }, { key: 'j', value: 'w1' }])).rejects.toBeInstanceOf(TierUnavailableError);
      expect(a.getSync('k')).toBeUndefined();
      expect(a.getSync('j')).toBeUndefined();
      await r.sendCommand(['CONFIG', 'SET', 'min-replicas-to-write', '0']);
      expect(await a.getMany(['k', 'j'])).toEqual(['v0', undefined]);
    } finally {
      await r.sendCommand(['CONFIG', 'SET', 'min-replicas-to-write', '0']);
      await r.close();
    }
  });
});

describe('SESSION: monotonic reads include a read that found nothing', () => {
  it('after the session read "absent" on A, B does not answer the older value from its L1', async () => {
    const [a, b] = await pair({ enableCoherence: false });
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1'); // now in B's L1 (no coherence: it stays there)
    await a.delete('k');
    const session = new ConsistencySession();
    const at = { consistency: ConsistencyLevel.SESSION, session };
    expect(await a.get('k', at)).toBeUndefined();
    // The session has seen the key absent: v1 is older than that. Before: B answered v1 from L1
    // (a miss was not recorded in the session, so B's L1 was allowed to answer).
    const onB = ConsistencySession.fromToken(session.token);
    expect(await b.get('k', { consistency: ConsistencyLevel.SESSION, session: onB })).toBeUndefined();
    // Control: without the session B's L1 still answers v1 (what the session protects against).
    expect(await b.get('k')).toBe('v1');
  });
});

describe('SESSION through delete, has and getMany (per-call consistency options)', () => {
  it("a session's delete is seen by its later reads on another instance, whatever the call", async () => {
    const [a, b] = await pair({ enableCoherence: false });
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1'); // now in B's L1 (no coherence: it stays there)
    const session = new ConsistencySession();
    // Before: delete took no session, so the session had never seen k and B's L1 could answer.
    expect(await a.delete('k', { consistency: ConsistencyLevel.SESSION, session })).toBe(true);
    const onB = () => ({ consistency: ConsistencyLevel.SESSION, session: ConsistencySession.fromToken(session.token) });
    expect(await b.get('k', onB())).toBeUndefined();
    expect(await b.has('k', onB())).toBe(false);
    expect(await b.getMany(['k'], onB())).toEqual([undefined]);
    // Control: outside the session B's L1 still answers v1 (what the session protects against).
    expect(await b.get('k')).toBe('v1');
    expect(await b.has('k')).toBe(true);
  });

  it('getMany and has record what they saw: a later read elsewhere is not older', async () => {
    const [a, b] = await pair({ enableCoherence: false });
    await a.set('x', 'old');
    expect(await b.getMany(['x'])).toEqual(['old']); // in B's L1
    await a.set('x', 'new');
    const session = new ConsistencySession();
    expect(await a.getMany(['x'], { consistency: ConsistencyLevel.SESSION, session })).toEqual(['new']);
    const onB = { consistency: ConsistencyLevel.SESSION, session: ConsistencySession.fromToken(session.token) };
    expect(await b.getMany(['x'], onB)).toEqual(['new']);
    expect(await b.get('x', onB)).toBe('new');
  });

  it('SESSION without a session is a typed error on every call', async () => {
    const [a] = await pair({ enableCoherence: false });
    const bad = { consistency: ConsistencyLevel.SESSION };
    await expect(a.delete('k', bad)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(a.has('k', bad)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(a.getMany(['k'], bad)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(a.setMany([{ key: 'k', value: 1 }], bad)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    // Refused before anything is written (set used to write, then reject).
    await expect(a.set('k', 1, bad)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(await a.has('k')).toBe(false);
  });

  it('STRONG per call: has and getMany skip L1', async () => {
    const [a, b] = await pair({ enableCoherence: false });
    await a.set('s', 'v1');
    expect(await b.get('s')).toBe('v1'); // in B's L1
    await a.delete('s');
    expect(await b.has('s', { consistency: ConsistencyLevel.STRONG })).toBe(false);
    expect(await b.getMany(['s'], { consistency: ConsistencyLevel.STRONG })).toEqual([undefined]);
    expect(await b.has('s')).toBe(true); // control: L1 still holds it
  });
});

describe('SESSION through setMany', () => {
  it("a session's setMany is seen by its later reads on another instance", async () => {
    const [a, b] = await pair({ enableCoherence: false });
    await a.set('m', 'old');
    expect(await b.get('m')).toBe('old'); // in B's L1 (no coherence: it stays there)
    const session = new ConsistencySession();
    await a.setMany([{ key: 'm', value: 'new' }], { consistency: ConsistencyLevel.SESSION, session });
    expect(await b.get('m')).toBe('old'); // control: outside the session B's L1 answers the old value
    const onB = { consistency: ConsistencyLevel.SESSION, session: ConsistencySession.fromToken(session.token) };
    expect(await b.get('m', onB)).toBe('new');
  });
});
