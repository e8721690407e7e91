// Issue 15, holes 1, 2, 3, 4, 7, 9, 10: each test fails on the code before the one-door change
// (verified by running it against the previous src/) and passes after.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchmarkType, CachePattern, createIntegratedCache, Permission, SecurityLevel, type IntegratedCacheManager } from '../src/index.js';
import { AccessDeniedError, InvalidKeyError } from '../src/errors.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-doors-'));
const auditPath = join(dir, 'audit.jsonl');
let cache: IntegratedCacheManager;
const s: Record<string, string> = {};

interface AuditLine {
  op: string;
  outcome: string;
  key: string | null;
}
const audit = (): AuditLine[] =>
  readFileSync(auditPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditLine);
/** Runs `attempt`, which must be refused, and returns the audit records it added. */
async function refused(attempt: () => Promise<unknown>, error: new (...a: never[]) => Error = AccessDeniedError): Promise<AuditLine[]> {
  const before = audit().length;
  await expect(attempt()).rejects.toBeInstanceOf(error);
  return audit().slice(before);
}

beforeAll(async () => {
  cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('doors'), logLevel: 'silent', enableSecurity: true, auditLogPath: auditPath });
  await cache.initialize();
  const sm = cache.securityManager;
  await sm.addCustomRole({ name: 'user', permissions: [Permission.READ, Permission.WRITE, Permission.DELETE], keyPatterns: ['user:*'], securityLevel: SecurityLevel.INTERNAL });
  await sm.addCustomRole({ name: 'doc', permissions: [Permission.READ, Permission.WRITE, Permission.DELETE], keyPatterns: ['doc:1'], securityLevel: SecurityLevel.INTERNAL });
  s.admin = await cache.createSession('root', 'admin');
  s.user = await cache.createSession('alice', 'user');
  s.doc = await cache.createSession('dora', 'doc');
});

afterAll(async () => {
  await cache?.close();
});

describe('hole 1: refresh-ahead without a session', () => {
  it('is refused and audited; it never returns a value or its level label', async () => {
    await cache.set('user:secret', 'restricted', { sessionId: s.admin, securityLevel: SecurityLevel.RESTRICTED });
    const pm = cache.patternManager;
    let answer: unknown = 'not called';
    const records = await refused(async () => {
      answer = await pm.getOrSet('user:secret', () => 'loaded', { pattern: CachePattern.REFRESH_AHEAD });
    });
    expect(answer).toBe('not called');
    expect(records.some((r) => r.outcome === 'denied')).toBe(true);
    // With an INTERNAL session: the RESTRICTED value is refused too, audited.
    const inside = await refused(() => pm.getOrSet('user:secret', () => 'loaded', { pattern: CachePattern.REFRESH_AHEAD, sessionId: s.user }));
    expect(inside.some((r) => r.outcome === 'denied')).toBe(true);
    // The admin still reads it, unwrapped.
    expect(await pm.getOrSet('user:secret', () => 'loaded', { pattern: CachePattern.REFRESH_AHEAD, sessionId: s.admin })).toBe('restricted');
  });
});

describe('hole 2: getOrSet honours securityLevel', () => {
  it('a value an admin loads as RESTRICTED is not readable by an INTERNAL role', async () => {
    expect(await cache.getOrSet('user:loaded', () => 'top secret', { sessionId: s.admin, securityLevel: SecurityLevel.RESTRICTED })).toBe('top secret');
    const records = await refused(() => cache.get('user:loaded', { sessionId: s.user }));
    expect(records.some((r) => r.outcome === 'denied' && r.op === 'get')).toBe(true);
    expect(await cache.get('user:loaded', { sessionId: s.admin })).toBe('top secret');
  });

  it('a role asking for a level above its own is refused before its loader runs', async () => {
    let calls = 0;
    await refused(() => cache.getOrSet('user:above', () => ++calls, { sessionId: s.user, securityLevel: SecurityLevel.RESTRICTED }));
    expect(calls).toBe(0);
  });
});

describe('hole 3: the benchmark never touches user keys', () => {
  it('with security on it needs an ADMIN session (refused and audited otherwise)', async () => {
    const none = await refused(() => cache.benchmark(BenchmarkType.LATENCY, { durationSeconds: 0.05 }));
    expect(none.some((r) => r.outcome === 'denied' && r.op === 'benchmark')).toBe(true);
    const user = await refused(() => cache.benchmark(BenchmarkType.LATENCY, { durationSeconds: 0.05, sessionId: s.user } as never));
    expect(user.some((r) => r.outcome === 'denied' && r.op === 'benchmark')).toBe(true);
  });

  it.each([64, 63, 57])('a %i-character namespace keeps every user value through a benchmark', async (length) => {
    const ns = uniqueNamespace('b').padEnd(length, 'x').slice(0, length);
    expect(ns.length).toBe(length);
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent', l1MaxSize: 100 });
    await c.initialize();
    const raw = await rawClient(redis.url);
    try {
      await c.set('user:1', { name: 'Alice' });
      await c.set('user:2', { name: 'Bob' });
      await c.benchmark(BenchmarkType.MIXED, { durationSeconds: 0.1 });
      expect(await raw.exists([`${ns}:v2:user:1`, `${ns}:v2:user:2`])).toBe(2);
    } finally {
      await raw.close();
      await c.close();
    }
  });

  it('scratch namespaces are random, fit in 64 characters, and never equal or prefix the user’s', async () => {
    const { scratchNamespace } = await import('../src/bench/cache_benchmark.js');
    for (const length of [1, 40, 57, 60, 63, 64]) {
      const ns = 'n'.repeat(length);
      const a = scratchNamespace(ns);
      const b = scratchNamespace(ns);
      expect(a).not.toBe(b);
      for (const x of [a, b]) {
        expect(x.length).toBeLessThanOrEqual(64);
        expect(x).not.toBe(ns);
        expect(`${x}:`.startsWith(`${ns}:`) || `${ns}:`.startsWith(`${x}:`)).toBe(false);
      }
    }
    // A name that cannot be made to fit is refused, never cut to length.
    expect(() => scratchNamespace('n'.repeat(64), () => 'f'.repeat(64))).toThrow(/refusing/);
  });
});

describe('hole 4: the invalidation manager is guarded', () => {
  it('invalidateTags without a session is refused, audited, and deletes nothing', async () => {
    await cache.set('admin:tagged', 'keep', { sessionId: s.admin, tags: ['shared4'] });
    const im = cache.patternManager.invalidationManager;
    const records = await refused(() => im.invalidateTags(['shared4']));
    expect(records.some((r) => r.outcome === 'denied' && r.op === 'invalidateTags')).toBe(true);
    expect(await cache.get('admin:tagged', { sessionId: s.admin })).toBe('keep');
    // A user whose role does not cover the tagged key is refused too.
    await refused(() => im.invalidateTags(['shared4'], { sessionId: s.user } as never));
    expect(await cache.get('admin:tagged', { sessionId: s.admin })).toBe('keep');
  });
});

describe('hole 7: write-behind validates before it enqueues', () => {
  it('an invalid key is refused and never reaches the DataWriter', async () => {
    const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('wb7'), logLevel: 'silent' });
    await c.initialize();
    const written: string[] = [];
    const writer = { name: 'recording7', write: (k: string) => void written.push(k) };
    try {
      await expect(c.patternManager.setWithPattern('user:a\nX', 1, { dataWriter: writer, pattern: CachePattern.WRITE_BEHIND })).rejects.toBeInstanceOf(InvalidKeyError);
      await c.patternManager.setWithPattern('user:ok', 2, { dataWriter: writer, pattern: CachePattern.WRITE_BEHIND });
    } finally {
      await c.close(); // drains the queue: whatever was enqueued has reached the writer now
    }
    expect(written).toEqual(['user:ok']);
  });
});

describe('hole 9: getOrSet checks dependsOn', () => {
  it('a tenant cannot make its key depend on a key outside its role', async () => {
    await cache.set('admin:base', 'b', { sessionId: s.admin });
    let calls = 0;
    const records = await refused(() => cache.getOrSet('user:dep', () => ++calls, { sessionId: s.user, dependsOn: ['admin:base'] }));
    expect(records.some((r) => r.outcome === 'denied' && r.op === 'getOrSet')).toBe(true);
    expect(calls).toBe(0);
    // Nothing was recorded: the admin's delete does not cascade into the user's key.
    await cache.set('user:dep', 'mine', { sessionId: s.user });
    expect(await cache.delete('admin:base', { sessionId: s.admin })).toBe(true);
    expect(await cache.get('user:dep', { sessionId: s.user })).toBe('mine');
  });
});

describe('hole 10: a trailing backslash in a pattern', () => {
  it('a role limited to doc:1 cannot invalidate doc:1\\', async () => {
    await cache.set('doc:1\\', 'other', { sessionId: s.admin });
    await cache.set('doc:1', 'mine', { sessionId: s.doc });
    const records = await refused(() => cache.invalidatePattern('doc:1\\', { sessionId: s.doc }));
    expect(records.some((r) => r.outcome === 'denied' && r.op === 'invalidatePattern')).toBe(true);
    expect(await cache.get('doc:1\\', { sessionId: s.admin })).toBe('other');
    // The role's own key is still its to invalidate.
    expect(await cache.invalidatePattern('doc:1', { sessionId: s.doc })).toBe(1);
  });
});
