// Property fuzz over every public method of every public object (found by reflection, as in the
// enumeration test) with arbitrary arguments, on a cache without security and one with it: every
// call resolves, or rejects (or throws) a CacheError with a `code`, within 2 s. FUZZ_MS sets how
// long it runs (npm test: 3 s; `npm run fuzz`: 60 s); FUZZ_SEED replays a run (the seed is printed).
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheError, CachePattern, createIntegratedCache, Permission, SecurityLevel, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const FUZZ_MS = Number(process.env.FUZZ_MS ?? 3000);
// A fixed seed for the short run in `npm test` (reproducible); a fresh one for longer runs.
const SEED = Number(process.env.FUZZ_SEED ?? (process.env.FUZZ_MS === undefined ? 20261202 : Date.now() % 2 ** 31));
const HANG_MS = 2000;

const redis = useRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'tiercache-fuzz-'));
let open: IntegratedCacheManager;
let secured: IntegratedCacheManager;
const sessions: string[] = [];

beforeAll(async () => {
  open = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('fza'), logLevel: 'silent', maxKeyLength: 256, l1MaxSize: 500 });
  secured = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('fzs'), logLevel: 'silent', enableSecurity: true, auditLogPath: join(dir, 'audit.jsonl'), maxKeyLength: 256, l1MaxSize: 500 });
  await open.initialize();
  await secured.initialize();
  await secured.securityManager.addCustomRole({ name: 'user', permissions: [Permission.READ, Permission.WRITE, Permission.DELETE], keyPatterns: ['user:*', 'k:*'], securityLevel: SecurityLevel.INTERNAL, rateLimit: 6_000_000 });
  sessions.push(await secured.createSession('root', 'admin'), await secured.createSession('alice', 'user'));
});
// close() drains the write-behind queues the fuzz created, bounded by their drain timeout (10 s each cache).
afterAll(async () => {
  await open?.close();
  await secured?.close();
}, 60_000);

/** Lifecycle calls (the owner's, not a session's) are not fuzzed: they end the objects under test. */
const LIFECYCLE = new Set(['manager.initialize', 'manager.close', 'patternManager.close']);

function methodsOf(obj: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(obj) as object | null; p !== null && p !== Object.prototype && p !== EventEmitter.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (d !== undefined && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

const objects = (c: IntegratedCacheManager): Record<string, object> => ({
  manager: c,
  patternManager: c.patternManager,
  invalidationManager: c.patternManager.invalidationManager,
  warmer: c.warmer,
  ...(c.config.enableSecurity ? { securityManager: c.securityManager } : {}),
});

// --- arbitraries -------------------------------------------------------------------------------
const key = fc.oneof(
  fc.constantFrom('user:1', 'user:2', 'k:a', 'admin:1', 'user:*', 'k:[a-z]*', '*', ''),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('*', '?', '[', ']', '\\', '^', '\n', '\0', '\uD800', 'u', ':'), maxLength: 10 }),
  fc.constantFrom(null, undefined, 0, 42, -1, NaN, true, 'a'.repeat(300)),
  fc.anything({ maxDepth: 1 }),
);
const keyList = fc.oneof(fc.array(key, { maxLength: 6 }), key);
const loader = fc.constantFrom<unknown>(
  () => 1,
  async (k: string) => ({ k }),
  () => undefined,
  () => {
    throw new Error('loader failed');
  },
  () => Promise.reject(new TypeError('async loader failed')),
  () => {
    throw Object.create(null) as unknown; // no message, no string form
  },
  { load: () => 'dl' },
  { load: () => 'dl', loadBatch: (ks: string[]) => new Map(ks.map((k) => [k, k])) },
  { loadBatch: () => ({}) },
  { load: 5 },
  null,
  42,
  'loader',
);
const writer = fc.constantFrom<unknown>(
  { name: 'fz-ok', write: () => true },
  { name: 'fz-false', write: () => false },
  { name: 'fz-throw', write: () => Promise.reject(new Error('source down')) },
  { name: 'fz-odd', write: () => Promise.reject(Object.create(null) as Error) },
  { name: 'fz-batch', writeBatch: (m: Map<string, unknown>) => new Map([...m.keys()].map((k) => [k, true])) },
  { name: 'fz-partial', writeBatch: () => ({ 'user:1': false }) },
  { write: () => true },
  {},
  null,
  'writer',
);
const number = fc.oneof(fc.double(), fc.integer({ min: -10, max: 100_000 }), fc.constantFrom(0, -1, NaN, Infinity, 1e-9, 1e12), fc.string({ maxLength: 3 }) as fc.Arbitrary<unknown>);
const session = fc.oneof(fc.constantFrom(0, 1).map((i) => sessions[i]), fc.string({ maxLength: 50 }), fc.constantFrom(undefined, null, 7, 'x'.repeat(43)));
const options = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      sessionId: session,
      ttl: number,
      grace: number,
      tags: keyList,
      dependsOn: keyList,
      securityLevel: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.anything({ maxDepth: 0 })),
      consistency: fc.constantFrom('strong', 'eventual', 'weak', 'session', 'bogus', undefined),
      pattern: fc.constantFrom(...Object.values(CachePattern), 'bogus'),
      dataWriter: writer,
      softTimeoutMs: fc.oneof(fc.integer({ min: -1, max: 50 }), fc.anything({ maxDepth: 0 })),
      hardTimeoutMs: fc.oneof(fc.integer({ min: -1, max: 500 }), fc.anything({ maxDepth: 0 })),
      concurrency: number,
      overwrite: fc.anything({ maxDepth: 0 }),
      default: fc.anything({ maxDepth: 1 }),
      breakerKey: fc.anything({ maxDepth: 0 }),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom(null, 5, 'opts', [] as unknown),
);
const entries = fc.oneof(fc.array(fc.oneof(fc.record({ key, value: fc.anything({ maxDepth: 2 }), ttl: number }, { requiredKeys: [] }), key), { maxLength: 5 }), key);
const value = fc.oneof(fc.anything({ maxDepth: 2, withBigInt: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true }), fc.constantFrom<unknown>(undefined, () => 1, Symbol('s')));
const anyArg = fc.oneof(key, keyList, loader, writer, options, entries, value, number);

/** Arguments shaped like a real call (most calls reach past the first check), or any 0-4 arguments. */
const SHAPES: Record<string, fc.Arbitrary<unknown[]>> = {
  get: fc.tuple(key, options),
  set: fc.tuple(key, value, options),
  getOrSet: fc.tuple(key, loader, options),
  getMany: fc.oneof(fc.tuple(keyList, options), fc.tuple(keyList, loader, options)),
  setMany: fc.tuple(entries, options),
  delete: fc.tuple(key, options),
  has: fc.tuple(key, options),
  invalidatePattern: fc.tuple(key, options),
  invalidateTags: fc.tuple(keyList, options),
  setWithPattern: fc.tuple(key, value, options),
  setManyWithPattern: fc.tuple(entries, options),
  warmKeys: fc.tuple(keyList, loader, options),
  addEventHandler: fc.tuple(key, fc.constantFrom<unknown>(() => undefined, () => Promise.reject(new Error('h')), 5), options),
  emit: fc.tuple(key, value, options),
  // A benchmark runs for durationSeconds (default 5 s, past the hang bound): always given, short or invalid.
  benchmark: fc.tuple(fc.oneof(fc.constantFrom('latency', 'throughput', 'mixed', 'bogus'), fc.anything({ maxDepth: 0 })), fc.record({ durationSeconds: fc.constantFrom(0.02, 0, -1, NaN, 'x'), sessionId: session, onProgress: fc.anything({ maxDepth: 0 }) })),
  // Bounded so a valid resize stays small (50M entries is a valid, large allocation).
  resizeL1: fc.tuple(fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.anything({ maxDepth: 0 }))),
};

/** Runs `fn`: 'ok' if it resolves, 'cache-error' if it rejects or throws a CacheError with a code, else what went wrong. */
async function outcome(fn: () => unknown): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = Promise.resolve().then(fn);
    await Promise.race([result, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('HANG')), HANG_MS)))]);
    return 'ok';
  } catch (err) {
    if (err instanceof CacheError && typeof err.code === 'string') return 'cache-error';
    return `not a CacheError: ${(err as Error)?.name}: ${(err as Error)?.message}`;
  } finally {
    clearTimeout(timer);
  }
}

describe('property fuzz: every public method, arbitrary arguments', () => {
  it(`only CacheErrors, no hang (${FUZZ_MS} ms, seed ${SEED})`, async () => {
    const targets: { name: string; call: (args: unknown[]) => unknown; args: fc.Arbitrary<unknown[]> }[] = [];
    for (const cache of [open, secured]) {
      const label = cache === open ? 'open' : 'secured';
      for (const [objName, obj] of Object.entries(objects(cache))) {
        for (const m of methodsOf(obj)) {
          if (LIFECYCLE.has(`${objName}.${m}`)) continue;
          const fn = (obj as Record<string, (...a: unknown[]) => unknown>)[m];
          const shaped = SHAPES[m];
          const args = m === 'benchmark' || m === 'resizeL1' ? shaped : shaped === undefined ? fc.array(anyArg, { maxLength: 4 }) : fc.oneof({ arbitrary: shaped, weight: 3 }, { arbitrary: fc.array(anyArg, { maxLength: 4 }), weight: 1 });
          targets.push({ name: `${label} ${objName}.${m}`, call: (a) => fn.apply(obj, a), args });
        }
      }
    }
    expect(targets.length).toBeGreaterThan(60);
    const seen = new Map<string, number>();
    const call = fc.integer({ min: 0, max: targets.length - 1 }).chain((i) => targets[i].args.map((args) => ({ i, args })));
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(call, async ({ i, args }) => {
        const t = targets[i];
        seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
        const r = await outcome(() => t.call(args));
        expect(r === 'ok' || r === 'cache-error', `${t.name}(${fc.stringify(args)}): ${r}`).toBe(true);
      }),
      { numRuns: 10_000_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false, seed: SEED },
    );
    const calls = [...seen.values()].reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${calls} calls over ${seen.size} of ${targets.length} methods in ${Date.now() - started} ms (seed ${SEED})`);
  }, FUZZ_MS + 60_000);
});
