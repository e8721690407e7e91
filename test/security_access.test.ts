import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegratedCache, Permission, SecurityLevel, verifyAuditFile, type IntegratedCacheManager } from '../src/index.js';
import { AccessDeniedError, CacheStateError } from '../src/errors.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-audit-'));
const auditPath = join(dir, 'audit.jsonl');
let a: IntegratedCacheManager; // the instance under attack
let b: IntegratedCacheManager; // another instance of the same namespace
const s: Record<string, string> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const ns = uniqueNamespace('sec');
  const base = { redisUrl: redis.url, namespace: ns, logLevel: 'silent' as const, enableSecurity: true };
  a = createIntegratedCache({ ...base, auditLogPath: auditPath, auditHmacKey: 'audit-key-0123456789', instanceId: 'a' });
  b = createIntegratedCache({ ...base, instanceId: 'b' });
  await a.initialize();
  await b.initialize();
  for (const c of [a, b]) {
    c.securityManager.addCustomRole({ name: 'user', permissions: [Permission.READ, Permission.WRITE, Permission.DELETE], keyPatterns: ['user:*', 'public:*'], rateLimit: 100_000, securityLevel: SecurityLevel.INTERNAL });
    c.securityManager.addCustomRole({ name: 'reader', permissions: [Permission.READ], keyPatterns: ['user:*'], securityLevel: SecurityLevel.INTERNAL });
    c.securityManager.addCustomRole({ name: 'temp', permissions: [Permission.READ], keyPatterns: ['user:*'], securityLevel: SecurityLevel.PUBLIC });
  }
  s.admin = await a.createSession('root', 'admin');
  s.user = await a.createSession('alice', 'user');
  s.reader = await a.createSession('bob', 'reader');
  s.expired = await a.createSession('carol', 'user', { ttl: 0.2 });
  s.revoked = await b.createSession('dave', 'user'); // made on B, revoked on B, used on A
  s.temp = await a.createSession('erin', 'temp');
  const admin = { sessionId: s.admin };
  await a.set('user:1', { name: 'Alice' }, admin);
  await a.set('admin:1', 'root only', admin);
  await a.set('user:secret', 'restricted', { ...admin, securityLevel: SecurityLevel.RESTRICTED });
  await a.set('admin:report', 'derived', { ...admin, dependsOn: ['user:1'] });
  await a.set('admin:tagged', 'x', { ...admin, tags: ['shared'] });
  await a.set('public:1', 'p', { sessionId: s.user, tags: ['mine'] });
  expect(await a.get('user:1', { sessionId: s.user })).toEqual({ name: 'Alice' }); // the user session works
  await b.securityManager.revokeSession(s.revoked);
  a.securityManager.removeRole('temp');
  await sleep(250); // carol's session expires
});

afterAll(async () => {
  await a?.close();
  await b?.close();
});

const other = () => createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('sec2'), logLevel: 'silent', enableSecurity: true });

// [name, attempt]: every one must be refused with AccessDeniedError, and audited.
const ATTEMPTS: [string, () => Promise<unknown>][] = [
  ['no session at all', () => a.get('user:1')],
  ['forged session id (right shape, random)', () => a.get('user:1', { sessionId: 'A'.repeat(43) })],
  ['malformed session id', () => a.get('user:1', { sessionId: '../../admin' })],
  ['expired session', () => a.get('user:1', { sessionId: s.expired })],
  ['session revoked on another instance', () => a.get('user:1', { sessionId: s.revoked })],
  ['session whose role was removed', () => a.get('user:1', { sessionId: s.temp })],
  ['READ-only role writes', () => a.set('user:2', 1, { sessionId: s.reader })],
  ['READ-only role deletes', () => a.delete('user:1', { sessionId: s.reader })],
  ['READ-only role read-through (needs WRITE)', () => a.getOrSet('user:3', () => 1, { sessionId: s.reader })],
  ['read outside the key patterns', () => a.get('admin:1', { sessionId: s.user })],
  ['has() outside the key patterns', () => a.has('admin:1', { sessionId: s.user })],
  ['write outside the key patterns', () => a.set('admin:2', 'x', { sessionId: s.user })],
  ['getMany with one key outside', () => a.getMany(['user:1', 'admin:1'], { sessionId: s.user })],
  ['a key that looks like a glob', () => a.get('admin:*', { sessionId: s.user })],
  ['invalidatePattern("*")', () => a.invalidatePattern('*', { sessionId: s.user })],
  ['invalidatePattern("u*")', () => a.invalidatePattern('u*', { sessionId: s.user })],
  ['invalidatePattern("user?*") (? matches any character)', () => a.invalidatePattern('user?*', { sessionId: s.user })],
  ['invalidatePattern("user[:x]*") (class escapes the colon)', () => a.invalidatePattern('user[:x]*', { sessionId: s.user })],
  ['invalidatePattern("*user:*")', () => a.invalidatePattern('*user:*', { sessionId: s.user })],
  ['invalidatePattern("[u]ser:*") (not provably inside)', () => a.invalidatePattern('[u]ser:*', { sessionId: s.user })],
  ['invalidatePattern("user\\\\") (escape at the end)', () => a.invalidatePattern('user\\', { sessionId: s.user })],
  ['read a value above the role’s level', () => a.get('user:secret', { sessionId: s.user })],
  ['write a value above the role’s level', () => a.set('user:x', 1, { sessionId: s.user, securityLevel: SecurityLevel.RESTRICTED })],
  ['delete a key an admin key depends on (dependency escape)', () => a.delete('user:1', { sessionId: s.user })],
  ['invalidatePattern("user:*") reaching an admin dependent', () => a.invalidatePattern('user:*', { sessionId: s.user })],
  ['invalidateTags with a member outside the patterns', () => a.invalidateTags(['shared'], { sessionId: s.user })],
  ['declare a dependency on a key outside the patterns', () => a.set('user:y', 1, { sessionId: s.user, dependsOn: ['admin:1'] })],
  ['clear() without ADMIN', () => a.clear({ sessionId: s.user })],
  ['a session from another namespace', async () => {
      const c = other();
      await c.initialize();
      const foreign = await c.createSession('mallory', 'admin');
      await c.close();
      return a.get('admin:1', { sessionId: foreign });
    }],
];

describe('access control: bypass attempts', () => {
  it.each(ATTEMPTS)('denied: %s', async (_name, attempt) => {
    await expect(attempt()).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it(`all ${ATTEMPTS.length} attempts are in the audit trail as denied, and nothing they aimed at changed`, async () => {
    const records = readFileSync(auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { outcome: string; key: string | null; keyHashed: boolean; session: string | null });
    expect(records.filter((r) => r.outcome === 'denied').length).toBeGreaterThanOrEqual(ATTEMPTS.length);
    // Session ids never appear in the trail (only digests).
    const text = readFileSync(auditPath, 'utf8');
    for (const id of Object.values(s)) expect(text).not.toContain(id);
    // RESTRICTED data: the admin's records hash the key.
    expect(records.some((r) => r.keyHashed && r.key !== null && /^[0-9a-f]{64}$/.test(r.key))).toBe(true);
    expect(verifyAuditFile(auditPath, Buffer.from('audit-key-0123456789')).ok).toBe(true);
    const admin = { sessionId: s.admin };
    expect(await a.get('admin:1', admin)).toBe('root only');
    expect(await a.get('admin:report', admin)).toBe('derived');
    expect(await a.get('admin:tagged', admin)).toBe('x');
    expect(await a.get('user:1', admin)).toEqual({ name: 'Alice' });
  });

  it('what the role may do still works: inside patterns, provable patterns, own tags', async () => {
    const user = { sessionId: s.user };
    await a.set('user:42:a', 1, user);
    await a.set('user:42:b', 2, user);
    expect(await a.invalidatePattern('user:42:*', user)).toBe(2);
    expect(await a.invalidateTags(['mine'], user)).toBe(1);
    expect(await a.getOrSet('public:2', () => 'loaded', user)).toBe('loaded');
    expect(() => a.getSync('user:1')).toThrow(CacheStateError);
    // Admin removes the dependent; now the user may delete user:1.
    await a.delete('admin:report', { sessionId: s.admin });
    expect(await a.delete('user:1', user)).toBe(true);
  });
});

describe('audit trail verification', () => {
  it('tiercache audit verify detects an edited, an inserted and a deleted record', () => {
    const lines = readFileSync(auditPath, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    const write = (name: string, content: string[]) => {
      const p = join(dir, name);
      writeFileSync(p, content.join('\n') + '\n');
      return p;
    };
    const edited = [...lines];
    edited[5] = edited[5].replace('"outcome":"denied"', '"outcome":"ok"').replace('"outcome":"ok"', '"outcome":"error"');
    const inserted = [...lines.slice(0, 7), lines[3], ...lines.slice(7)];
    const deleted = [...lines.slice(0, 4), ...lines.slice(5)];
    const cli = (file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify', file, '--key', 'audit-key-0123456789'], { encoding: 'utf8' });
    const ok = cli(auditPath);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/chain intact/);
    const e = cli(write('edited.jsonl', edited));
    expect(e.status).toBe(1);
    expect(e.stdout).toMatch(/line 6 .*edited/);
    const i = cli(write('inserted.jsonl', inserted));
    expect(i.status).toBe(1);
    expect(i.stdout).toMatch(/line 8 .*inserted/);
    const d = cli(write('deleted.jsonl', deleted));
    expect(d.status).toBe(1);
    expect(d.stdout).toMatch(/line 5 .*deleted/);
    // Without the HMAC key the chain does not verify at all (it is not a plain hash chain).
    expect(verifyAuditFile(auditPath).ok).toBe(false);
  });
});

describe('patterns under access control', () => {
  it('pattern manager calls carry the session: allowed inside the role, denied outside', async () => {
    const pm = a.patternManager;
    const written: string[] = [];
    const writer = {
      name: 'recording',
      write: (k: string) => {
        written.push(k);
        return true;
      },
    };
    expect(await pm.getOrSet('user:77', () => ({ id: 77 }), { sessionId: s.user })).toEqual({ id: 77 });
    expect(await pm.setWithPattern('user:78', { id: 78 }, { dataWriter: writer, sessionId: s.user })).toBe(true);
    expect(await pm.getMany(['user:77', 'user:78'], () => undefined, { sessionId: s.user })).toEqual([{ id: 77 }, { id: 78 }]);
    await expect(pm.getOrSet('admin:77', () => 1, { sessionId: s.user })).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(pm.setWithPattern('admin:78', 1, { dataWriter: writer, sessionId: s.user })).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(pm.setWithPattern('user:80', 1, { dataWriter: writer, sessionId: s.reader })).rejects.toBeInstanceOf(AccessDeniedError);
    expect(written).toEqual(['user:78']); // a refused write never reached the data source
    await expect(pm.getOrSet('user:79', () => 1)).rejects.toBeInstanceOf(AccessDeniedError); // no session
  });
});
