// Found by the API fuzz (test/fuzz_api.test.ts): with a source that keeps failing, close() waited
// for a batch's retries to run out (maxRetryMs, 2 minutes by default) instead of the drain
// timeout. The failing batch now gives up at the drain deadline and stays queued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachePattern, createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
let cache: IntegratedCacheManager;

beforeAll(async () => {
  cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('wbstop'), logLevel: 'silent' }, { writeBehind: { flushIntervalMs: 10, retryBaseMs: 20, retryMaxMs: 200 } });
  await cache.initialize();
});
afterAll(async () => {
  await cache?.close();
});

describe('write-behind stop during a source outage', () => {
  it('patternManager.close(timeout) returns at its deadline with a batch failing; the entry stays queued', async () => {
    let calls = 0;
    const down = {
      name: 'down-source',
      write: () => {
        calls++;
        throw new Error('source down');
      },
    };
    await cache.patternManager.setWithPattern('order:1', { total: 5 }, { dataWriter: down, pattern: CachePattern.WRITE_BEHIND });
    for (let i = 0; i < 200 && calls < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toBeGreaterThanOrEqual(2); // retrying
    const started = Date.now();
    await cache.patternManager.close(300);
    expect(Date.now() - started).toBeLessThan(2000);
    const q = cache.patternManager.inspectWriteBehindQueue('down-source');
    expect(await q.backlog()).toBeGreaterThan(0);
  }, 20_000);
});
