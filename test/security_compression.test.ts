// Issue 15, hole 6: compression before encryption was on by default. With an attacker-controlled
// field next to a secret and the stored size visible (Redis access), the size told whether a
// guess matched the secret (CRIME / BREACH: an 8-character secret fell in 288 writes). With
// encryption on, values are not compressed unless `compressEncrypted` says so.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const KEY = randomBytes(32).toString('base64');

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('cmp'), logLevel: 'silent', enableL1Cache: false, enableEncryption: true, encryptionKeys: [{ id: 1, key: KEY }], ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}
afterAll(async () => {
  for (const c of open) await c.close();
});

/** The stored size of `key`: what anyone reading Redis sees. */
async function storedSize(c: IntegratedCacheManager, key: string): Promise<number> {
  const raw = await rawClient(redis.url);
  try {
    return await raw.strLen(`${c.config.namespace}:v${WIRE_VERSION}:${key}`);
  } finally {
    await raw.quit();
  }
}

const SECRET = 'k7Qz9wXp';
/** A record mixing the secret with an attacker's text (the attack writes guesses into `note`). */
const record = (guess: string) => ({ token: SECRET, note: `${guess} `.repeat(200) });

describe('hole 6: no compression under encryption by default', () => {
  it('the stored size does not depend on whether a guess matches the secret', async () => {
    const cache = await makeCache();
    await cache.set('right', record(SECRET));
    await cache.set('wrong', record('aaaaaaaa'));
    expect(await storedSize(cache, 'right')).toBe(await storedSize(cache, 'wrong'));
    expect(await cache.get('right')).toEqual(record(SECRET));
  });

  it('large repetitive values are stored at full size (nothing compressed)', async () => {
    const cache = await makeCache();
    await cache.set('big', 'x'.repeat(20_000));
    expect(await storedSize(cache, 'big')).toBeGreaterThan(20_000);
  });

  it('compressEncrypted: true opts back in (documented trade-off), and both read each other', async () => {
    const on = await makeCache({ compressEncrypted: true });
    await on.set('big', 'x'.repeat(20_000));
    expect(await storedSize(on, 'big')).toBeLessThan(2000);
    const off = await makeCache({ namespace: on.config.namespace });
    expect(await off.get('big')).toBe('x'.repeat(20_000));
  });

  it('without encryption, compression stays on by default', async () => {
    const plain = await makeCache({ enableEncryption: false, encryptionKeys: undefined });
    await plain.set('big', 'x'.repeat(20_000));
    expect(await storedSize(plain, 'big')).toBeLessThan(2000);
  });
});
