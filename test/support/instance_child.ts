/**
 * A tiercache instance in its own OS process, driven over IPC by instance_process.ts, so tests
 * see what separate app instances see (separate L1s, separate connections, separate event loops).
 */
import { createClient, createCluster } from 'redis';
import { createIntegratedCache } from '../../src/index.js';

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
