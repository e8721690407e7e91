/**
 * `npm run bench`: tiercache beside its peers and the raw clients, in one run, against one private
 * redis-server. Prints ops/s and ratios; docs/benchmarks.md records the latest figures.
 *
 * Fairness: every Redis contender stores the same ~100-byte object and pays for its own
 * serialization (raw clients do JSON.stringify / JSON.parse themselves, as a user would). Keys
 * cycle over 10,000; Redis contenders read keys that exist.
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import KeyvRedis from '@keyv/redis';
import { createCache } from 'cache-manager';
import { Redis as IORedis } from 'ioredis';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { createClient } from 'redis';
import { createIntegratedCache } from '../src/index.js';
import { RedisServer } from '../src/embedded/redis_server.js';
import { awaitedLoop, compare, concurrentLoop, formatOps, pairedRatio, syncLoop, type Contender, type Result } from './harness.js';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
/** `--only l1|get|set`: run one section (for A/B runs while tuning). */
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
const SLICE = { sliceMs: quick ? 300 : 500, rounds: quick ? 3 : 11, warmupMs: quick ? 200 : 500 };
const KEYS = 10_000;
const CONC = 64;
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);
const value = { id: 123456, name: 'John Smith', email: 'john.smith@example.com', roles: ['admin', 'user'], active: true, score: 98.5 };
const log = (...a: unknown[]): void => {
  if (!json) console.log(...a);
};

const server = await RedisServer.start();
const url = server.url;
const port = server.port;
log(`redis-server ${url}; value ${JSON.stringify(value).length} bytes JSON; ${KEYS} keys; concurrency ${CONC}\n`);

// --- contenders -------------------------------------------------------------------------------
const tcL1 = createIntegratedCache({ redisUrl: url, namespace: 'bench-l1', l1MaxSize: KEYS * 2, logLevel: 'silent', enableMonitoring: true });
await tcL1.initialize();
const tcL2 = createIntegratedCache({ redisUrl: url, namespace: 'bench-l2', enableL1Cache: false, logLevel: 'silent', enableMonitoring: true });
await tcL2.initialize();
// Informational set contenders: scripted batches (opt-in: less client CPU, more Redis CPU), and L1
// on (coherence keeps every write on the tracking connection as plain SETs).
const tcScripted = createIntegratedCache({ redisUrl: url, namespace: 'bench-l2s', enableL1Cache: false, redisScriptedWrites: true, logLevel: 'silent', enableMonitoring: true });
await tcScripted.initialize();
const tcCoherent = createIntegratedCache({ redisUrl: url, namespace: 'bench-l2c', l1MaxSize: KEYS * 2, logLevel: 'silent', enableMonitoring: true });
await tcCoherent.initialize();
const lru = new LRUCache<string, object>({ max: KEYS * 2 });
const bentoL1 = new BentoCache({ default: 'c', stores: { c: bentostore().useL1Layer(memoryDriver({ maxItems: KEYS * 2 })) } });
const bentoL2 = new BentoCache({ default: 'c', stores: { c: bentostore().useL2Layer(redisDriver({ connection: { host: '127.0.0.1', port } })) } });
const cmL1 = createCache({ stores: [new Keyv()] });
const cmL2 = createCache({ stores: [new Keyv({ store: new KeyvRedis(url), namespace: 'cm' })] });
const nodeRedis = createClient({ url });
await nodeRedis.connect();
const ioredis = new IORedis({ host: '127.0.0.1', port, enableAutoPipelining: true, lazyConnect: false });

for (const k of keys) {
  await tcL1.set(k, value);
  await tcL2.set(k, value);
  lru.set(k, value);
  await bentoL1.set({ key: k, value, ttl: '1h' });
  await bentoL2.set({ key: k, value, ttl: '1h' });
  await cmL1.set(k, value, 3_600_000);
  await cmL2.set(k, value, 3_600_000);
  await nodeRedis.set(`raw:${k}`, JSON.stringify(value), { expiration: { type: 'PX', value: 3_600_000 } });
}

const k = (i: number): string => keys[i % KEYS];
const sections: { title: string; results: Result[]; ratios: [string, string, string][] }[] = [];

async function section(id: string, title: string, contenders: Contender[], ratios: [string, string, string][]): Promise<void> {
  if (only !== undefined && only !== id) return;
  log(`## ${title}`);
  const results = await compare(contenders, SLICE);
  for (const r of results) log(`  ${r.name.padEnd(42)} ${formatOps(r.opsPerSec).padStart(13)} ops/s`);
  for (const [label, a, b] of ratios) {
    const ratio = pairedRatio(results.find((r) => r.name === a)!, results.find((r) => r.name === b)!);
    log(`  ratio ${label.padEnd(36)} ${ratio.toFixed(2)}x`);
  }
  log('');
  sections.push({ title, results, ratios });
}

await section(
  'l1',
  'L1 hit (one coroutine)',
  [
    { name: 'tiercache getSync', run: syncLoop((i) => tcL1.getSync(k(i))) },
    { name: 'lru-cache get (raw, sync)', run: syncLoop((i) => lru.get(k(i))) },
    { name: 'tiercache await get', run: awaitedLoop((i) => tcL1.get(k(i))) },
    { name: 'BentoCache await get (memory L1)', run: awaitedLoop((i) => bentoL1.get({ key: k(i) })) },
    { name: 'cache-manager await get (Keyv memory)', run: awaitedLoop((i) => cmL1.get(k(i))) },
  ],
  [
    ['getSync / lru-cache', 'tiercache getSync', 'lru-cache get (raw, sync)'],
    ['await get / BentoCache', 'tiercache await get', 'BentoCache await get (memory L1)'],
    ['await get / cache-manager', 'tiercache await get', 'cache-manager await get (Keyv memory)'],
  ],
);

await section(
  'get',
  `L2 get, concurrency ${CONC} (L1 off)`,
  [
    { name: 'tiercache get', run: concurrentLoop(CONC, (i) => tcL2.get(k(i))) },
    { name: 'node-redis v5 GET + JSON.parse', run: concurrentLoop(CONC, async (i) => JSON.parse((await nodeRedis.get(`raw:${k(i)}`)) as string)) },
    { name: 'ioredis autopipeline GET + JSON.parse', run: concurrentLoop(CONC, async (i) => JSON.parse((await ioredis.get(`raw:${k(i)}`)) as string)) },
    { name: 'BentoCache get (redis L2 only)', run: concurrentLoop(CONC, (i) => bentoL2.get({ key: k(i) })) },
    { name: 'cache-manager get (@keyv/redis)', run: concurrentLoop(CONC, (i) => cmL2.get(k(i))) },
  ],
  [
    ['tiercache / node-redis', 'tiercache get', 'node-redis v5 GET + JSON.parse'],
    ['tiercache / ioredis', 'tiercache get', 'ioredis autopipeline GET + JSON.parse'],
    ['tiercache / BentoCache', 'tiercache get', 'BentoCache get (redis L2 only)'],
    ['tiercache / cache-manager', 'tiercache get', 'cache-manager get (@keyv/redis)'],
  ],
);

await section(
  'set',
  `L2 set, concurrency ${CONC} (L1 off)`,
  [
    { name: 'tiercache set', run: concurrentLoop(CONC, (i) => tcL2.set(k(i), value)) },
    { name: 'tiercache set (redisScriptedWrites: true)', run: concurrentLoop(CONC, (i) => tcScripted.set(k(i), value)) },
    { name: 'tiercache set (L1 + coherence on)', run: concurrentLoop(CONC, (i) => tcCoherent.set(k(i), value)) },
    { name: 'node-redis v5 SET PX + JSON.stringify', run: concurrentLoop(CONC, (i) => nodeRedis.set(`raw:${k(i)}`, JSON.stringify(value), { expiration: { type: 'PX', value: 3_600_000 } })) },
    { name: 'ioredis autopipeline SET PX + stringify', run: concurrentLoop(CONC, (i) => ioredis.set(`raw:${k(i)}`, JSON.stringify(value), 'PX', 3_600_000)) },
    { name: 'BentoCache set (redis L2 only)', run: concurrentLoop(CONC, (i) => bentoL2.set({ key: k(i), value, ttl: '1h' })) },
    { name: 'cache-manager set (@keyv/redis)', run: concurrentLoop(CONC, (i) => cmL2.set(k(i), value, 3_600_000)) },
  ],
  [
    ['tiercache / node-redis', 'tiercache set', 'node-redis v5 SET PX + JSON.stringify'],
    ['scripted batches / node-redis', 'tiercache set (redisScriptedWrites: true)', 'node-redis v5 SET PX + JSON.stringify'],
    ['L1 + coherence / node-redis', 'tiercache set (L1 + coherence on)', 'node-redis v5 SET PX + JSON.stringify'],
    ['tiercache / ioredis', 'tiercache set', 'ioredis autopipeline SET PX + stringify'],
    ['tiercache / BentoCache', 'tiercache set', 'BentoCache set (redis L2 only)'],
  ],
);

if (json) console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, slice: SLICE, sections }, null, 2));

await tcL1.close();
await tcL2.close();
await tcScripted.close();
await tcCoherent.close();
await bentoL1.disconnectAll();
await bentoL2.disconnectAll();
await cmL2.disconnect();
await nodeRedis.close();
ioredis.disconnect();
await server.stop();
process.exit(0);
