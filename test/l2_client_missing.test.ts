// node-redis is loaded only when an endpoint is configured (tier_setup.ts). If that load fails
// (a package manager that did not install @redis/client, a broken install), initialize() rejects
// with a typed TierUnavailableError that says what is missing, not a raw module error.
import { describe, expect, it, vi } from 'vitest';

vi.mock('../src/tiers/redis/l2_modules.js', () => {
  throw Object.assign(new Error("Cannot find package '@redis/client' imported from /app/node_modules/tiercache/dist/chunks/l2.js"), { code: 'ERR_MODULE_NOT_FOUND' });
});

describe('Redis configured, client not loadable', () => {
  it('initialize() rejects with TierUnavailableError naming @redis/client; L1-only still works', async () => {
    const { createIntegratedCache } = await import('../src/index.js');
    const cache = createIntegratedCache({ redisUrl: 'redis://127.0.0.1:1', logLevel: 'silent', enableMonitoring: false });
    const err = await cache.initialize().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'E_TIER_UNAVAILABLE' });
    expect(String((err as Error).message)).toMatch(/@redis\/client/);
    const local = createIntegratedCache({ logLevel: 'silent', enableMonitoring: false });
    await local.initialize();
    await local.set('k', 1);
    expect(await local.get('k')).toBe(1);
    await local.close();
  });
});
