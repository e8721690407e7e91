import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsistencySession, createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import { CacheError } from '../src/errors.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
let cache: IntegratedCacheManager;

beforeAll(async () => {
  cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('fz'), logLevel: 'silent', maxKeyLength: 256, l1MaxSize: 500 });
  await cache.initialize();
});
afterAll(async () => {
  await cache.close();
});

/** Runs `fn`; an outcome is fine if it resolves, or rejects with a CacheError, within 2 s. */
async function outcome(fn: () => unknown): Promise<'ok' | 'cache-error' | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = Promise.resolve().then(fn);
    await Promise.race([result, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('HANG')), 2000)))]);
    return 'ok';
  } catch (err) {
    if (err instanceof CacheError) return 'cache-error';
    return `not a CacheError: ${(err as Error)?.name}: ${(err as Error)?.message}`;
  } finally {
    clearTimeout(timer);
  }
}

// Keys: any unicode (lone surrogates and controls included), glob characters, very long strings,
// and non-strings.
const anyKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('*', '?', '[', ']', '\\', '^', '-', '{', '}', ':', 'a', '\n', '\0', '\uD800'), maxLength: 20 }),
  fc.string({ minLength: 250, maxLength: 300 }),
  fc.constantFrom('', ' ', 'user:1', 'a'.repeat(257)),
  fc.anything(),
);
const anyValue = fc.oneof(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }), fc.constant(undefined), fc.constant(() => 1), fc.constant(Symbol('s')));
const anyTtl = fc.oneof(fc.constant(undefined), fc.double(), fc.integer(), fc.constantFrom(0, -1, Number.NaN, Infinity, 1e-9, 1e12), fc.string() as fc.Arbitrary<unknown>);

describe('fuzz: no input crashes, hangs, or yields an error that is not a CacheError', () => {
  it('keys, values, TTLs, patterns and session tokens', async () => {
    await fc.assert(
      fc.asyncProperty(anyKey, anyValue, anyTtl, anyKey, fc.string({ unit: 'binary', maxLength: 60 }), async (key, value, ttl, pattern, token) => {
        const k = key as string;
        const results = [
          await outcome(() => cache.set(k, value, { ttl: ttl as number })),
          await outcome(() => cache.get(k)),
          await outcome(() => cache.getSync(k)),
          await outcome(() => cache.has(k)),
          await outcome(() => cache.getOrSet(k, () => value, { ttl: ttl as number, grace: ttl as number })),
          await outcome(() => cache.getMany([k, 'user:1'])),
          await outcome(() => cache.setMany([{ key: k, value }])),
          await outcome(() => cache.delete(k)),
          await outcome(() => cache.invalidatePattern(`fz-${pattern as string}`)),
          await outcome(() => cache.set(k, 1, { tags: [pattern as string], dependsOn: [k] })),
          await outcome(() => cache.invalidateTags([pattern as string])),
          await outcome(() => ConsistencySession.fromToken(token)),
          await outcome(() => cache.get(k, { consistency: 'session', session: ConsistencySession.fromToken(token) })),
        ];
        for (const r of results) expect(r === 'ok' || r === 'cache-error', r).toBe(true);
      }),
      { numRuns: 300, seed: 20261127 },
    );
  }, 120_000);

  it('control characters, new lines, NUL and lone surrogates are refused as keys', async () => {
    for (const bad of ['a\nb', 'a\0b', 'a\rb', '\u0085', 'x\uD800', '\uDC00x', 'tab\there']) {
      await expect(cache.set(bad, 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    }
    await expect(cache.set('emoji:😀', 1)).resolves.toBeUndefined();
    const strict = createIntegratedCache({ allowedKeyPattern: '^[a-z0-9:]+$', logLevel: 'silent' });
    await strict.initialize();
    await expect(strict.set('User:1', 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    await expect(strict.set('user:1', 1)).resolves.toBeUndefined();
    await strict.close();
  });
});
