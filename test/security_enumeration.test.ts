// Every public method of every public object, found by reflection on the objects themselves, is
// called with a session whose role does not allow it: each must refuse with a typed CacheError
// and leave a 'denied' record in the audit trail. A method added without a guard fails here: it
// has no entry in CALLS (so the coverage check fails), or its entry is not refused.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchmarkType, CacheError, createIntegratedCache, Permission, SecurityLevel, startDashboard, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-enum-'));
const auditPath = join(dir, 'audit.jsonl');
let cache: IntegratedCacheManager;
let sid = '';
let adminSid = '';

const auditLines = (): { op: string; outcome: string }[] =>
  readFileSync(auditPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { op: string; outcome: string });

/**
 * Lifecycle calls made by the code that created the cache, not by a session (documented in
 * docs/security.md). Event listeners are in-process wiring like `initialize`: `on`/`once`/`off`
 * take no session, as the public `events` emitter never did.
 */
const LIFECYCLE = new Set(['manager.initialize', 'manager.close', 'patternManager.close', 'manager.on', 'manager.once', 'manager.off']);

/** Public methods of `obj`: its own prototype chain up to Object (EventEmitter's listener plumbing excluded). */
function methodsOf(obj: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(obj) as object | null; p !== null && p !== Object.prototype && p !== EventEmitter.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (d !== undefined && typeof d.value === 'function') names.add(name);
    }
  }
  for (const name of Object.keys(obj)) if (typeof (obj as Record<string, unknown>)[name] === 'function') names.add(name);
  return [...names];
}

const loader = () => 'loaded';
const writer = { name: 'enum-writer', write: () => true };
const opts = () => ({ sessionId: sid });

/** How to call each method with the unprivileged session. */
const CALLS: Record<string, (o: Record<string, (...a: unknown[]) => unknown>) => unknown> = {
  'manager.get': (o) => o.get('user:1', opts()),
  'manager.getSync': (o) => o.getSync('user:1'),
  'manager.set': (o) => o.set('user:1', 1, opts()),
  'manager.delete': (o) => o.delete('user:1', opts()),
  'manager.has': (o) => o.has('user:1', opts()),
  'manager.getMany': (o) => o.getMany(['user:1'], opts()),
  'manager.setMany': (o) => o.setMany([{ key: 'user:1', value: 1 }], opts()),
  'manager.getOrSet': (o) => o.getOrSet('user:1', loader, opts()),
  'manager.invalidatePattern': (o) => o.invalidatePattern('user:*', opts()),
  'manager.invalidateTags': (o) => o.invalidateTags(['t'], opts()),
  'manager.clear': (o) => o.clear(opts()),
  'manager.benchmark': (o) => o.benchmark(BenchmarkType.LATENCY, { durationSeconds: 0.05, ...opts() }),
  'manager.getStats': (o) => o.getStats(opts()),
  'manager.getStatsSync': (o) => o.getStatsSync(),
  'manager.healthCheck': (o) => o.healthCheck(opts()),
  'manager.metrics': (o) => o.metrics(opts()),
  'manager.getMemoryMonitor': (o) => o.getMemoryMonitor(),
  'manager.resizeL1': (o) => o.resizeL1(100),
  'manager.createSession': (o) => o.createSession('mallory', 'admin', opts()),
  'patternManager.getOrSet': (o) => o.getOrSet('user:1', loader, opts()),
  'patternManager.getMany': (o) => o.getMany(['user:1'], loader, opts()),
  'patternManager.setWithPattern': (o) => o.setWithPattern('user:1', 1, { dataWriter: writer, ...opts() }),
  'patternManager.setManyWithPattern': (o) => o.setManyWithPattern([{ key: 'user:1', value: 1 }], { dataWriter: writer, ...opts() }),
  'patternManager.configurePrefix': (o) => o.configurePrefix('user:', { ttl: 1 }),
  'patternManager.configFor': (o) => o.configFor('user:1'),
  'patternManager.ttlFor': (o) => o.ttlFor('user:1'),
  'patternManager.writeBehindQueue': (o) => o.writeBehindQueue(writer),
  'patternManager.inspectWriteBehindQueue': (o) => o.inspectWriteBehindQueue('users'),
  'invalidationManager.invalidateTags': (o) => o.invalidateTags(['t'], opts()),
  'invalidationManager.invalidatePattern': (o) => o.invalidatePattern('user:*', opts()),
  'invalidationManager.addEventHandler': (o) => o.addEventHandler('user:*', () => undefined, opts()),
  'invalidationManager.emit': (o) => o.emit('user:1', {}, opts()),
  'warmer.warmKeys': (o) => o.warmKeys(['user:1'], loader, opts()),
  'securityManager.addCustomRole': (o) => o.addCustomRole({ name: 'wide', permissions: [Permission.ADMIN], keyPatterns: ['*'], securityLevel: SecurityLevel.RESTRICTED }, opts()),
  'securityManager.removeRole': (o) => o.removeRole('admin', opts()),
  'securityManager.getRole': (o) => o.getRole('admin', opts()),
  'securityManager.createSession': (o) => o.createSession('mallory', 'admin', opts()),
  'securityManager.revokeSession': (o) => o.revokeSession(adminSid, opts()),
};

beforeAll(async () => {
  cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('enum'), logLevel: 'silent', enableSecurity: true, auditLogPath: auditPath });
  await cache.initialize();
  // The role can read one key it will never be asked about: everything below is outside it.
  await cache.securityManager.addCustomRole({ name: 'nobody', permissions: [Permission.READ], keyPatterns: ['none:*'], securityLevel: SecurityLevel.PUBLIC });
  sid = await cache.createSession('eve', 'nobody');
  adminSid = await cache.createSession('root', 'admin');
  await cache.set('user:1', 'kept', { sessionId: adminSid, tags: ['t'] });
});

afterAll(async () => {
  await cache?.close();
});

const objects = (): Record<string, object> => ({
  manager: cache,
  patternManager: cache.patternManager,
  invalidationManager: cache.patternManager.invalidationManager,
  warmer: cache.warmer,
  securityManager: cache.securityManager,
});

describe('every public method refuses a session outside its role, audited', () => {
  it('the method list comes from the objects, and every method has a call here (none unlisted)', () => {
    const found: string[] = [];
    for (const [name, obj] of Object.entries(objects())) for (const m of methodsOf(obj)) found.push(`${name}.${m}`);
    expect(found.length).toBeGreaterThan(35);
    const unlisted = found.filter((m) => !(m in CALLS) && !LIFECYCLE.has(m));
    expect(unlisted).toEqual([]);
    const stale = Object.keys(CALLS).filter((m) => !found.includes(m));
    expect(stale).toEqual([]);
  });

  it('each one is refused with a typed error and a denied audit record', async () => {
    const results: { method: string; refused: string | null; audited: boolean }[] = [];
    for (const [name, obj] of Object.entries(objects())) {
      for (const m of methodsOf(obj)) {
        const method = `${name}.${m}`;
        if (LIFECYCLE.has(method)) continue;
        const call = CALLS[method];
        if (call === undefined) continue; // reported by the coverage test
        const before = auditLines().length;
        let refused: string | null = null;
        try {
          await call(obj as Record<string, (...a: unknown[]) => unknown>);
        } catch (err) {
          refused = err instanceof CacheError && typeof err.code === 'string' ? err.code : `untyped: ${String(err)}`;
        }
        const added = auditLines().slice(before);
        results.push({ method, refused, audited: added.some((r) => r.outcome === 'denied') });
      }
    }
    const failures = results.filter((r) => r.refused === null || r.refused.startsWith('untyped') || !r.audited);
    expect(failures).toEqual([]);
    expect(results.length).toBeGreaterThan(35);
    // Nothing the refused calls aimed at changed.
    expect(await cache.get('user:1', { sessionId: adminSid })).toBe('kept');
    expect(await cache.securityManager.getRole('admin')).toBeDefined();
  });

  it('the metrics handler answers 403 to a session without ADMIN (401 without one), audited', async () => {
    const handler = cache.metricsHandler;
    const call = (authorization?: string) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        let status = 0;
        const res = {
          writeHead: (s: number) => {
            status = s;
            return res;
          },
          end: (body: string) => resolve({ status, body }),
        };
        handler({ headers: authorization === undefined ? {} : { authorization } } as IncomingMessage, res as unknown as ServerResponse);
      });
    for (const [auth, status] of [[`Bearer ${sid}`, 403], [undefined, 401]] as const) {
      const before = auditLines().length;
      const r = await call(auth);
      expect(r.status).toBe(status);
      expect(r.body).not.toContain('tiercache_');
      expect(auditLines().slice(before).some((l) => l.outcome === 'denied' && l.op === 'metricsHandler')).toBe(true);
    }
    expect((await call(`Bearer ${adminSid}`)).status).toBe(200);
  });

  it('the dashboard does not start for a session without ADMIN, audited', async () => {
    const before = auditLines().length;
    await expect(startDashboard(cache, { sessionId: sid, curveEveryMs: 0 })).rejects.toBeInstanceOf(CacheError);
    await expect(startDashboard(cache, { curveEveryMs: 0 })).rejects.toBeInstanceOf(CacheError);
    expect(auditLines().slice(before).filter((l) => l.outcome === 'denied').length).toBe(2);
    const d = await startDashboard(cache, { sessionId: adminSid, curveEveryMs: 0 });
    await d.close();
  });
});
