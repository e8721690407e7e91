import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CachePattern, createIntegratedCache, type IntegratedCacheManager, type PatternManagerOptions } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';
import { UsersTable } from './support/postgres.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const tables: UsersTable[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function makeCache(options: IntegratedCacheOptions = {}, patterns: PatternManagerOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('p'), logLevel: 'silent', ...options }, patterns);
  await cache.initialize();
  open.push(cache);
  return cache;
}

async function users(): Promise<UsersTable> {
  const t = await UsersTable.create();
  tables.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(tables.splice(0).map((t) => t.drop()));
});

describe('read patterns over PostgreSQL', () => {
  it('read-through: the loader runs once per key; getMany uses loadBatch once for the misses', async () => {
    const db = await users();
    for (let i = 0; i < 20; i++) await db.insert(`user:${i}`, { id: i, name: `u${i}` });
    const cache = await makeCache();
    const pm = cache.patternManager;
    const results = await Promise.all(Array.from({ length: 50 }, () => pm.getOrSet('user:1', db, { pattern: CachePattern.READ_THROUGH })));
    expect(results.every((r) => (r as { id: number }).id === 1)).toBe(true);
    expect(db.loads).toBe(1);
    const keys = Array.from({ length: 20 }, (_, i) => `user:${i}`).concat(['user:missing']);
    const many = await pm.getMany(keys, db);
    expect(many.slice(0, 20).map((u) => (u as { id: number }).id)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(many[20]).toBeUndefined();
    expect(db.batchLoads).toBe(1); // 19 misses (user:1 was cached) in one query
    expect(db.loads).toBe(1);
    await pm.getMany(keys, db);
    expect(db.batchLoads).toBe(2); // only user:missing left to load
  });

  it('cache-aside: a miss loads and stores; a write updates the source and drops the cached copy', async () => {
    const db = await users();
    await db.insert('user:1', { name: 'John' });
    const cache = await makeCache();
    const pm = cache.patternManager;
    expect(await pm.getOrSet('user:1', db, { pattern: CachePattern.CACHE_ASIDE })).toEqual({ name: 'John' });
    expect(await cache.get('user:1')).toEqual({ name: 'John' });
    await pm.setWithPattern('user:1', { name: 'Jane' }, { dataWriter: db, pattern: CachePattern.CACHE_ASIDE });
    expect((await db.rows()).get('user:1')).toEqual({ name: 'Jane' });
    expect(await cache.get('user:1')).toBeUndefined();
    expect(await pm.getOrSet('user:1', db, { pattern: CachePattern.CACHE_ASIDE })).toEqual({ name: 'Jane' });
  });

  it('refresh-ahead: a key read 50 times per second across 10 TTL periods never misses', async () => {
    const db = await users();
    await db.insert('hot', { n: 0 });
    const cache = await makeCache();
    const pm = cache.patternManager;
    pm.configurePrefix('hot', { readPattern: CachePattern.REFRESH_AHEAD, ttl: 0.3, refreshAheadFactor: 0.5 });
    expect(await pm.getOrSet('hot', db)).toEqual({ n: 0 });
    const missesBefore = (await cache.getStats()).misses;
    const end = Date.now() + 3000; // 10 TTL periods
    let reads = 0;
    while (Date.now() < end) {
      expect(await pm.getOrSet('hot', db)).toBeDefined();
      reads++;
      await sleep(20);
    }
    const s = await cache.getStats();
    expect(reads).toBeGreaterThan(100);
    expect(s.misses - missesBefore).toBe(0);
    expect(pm.stats.refreshes).toBeGreaterThanOrEqual(9);
    expect(db.loads).toBe(1 + pm.stats.refreshes);
  });

  it('refresh-ahead reloads once per period across instances', async () => {
    const db = await users();
    await db.insert('hot', { n: 0 });
    const ns = uniqueNamespace('p');
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    for (const c of [a, b]) c.patternManager.configurePrefix('hot', { readPattern: CachePattern.REFRESH_AHEAD, ttl: 1, refreshAheadFactor: 0.5 });
    await a.patternManager.getOrSet('hot', db);
    await sleep(600);
    await Promise.all([a.patternManager.getOrSet('hot', db), b.patternManager.getOrSet('hot', db)]);
    await sleep(100);
    expect(a.patternManager.stats.refreshes + b.patternManager.stats.refreshes).toBe(1);
  });
});

describe('write patterns over PostgreSQL', () => {
  it('write-through: source then cache; a source failure caches nothing and reaches the caller', async () => {
    const db = await users();
    const cache = await makeCache();
    const pm = cache.patternManager;
    expect(await pm.setWithPattern('user:1', { name: 'John' }, { dataWriter: db, pattern: CachePattern.WRITE_THROUGH })).toBe(true);
    expect((await db.rows()).get('user:1')).toEqual({ name: 'John' });
    expect(await cache.get('user:1')).toEqual({ name: 'John' });
    db.failWrites = new Error('constraint violated');
    await expect(pm.setWithPattern('user:1', { name: 'Bad' }, { dataWriter: db })).rejects.toThrow(/constraint violated/);
    expect(await cache.get('user:1')).toEqual({ name: 'John' });
    expect((await db.rows()).get('user:1')).toEqual({ name: 'John' });
  });

  it('write-through: concurrent writers of one key on two instances leave cache and source agreeing', async () => {
    const db = await users();
    db.writeDelayMs = 3; // widen the window in which unserialized writers would interleave
    const ns = uniqueNamespace('p');
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const writes: Promise<boolean>[] = [];
    for (let i = 0; i < 30; i++) {
      const c = i % 2 === 0 ? a : b;
      writes.push(c.patternManager.setWithPattern('user:1', { v: i }, { dataWriter: db }));
    }
    await Promise.all(writes);
    const inDb = (await db.rows()).get('user:1');
    await sleep(20);
    expect(await a.get('user:1')).toEqual(inDb);
    expect(await b.get('user:1')).toEqual(inDb);
    const raw = await rawClient(redis.url);
    await raw.close();
  });

  it('setManyWithPattern uses writeBatch once', async () => {
    const db = await users();
    const cache = await makeCache();
    await cache.patternManager.setManyWithPattern(
      Array.from({ length: 50 }, (_, i) => ({ key: `user:${i}`, value: { i } })),
      { dataWriter: db },
    );
    expect(db.batchWrites).toBe(1);
    expect((await db.rows()).size).toBe(50);
    expect(await cache.get('user:49')).toEqual({ i: 49 });
  });

  it('write-behind: set returns once queued; writes are coalesced and flushed in batches; close() drains', async () => {
    const db = await users();
    const cache = await makeCache({}, { writeBehind: { batchSize: 300, flushIntervalMs: 20 } });
    const pm = cache.patternManager;
    // The flusher is held in its first batch until all five rounds are queued: later writes of a
    // key then meet in one batch whatever the machine's speed (a 20 ms timer alone decided that).
    let release!: () => void;
    db.holdBatches = new Promise<void>((r) => (release = r));
    for (let v = 1; v <= 5; v++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => pm.setWithPattern(`user:${i}`, { v }, { dataWriter: db, pattern: CachePattern.WRITE_BEHIND })));
    }
    db.holdBatches = null;
    release();
    expect(await cache.get('user:7')).toEqual({ v: 5 }); // the cache has it at once
    const queue = pm.writeBehindQueue(db);
    await cache.close(); // drains
    open.splice(open.indexOf(cache), 1);
    const rows = await db.rows();
    expect(rows.size).toBe(100);
    for (const v of rows.values()) expect(v).toEqual({ v: 5 });
    expect(queue.stats.coalesced).toBeGreaterThan(0);
    expect(db.batchWrites).toBeLessThan(500 / 10);
    expect(db.writes).toBe(0); // only writeBatch
  });

  it('write-behind: a failing source is retried with backoff, then entries go to the dead-letter stream', async () => {
    const db = await users();
    db.failWrites = new Error('db down');
    const cache = await makeCache({}, { writeBehind: { batchSize: 50, flushIntervalMs: 10, maxAttempts: 3, retryBaseMs: 5 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(db);
    await Promise.all(Array.from({ length: 10 }, (_, i) => pm.setWithPattern(`user:${i}`, { i }, { dataWriter: db, pattern: CachePattern.WRITE_BEHIND })));
    for (const until = Date.now() + 10_000; queue.stats.deadLettered < 10 && Date.now() < until; ) await sleep(10);
    expect(queue.stats.retries).toBeGreaterThanOrEqual(2);
    expect(queue.stats.deadLettered).toBe(10);
    const raw = await rawClient(redis.url);
    expect(await raw.hLen(queue.deadKey)).toBe(10);
    await raw.close();
  });

  it('write-behind: a process that acknowledged 10,000 writes is SIGKILLed mid-flush; a new instance drains the stream; PostgreSQL ends with the last value of every key', async () => {
    const db = await users();
    const ns = uniqueNamespace('p');
    const child = fork(fileURLToPath(new URL('./support/write_behind_child.ts', import.meta.url)), [redis.url, ns, db.table], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let acked = 0;
    let batches = 0;
    child.on('message', (m: { acked?: number; batches?: number }) => {
      if (m.acked) acked = m.acked;
      if (m.batches !== undefined) batches = m.batches;
    });
    const deadline = Date.now() + 60_000;
    while ((acked === 0 || batches < 3) && Date.now() < deadline) await sleep(10);
    expect(acked).toBe(10_000);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const before = await db.rows();
    const stillNeeded = [...Array(1000).keys()].filter((i) => (before.get(`user:${i}`) as { v?: number } | undefined)?.v !== 10).length;
    expect(stillNeeded).toBeGreaterThan(0); // killed mid-flush, not after

    const successor = await makeCache({ namespace: ns }, { writeBehind: { batchSize: 500, leaseMs: 1000 } });
    const queue = successor.patternManager.writeBehindQueue(db);
    const drainedBy = Date.now() + 60_000;
    while ((await queue.backlog()) > 0 && Date.now() < drainedBy) await sleep(50);
    const rows = await db.rows();
    expect(rows.size).toBe(1000);
    const wrong = [...rows].filter(([, v]) => (v as { v: number }).v !== 10);
    expect(wrong).toEqual([]);
  }, 120_000);
});

describe('invalidation: tags, dependencies, events', () => {
  it('tags: invalidateTags removes every tagged key (across instances) and nothing else', async () => {
    const ns = uniqueNamespace('p');
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    await a.set('product:1', 1, { tags: ['catalog'] });
    await a.set('product:2', 2, { tags: ['catalog', 'sale'] });
    await a.set('user:1', 'u');
    for (const k of ['product:1', 'product:2', 'user:1']) await b.get(k);
    expect(await a.invalidateTags(['catalog'])).toBe(2);
    await sleep(20);
    expect(b.getSync('product:1')).toBeUndefined();
    expect(await b.get('product:2')).toBeUndefined();
    expect(await b.get('user:1')).toBe('u');
  });

  it('dependencies cascade transitively across two instances (cycles included)', async () => {
    const ns = uniqueNamespace('p');
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    await a.set('user:1', { name: 'John' });
    await a.set('profile:1', { bio: 'x' }, { dependsOn: ['user:1'] });
    await a.set('page:1', '<html>', { dependsOn: ['profile:1'] });
    await a.set('cycle:1', 'c', { dependsOn: ['page:1', 'cycle:2'] });
    await a.set('cycle:2', 'd', { dependsOn: ['cycle:1'] });
    await a.set('other', 'stays');
    for (const k of ['profile:1', 'page:1', 'cycle:1', 'cycle:2', 'other']) expect(await b.get(k)).toBeDefined();
    await a.delete('user:1');
    await sleep(20);
    for (const k of ['profile:1', 'page:1', 'cycle:1', 'cycle:2']) {
      expect(b.getSync(k)).toBeUndefined();
      expect(await b.get(k)).toBeUndefined();
    }
    expect(await b.get('other')).toBe('stays');
  });

  it('event handlers run for matching events; the seed’s on_user_update invalidates', async () => {
    const cache = await makeCache();
    await cache.set('user:42:profile', 1);
    await cache.set('user_profile:42', 2);
    const im = cache.patternManager.invalidationManager;
    const seen: string[] = [];
    im.addEventHandler('user:*', async (event, payload) => {
      seen.push(event);
      const id = (payload as { id: string }).id;
      await cache.invalidatePattern(`user:${id}*`);
      await cache.invalidatePattern(`user_profile:${id}`);
    });
    expect(await im.emit('order:1', { id: '1' })).toBe(0);
    expect(await im.emit('user:42', { id: '42' })).toBe(1);
    expect(seen).toEqual(['user:42']);
    expect(await cache.get('user:42:profile')).toBeUndefined();
    expect(await cache.get('user_profile:42')).toBeUndefined();
  });
});

describe('adaptive TTL and warming', () => {
  it('adaptive TTL lengthens the TTL of hot stable keys and shortens it for keys that change often', async () => {
    const db = await users();
    const cache = await makeCache({}, { ttl: 60, adaptiveTtl: { minTtl: 5, maxTtl: 600 } });
    const pm = cache.patternManager;
    await db.insert('stable', { v: 1 });
    for (let i = 0; i < 100; i++) await pm.getOrSet('stable', db);
    for (let i = 0; i < 20; i++) await pm.setWithPattern('churn', { v: i }, { dataWriter: db });
    await pm.getOrSet('churn', db);
    expect(pm.ttlFor('stable')).toBeGreaterThan(300); // 60 × sqrt(101) ≈ 603 → capped at 600
    expect(pm.ttlFor('churn')).toBeLessThan(20); // 60 × sqrt(2/21) ≈ 18.5
    expect(pm.ttlFor('never-seen')).toBe(60);
    // The TTL is really applied: the churning key was stored with its short TTL.
    const raw = await rawClient(redis.url);
    const pttl = await raw.pTTL(`${cache.config.namespace}:v2:churn`);
    await raw.close();
    expect(pttl).toBeLessThan(61_000);
  });

  it('warmKeys loads with loadBatch in chunks and reports progress', async () => {
    const db = await users();
    for (let i = 0; i < 25; i++) await db.insert(`user:${i}`, { i });
    const cache = await makeCache();
    await cache.set('user:0', { i: 0 });
    const progress: number[] = [];
    cache.warmer.on('progress', (p: { done: number }) => progress.push(p.done));
    const r = await cache.warmer.warmKeys(
      Array.from({ length: 25 }, (_, i) => `user:${i}`),
      db,
      { concurrency: 10 },
    );
    expect(r).toMatchObject({ total: 25, loaded: 24, failed: 0, done: 25 });
    expect(db.batchLoads).toBe(3); // 24 keys in chunks of 10
    expect(progress).toEqual([11, 21, 25]);
    expect(await cache.get('user:24')).toEqual({ i: 24 });
  });
});

describe('invalidatePattern cascades dependencies', () => {
  for (const mode of ['with Redis', 'L1 only'] as const) {
    it(`${mode}: invalidating user:* also removes what depends on user keys`, async () => {
      const cache =
        mode === 'with Redis'
          ? await makeCache()
          : await (async () => {
              const c = createIntegratedCache({ logLevel: 'silent' });
              await c.initialize();
              open.push(c);
              return c;
            })();
      await cache.set('user:1', 1);
      await cache.set('report:1', 'r', { dependsOn: ['user:1'] });
      await cache.set('report:2', 'r2', { dependsOn: ['order:1'] });
      await cache.invalidatePattern('user:*');
      expect(await cache.get('report:1')).toBeUndefined();
      expect(await cache.get('report:2')).toBe('r2');
    });
  }
});
