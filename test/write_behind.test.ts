import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CacheError, CachePattern, createIntegratedCache, type DataWriter, type IntegratedCacheManager, type PatternManagerOptions } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { writeBehindInternals } from '../src/patterns/write_behind_queue.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';
import { UsersTable } from './support/postgres.js';
import { FencedTable } from './support/fenced_table.js';

// Issue 14: write-behind over real redis-server + PostgreSQL; each test fails on the queue before the fix.
const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const cleanup: (() => Promise<void>)[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WB = CachePattern.WRITE_BEHIND;

async function makeCache(options: IntegratedCacheOptions = {}, patterns: PatternManagerOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('wb'), logLevel: 'silent', ...options }, patterns);
  await cache.initialize();
  open.push(cache);
  return cache;
}

async function users(): Promise<UsersTable> {
  const t = await UsersTable.create();
  cleanup.push(() => t.drop());
  return t;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error('condition not reached in time');
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  for (const c of cleanup.splice(0)) await c();
});

describe('fencing: a leader stalled past its lease never writes after its successor', () => {
  for (const mode of ['naive', 'fenced'] as const) {
    it(`${mode} writer: the stale leader's v1 never lands after the successor's v2`, async () => {
      const table = `wbfence_${process.pid}_${mode}_${Date.now() % 100000}`;
      const db = await FencedTable.create(table);
      cleanup.push(() => db.drop());
      const ns = uniqueNamespace('wb');
      const child = fork(fileURLToPath(new URL('./support/write_behind_stall_child.ts', import.meta.url)), [redis.url, ns, table, mode, '3000'], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      cleanup.push(async () => {
        child.kill('SIGKILL');
      });
      let stalling = false;
      let resumed = false;
      const staleWrites: unknown[] = [];
      child.on('message', (m: { stalling?: boolean; resumed?: boolean; write?: unknown }) => {
        if (m.stalling) stalling = true;
        if (m.resumed) resumed = true;
        if (m.write) staleWrites.push(m.write);
      });
      await until(() => stalling);
      // The successor: same queue, same writer name, a newer value of k.
      const successor = await makeCache({ namespace: ns }, { writeBehind: { leaseMs: 500, flushIntervalMs: 10, retryBaseMs: 5 } });
      const writer = db.writer(`fence-${table}`, mode === 'fenced');
      await successor.patternManager.setWithPattern('k', { v: 2 }, { dataWriter: writer, pattern: WB });
      await until(async () => JSON.stringify((await db.rows()).get('k')) === '{"v":2}');
      expect(resumed).toBe(false); // the successor wrote v2 while the old leader was still stalled
      await until(() => resumed);
      await sleep(1000); // the stale leader's chance to write v1
      expect((await db.rows()).get('k')).toEqual({ v: 2 });
      if (mode === 'naive') expect(staleWrites).toEqual([]); // stopped before the write, not after
    }, 60_000);
  }
});

/** A writer over `db` with only writeBatch that refuses `bad` keys: a whole batch holding one throws; a batch of one answers per key. */
function pickyWriter(db: UsersTable, bad: Set<string>): DataWriter<Record<string, unknown>> & { calls: number; name: string } {
  const w = {
    name: `picky-${db.table}`,
    calls: 0,
    async writeBatch(items: Map<string, Record<string, unknown>>) {
      w.calls++;
      const refused = [...items.keys()].filter((k) => bad.has(k));
      if (refused.length > 0 && items.size > 3) throw new Error(`constraint violation on ${refused.join(',')}`);
      const good = new Map([...items].filter(([k]) => !bad.has(k)));
      if (good.size > 0) await db.writeBatch(good);
      return Object.fromEntries(refused.map((k) => [k, false]));
    },
  };
  return w;
}

describe('per-key isolation and dead letters', () => {
  it('a writer with only writeBatch is accepted; 2 refused keys of a 30-key batch are the only dead letters, the 28 others reach PostgreSQL; replay after the fix writes them', async () => {
    const db = await users();
    const bad = new Set(['user:3', 'user:17']);
    const writer = pickyWriter(db, bad);
    const cache = await makeCache({}, { writeBehind: { flushIntervalMs: 10, retryBaseMs: 5, retryMaxMs: 20, poisonAttempts: 3 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(writer);
    await writeBehindInternals(queue).stop(); // hold the flusher so that all 30 keys (60 entries) form one batch
    for (let v = 1; v <= 2; v++) await Promise.all(Array.from({ length: 30 }, (_, i) => pm.setWithPattern(`user:${i}`, { v }, { dataWriter: writer, pattern: WB })));
    writeBehindInternals(queue).start();
    await until(async () => queue.stats.deadLettered === 2 && (await queue.backlog()) === 0);
    const rows = await db.rows();
    expect(rows.size).toBe(28);
    for (const [k, v] of rows) expect([k, v]).toEqual([k, { v: 2 }]);
    const dead = await queue.deadLetters();
    expect(dead.map((d) => d.key).sort()).toEqual(['user:17', 'user:3']);
    expect(dead.every((d) => (d.value as { v: number }).v === 2 && d.error.includes('refused'))).toBe(true);
    // The dead-lettered value is not in the source, so the cache must not serve it.
    expect(await cache.get('user:3')).toBeUndefined();
    bad.clear();
    expect((await queue.replayDeadLetters()).replayed.sort()).toEqual(['user:17', 'user:3']);
    await until(async () => (await queue.backlog()) === 0 && (await db.rows()).size === 30);
    expect((await db.rows()).get('user:3')).toEqual({ v: 2 });
    expect(await queue.deadLetters()).toEqual([]);
  }, 30_000);

  it('a dead letter is superseded by a later write of its key: replay never goes back in time', async () => {
    const db = await users();
    const bad = new Set(['user:1']);
    const writer = pickyWriter(db, bad);
    const cache = await makeCache({}, { writeBehind: { flushIntervalMs: 10, retryBaseMs: 5, retryMaxMs: 20, maxAttempts: 2 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(writer);
    await pm.setWithPattern('user:1', { v: 1 }, { dataWriter: writer, pattern: WB });
    await until(() => queue.stats.deadLettered === 1);
    bad.clear();
    await pm.setWithPattern('user:1', { v: 2 }, { dataWriter: writer, pattern: WB });
    await until(async () => (await queue.backlog()) === 0);
    expect(await queue.deadLetters()).toEqual([]);
    expect((await queue.replayDeadLetters()).replayed).toEqual([]);
    expect((await db.rows()).get('user:1')).toEqual({ v: 2 });
  }, 30_000);

  it('defaults ride out a 5 s source outage: nothing is dead-lettered, every acked write lands', async () => {
    const db = await users();
    db.failWrites = new Error('db down');
    const cache = await makeCache({}, { writeBehind: { flushIntervalMs: 10 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(db);
    await Promise.all(Array.from({ length: 20 }, (_, i) => pm.setWithPattern(`user:${i}`, { i }, { dataWriter: db, pattern: WB })));
    await sleep(5000);
    db.failWrites = null;
    await until(async () => (await queue.backlog()) === 0, 30_000);
    expect(queue.stats.deadLettered).toBe(0);
    expect((await db.rows()).size).toBe(20);
  }, 60_000);
});

/** Runs the CLI asynchronously (a spawnSync would starve this worker) and collects its output. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('dead letters from the command line', () => {
  it('tiercache dead-letters list shows the refused key; replay queues it again and the running flusher writes it', async () => {
    const db = await users();
    const bad = new Set(['user:9']);
    const writer = pickyWriter(db, bad);
    const ns = uniqueNamespace('wb');
    const cache = await makeCache({ namespace: ns }, { writeBehind: { flushIntervalMs: 10, retryBaseMs: 5, retryMaxMs: 20, maxAttempts: 2 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(writer);
    await pm.setWithPattern('user:9', { v: 9 }, { dataWriter: writer, pattern: WB });
    await until(() => queue.stats.deadLettered === 1);
    const env = { CACHE_REDIS_URL: redis.url, CACHE_NAMESPACE: ns };
    const list = await cli(['dead-letters', 'list', writer.name], env);
    expect(list.code).toBe(0);
    expect(list.out).toContain('1 dead letter(s)');
    expect(list.out).toContain('user:9');
    expect(list.out).toContain('refused');
    bad.clear();
    const replayed = await cli(['dead-letters', 'replay', writer.name, '--key', 'user:9'], env);
    expect(replayed.out).toContain('replayed 1');
    expect(replayed.code).toBe(0);
    await until(async () => (await db.rows()).get('user:9') !== undefined);
    expect((await db.rows()).get('user:9')).toEqual({ v: 9 });
  }, 60_000);
});

describe('cache and source agree', () => {
  it('two instances writing one key concurrently: after the drain, both caches hold what PostgreSQL holds', async () => {
    const db = await users();
    const ns = uniqueNamespace('wb');
    const a = await makeCache({ namespace: ns }, { writeBehind: { flushIntervalMs: 10 } });
    const b = await makeCache({ namespace: ns }, { writeBehind: { flushIntervalMs: 10 } });
    // A's cache write is slow (a GC pause, a busy loop): B's whole write fits between A's queueing and A's caching.
    const slowSet = a.set.bind(a);
    a.set = (async (...args: Parameters<typeof a.set>) => {
      await sleep(100);
      return slowSet(...args);
    }) as typeof a.set;
    for (let round = 0; round < 3; round++) {
      const key = `user:${round}`;
      const queued = a.patternManager.writeBehindQueue(db).stats.queued;
      const first = a.patternManager.setWithPattern(key, { from: 'a' }, { dataWriter: db, pattern: WB });
      await until(() => a.patternManager.writeBehindQueue(db).stats.queued > queued);
      await b.patternManager.setWithPattern(key, { from: 'b' }, { dataWriter: db, pattern: WB });
      await first;
    }
    await until(async () => (await a.patternManager.writeBehindQueue(db).backlog()) === 0 && (await db.rows()).size === 3);
    await sleep(100);
    const rows = await db.rows();
    for (let round = 0; round < 3; round++) {
      const key = `user:${round}`;
      expect([key, await a.get(key)]).toEqual([key, rows.get(key)]);
      expect([key, await b.get(key)]).toEqual([key, rows.get(key)]);
    }
  }, 30_000);

  it('read-your-writes: a read-through of a key whose write is still queued returns the queued value, not the source row', async () => {
    const db = await users();
    await db.insert('user:1', { v: 1 });
    db.failWrites = new Error('db down'); // the write stays queued
    const cache = await makeCache({}, { writeBehind: { flushIntervalMs: 10 } });
    const pm = cache.patternManager;
    await pm.setWithPattern('user:1', { v: 2 }, { dataWriter: db, pattern: WB, ttl: 1 });
    await sleep(1300); // the cached copy expires while the write is queued
    expect(await pm.getOrSet('user:1', db, { ttl: 60 })).toEqual({ v: 2 });
    db.failWrites = null;
    await until(async () => (await pm.writeBehindQueue(db).backlog()) === 0);
    expect((await db.rows()).get('user:1')).toEqual({ v: 2 });
    expect(await pm.getOrSet('user:1', db, { ttl: 60 })).toEqual({ v: 2 });
  }, 30_000);
});

describe('Redis faults', () => {
  it('entries acknowledged but never deleted are not counted: backlog() reaches 0 and close() does not spin', async () => {
    const db = await users();
    const cache = await makeCache({}, { writeBehind: { flushIntervalMs: 10 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(db);
    await pm.setWithPattern('user:1', { v: 1 }, { dataWriter: db, pattern: WB });
    await until(async () => (await queue.backlog()) === 0);
    const raw = await rawClient(redis.url);
    // What a flusher that died between XACK and XDEL leaves: an entry read and acknowledged, still in the stream.
    await raw.eval(
      `local id = redis.call('XADD', KEYS[1], '*', 'k', 'ghost', 'v', 'x')
       redis.call('XREADGROUP', 'GROUP', 'flushers', 'dead-flusher', 'COUNT', '10', 'STREAMS', KEYS[1], '>')
       return redis.call('XACK', KEYS[1], 'flushers', id)`,
      { keys: [queue.stream] },
    );
    expect(await raw.xLen(queue.stream)).toBe(1);
    expect(await queue.backlog()).toBe(0);
    const before = Number(/total_commands_processed:(\d+)/.exec(await raw.info('stats'))?.[1]);
    await cache.close();
    open.splice(open.indexOf(cache), 1);
    const after = Number(/total_commands_processed:(\d+)/.exec(await raw.info('stats'))?.[1]);
    expect(after - before).toBeLessThan(200);
    await raw.close();
  }, 30_000);

  it('an idle queue never holds the shared connection in a blocking XREADGROUP', async () => {
    const db = await users();
    const cache = await makeCache({}, { writeBehind: { flushIntervalMs: 100 } });
    cache.patternManager.writeBehindQueue(db);
    await sleep(300);
    const raw = await rawClient(redis.url);
    let blocked = 0;
    for (let i = 0; i < 30; i++) {
      const list = await raw.clientList();
      blocked += list.filter((c) => c.flags.includes('b')).length;
      await sleep(10);
    }
    await raw.close();
    expect(blocked).toBe(0);
  }, 30_000);

  it('Redis restarted empty: the group is recreated and all 20 later writes reach PostgreSQL', async () => {
    const db = await users();
    const cache = await makeCache({ l2CommandTimeoutMs: 500 }, { writeBehind: { flushIntervalMs: 10, leaseMs: 1000 } });
    const pm = cache.patternManager;
    const queue = pm.writeBehindQueue(db);
    await pm.setWithPattern('user:0', { v: 0 }, { dataWriter: db, pattern: WB });
    await until(async () => (await queue.backlog()) === 0);
    await redis.server.restart();
    for (let i = 1; i <= 20; i++) {
      for (;;) {
        try {
          await pm.setWithPattern(`user:${i}`, { v: i }, { dataWriter: db, pattern: WB });
          break;
        } catch {
          await sleep(100); // still reconnecting
        }
      }
    }
    await until(async () => (await db.rows()).size === 21, 30_000);
    expect((await db.rows()).get('user:20')).toEqual({ v: 20 });
  }, 60_000);

  it('Redis down: setWithPattern rejects with a CacheError (never a node-redis error)', async () => {
    const db = await users();
    const cache = await makeCache({ l2CommandTimeoutMs: 500 }, { writeBehind: { flushIntervalMs: 10 } });
    const pm = cache.patternManager;
    await pm.setWithPattern('user:0', { v: 0 }, { dataWriter: db, pattern: WB });
    await redis.server.kill();
    try {
      for (let i = 0; i < 3; i++) {
        const err = await pm.setWithPattern('user:1', { v: 1 }, { dataWriter: db, pattern: WB }).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(CacheError);
        await sleep(200);
      }
    } finally {
      await redis.server.restart();
    }
  }, 60_000);
});
