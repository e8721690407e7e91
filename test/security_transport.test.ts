import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegratedCache } from '../src/index.js';
import { freePort, RedisServer } from '../src/embedded/redis_server.js';
import { TierUnavailableError } from '../src/errors.js';
import { uniqueNamespace } from './support/redis.js';
import { makeTestPki, type TestPki } from './support/tls_certs.js';

let pki: TestPki;
let tlsServer: RedisServer;
let tlsPort: number;
let aclServer: RedisServer;

beforeAll(async () => {
  pki = makeTestPki();
  tlsPort = await freePort();
  // TLS only (plain port closed), client certificates required.
  tlsServer = await RedisServer.start({
    port: tlsPort,
    args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', pki.serverCert, '--tls-key-file', pki.serverKey, '--tls-ca-cert-file', pki.ca, '--tls-auth-clients', 'yes'],
  });
  aclServer = await RedisServer.start({
    configText: [
      'user default off',
      'user app on >app-secret ~* &* +@all -flushall -flushdb -keys -debug',
      'user noscripts on >ns-secret ~* &* +@all -@scripting',
      '',
    ].join('\n'),
  });
}, 60_000);

afterAll(async () => {
  await tlsServer?.stop();
  await aclServer?.stop();
});

describe('TLS to Redis (rediss://, CA, client certificate, server name)', () => {
  it('connects with the right CA and client certificate; values and coherence work', async () => {
    const ns = uniqueNamespace('tls');
    const opts = {
      redisUrl: `rediss://127.0.0.1:${tlsPort}`,
      redisTls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost' },
      namespace: ns,
      logLevel: 'silent' as const,
    };
    const a = createIntegratedCache(opts);
    const b = createIntegratedCache(opts);
    await a.initialize();
    await b.initialize();
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1');
    await a.set('k', 'v2');
    await new Promise((r) => setTimeout(r, 20));
    expect(await b.get('k')).toBe('v2');
    expect((await a.healthCheck()).overallHealth).toBe('healthy');
    await a.close();
    await b.close();
  });

  it('a wrong CA gives a clear error at initialize, not a hang', async () => {
    const c = createIntegratedCache({ redisUrl: `rediss://127.0.0.1:${tlsPort}`, redisTls: { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey }, logLevel: 'silent', connectTimeoutMs: 20_000 });
    const t0 = Date.now();
    const err = await c.initialize().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TierUnavailableError);
    expect((err as Error).message).toMatch(/certificate|TLS|self.signed/i);
    expect(Date.now() - t0).toBeLessThan(10_000); // failed on the error, not at the 20 s connect timeout
  });

  it('no client certificate when the server requires one: a clear error', async () => {
    const c = createIntegratedCache({ redisUrl: `rediss://127.0.0.1:${tlsPort}`, redisTls: { ca: pki.ca }, logLevel: 'silent', connectTimeoutMs: 3000 });
    await expect(c.initialize()).rejects.toBeInstanceOf(TierUnavailableError);
  });
});

describe('Redis ACL users', () => {
  it('an ACL user that lacks dangerous commands runs every cache operation', async () => {
    const c = createIntegratedCache({ redisUrl: aclServer.url, redisUsername: 'app', redisPassword: 'app-secret', namespace: uniqueNamespace('acl'), logLevel: 'silent' });
    await c.initialize();
    await c.set('user:1', 1, { tags: ['t'] });
    expect(await c.getOrSet('user:2', () => 2)).toBe(2);
    expect(await c.invalidatePattern('user:*')).toBe(2);
    expect((await c.healthCheck()).overallHealth).toBe('healthy');
    await c.close();
  });

  it('a user without scripting: plain operations work, getOrSet degrades to an unlocked load', async () => {
    const c = createIntegratedCache({ redisUrl: aclServer.url, redisUsername: 'noscripts', redisPassword: 'ns-secret', namespace: uniqueNamespace('acl'), logLevel: 'silent' });
    await c.initialize();
    await c.set('k', 1);
    expect(await c.get('k')).toBe(1);
    expect(await c.getOrSet('j', () => 'loaded')).toBe('loaded');
    await c.close();
    // Scripted batches (no L1, redisScriptedWrites): refused once (NOPERM), then plain SETs, nothing lost.
    const noL1 = createIntegratedCache({ redisUrl: aclServer.url, redisUsername: 'noscripts', redisPassword: 'ns-secret', namespace: uniqueNamespace('acl'), enableL1Cache: false, redisScriptedWrites: true, logLevel: 'silent' });
    await noL1.initialize();
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 20 }, (_, i) => noL1.set(`n${i}`, round)));
    expect(await noL1.getMany(Array.from({ length: 20 }, (_, i) => `n${i}`))).toEqual(Array(20).fill(2));
    await noL1.close();
  });

  it('a wrong password (in the URL or as options) gives a clear error at initialize', async () => {
    for (const opts of [{ redisUrl: `redis://app:wrong@127.0.0.1:${aclServer.port}` }, { redisUrl: aclServer.url, redisUsername: 'app', redisPassword: 'nope' }]) {
      const c = createIntegratedCache({ ...opts, logLevel: 'silent', connectTimeoutMs: 20_000 });
      const t0 = Date.now();
      await expect(c.initialize()).rejects.toThrow(/WRONGPASS|credentials/);
      expect(Date.now() - t0).toBeLessThan(10_000); // failed on WRONGPASS, not at the 20 s connect timeout
    }
  });
});
