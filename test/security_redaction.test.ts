// Issue 15, hole 14: `cache.config` held the encryption keys as given, so util.inspect(cache),
// console.log(cache.config) or JSON.stringify(cache.config) printed them.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import { AesGcmCipher } from '../src/security/aes_gcm_cipher.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const hexKey = randomBytes(32).toString('hex');
const b64Key = randomBytes(32).toString('base64');
const bufKey = randomBytes(32);
const HMAC = 'hmac-secret-0123456789abcdef';
const PASSWORD = 'redis-password-4711';
let cache: IntegratedCacheManager;

/** Every spelling of the secrets that could leak: as given, and each key in hex, base64 and inspect's Buffer bytes. */
const forms = (): string[] => {
  const out = [HMAC, PASSWORD, hexKey, b64Key];
  for (const k of [Buffer.from(hexKey, 'hex'), Buffer.from(b64Key, 'base64'), bufKey]) {
    out.push(k.toString('hex'), k.toString('base64'), inspect(k).slice(8, 40));
  }
  return out;
};

beforeAll(async () => {
  cache = createIntegratedCache({
    redisUrl: redis.url.replace('redis://', `redis://default:${PASSWORD}@`),
    namespace: uniqueNamespace('red'),
    logLevel: 'silent',
    enableEncryption: true,
    encryptionKeys: [
      { id: 1, key: hexKey },
      { id: 2, key: b64Key },
      { id: 3, key: bufKey },
    ],
    enableSecurity: true,
    auditHmacKey: HMAC,
  });
});
afterAll(async () => {
  await cache?.close();
});

describe('hole 14: no key material in what prints', () => {
  it('util.inspect(cache), util.inspect(cache.config), JSON.stringify(cache.config) and String interpolation hold none of the secrets', () => {
    const printed = [
      inspect(cache, { depth: Infinity }),
      inspect(cache.config, { depth: Infinity, showHidden: false }),
      JSON.stringify(cache.config),
      JSON.stringify(cache),
      `${inspect({ wrapped: cache })}`,
    ];
    for (const text of printed) {
      for (const secret of forms()) expect(text, `leaks ${secret.slice(0, 6)}…`).not.toContain(secret);
    }
    // What is shown is still useful.
    expect(JSON.stringify(cache.config)).toContain('"encryptionKeys":[{"id":1,"key":"[redacted]"}');
    expect(inspect(cache)).toContain(cache.config.namespace);
  });

  it('the config still works as a config: the keys are there for the code that uses them', () => {
    expect(cache.config.encryptionKeys?.[0].key).toBe(hexKey);
    expect({ ...cache.config }.auditHmacKey).toBe(HMAC);
  });

  it('the cipher prints its key ids, not its keys', () => {
    const cipher = new AesGcmCipher([{ id: 7, key: bufKey }]);
    const text = inspect(cipher, { showHidden: true, depth: Infinity }) + JSON.stringify(cipher);
    expect(text).not.toContain(bufKey.toString('hex'));
    expect(text).not.toContain(inspect(bufKey).slice(8, 40));
    expect(text).toContain('7');
  });

  it('after initialize (security manager, audit log, sessions live) nothing leaks either', async () => {
    await cache.initialize();
    const text = inspect(cache, { depth: Infinity, showHidden: true }) + inspect(cache.securityManager, { depth: Infinity, showHidden: true });
    for (const secret of forms()) expect(text).not.toContain(secret);
  });
});
