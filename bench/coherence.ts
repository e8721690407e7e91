/**
 * Cross-instance invalidation delay: two tiercache instances in two OS processes over one
 * redis-server. B holds key k in L1; A sets k; the delay is from just before A's `set` is issued
 * to the moment B's L1 no longer serves the old value (B polls `getSync` between event-loop
 * turns, so the push is processed as soon as it arrives). Baseline in the same run: the round
 * trip of a plain node-redis SET from A (a write cannot be seen anywhere sooner than that).
 *
 *   npm run bench:coherence [-- --samples 1000]
 */
import { fork } from 'node:child_process';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createIntegratedCache } from '../src/index.js';
import { RedisServer } from '../src/embedded/redis_server.js';

const now = (): number => performance.timeOrigin + performance.now();

async function child(url: string, ns: string): Promise<void> {
  const cache = createIntegratedCache({ redisUrl: url, namespace: ns, logLevel: 'silent' });
  await cache.initialize();
  process.on('message', (m: { op: string; key: string }) => {
    if (m.op === 'prime') {
      void cache.get(m.key).then(() => process.send?.({ primed: cache.getSync(m.key) !== undefined }));
    } else if (m.op === 'watch') {
      process.send?.({ watching: true });
      const poll = (): void => {
        if (cache.getSync(m.key) === undefined) process.send?.({ droppedAt: now() });
        else setImmediate(poll);
      };
      setImmediate(poll);
    } else if (m.op === 'close') {
      void cache.close().then(() => process.exit(0));
    }
  });
  process.send?.({ ready: true });
}

async function main(): Promise<void> {
  const samplesArg = process.argv.indexOf('--samples');
  const samples = samplesArg > 0 ? Number(process.argv[samplesArg + 1]) : 500;
  const server = await RedisServer.start();
  const ns = `bench${process.pid}`;
  const b = fork(fileURLToPath(import.meta.url), ['child', server.url, ns], { execArgv: ['--import', 'tsx'] });
  const next = (): Promise<Record<string, unknown>> => new Promise((resolve) => b.once('message', resolve));
  await next();
  const a = createIntegratedCache({ redisUrl: server.url, namespace: ns, logLevel: 'silent' });
  await a.initialize();
  const raw = createClient({ url: server.url });
  await raw.connect();

  const delay = createHistogram();
  const baseline = createHistogram();
  const toNs = (ms: number) => Math.max(1, Math.round(ms * 1e6));
  for (let i = 0; i < samples + 50; i++) {
    const key = `k${i % 20}`;
    await a.set(key, i);
    b.send({ op: 'prime', key });
    const primed = await next();
    if (!primed.primed) throw new Error('B did not cache the key');
    b.send({ op: 'watch', key });
    await next();
    const t0 = now();
    await a.set(key, -i);
    const { droppedAt } = (await next()) as { droppedAt: number };
    const r0 = performance.now();
    await raw.set(`raw:${key}`, String(i));
    const rtt = performance.now() - r0;
    if (i >= 50) {
      delay.record(toNs(droppedAt - t0));
      baseline.record(toNs(rtt));
    }
  }
  const ms = (h: ReturnType<typeof createHistogram>, p: number) => h.percentile(p) / 1e6;
  const rows = [
    ['invalidation delay A.set → B L1 dropped', ms(delay, 50), ms(delay, 99), ms(delay, 100)],
    ['baseline: node-redis SET round trip', ms(baseline, 50), ms(baseline, 99), ms(baseline, 100)],
  ] as const;
  console.log(`redis-server ${server.url}; ${samples} samples; two OS processes`);
  console.log(`${'measure'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
  for (const [name, p50, p99, max] of rows) console.log(`${name.padEnd(44)} ${p50.toFixed(3).padStart(8)} ${p99.toFixed(3).padStart(8)} ${max.toFixed(3).padStart(8)}`);
  console.log(`ratio delay p50 / SET round trip p50   ${(ms(delay, 50) / ms(baseline, 50)).toFixed(2)}x`);
  console.log(`goal p99 < 5 ms: ${ms(delay, 99) < 5 ? 'met' : 'NOT met'}`);
  b.send({ op: 'close', key: '' });
  await a.close();
  await raw.close();
  await server.stop();
}

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4]);
else await main();
