/**
 * What monitoring costs: the foundation's operations with `enableMonitoring` on (latency
 * histograms, ops/s window) against the same cache with it off, interleaved in one run.
 * Goal (issue 8): on ≥ 0.9× of off. `npm run bench:monitoring [-- --quick]`
 */
import { createIntegratedCache } from '../src/index.js';
import { RedisServer, redisServerAvailable } from '../src/embedded/redis_server.js';
import { awaitedLoop, compare, concurrentLoop, formatOps, syncLoop } from './harness.js';

const quick = process.argv.includes('--quick');
const opts = quick ? { sliceMs: 300, rounds: 3, warmupMs: 200 } : { sliceMs: 1000, rounds: 7, warmupMs: 500 };
const server = redisServerAvailable() ? await RedisServer.start() : null;
const make = async (enableMonitoring: boolean, l1: boolean) => {
  const c = createIntegratedCache({ ...(server ? { redisUrl: server.url } : {}), namespace: `mon${enableMonitoring}${l1}`, enableMonitoring, enableL1Cache: l1, logLevel: 'silent' });
  await c.initialize();
  for (let i = 0; i < 10_000; i++) await c.set(`k${i}`, { id: i, name: `user ${i}` });
  return c;
};
const on = await make(true, true);
const off = await make(false, true);
const rows: [string, number][] = [];
const pair = async (label: string, run: (c: typeof on) => (deadline: number) => number | Promise<number>) => {
  const [a, b] = await compare(
    [
      { name: 'on', run: run(on) },
      { name: 'off', run: run(off) },
    ],
    opts,
  );
  rows.push([label, a.opsPerSec / b.opsPerSec]);
  console.log(`${label.padEnd(34)} on ${formatOps(a.opsPerSec).padStart(12)}  off ${formatOps(b.opsPerSec).padStart(12)}  ratio ${(a.opsPerSec / b.opsPerSec).toFixed(2)}x`);
};
await pair('L1 hit, getSync', (c) => syncLoop((i) => c.getSync(`k${i % 10_000}`)));
await pair('L1 hit, await get', (c) => awaitedLoop((i) => c.get(`k${i % 10_000}`)));
if (server) {
  const onL2 = await make(true, false);
  const offL2 = await make(false, false);
  const [a, b] = await compare(
    [
      { name: 'on', run: concurrentLoop(64, (i) => onL2.get(`k${i % 10_000}`)) },
      { name: 'off', run: concurrentLoop(64, (i) => offL2.get(`k${i % 10_000}`)) },
    ],
    opts,
  );
  rows.push(['L2 get, c=64', a.opsPerSec / b.opsPerSec]);
  console.log(`${'L2 get, c=64'.padEnd(34)} on ${formatOps(a.opsPerSec).padStart(12)}  off ${formatOps(b.opsPerSec).padStart(12)}  ratio ${(a.opsPerSec / b.opsPerSec).toFixed(2)}x`);
  const [c, d] = await compare(
    [
      { name: 'on', run: concurrentLoop(64, (i) => onL2.set(`k${i % 10_000}`, i)) },
      { name: 'off', run: concurrentLoop(64, (i) => offL2.set(`k${i % 10_000}`, i)) },
    ],
    opts,
  );
  rows.push(['L2 set, c=64', c.opsPerSec / d.opsPerSec]);
  console.log(`${'L2 set, c=64'.padEnd(34)} on ${formatOps(c.opsPerSec).padStart(12)}  off ${formatOps(d.opsPerSec).padStart(12)}  ratio ${(c.opsPerSec / d.opsPerSec).toFixed(2)}x`);
  await onL2.close();
  await offL2.close();
}
console.log(`goal ≥ 0.9x everywhere: ${rows.every(([, r]) => r >= 0.9) ? 'met' : 'NOT met'} (min ${Math.min(...rows.map(([, r]) => r)).toFixed(2)}x)`);
await on.close();
await off.close();
await server?.stop();
