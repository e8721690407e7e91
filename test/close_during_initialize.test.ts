// close() called while initialize() is still connecting (a shutdown signal during start-up, a
// test's afterEach): the cache used to go on to 'ready' after close() had returned, with its
// Redis connections open and nobody left to close them (the process never exits).
import { describe, expect, it } from 'vitest';
import { createIntegratedCache } from '../src/index.js';
import { CacheStateError } from '../src/errors.js';
import { rawClient, uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();

async function clientsConnected(): Promise<number> {
  const admin = await rawClient(redis.url);
  const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
  await admin.close();
  return list.split('\n').filter((l) => l.trim() !== '').length - 1; // minus the admin connection
}

describe('close() during initialize()', () => {
  it('leaves the cache closed and no connection open', async () => {
    const before = await clientsConnected();
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', enableMonitoring: false });
    const init = cache.initialize();
    await cache.close(); // before initialize() has settled
    await init.catch(() => undefined);
    await expect(cache.get('k')).rejects.toBeInstanceOf(CacheStateError);
    await expect(cache.set('k', 1)).rejects.toBeInstanceOf(CacheStateError);
    // node-redis closes sockets asynchronously: give the server a moment to see them go.
    let after = await clientsConnected();
    for (let i = 0; i < 50 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await clientsConnected();
    }
    expect(after).toBe(before);
  });

  it('an L1-only cache too', async () => {
    const cache = createIntegratedCache({ namespace: uniqueNamespace(), logLevel: 'silent', enableMonitoring: false });
    const init = cache.initialize();
    await cache.close();
    await init.catch(() => undefined);
    await expect(cache.get('k')).rejects.toBeInstanceOf(CacheStateError);
  });
});
