import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { configFromEnv } from '../src/config/env_config.js';
import { HEADER_BYTES, WIRE_VERSION } from '../src/codec/envelope_header.js';
import { InvalidOptionsError } from '../src/errors.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
const KEY1 = randomBytes(32).toString('base64');
const KEY2 = randomBytes(32).toString('hex');

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({
    redisUrl: redis.url,
    namespace: uniqueNamespace('enc'),
    logLevel: 'silent',
    enableL1Cache: false, // every read goes to Redis: what an attacker with Redis access can touch
    enableEncryption: true,
    encryptionKeys: [{ id: 1, key: KEY1 }],
    ...options,
  });
  await cache.initialize();
  open.push(cache);
  return cache;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const redisKey = (c: IntegratedCacheManager, k: string) => `${c.config.namespace}:v${WIRE_VERSION}:${k}`;

describe('encryption at rest (AES-256-GCM)', () => {
  it('round-trips; Redis holds no plaintext; every value is sealed with the current key id', async () => {
    const cache = await makeCache();
    await cache.set('user:1', { ssn: '123-45-6789' });
    expect(await cache.get('user:1')).toEqual({ ssn: '123-45-6789' });
    const raw = await rawClient(redis.url);
    const bytes = (await raw.withTypeMapping({ [36]: Buffer } as never).get(redisKey(cache, 'user:1'))) as unknown as Buffer;
    await raw.close();
    expect(bytes.includes(Buffer.from('123-45-6789'))).toBe(false);
    expect(bytes[HEADER_BYTES]).toBe(1); // key id
    expect((await cache.getStats()).security).toMatchObject({ encryption: true, currentKeyId: 1 });
  });

  it('flipping any single byte of a stored value: never returned, a security event each time', async () => {
    const cache = await makeCache();
    const events: unknown[] = [];
    cache.events.on('security', (e) => events.push(e));
    await cache.set('k', { secret: 'x' });
    const raw = await rawClient(redis.url);
    const bin = raw.withTypeMapping({ [36]: Buffer } as never);
    const original = (await bin.get(redisKey(cache, 'k'))) as unknown as Buffer;
    let returned = 0;
    for (let i = 0; i < original.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = Buffer.from(original);
        tampered[i] ^= mask;
        await raw.set(redisKey(cache, 'k'), tampered);
        if ((await cache.get('k')) !== undefined) returned++;
      }
    }
    await raw.set(redisKey(cache, 'k'), original);
    expect(await cache.get('k')).toEqual({ secret: 'x' }); // the untouched bytes still read
    await raw.close();
    expect(returned).toBe(0);
    expect(events.length).toBe(original.length * 2);
  });

  it('a ciphertext moved to another key or another namespace does not decrypt', async () => {
    const a = await makeCache();
    const b = await makeCache(); // same key, other namespace
    await a.set('user:1', { role: 'admin' });
    const raw = await rawClient(redis.url);
    const bin = raw.withTypeMapping({ [36]: Buffer } as never);
    const sealed = (await bin.get(redisKey(a, 'user:1'))) as unknown as Buffer;
    await raw.set(redisKey(a, 'user:2'), sealed);
    await raw.set(redisKey(b, 'user:1'), sealed);
    await raw.close();
    expect(await a.get('user:2')).toBeUndefined();
    expect(await b.get('user:1')).toBeUndefined();
    expect((await a.getStats()).security.events).toBe(1);
  });

  it('a plaintext value injected into an encrypted namespace is rejected', async () => {
    const enc = await makeCache();
    const plain = await makeCache({ namespace: enc.config.namespace, enableEncryption: false });
    await plain.set('k', { injected: true });
    expect(await enc.get('k')).toBeUndefined();
  });

  it('rotation: values under the old key still read; new writes use the new key id', async () => {
    const old = await makeCache();
    await old.set('before', 'rotation');
    const rotated = await makeCache({ namespace: old.config.namespace, encryptionKeys: [{ id: 1, key: KEY1 }, { id: 2, key: KEY2 }], encryptionKeyId: 2 });
    expect(await rotated.get('before')).toBe('rotation');
    await rotated.set('after', 'rotation');
    const raw = await rawClient(redis.url);
    const bin = raw.withTypeMapping({ [36]: Buffer } as never);
    expect(((await bin.get(redisKey(rotated, 'after'))) as unknown as Buffer)[HEADER_BYTES]).toBe(2);
    expect(((await bin.get(redisKey(rotated, 'before'))) as unknown as Buffer)[HEADER_BYTES]).toBe(1);
    await raw.close();
    // An instance that never got key 2 cannot read the new value (and says so as a security event).
    expect(await old.get('after')).toBeUndefined();
  });

  it('keys never appear in errors: bad key material and bad environment values', () => {
    const secret = 'c2VjcmV0LWtleS10aGF0LWlzLXRvby1zaG9ydA==';
    try {
      createIntegratedCache({ enableEncryption: true, encryptionKeys: [{ id: 1, key: secret }] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toContain(secret);
    }
    try {
      configFromEnv({ CACHE_ENCRYPTION_KEYRING: `1:${secret},x` });
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidOptionsError).option).toBe('CACHE_ENCRYPTION_KEYRING');
      expect((err as Error).message).not.toContain(secret);
    }
    expect(() => createIntegratedCache({ enableEncryption: true })).toThrow(/encryptionKeys/);
  });

  it('keys from the environment: CACHE_ENCRYPTION_KEY / CACHE_ENCRYPTION_KEYRING + CACHE_ENCRYPTION_KEY_ID', () => {
    expect(configFromEnv({ CACHE_ENCRYPTION_KEY: KEY1 }).encryptionKeys).toEqual([{ id: 1, key: KEY1 }]);
    expect(configFromEnv({ CACHE_ENCRYPTION_KEYRING: `1:${KEY1},2:${KEY2}`, CACHE_ENCRYPTION_KEY_ID: '2' })).toEqual({
      encryptionKeys: [
        { id: 1, key: KEY1 },
        { id: 2, key: KEY2 },
      ],
      encryptionKeyId: 2,
    });
  });
});
