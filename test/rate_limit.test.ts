import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, RateLimiter, type IntegratedCacheManager } from '../src/index.js';
import { RateLimitError } from '../src/errors.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';
import { InstanceProcess } from './support/instance_process.js';

const redis = useRedisServer();
const procs: InstanceProcess[] = [];
const open: IntegratedCacheManager[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.close()));
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('rate limiting', () => {
  it('a global limit holds across two processes within 5% of the configured rate', async () => {
    const rate = 400;
    const burst = 40;
    const durationMs = 3000;
    const ns = uniqueNamespace('rl');
    const options = { redisUrl: redis.url, namespace: ns, globalRateLimit: { opsPerSecond: rate, burst } };
    const [p1, p2] = await Promise.all([InstanceProcess.start(options), InstanceProcess.start(options)]);
    procs.push(p1, p2);
    const startAt = Date.now() + 500;
    const [r1, r2] = await Promise.all([p1, p2].map((p) => p.call<{ ok: number; limited: number }>('hammer', 'k', startAt, durationMs)));
    const allowed = r1.ok + r2.ok;
    const expected = burst + (rate * durationMs) / 1000;
    console.log(`global rate limit ${rate}/s burst ${burst}, two processes for ${durationMs} ms: allowed ${allowed} (expected ${expected}, ${((allowed / expected - 1) * 100).toFixed(1)}%), refused ${r1.limited + r2.limited}`);
    expect(r1.ok).toBeGreaterThan(0);
    expect(r2.ok).toBeGreaterThan(0);
    expect(r1.limited + r2.limited).toBeGreaterThan(0);
    expect(Math.abs(allowed / expected - 1)).toBeLessThanOrEqual(0.05);
  }, 30_000);

  it('exceeding raises RateLimitError with the time to wait; a per-user limit follows the role', async () => {
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace('rl'), logLevel: 'silent', enableSecurity: true });
    await cache.initialize();
    open.push(cache);
    cache.securityManager.addCustomRole({ name: 'slow', permissions: ['read'], keyPatterns: ['*'], rateLimit: 60, securityLevel: 1 });
    const sid = await cache.createSession('u1', 'slow');
    const other = await cache.createSession('u2', 'slow');
    let ok = 0;
    let err: unknown;
    try {
      for (let i = 0; i < 100; i++) {
        await cache.get('k', { sessionId: sid });
        ok++;
      }
    } catch (e) {
      err = e;
    }
    expect(ok).toBe(10); // 60/min → burst of 10
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBeGreaterThan(0);
    expect((err as RateLimitError).retryAfterMs).toBeLessThanOrEqual(1000);
    await expect(cache.get('k', { sessionId: other })).resolves.toBeUndefined(); // per user, not per role
  });

  it('without Redis the buckets are local', async () => {
    const limiter = new RateLimiter(null, 'x:', 100);
    let ok = 0;
    for (let i = 0; i < 50; i++) {
      try {
        await limiter.take('b', { ratePerSecond: 10, burst: 5 });
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(RateLimitError);
      }
    }
    expect(ok).toBe(5);
  });
});
