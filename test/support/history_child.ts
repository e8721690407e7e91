/**
 * One cache instance in its own OS process that runs the history workloads of
 * test/history.test.ts and logs every operation (history_checker.ts's HistoryOp), driven over IPC
 * by history_process.ts. argv: cache options (JSON), process tag.
 */
import { createIntegratedCache } from '../../src/index.js';
import type { HistoryOp } from './history_checker.js';
import { machineNow } from './machine_clock.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const tag = process.argv[3] ?? `p${process.pid}`;
/**
 * argv[4] === 'error-aware': a call during which this instance counted an L2 error is logged as
 * failed (get answers a Redis failure as a miss, and set keeps a value whose L2 write failed in L1
 * only, for at most the staleness bound: neither says anything definite about L2), for runs with
 * faults.
 */
const errorAware = process.argv[4] === 'error-aware';
const cache = createIntegratedCache({ logLevel: 'silent', ...options });
await cache.initialize();

// One clock for every process on the machine.
const now = machineNow;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];

let log: HistoryOp[] = [];
let seq = 0;
let written = 0;
const fresh = (): string => `${tag}-${++written}`;
const l2Failures = (): number => {
  if (!errorAware) return 0;
  const l2 = cache.getStatsSync().l2;
  return l2.enabled ? l2.errors + l2.skipped : 0;
};

/** Runs one call, timing it and logging it; never throws (a failure is logged as such). */
async function timed(op: HistoryOp['op'], key: string, call: () => Promise<unknown>, value?: string, loaded?: () => string | undefined): Promise<void> {
  const rec: HistoryOp = { process: tag, op, key, value: value ?? null, invoke: 0, complete: 0, seq: seq++ };
  const failuresBefore = l2Failures();
  rec.invoke = now();
  try {
    const result = await call();
    rec.complete = now();
    if (op === 'get' || op === 'getOrSet') rec.value = result === undefined ? null : String(result);
    // A read answered as a miss, or a write kept in L1 only (the degraded path of EVENTUAL),
    // says nothing definite about L2: judged like a failed call.
    if (l2Failures() !== failuresBefore) {
      rec.failed = true;
      rec.error = `an L2 error was counted during the ${op}`;
    }
  } catch (err) {
    rec.complete = now();
    rec.failed = true;
    rec.error = (err as { code?: string }).code ?? (err as Error).message;
  }
  const l = loaded?.();
  if (l !== undefined) rec.loaded = l;
  log.push(rec);
}

const get = (key: string): Promise<void> => timed('get', key, () => cache.get(key));
const set = (key: string): Promise<void> => {
  const v = fresh();
  return timed('set', key, () => cache.set(key, v), v);
};
const del = (key: string): Promise<void> => timed('delete', key, () => cache.delete(key));
const getOrSet = (key: string): Promise<void> => {
  let loaded: string | undefined;
  return timed(
    'getOrSet',
    key,
    () =>
      cache.getOrSet(key, async () => {
        loaded = fresh();
        const v = loaded;
        if (Math.random() < 0.5) await sleep(Math.random() * 3);
        return v;
      }),
    undefined,
    () => loaded,
  );
};

/** One random operation; some issue two writes of a key without awaiting the first. */
async function randomOp(keys: readonly string[]): Promise<void> {
  const key = pick(keys);
  const r = Math.random();
  if (r < 0.5) return get(key);
  if (r < 0.68) return set(key);
  if (r < 0.76) return del(key);
  if (r < 0.9) return getOrSet(key);
  if (r < 0.95) {
    // Un-awaited set, then delete: the delete must win (issue order).
    const s = set(key);
    await Promise.all([s, del(key)]);
    return;
  }
  // Un-awaited set, then set.
  const s = set(key);
  await Promise.all([s, set(key)]);
}

async function random(until: number, keys: readonly string[], workers: number): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (now() < until) {
        await randomOp(keys);
        const pause = Math.random();
        if (pause < 0.3) await sleep(Math.random() * 3);
        else if (pause < 0.6) await new Promise((r) => setImmediate(r));
      }
    }),
  );
}

/** At `at`, writes every key of `keys` at once (as every other process does), then reads them back. */
async function burst(at: number, keys: readonly string[]): Promise<void> {
  // A timer gets within a millisecond or two; the last stretch spins, so that the processes'
  // writes reach Redis in the same event-loop iteration as often as possible.
  const wait = at - now() - 3;
  if (wait > 0) await sleep(wait);
  while (now() < at) {
    // spin
  }
  await Promise.all(
    keys.map((key) => {
      const r = Math.random();
      return r < 0.75 ? set(key) : r < 0.9 ? del(key) : getOrSet(key);
    }),
  );
  for (const delay of [0, 2, 10]) {
    if (delay > 0) await sleep(delay);
    await Promise.all(keys.map((k) => get(k)));
  }
}

/** After a quiet period: this process's view of every key (logged as reads too). */
async function quiet(keys: readonly string[]): Promise<{ key: string; value: string | null; failed?: boolean }[]> {
  const from = log.length;
  await Promise.all(keys.map((k) => get(k)));
  return log.slice(from).map((o) => ({ key: o.key, value: o.value, failed: o.failed }));
}

type Msg = { id: number; op: string; args: unknown[] };

async function handle(m: Msg): Promise<unknown> {
  const a = m.args;
  switch (m.op) {
    case 'random':
      await random(a[0] as number, a[1] as string[], a[2] as number);
      return null;
    case 'burst':
      await burst(a[0] as number, a[1] as string[]);
      return null;
    case 'quiet':
      return quiet(a[0] as string[]);
    case 'drain': {
      const out = log;
      log = [];
      return out;
    }
    case 'close':
      await cache.close();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}

process.on('message', (m: Msg) => {
  handle(m).then(
    (result) => process.send?.({ id: m.id, result }),
    (err: unknown) => process.send?.({ id: m.id, error: (err as Error).message }),
  );
});
process.send?.({ ready: true });
