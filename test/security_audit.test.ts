// Issue 15, holes 8 and 11: what the audit trail records and how it survives restarts and tampering.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AccessDeniedError, createIntegratedCache, Permission, RateLimitError, SecurityLevel, verifyAuditFile, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-audit2-'));
const HMAC = 'audit-key-for-tests-0123';
let n = 0;
const caches: IntegratedCacheManager[] = [];

interface Rec {
  seq: number;
  op: string;
  outcome: string;
  key: string | null;
  reason: string | null;
  user: string | null;
  keyHashed: boolean;
}
const records = (path: string): Rec[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);

async function open(options: Record<string, unknown> = {}): Promise<{ cache: IntegratedCacheManager; path: string; sid: string }> {
  const { rate, ...config } = options;
  const path = (config.auditLogPath as string | undefined) ?? join(dir, `audit-${++n}.jsonl`);
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('aud'), logLevel: 'silent', enableSecurity: true, auditHmacKey: HMAC, maxKeyLength: 65_536, ...config, auditLogPath: path });
  caches.push(cache);
  await cache.initialize();
  await cache.securityManager.addCustomRole({ name: 'user', permissions: [Permission.READ, Permission.WRITE], keyPatterns: ['user:*'], securityLevel: SecurityLevel.INTERNAL, rateLimit: (rate as number | undefined) ?? 60_000 });
  const sid = await cache.createSession('mallory', 'user');
  return { cache, path, sid };
}

afterAll(async () => {
  for (const c of caches) await c.close();
});

describe('hole 8: the trail holds a bounded, escaped form of the key', () => {
  it('a lone surrogate in a refused key does not break the chain (it was reported broken from that record on)', async () => {
    const { cache, path, sid } = await open();
    await expect(cache.get('user:\uD800x', { sessionId: sid })).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    await expect(cache.get('admin:\uDC00', { sessionId: sid })).rejects.toBeDefined();
    await cache.set('user:ok', 1, { sessionId: sid });
    const recs = records(path);
    expect(recs.some((r) => r.key === 'user:\\ud800x')).toBe(true);
    expect(verifyAuditFile(path, Buffer.from(HMAC))).toMatchObject({ ok: true, head: 'ok' });
  });

  it('a 1 MB key in a refused call writes a few hundred bytes, with its length and hash', async () => {
    const { cache, path, sid } = await open();
    const before = statSync(path).size;
    await expect(cache.get(`admin:${'x'.repeat(1_000_000)}`, { sessionId: sid })).rejects.toBeDefined(); // too long: invalid
    await expect(cache.get(`admin:${'y'.repeat(60_000)}`, { sessionId: sid })).rejects.toBeInstanceOf(AccessDeniedError); // valid, outside the role
    expect(statSync(path).size - before).toBeLessThan(2000);
    const [a, b] = records(path).slice(-2);
    expect(a.key).toMatch(/^admin:x+…\[1000006 chars, sha256 [0-9a-f]{32}\]$/);
    expect(b.key).toMatch(/^admin:y+…\[60006 chars, sha256 [0-9a-f]{32}\]$/);
    expect(verifyAuditFile(path, Buffer.from(HMAC)).ok).toBe(true);
  });

  it('denials consume the rate limit (a refused call costs what an allowed one does)', async () => {
    // 60/min: burst 10.
    const { cache, sid } = await open({ rate: 60 });
    for (let i = 0; i < 10; i++) await expect(cache.get(`admin:${i}`, { sessionId: sid })).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(cache.get('user:1', { sessionId: sid })).rejects.toBeInstanceOf(RateLimitError);
  });
});

describe('hole 11: audit gaps', () => {
  it('a refused bulk call records the refused key, not the first allowed one', async () => {
    const { cache, path, sid } = await open();
    await expect(cache.getMany(['user:1', 'user:2', 'admin:secret'], { sessionId: sid })).rejects.toBeInstanceOf(AccessDeniedError);
    const last = records(path).at(-1) as Rec;
    expect(last).toMatchObject({ op: 'getMany', outcome: 'denied', key: 'admin:secret' });
  });

  it('global rate-limit refusals are audited, one record per second per bucket with the count of the rest', async () => {
    const { cache, path, sid } = await open({ globalRateLimit: { opsPerSecond: 1, burst: 5 } });
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      await cache.get('user:1', { sessionId: sid }).catch((e: unknown) => {
        if (e instanceof RateLimitError) refused++;
      });
    }
    expect(refused).toBeGreaterThan(20);
    const limited = records(path).filter((r) => r.outcome === 'rate_limited');
    expect(limited.length, JSON.stringify(limited)).toBe(1);
    // Refused before the session was looked at: the level is unknown, so the key is hashed.
    expect(limited[0]).toMatchObject({ op: 'get', keyHashed: true, key: createHash('sha256').update('user:1').digest('hex') });
  });

  it('a restart goes on with the chain in the same file (it started again at seq 1: verify saw an insertion)', async () => {
    const first = await open();
    await first.cache.set('user:a', 1, { sessionId: first.sid });
    await first.cache.close();
    const seqBefore = (records(first.path).at(-1) as Rec).seq;
    const second = await open({ auditLogPath: first.path });
    await second.cache.set('user:b', 1, { sessionId: second.sid });
    const recs = records(first.path);
    expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i + 1));
    expect(recs.length).toBeGreaterThan(seqBefore);
    expect(verifyAuditFile(first.path, Buffer.from(HMAC))).toMatchObject({ ok: true, head: 'ok' });
  });

  it('a truncated tail is detected through the signed head (`audit verify` fails), as are a missing and a forged head', async () => {
    const { cache, path, sid } = await open();
    for (let i = 0; i < 5; i++) await cache.set(`user:${i}`, i, { sessionId: sid });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, lines.slice(0, -2).join('\n') + '\n');
    copyFileSync(`${path}.head`, `${cut}.head`);
    const r = verifyAuditFile(cut, Buffer.from(HMAC));
    expect(r.ok).toBe(false);
    expect(r.firstBad?.problem).toMatch(/truncated/);
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify', cut, '--key', HMAC], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/truncated/);
    // A head rewritten to match the cut file does not verify without the key.
    const prev = JSON.parse(lines.at(-3) as string) as { seq: number; hash: string };
    writeFileSync(`${cut}.head`, JSON.stringify({ seq: prev.seq, hash: prev.hash, mac: '0'.repeat(64) }));
    expect(verifyAuditFile(cut, Buffer.from(HMAC)).ok).toBe(false);
    rmSync(`${cut}.head`);
    expect(verifyAuditFile(cut, Buffer.from(HMAC))).toMatchObject({ ok: false, head: 'missing' });
    // The live file verifies.
    expect(verifyAuditFile(path, Buffer.from(HMAC))).toMatchObject({ ok: true, head: 'ok' });
  });
});
