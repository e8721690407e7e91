import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { keySlot } from '../src/tiers/redis/hash_slot.js';
import { uniqueNamespace } from './support/redis.js';
import { RedisClusterHarness } from './support/redis_cluster.js';
import { RedisSentinelHarness } from './support/redis_sentinel.js';

const open: IntegratedCacheManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LoadReport {
  readErrors: number;
  reads: number;
  writeFailures: number;
  writes: number;
  /** ms from the kill to the first acknowledged write after the last failed one. */
  writesBackAfterMs: number;
  /** Largest degraded window the reader's health check reported. */
  degradedWindowMs: number;
}

/**
 * Two instances under load: a writer (L2 errors surface) bumps a version per key; a reader does
 * eventual-consistency gets. `kill` is called mid-run; the load goes on until writes have been
 * acknowledged again for `settleMs`.
 */
async function runFailover(writer: IntegratedCacheManager, reader: IntegratedCacheManager, kill: () => Promise<void>, keys: string[]): Promise<LoadReport> {
  const r: LoadReport = { readErrors: 0, reads: 0, writeFailures: 0, writes: 0, writesBackAfterMs: -1, degradedWindowMs: 0 };
  const version = new Map<string, number>();
  let stop = false;
  let killedAt = 0;
  let lastFailureAt = 0;
  let firstOkAfterFailure = 0;
  const writeLoop = async () => {
    let i = 0;
    while (!stop) {
      const key = keys[i++ % keys.length];
      const v = (version.get(key) ?? 0) + 1;
      try {
        await writer.set(key, v);
        version.set(key, v);
        r.writes++;
        if (lastFailureAt > 0 && firstOkAfterFailure < lastFailureAt) firstOkAfterFailure = Date.now();
      } catch {
        r.writeFailures++;
        lastFailureAt = Date.now();
      }
      await sleep(2);
    }
  };
  const readLoop = async () => {
    let i = 0;
    while (!stop) {
      try {
        await reader.get(keys[i++ % keys.length]);
        r.reads++;
      } catch {
        r.readErrors++;
      }
      if (i % 16 === 0) await sleep(1);
    }
  };
  const healthLoop = async () => {
    while (!stop) {
      const h = await reader.healthCheck();
      r.degradedWindowMs = Math.max(r.degradedWindowMs, h.degradedForMs ?? 0, h.lastDegradedWindowMs ?? 0);
      await sleep(100);
    }
  };
  const loops = [writeLoop(), readLoop(), readLoop(), healthLoop()];
  await sleep(500);
  killedAt = Date.now();
  await kill();
  // Run until writes have succeeded for 2 s after the last failure (or 40 s pass).
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    await sleep(100);
    if (lastFailureAt > 0 && firstOkAfterFailure > lastFailureAt && Date.now() - lastFailureAt > 2000) break;
  }
  stop = true;
  await Promise.all(loops);
  r.writesBackAfterMs = firstOkAfterFailure > 0 ? firstOkAfterFailure - killedAt : -1;
  // After recovery (health back to healthy: breakers closed, coherence confirmed), the reader
  // serves what the writer last wrote: no stale L1 value survives the failover.
  const healthyBy = Date.now() + 20_000;
  while (Date.now() < healthyBy && (await reader.healthCheck()).overallHealth !== 'healthy') await sleep(100);
  expect((await reader.healthCheck()).issues).toEqual([]);
  for (const key of keys) await writer.set(key, 'final');
  await sleep(50);
  for (const key of keys) expect(await reader.get(key)).toBe('final');
  return r;
}

describe('failover under load', () => {
  it('cluster: a master killed -9 → 0 read errors, writes resume by themselves, health shows the window', async () => {
    const cluster = await RedisClusterHarness.start({ nodeTimeoutMs: 1000 });
    try {
      const ns = uniqueNamespace('f');
      const make = async (o: IntegratedCacheOptions) => {
        const c = createIntegratedCache({ redisClusterNodes: cluster.rootNodes, namespace: ns, logLevel: 'silent', l2CommandTimeoutMs: 300, ...o });
        await c.initialize();
        open.push(c);
        return c;
      };
      const writer = await make({ suppressL2Errors: false });
      const reader = await make({});
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      const victim = await cluster.masterOfSlot(keySlot(`${ns}:v${WIRE_VERSION}:${keys[0]}`));
      const report = await runFailover(writer, reader, () => victim.kill('SIGKILL'), keys);
      console.log('cluster failover', JSON.stringify(report));
      expect(report.readErrors).toBe(0);
      expect(report.writeFailures).toBeGreaterThan(0); // the kill did bite
      expect(report.writesBackAfterMs).toBeGreaterThan(0);
      expect(report.writesBackAfterMs).toBeLessThan(15_000);
      expect(report.degradedWindowMs).toBeGreaterThan(0);
      // The killed node comes back as a replica of its successor; the cluster is whole again.
      await victim.restart();
      await cluster.waitHealthy();
    } finally {
      await Promise.all(open.splice(0).map((c) => c.close()));
      await cluster.stop();
    }
  }, 90_000);

  it('sentinel: the master killed -9 → 0 read errors, writes resume on the promoted replica', async () => {
    const sentinel = await RedisSentinelHarness.start({ downAfterMs: 1000 });
    try {
      const ns = uniqueNamespace('f');
      const make = async (o: IntegratedCacheOptions) => {
        const c = createIntegratedCache({
          sentinels: sentinel.sentinelNodes.map((s) => `${s.host}:${s.port}`),
          sentinelMasterName: sentinel.masterName,
          namespace: ns,
          logLevel: 'silent',
          l2CommandTimeoutMs: 300,
          ...o,
        });
        await c.initialize();
        open.push(c);
        return c;
      };
      const writer = await make({ suppressL2Errors: false });
      const reader = await make({});
      const master = await sentinel.master();
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      const report = await runFailover(writer, reader, () => master.kill('SIGKILL'), keys);
      console.log('sentinel failover', JSON.stringify(report));
      expect(report.readErrors).toBe(0);
      expect(report.writeFailures).toBeGreaterThan(0);
      expect(report.writesBackAfterMs).toBeGreaterThan(0);
      expect(report.writesBackAfterMs).toBeLessThan(20_000);
      expect(await sentinel.masterPort()).not.toBe(master.port);
    } finally {
      await Promise.all(open.splice(0).map((c) => c.close()));
      await sentinel.stop();
    }
  }, 90_000);
});
