import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import type { IntegratedCacheOptions } from '../src/config/integrated_cache_config.js';
import { WIRE_VERSION } from '../src/codec/envelope_header.js';
import { keySlot } from '../src/tiers/redis/hash_slot.js';
import { uniqueNamespace } from './support/redis.js';
import { RedisClusterHarness } from './support/redis_cluster.js';

let cluster: RedisClusterHarness;
const open: IntegratedCacheManager[] = [];

beforeAll(async () => {
  cluster = await RedisClusterHarness.start({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function makeCache(options: IntegratedCacheOptions = {}): Promise<IntegratedCacheManager> {
  const cache = createIntegratedCache({ redisClusterNodes: cluster.rootNodes, namespace: uniqueNamespace('c'), logLevel: 'silent', ...options });
  await cache.initialize();
  open.push(cache);
  return cache;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => boolean | Promise<boolean>, ms = 1000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(2);
  }
  return check();
}

/** Every key on every master matching `match`, read straight from the nodes. */
async function keysOnMasters(match: string): Promise<string[]> {
  const topo = await cluster.topology();
  const out: string[] = [];
  for (const t of topo.filter((x) => x.role === 'master' && !x.failed)) {
    const c = await cluster.nodeClient(t.port);
    for await (const page of c.scanIterator({ MATCH: match, COUNT: 1000 })) out.push(...page);
    await c.close();
  }
  return out.sort();
}

describe('Redis Cluster (3 masters, 3 replicas)', () => {
  it('reads and writes keys spread over every slot; a batch is grouped by slot, not sent per key', async () => {
    const cache = await makeCache({ enableL1Cache: false });
    const keys = Array.from({ length: 300 }, (_, i) => `item:${i}`);
    await cache.setMany(keys.map((key, i) => ({ key, value: { i } })));
    const before = (await cache.getStats()).l2.roundTrips.reads;
    const values = await cache.getMany(keys);
    expect(values).toEqual(keys.map((_, i) => ({ i })));
    // Two batcher round trips for 300 keys on 3 masters (the batch is split in two halves, one
    // loop turn apart, so two are in flight: get_batcher.ts), each grouped by slot.
    expect((await cache.getStats()).l2.roundTrips.reads - before).toBe(2);
    const slots = new Set(keys.map((k) => keySlot(`${cache.config.namespace}:v${WIRE_VERSION}:${k}`)));
    expect(slots.size).toBeGreaterThan(100);
  });

  it('invalidatePattern removes every matching key from all masters and from every instance’s L1, and nothing else', async () => {
    const ns = uniqueNamespace('c');
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const users = Array.from({ length: 200 }, (_, i) => `user:${i}`);
    const others = Array.from({ length: 100 }, (_, i) => `order:${i}`).concat(['user', 'xuser:1', 'User:1']);
    await a.setMany([...users, ...others].map((key) => ({ key, value: key })));
    await b.getMany([...users, ...others]); // fill B's L1
    expect(b.getSync('user:7')).toBe('user:7');
    const removed = await a.invalidatePattern('user:*');
    expect(removed).toBe(200);
    const prefix = `${ns}:v${WIRE_VERSION}:`;
    expect(await keysOnMasters(`${prefix}user:*`)).toEqual([]);
    expect((await keysOnMasters(`${prefix}*`)).length).toBe(others.length);
    expect(await eventually(() => users.every((u) => b.getSync(u) === undefined))).toBe(true);
    for (const o of others) expect(await b.get(o)).toBe(o);
  });

  it('invalidatePattern while a slot is migrating finds keys on both sides', async () => {
    const ns = uniqueNamespace('c');
    const a = await makeCache({ namespace: ns, enableL1Cache: false });
    const prefix = `${ns}:v${WIRE_VERSION}:`;
    // 40 keys in one slot (hash tag), half of them moved to another master mid-migration.
    const keys = Array.from({ length: 40 }, (_, i) => `user:{grp}:${i}`);
    await a.setMany(keys.map((key) => ({ key, value: 1 })));
    await a.set('order:{grp}:1', 'stays');
    const slot = keySlot(`${prefix}${keys[0]}`);
    const source = await cluster.masterOfSlot(slot);
    const topo = await cluster.topology();
    const sourceId = topo.find((t) => t.port === source.port)?.id as string;
    const target = topo.find((t) => t.role === 'master' && t.port !== source.port && !t.failed)!;
    await cluster.cli(target.port, ['cluster', 'setslot', String(slot), 'importing', sourceId]);
    await cluster.cli(source.port, ['cluster', 'setslot', String(slot), 'migrating', target.id]);
    try {
      for (const k of keys.slice(0, 20)) {
        await cluster.cli(source.port, ['migrate', '127.0.0.1', String(target.port), `${prefix}${k}`, '0', '5000']);
      }
      const onTarget = await cluster.nodeClient(target.port);
      expect(await onTarget.sendCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(slot)])).toBe(20);
      await onTarget.close();
      expect(await a.invalidatePattern('user:*')).toBe(40);
      for (const port of [source.port, target.port]) {
        const c = await cluster.nodeClient(port);
        const left = await c.sendCommand<string[]>(['CLUSTER', 'GETKEYSINSLOT', String(slot), '100']);
        expect(left.filter((k) => k.includes('user:'))).toEqual([]);
        await c.close();
      }
    } finally {
      // Finish the migration so later tests see a stable cluster.
      const src = await cluster.nodeClient(source.port);
      for (;;) {
        const rest = await src.sendCommand<string[]>(['CLUSTER', 'GETKEYSINSLOT', String(slot), '100']);
        if (rest.length === 0) break;
        for (const k of rest) await cluster.cli(source.port, ['migrate', '127.0.0.1', String(target.port), k, '0', '5000']);
      }
      await src.close();
      for (const n of topo.filter((t) => t.role === 'master' && !t.failed)) {
        await cluster.cli(n.port, ['cluster', 'setslot', String(slot), 'node', target.id]);
      }
    }
    expect(await a.get('order:{grp}:1')).toBe('stays');
  });

  it('L1 coherence across instances works on every master', async () => {
    const ns = uniqueNamespace('c');
    const a = await makeCache({ namespace: ns });
    const b = await makeCache({ namespace: ns });
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await a.setMany(keys.map((key) => ({ key, value: 1 })));
    expect(await b.getMany(keys)).toEqual(keys.map(() => 1));
    await a.setMany(keys.map((key) => ({ key, value: 2 })));
    expect(await eventually(() => keys.every((k) => b.getSync(k) === undefined))).toBe(true);
    expect(await b.getMany(keys)).toEqual(keys.map(() => 2));
  });

  it('getOrSet across instances runs one loader (the lock lives in the value’s slot)', async () => {
    const ns = uniqueNamespace('c');
    const instances = await Promise.all([1, 2, 3].map(() => makeCache({ namespace: ns })));
    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(100);
      return 'v';
    };
    const results = await Promise.all(instances.flatMap((c) => Array.from({ length: 20 }, () => c.getOrSet('hot:{x}y', loader))));
    expect(results.every((r) => r === 'v')).toBe(true);
    expect(loads).toBe(1);
  });

  it('examples/production_setup.ts runs on the cluster through CACHE_REDIS_CLUSTER_NODES', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CACHE_REDIS_CLUSTER_NODES: cluster.rootNodes.join(','), CACHE_NAMESPACE: uniqueNamespace('ex') };
    delete env.CACHE_REDIS_URL;
    const r = spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', 'examples/production_setup.ts'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`B reads after A's update: {"sensitive":"updated"}`);
    expect(r.stdout).toContain('topology: cluster');
  });

  it('health reports the cluster state and full slot coverage', async () => {
    const cache = await makeCache();
    const h = await cache.healthCheck();
    expect(h.overallHealth).toBe('healthy');
    expect(h.topology).toBe('cluster');
    expect(h.redis).toMatchObject({ clusterState: 'ok', slotsOk: 16384, masters: 3 });
  });
});
