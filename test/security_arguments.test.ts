// Issue 15, hole 13: every public call validates its arguments (guards/argument_validator.ts)
// and throws only CacheError subclasses with a `code`; with security on, the refusal is audited.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheError, createIntegratedCache, InvalidOptionsError, Permission, SecurityLevel, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-args-'));
const auditPath = join(dir, 'audit.jsonl');
let open: IntegratedCacheManager;
let secured: IntegratedCacheManager;
let sid = '';

const auditLines = (): { op: string; outcome: string; key: string | null; reason: string | null; user: string | null }[] =>
  readFileSync(auditPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { op: string; outcome: string; key: string | null; reason: string | null; user: string | null });

beforeAll(async () => {
  open = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('args'), logLevel: 'silent' });
  secured = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('sargs'), logLevel: 'silent', enableSecurity: true, auditLogPath: auditPath });
  await open.initialize();
  await secured.initialize();
  await secured.securityManager.addCustomRole({ name: 'rw', permissions: [Permission.READ, Permission.WRITE, Permission.DELETE], keyPatterns: ['*'], securityLevel: SecurityLevel.INTERNAL });
  sid = await secured.createSession('alice', 'rw');
});

afterAll(async () => {
  await open?.close();
  await secured?.close();
});

type Call = (c: IntegratedCacheManager, o: { sessionId?: string }) => unknown;
const writer = { name: 'args-writer', write: () => true };

/** Bad arguments the red team's fuzzing found untyped, and their neighbours. */
const BAD: [string, Call][] = [
  ['get(null)', (c, o) => c.get(null as never, o)],
  ['get(42)', (c, o) => c.get(42 as never, o)],
  ['set(null)', (c, o) => c.set(null as never, 1 as never, o)],
  ['delete(7)', (c, o) => c.delete(7 as never, o)],
  ['invalidatePattern(null)', (c, o) => c.invalidatePattern(null as never, o)],
  ['set with tags: 1', (c, o) => c.set('k:tags1', 1, { ...o, tags: 1 as never })],
  ['set with tags: "abc" (a string, not a list)', (c, o) => c.set('k:tags2', 1, { ...o, tags: 'abc' as never })],
  ['set with tags: [null]', (c, o) => c.set('k:tags3', 1, { ...o, tags: [null] as never })],
  ['set with dependsOn: {}', (c, o) => c.set('k:deps', 1, { ...o, dependsOn: {} as never })],
  ['getOrSet with tags: 1', (c, o) => c.getOrSet('k:gtags', () => 1, { ...o, tags: 1 as never })],
  ['getOrSet with a loader that is not one', (c, o) => c.getOrSet('k:loader', 42 as never, o)],
  ['getMany(null)', (c, o) => c.getMany(null as never, o)],
  ['getMany("abc")', (c, o) => c.getMany('abc' as never, o)],
  ['setMany(null)', (c, o) => c.setMany(null as never, o)],
  ['setMany([null])', (c, o) => c.setMany([null] as never, o)],
  ['invalidateTags("t")', (c, o) => c.invalidateTags('t' as never, o)],
  ['set with options: null', (c) => c.set('k:optnull', 1, null as never)],
  ['getOrSet with options: 5 (miss)', (c) => c.getOrSet('k:opt5', () => 1, 5 as never)],
  ['get with options: null (miss)', (c) => c.get('k:optnull2', null as never)],
  ['patternManager.getOrSet with options: null', (c) => c.patternManager.getOrSet('k:pm1', () => 1, null as never)],
  ['patternManager.getMany(null)', (c, o) => c.patternManager.getMany(null as never, () => 1, o)],
  ['patternManager.getMany with options: null', (c) => c.patternManager.getMany(['k:pm2'], () => 1, null as never)],
  ['patternManager.setWithPattern with options: null', (c) => c.patternManager.setWithPattern('k:pm3', 1, null as never)],
  ['patternManager.setManyWithPattern with options: null', (c) => c.patternManager.setManyWithPattern([{ key: 'k:pm4', value: 1 }], null as never)],
  ['patternManager.setManyWithPattern(null)', (c, o) => c.patternManager.setManyWithPattern(null as never, { dataWriter: writer, ...o })],
  ['warmer.warmKeys with options: null', (c) => c.warmer.warmKeys(['k:w'], () => 1, null as never)],
  ['warmer.warmKeys(null)', (c, o) => c.warmer.warmKeys(null as never, () => 1, o)],
];

describe('hole 13: bad arguments get typed errors', () => {
  it.each(BAD)('without security: %s', async (_name, call) => {
    const err = await Promise.resolve()
      .then(() => call(open, {}))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err, 'refused').toBeInstanceOf(CacheError);
    expect(typeof (err as CacheError).code).toBe('string');
  });

  it.each(BAD)('with security: %s is refused with a typed error and audited as denied', async (_name, call) => {
    const before = auditLines().length;
    const err = await Promise.resolve()
      .then(() => call(secured, { sessionId: sid }))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err, 'refused').toBeInstanceOf(CacheError);
    expect(typeof (err as CacheError).code).toBe('string');
    const added = auditLines().slice(before);
    expect(added.some((r) => r.outcome === 'denied')).toBe(true);
  });

  it('a refused write wrote nothing (tags are checked before the value is stored)', async () => {
    await expect(open.set('k:tags-first', 1, { tags: [null] as never })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(await open.get('k:tags-first')).toBeUndefined();
  });

  it('a null key with security on is audited with the caller, the refused value described, and why', async () => {
    const before = auditLines().length;
    await expect(secured.get(null as never, { sessionId: sid })).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    const [r] = auditLines().slice(before);
    expect(r).toMatchObject({ op: 'get', outcome: 'denied', user: 'alice', key: '<null>' });
    expect(r.reason).toMatch(/invalid argument/);
  });

  it('a DataWriter answering false, or throwing, is a WriterError (E_WRITER)', async () => {
    const pm = open.patternManager;
    await expect(pm.setManyWithPattern([{ key: 'k:wb', value: 1 }], { dataWriter: { name: 'no', writeBatch: () => false } as never })).rejects.toMatchObject({ code: 'E_WRITER' });
    await expect(pm.setWithPattern('k:w1', 1, { dataWriter: { name: 'no', write: () => false } })).rejects.toMatchObject({ code: 'E_WRITER' });
    const thrown = await pm.setWithPattern('k:w2', 1, { dataWriter: { name: 'boom', write: () => Promise.reject(new TypeError('db down')) } }).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'E_WRITER' });
    expect((thrown as Error).cause).toBeInstanceOf(TypeError);
  });

  it('a loader that throws inside a cache-aside read is a LoaderError', async () => {
    await expect(open.patternManager.getOrSet('k:ca', () => Promise.reject(new RangeError('x')), { pattern: 'cache_aside' })).rejects.toMatchObject({ code: 'E_LOADER' });
  });
});

describe('hole 13: configuration that could not work is refused with a typed error', () => {
  it('a redis:// URL with redisTls is an InvalidOptionsError naming redisTls (was a TypeError at initialize)', async () => {
    let err: unknown;
    try {
      const c = createIntegratedCache({ redisUrl: redis.url, redisTls: { rejectUnauthorized: false }, logLevel: 'silent' });
      await c.initialize();
      await c.close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect((err as InvalidOptionsError).option).toBe('redisTls');
  });

  it('an auditLogPath that cannot be written fails initialize() with InvalidOptionsError (was a raw EEXIST / EISDIR)', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const path of [join(file, 'audit.jsonl'), dir]) {
      const c = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('badaudit'), enableSecurity: true, auditLogPath: path, logLevel: 'silent' });
      let err: unknown;
      try {
        await c.initialize();
        const s = await c.createSession('u', 'admin');
        await c.set('k', 1, { sessionId: s });
      } catch (e) {
        err = e;
      }
      await c.close();
      expect(err, path).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).option).toBe('auditLogPath');
    }
  });
});
