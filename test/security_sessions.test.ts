// Issue 15, hole 5: session records in Redis had no integrity protection: `HSET <ns>:session:<id>
// role admin`, or a whole forged session hash, granted admin. Records are now authenticated
// (HMAC-SHA256 with a server key) and one that does not verify is refused, typed and audited.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessDeniedError, createIntegratedCache, Permission, SecurityLevel, SessionForgedError, type IntegratedCacheManager } from '../src/index.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-sess-'));
const auditPath = join(dir, 'audit.jsonl');
const SECRET = 'session-secret-0123456789-abcdefghij';
const ns = uniqueNamespace('sess');
let a: IntegratedCacheManager;
let b: IntegratedCacheManager; // a second instance: it has no local copy of any session
let raw: Awaited<ReturnType<typeof rawClient>>;
let alice = '';

const role = { name: 'user', permissions: [Permission.READ, Permission.WRITE], keyPatterns: ['user:*'], securityLevel: SecurityLevel.INTERNAL };

beforeAll(async () => {
  const base = { redisUrl: redis.url, namespace: ns, logLevel: 'silent' as const, enableSecurity: true, sessionSecret: SECRET };
  a = createIntegratedCache({ ...base, auditLogPath: auditPath });
  b = createIntegratedCache(base);
  await a.initialize();
  await b.initialize();
  for (const c of [a, b]) await c.securityManager.addCustomRole(role);
  await a.set('admin:1', 'root only', { sessionId: await a.createSession('root', 'admin') });
  alice = await a.createSession('alice', 'user');
  raw = await rawClient(redis.url);
});
afterAll(async () => {
  await raw?.quit();
  await a?.close();
  await b?.close();
});

const lastAudit = () => JSON.parse(readFileSync(auditPath, 'utf8').trim().split('\n').at(-1) as string) as { outcome: string; reason: string };

describe('hole 5: session records are authenticated', () => {
  it('a session made on one instance works on another with the same sessionSecret', async () => {
    await b.set('user:1', 'x', { sessionId: alice });
    expect(await a.get('user:1', { sessionId: alice })).toBe('x');
  });

  it('HSET <ns>:session:<id> role admin is refused (SessionForgedError, audited), on every instance', async () => {
    await raw.hSet(`${ns}:session:${alice}`, 'role', 'admin');
    await expect(b.get('admin:1', { sessionId: alice })).rejects.toBeInstanceOf(SessionForgedError);
    // The instance that had the session in memory drops it on the change (tracking) and refuses too.
    let refused: unknown = null;
    for (let i = 0; i < 100 && refused === null; i++) {
      refused = await a.get('admin:1', { sessionId: alice }).then(
        () => null,
        (e: unknown) => e,
      );
      if (refused === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(refused).toBeInstanceOf(SessionForgedError);
    expect((refused as SessionForgedError).code).toBe('E_SESSION_FORGED');
    expect(refused).toBeInstanceOf(AccessDeniedError);
    expect(lastAudit()).toMatchObject({ outcome: 'denied', reason: expect.stringMatching(/failed authentication/) });
  });

  it('a forged session hash (no mac, or a wrong one) grants nothing', async () => {
    const exp = String(Date.now() + 3_600_000);
    const noMac = randomBytes(32).toString('base64url');
    await raw.hSet(`${ns}:session:${noMac}`, { user: 'mallory', role: 'admin', exp });
    await expect(a.get('admin:1', { sessionId: noMac })).rejects.toBeInstanceOf(SessionForgedError);
    const wrongMac = randomBytes(32).toString('base64url');
    await raw.hSet(`${ns}:session:${wrongMac}`, { user: 'mallory', role: 'admin', exp, mac: randomBytes(32).toString('base64url') });
    await expect(a.get('admin:1', { sessionId: wrongMac })).rejects.toBeInstanceOf(SessionForgedError);
    expect(lastAudit()).toMatchObject({ outcome: 'denied' });
  });

  it('a genuine record copied to another session id does not verify (the id is authenticated)', async () => {
    const bob = await a.createSession('bob', 'user');
    const record = await raw.hGetAll(`${ns}:session:${bob}`);
    const copy = randomBytes(32).toString('base64url');
    await raw.hSet(`${ns}:session:${copy}`, record);
    await expect(b.get('user:1', { sessionId: copy })).rejects.toBeInstanceOf(SessionForgedError);
    expect(await b.get('user:1', { sessionId: bob })).toBe('x');
  });

  it('an instance with another secret does not accept the sessions', async () => {
    const other = createIntegratedCache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent', enableSecurity: true, sessionSecret: 'another-secret-0123456789-abcdefghijk' });
    await other.initialize();
    const carol = await a.createSession('carol', 'user');
    await expect(other.get('user:1', { sessionId: carol })).rejects.toBeInstanceOf(SessionForgedError);
    await other.close();
  });
});
