/**
 * A tiercache instance in its own OS process, driven over IPC by instance_process.ts, so tests
 * see what separate app instances see (separate L1s, separate connections, separate event loops).
 */
import { createClient, createCluster } from 'redis';
import { ConsistencySession, createIntegratedCache } from '../../src/index.js';
import { machineNow } from './machine_clock.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const nodes = options.redisClusterNodes as string[] | undefined;
const url = options.redisUrl as string | undefined;
// Counts loader runs in Redis, where every process sees the same number.
const counter = nodes
  ? createCluster({ rootNodes: nodes.map((n) => ({ url: `redis://${n}` })) })
  : url
    ? createClient({ url })
    : null;
counter?.on('error', () => {});
await counter?.connect();
const cache = createIntegratedCache({ logLevel: 'silent', ...options });
await cache.initialize();

type Msg = { id: number; op: string; args: unknown[] };

async function handle(m: Msg): Promise<unknown> {
  const a = m.args;
  switch (m.op) {
    case 'get':
      return cache.get(a[0] as string);
    case 'getSync':
      return cache.getSync(a[0] as string);
    case 'set':
      return cache.set(a[0] as string, a[1], a[2] as { ttl?: number } | undefined);
    case 'delete':
      return cache.delete(a[0] as string);
    case 'invalidatePattern':
      return cache.invalidatePattern(a[0] as string);
    case 'stats':
      return cache.getStats();
    case 'health':
      return cache.healthCheck();
    case 'stampede': {
      // n concurrent getOrSet on one key; the loader sleeps, then counts itself in Redis.
      const [key, n, sleepMs, value] = a as [string, number, number, unknown];
      const results = await Promise.all(
        Array.from({ length: n }, () =>
          cache.getOrSet(key, async () => {
            await new Promise((r) => setTimeout(r, sleepMs));
            await counter?.incr(`loads:${key}`);
            return value;
          }),
        ),
      );
      return results.filter((r) => JSON.stringify(r) === JSON.stringify(value)).length;
    }
    case 'history': {
      // n operations on one key, one at a time, reads and writes mixed at random, each timed.
      const [key, n, level, tag] = a as [string, number, string, string];
      const ops: { process: string; kind: 'read' | 'write'; value: unknown; invoke: number; response: number }[] = [];
      const now = machineNow;
      for (let i = 0; i < n; i++) {
        const write = Math.random() < 0.4;
        const invoke = now();
        if (write) {
          const value = `${tag}-${i}`;
          await cache.set(key, value, { consistency: level as 'strong' });
          ops.push({ process: tag, kind: 'write', value, invoke, response: now() });
        } else {
          const value = await cache.get(key, { consistency: level as 'strong' });
          ops.push({ process: tag, kind: 'read', value, invoke, response: now() });
        }
        if (Math.random() < 0.3) await new Promise((r) => setTimeout(r, 1));
      }
      return ops;
    }
    case 'sessionGet': {
      const [key, token, level] = a as [string, string, string | undefined];
      const session = ConsistencySession.fromToken(token);
      const value = await cache.get(key, level ? { consistency: level as 'session', session } : undefined);
      return { value, token: session.token };
    }
    case 'sessionSet': {
      const [key, value, token] = a as [string, unknown, string];
      const session = ConsistencySession.fromToken(token);
      await cache.set(key, value, { consistency: 'session', session });
      return session.token;
    }
    case 'hammer': {
      // Calls get() as fast as the rate limit allows from `startAt` for `durationMs`.
      const [key, startAt, durationMs] = a as [string, number, number];
      while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
      let ok = 0;
      let limited = 0;
      while (Date.now() < startAt + durationMs) {
        try {
          await cache.get(key);
          ok++;
        } catch (err) {
          if ((err as { code?: string }).code !== 'E_RATE_LIMITED') throw err;
          limited++;
          await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, (err as { retryAfterMs: number }).retryAfterMs))));
        }
      }
      return { ok, limited };
    }
    case 'close':
      await cache.close();
      await counter?.close();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}

process.on('message', (m: Msg) => {
  handle(m).then(
    (result) => process.send?.({ id: m.id, result: result === undefined ? { undefined: true } : { value: result } }),
    (err: unknown) => process.send?.({ id: m.id, error: { name: (err as Error).name, message: (err as Error).message, code: (err as { code?: string }).code } }),
  );
});
process.send?.({ ready: true });
