import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache } from '../src/index.js';
import { TierUnavailableError } from '../src/errors.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();

// Tests here kill and pause the server: whatever one leaves behind (a failed assertion between
// kill and restart), the next starts with a running, empty one.
afterEach(async () => {
  await redis.server.restart();
});

describe('Redis outage', () => {
  it('reads degrade to L1 and misses, writes keep L1, health goes degraded and back', async () => {
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', l2CommandTimeoutMs: 300 });
    await cache.initialize();
    await cache.set('warm', 'in-l1');
    expect((await cache.healthCheck()).overallHealth).toBe('healthy');

    await redis.server.kill();
    expect(await cache.get('warm')).toBe('in-l1'); // L1 still serves
    expect(await cache.get('cold')).toBeUndefined(); // L2 failure is a miss, not an error
    await cache.set('during', 'outage'); // suppressed: kept in L1
    expect(cache.getSync('during')).toBe('outage');
    const h = await cache.healthCheck();
    expect(h.overallHealth).toBe('degraded');
    expect(h.redisConnected).toBe(false);
    expect(h.issues.join(' ')).toMatch(/Redis is not reachable/);
    expect((await cache.getStats()).l2.errors).toBeGreaterThan(0);

    await redis.server.restart();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await cache.healthCheck()).overallHealth !== 'healthy') await new Promise((r) => setTimeout(r, 100));
    expect((await cache.healthCheck()).overallHealth).toBe('healthy');
    await cache.set('after', 1);
    expect(await cache.get('after')).toBe(1);
    await cache.close();
  });

  it('a reconnection that TCP-connects and is reset before its handshake completes (a dying server) leaves L1 serving; the completed one drops it', async () => {
    // Deterministic stand-in for a SIGKILLed redis-server whose backlog still accepts: a proxy that,
    // once "dying", accepts each connection and resets it when the handshake arrives.
    let dying = false;
    let resets = 0;
    const open = new Set<Socket>();
    const port = Number(new URL(redis.url).port);
    const proxy = createServer((client) => {
      if (dying) {
        client.once('data', () => {
          resets++;
          client.resetAndDestroy();
        });
        client.on('error', () => {});
        return;
      }
      const upstream = connect(port, '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
        a.pipe(b);
      }
      open.add(client);
      open.add(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const proxyPort = (proxy.address() as { port: number }).port;
    const namespace = uniqueNamespace();
    // A long staleness bound, so only the flush (not the watchdog's gate) can take 'warm' away.
    const cache = createIntegratedCache({ redisUrl: `redis://127.0.0.1:${proxyPort}`, namespace, logLevel: 'silent', l2CommandTimeoutMs: 300, coherenceStalenessMs: 60_000 });
    const writer = createIntegratedCache({ redisUrl: redis.url, namespace, logLevel: 'silent' });
    try {
      await cache.initialize();
      await writer.initialize();
      await cache.set('warm', 'in-l1');
      dying = true;
      for (const s of open) s.resetAndDestroy();
      const deadline = Date.now() + 10_000;
      while (resets < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(resets).toBe(2);
      // Two tracking handshakes were built and reset: nothing reached Redis, L1 keeps serving.
      expect(await cache.get('warm')).toBe('in-l1');
      expect((await cache.getStats()).coherence.fullFlushes).toBe(0);

      // Changed while this instance hears nothing: its push is lost.
      await writer.set('warm', 'changed');
      dying = false;
      while ((await cache.getStats()).coherence.fullFlushes === 0 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
      expect(await cache.get('warm')).toBe('changed');
    } finally {
      await cache.close();
      await writer.close();
      for (const s of open) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  }, 30_000);

  it('a paused (SIGSTOP) Redis does not hang reads: the command timeout turns them into misses', async () => {
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', l2CommandTimeoutMs: 200 });
    await cache.initialize();
    redis.server.pause();
    try {
      expect(await cache.get('anything')).toBeUndefined();
      expect((await cache.healthCheck()).overallHealth).toBe('degraded');
    } finally {
      redis.server.resume();
    }
    await cache.close();
  });

  it('with suppressL2Errors off (or no L1), a failed write rejects with TierUnavailableError', async () => {
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', suppressL2Errors: false, l2CommandTimeoutMs: 200 });
    await cache.initialize();
    await cache.set('k', 'v1');
    await redis.server.kill();
    await expect(cache.set('k', 'v2')).rejects.toBeInstanceOf(TierUnavailableError);
    expect(cache.getSync('k')).toBeUndefined(); // L1 does not keep a value L2 refused, nor the old one
    await redis.server.restart();
    await cache.close();
  });

  it('starts degraded when Redis is unreachable at initialize, instead of failing', async () => {
    const cache = createIntegratedCache({ redisUrl: 'redis://127.0.0.1:1', namespace: uniqueNamespace(), logLevel: 'silent', connectTimeoutMs: 300 });
    await cache.initialize();
    await cache.set('x', 1);
    expect(await cache.get('x')).toBe(1);
    expect((await cache.healthCheck()).redisConnected).toBe(false);
    await cache.close();
  });

  it('issue 16: an idle cache is healthy again within 2x the breaker open time after Redis is back (healthCheck\'s PING closes a half-open breaker)', async () => {
    const openMs = 2000; // above the client's 2 s reconnect backoff cap, so "back" is reachable in time
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', l2CommandTimeoutMs: 300, circuitBreaker: { openMs } });
    await cache.initialize();
    try {
      await redis.server.kill();
      for (let i = 0; i < 40 && (await cache.getStats()).breakers.find((b) => b.name === 'redis')?.state !== 'open'; i++) await cache.get(`cold${i}`);
      expect((await cache.getStats()).breakers.find((b) => b.name === 'redis')?.state).toBe('open');
      await redis.server.restart();
      const back = Date.now();
      // Idle from here on: no request but the probe's own health checks.
      let h = await cache.healthCheck();
      while (h.overallHealth !== 'healthy' && Date.now() - back < 3 * openMs) {
        await new Promise((r) => setTimeout(r, 100));
        h = await cache.healthCheck();
      }
      const tookMs = Date.now() - back;
      expect(h.issues).toEqual([]);
      expect(h.breakers.find((b) => b.name === 'redis')?.state).toBe('closed');
      expect(tookMs).toBeLessThanOrEqual(2 * openMs);
    } finally {
      await cache.close();
    }
  }, 20_000);

  it('issue 16: the default redis breaker opens within ~1 s under 6 concurrent readers against a SIGSTOPped Redis (consecutive timeouts, whatever the request rate)', async () => {
    const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent' });
    await cache.initialize();
    const opens = () => cache.getStatsSync().breakers.find((b) => b.name === 'redis')?.opens ?? 0;
    let running = true;
    let reads = 0;
    let openedAfterMs = Infinity;
    redis.server.pause();
    const stoppedAt = performance.now();
    // Closed-loop readers, as request handlers would be: each waits for its read, then yields.
    const readers = Array.from({ length: 6 }, async (_, r) => {
      for (let i = 0; running; i++) {
        await cache.get(`cold:${r}:${i}`);
        reads++;
        if (openedAfterMs === Infinity && opens() > 0) openedAfterMs = performance.now() - stoppedAt;
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    try {
      while (openedAfterMs === Infinity && performance.now() - stoppedAt < 5000) await new Promise((r) => setTimeout(r, 20));
    } finally {
      running = false;
      redis.server.resume();
      await Promise.all(readers);
      await cache.close();
    }
    // One command timeout (1 s by default) plus scheduling slack on a loaded 2-core machine: the
    // first round of timeouts opens it (before the fix it had not opened after 5 s).
    expect(openedAfterMs).toBeLessThan(2000);
    expect(reads).toBeGreaterThanOrEqual(6);
  }, 20_000);
});
