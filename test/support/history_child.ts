/**
 * One cache instance in its own OS process that runs the history workloads of
 * test/history.test.ts and logs every operation (history_checker.ts's HistoryOp), driven over IPC
 * by history_process.ts. argv: cache options (JSON), process tag.
 */
import { ConsistencyLevel, ConsistencySession, createIntegratedCache } from '../../src/index.js';
import { globMatcher } from '../../src/util/glob.js';
import { PRESENT, type HistoryOp } from './history_checker.js';
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
/**
 * argv[5]: the workload (JSON, HistoryWorkload in history_process.ts). `extended`: besides
 * get/set/delete/getOrSet, getMany, setMany, has, invalidatePattern, invalidateTags (the first
 * `taggedKeys` keys are always written with their tag), clear, and session calls driven by the
 * runner. `pad`: every value written carries that many padding characters (codec variants: the
 * compression threshold is crossed); what is logged is the value without them.
 */
const workload = JSON.parse(process.argv[5] || '{}') as { extended?: boolean; pad?: number; taggedKeys?: number };
const extended = workload.extended === true;
const padding = workload.pad !== undefined && workload.pad > 0 ? `|${'x'.repeat(workload.pad)}` : '';
/** What is stored for a logged value, and back. */
const encode = (id: string): string => id + padding;
const decode = (v: unknown): string | null => (v === undefined ? null : String(v).split('|')[0]);
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
async function timed(op: HistoryOp['op'], key: string, call: () => Promise<unknown>, value?: string, loaded?: () => string | undefined, session?: string): Promise<void> {
  const rec: HistoryOp = { process: tag, op, key, value: value ?? null, invoke: 0, complete: 0, seq: seq++ };
  if (session !== undefined) rec.session = session;
  const failuresBefore = l2Failures();
  rec.invoke = now();
  try {
    const result = await call();
    rec.complete = now();
    if (op === 'get' || op === 'getOrSet') rec.value = decode(result);
    else if (op === 'has') rec.value = result === true ? PRESENT : null;
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

/** The tag every write of `key` carries (the first `taggedKeys` keys of the run's keyspace), or undefined. */
let tagOf: (key: string) => string | undefined = () => undefined;
const tagOptions = (key: string): { tags: string[] } | undefined => {
  const t = tagOf(key);
  return t === undefined ? undefined : { tags: [t] };
};

const get = (key: string): Promise<void> => timed('get', key, () => cache.get(key));
const set = (key: string): Promise<void> => {
  const v = fresh();
  const o = tagOptions(key);
  return timed('set', key, () => (o === undefined ? cache.set(key, encode(v)) : cache.set(key, encode(v), o)), v);
};
const del = (key: string): Promise<void> => timed('delete', key, () => cache.delete(key));
const has = (key: string): Promise<void> => timed('has', key, () => cache.has(key));
const getOrSet = (key: string): Promise<void> => {
  let loaded: string | undefined;
  const o = tagOptions(key);
  return timed(
    'getOrSet',
    key,
    () =>
      cache.getOrSet(
        key,
        async () => {
          loaded = fresh();
          const v = loaded;
          if (Math.random() < 0.5) await sleep(Math.random() * 3);
          return encode(v);
        },
        o,
      ),
    undefined,
    () => loaded,
  );
};

/**
 * One call over several keys, logged as one event per key sharing the call's invoke/complete
 * times and seq (history_checker.ts). `values`: per key, what the call wrote; `read`: per key, the
 * value the call returned (reads).
 */
async function timedMany(
  call: string,
  op: HistoryOp['op'],
  keys: readonly string[],
  run: () => Promise<unknown>,
  extra: { values?: string[]; read?: (result: unknown, i: number) => string | null; bulk?: boolean } = {},
): Promise<void> {
  const s = seq++;
  const failuresBefore = l2Failures();
  const invoke = now();
  let complete: number;
  let result: unknown;
  let failed: string | undefined;
  try {
    result = await run();
    complete = now();
    if (l2Failures() !== failuresBefore) failed = `an L2 error was counted during the ${call}`;
  } catch (err) {
    complete = now();
    failed = (err as { code?: string }).code ?? (err as Error).message;
  }
  keys.forEach((key, i) => {
    const rec: HistoryOp = { process: tag, op, key, value: extra.values?.[i] ?? null, invoke, complete, seq: s, call };
    if (extra.bulk) rec.bulk = true;
    if (failed !== undefined) {
      rec.failed = true;
      rec.error = failed;
    } else if (extra.read !== undefined) rec.value = extra.read(result, i);
    log.push(rec);
  });
}

/** `n` distinct keys of `keys`. */
const pickMany = (keys: readonly string[], n: number): string[] => [...keys].sort(() => Math.random() - 0.5).slice(0, n);

const getMany = (keys: readonly string[]): Promise<void> =>
  timedMany('getMany', 'get', keys, () => cache.getMany(keys), { read: (r, i) => decode((r as unknown[])[i]) });

const setMany = (keys: readonly string[]): Promise<void> => {
  const values = keys.map(() => fresh());
  return timedMany('setMany', 'set', keys, () => cache.setMany(keys.map((key, i) => ({ key, value: encode(values[i]) }))), { values });
};

/** Patterns over the k0..k19 keyspace: what each removes is known from the keyspace. */
const PATTERNS = ['k1*', 'k?', 'k1[0-4]', 'k[2-5]', 'k*9', 'k[13579]'];

const invalidatePattern = (all: readonly string[]): Promise<void> => {
  const pattern = pick(PATTERNS);
  const test = globMatcher(pattern);
  return timedMany(`invalidatePattern(${pattern})`, 'delete', all.filter(test), () => cache.invalidatePattern(pattern), { bulk: true });
};

const invalidateTag = (all: readonly string[], t: string): Promise<void> =>
  timedMany(`invalidateTags(${t})`, 'delete', all.filter((k) => tagOf(k) === t), () => cache.invalidateTags([t]), { bulk: true });

const clear = (all: readonly string[]): Promise<void> => timedMany('clear', 'delete', all, () => cache.clear(), { bulk: true });

/** One random operation; some issue two writes of a key without awaiting the first. */
async function randomOp(keys: readonly string[]): Promise<void> {
  if (extended) return extendedOp(keys);
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

/** The extended workload: every public call that reads or changes values. */
async function extendedOp(keys: readonly string[]): Promise<void> {
  const key = pick(keys);
  const tags = [...new Set(keys.map((k) => tagOf(k)).filter((t) => t !== undefined))];
  const untagged = keys.filter((k) => tagOf(k) === undefined);
  const r = Math.random();
  if (r < 0.28) return get(key);
  if (r < 0.38) return set(key);
  if (r < 0.43) return del(key);
  if (r < 0.52) return getOrSet(key);
  if (r < 0.55) {
    const s = set(key);
    await Promise.all([s, del(key)]);
    return;
  }
  if (r < 0.57) {
    const s = set(key);
    await Promise.all([s, set(key)]);
    return;
  }
  if (r < 0.67) return getMany(pickMany(keys, 2 + Math.floor(Math.random() * 4)));
  // setMany takes no tags: untagged keys only (every write of a tagged key carries its tag).
  if (r < 0.74) return setMany(pickMany(untagged, 2 + Math.floor(Math.random() * 3)));
  if (r < 0.8) return has(key);
  if (r < 0.84) return invalidatePattern(keys);
  if (r < 0.88 && tags.length > 0) return invalidateTag(keys, pick(tags));
  if (r < 0.881) return clear(keys);
  if (r < 0.93) {
    // Un-awaited writes, then a pattern invalidation: it must remove them (it waits for the
    // writes issued before it).
    const ws = pickMany(keys, 2).map((k) => set(k));
    await Promise.all([...ws, invalidatePattern(keys)]);
    return;
  }
  if (r < 0.97 && tags.length > 0) {
    // Un-awaited tagged write, then its tag's invalidation.
    const k = pick(keys.filter((x) => tagOf(x) !== undefined));
    const w = set(k);
    await Promise.all([w, invalidateTag(keys, tagOf(k) as string)]);
    return;
  }
  // Un-awaited setMany, then a delete of one of its keys: the delete must win.
  const ks = pickMany(untagged, 3);
  const w = setMany(ks);
  await Promise.all([w, del(ks[0])]);
}

/**
 * One call of a consistency session (driven by the runner, which carries the session's token
 * from call to call and from process to process): a SESSION get or set of `key`. Returns the
 * session's new token.
 */
async function sessionCall(id: string, token: string, key: string, kind: 'get' | 'set'): Promise<string> {
  const session = ConsistencySession.fromToken(token);
  const options = { consistency: ConsistencyLevel.SESSION, session };
  if (kind === 'get') await timed('get', key, () => cache.get(key, options), undefined, undefined, id);
  else {
    const v = fresh();
    await timed('set', key, () => cache.set(key, encode(v), options), v, undefined, id);
  }
  return session.token;
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
  if (extended && Math.random() < 0.3) {
    // The burst's keys in one setMany (tagged keys by set, which carries their tag).
    const plain = keys.filter((k) => tagOf(k) === undefined);
    await Promise.all([setMany(plain), ...keys.filter((k) => tagOf(k) !== undefined).map((k) => set(k))]);
  } else {
    await Promise.all(
      keys.map((key) => {
        const r = Math.random();
        return r < 0.75 ? set(key) : r < 0.9 ? del(key) : getOrSet(key);
      }),
    );
  }
  for (const delay of [0, 2, 10]) {
    if (delay > 0) await sleep(delay);
    await (extended && delay === 2 ? getMany(keys) : Promise.all(keys.map((k) => get(k))));
  }
}

/** After a quiet period: this process's view of every key (logged as reads too). */
async function quiet(keys: readonly string[]): Promise<{ key: string; value: string | null; failed?: boolean }[]> {
  const from = log.length;
  await Promise.all(keys.map((k) => get(k)));
  return log.slice(from).map((o) => ({ key: o.key, value: o.value, failed: o.failed }));
}

/** The first `taggedKeys` keys of the run's keyspace carry tag t0 or t1 (by position). */
function setKeyspace(all: readonly string[] | undefined): void {
  if (all === undefined || !extended) return;
  const n = workload.taggedKeys ?? 0;
  const tags = new Map(all.slice(0, n).map((k, i) => [k, `t${i % 2}`]));
  tagOf = (k) => tags.get(k);
}

type Msg = { id: number; op: string; args: unknown[] };

async function handle(m: Msg): Promise<unknown> {
  const a = m.args;
  switch (m.op) {
    case 'random':
      setKeyspace(a[1] as string[]);
      await random(a[0] as number, a[1] as string[], a[2] as number);
      return null;
    case 'session':
      setKeyspace(a[4] as string[]);
      return sessionCall(a[0] as string, a[1] as string, a[2] as string, a[3] as 'get' | 'set');
    case 'burst':
      setKeyspace(a[2] as string[]);
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
