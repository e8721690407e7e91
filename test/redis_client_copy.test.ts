// A caller's `redisClient` may come from another copy of node-redis than tiercache's (an app that
// pins `redis@5.x` gets its own @redis/client beside ours). node-redis recognizes a client-side
// cache provider by `instanceof` against *its* copy's class, so handing our coherence tracker to
// a foreign client made that client build a plain cache of its own from it: tracking went on in
// default mode, no invalidation reached tiercache's L1, and a value changed by another instance
// stayed served from L1 until its TTL.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const open: IntegratedCacheManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A second, separately loaded copy of @redis/client: its classes are not ours. */
function foreignNodeRedis(): typeof import('@redis/client') {
  const require = createRequire(import.meta.url);
  const root = require.resolve('@redis/client').replace(/dist[\\/]index\.js$/, '');
  const saved = new Map<string, NodeJS.Module>();
  for (const id of Object.keys(require.cache)) {
    if (id.startsWith(root)) {
      saved.set(id, require.cache[id] as NodeJS.Module);
      delete require.cache[id];
    }
  }
  try {
    return require('@redis/client') as typeof import('@redis/client');
  } finally {
    // Leave the cache as it was for every other importer of the real copy.
    for (const id of Object.keys(require.cache)) if (id.startsWith(root)) delete require.cache[id];
    for (const [id, m] of saved) require.cache[id] = m;
  }
}

describe('redisClient from another copy of node-redis', () => {
  it('keeps L1 coherent: a change made by another instance reaches this L1', async () => {
    const foreign = foreignNodeRedis();
    const ours = await import('@redis/client');
    expect(foreign.BasicPooledClientSideCache).not.toBe(ours.BasicPooledClientSideCache);
    const client = foreign.createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    const namespace = uniqueNamespace();
    const a = createIntegratedCache({ redisClient: client as never, namespace, logLevel: 'silent', enableMonitoring: false });
    const b = createIntegratedCache({ redisUrl: redis.url, namespace, logLevel: 'silent', enableMonitoring: false });
    open.push(a, b);
    await a.initialize();
    await b.initialize();
    await b.set('k', 'v1');
    expect(await a.get('k')).toBe('v1'); // now in A's L1
    await b.set('k', 'v2');
    // The invalidation push arrives within milliseconds; allow far more than that.
    const deadline = Date.now() + 2000;
    let seen: unknown = 'v1';
    while (Date.now() < deadline && seen !== 'v2') {
      seen = await a.get('k');
      if (seen !== 'v2') await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBe('v2');
    await a.close();
    // The caller's client is still theirs, open.
    expect(client.isReady).toBe(true);
    await client.close();
  });
});

describe('the watchdog trusts answered PINGs only once tracking was turned on', () => {
  it('no tracking handshake ever ran: confirm() fails and the gate does not move', async () => {
    const { openBackend, CoherenceWatchdog } = await import('../src/tiers/redis/l2_modules.js');
    const { defaultLogger } = await import('../src/observability/logger.js');
    const { backend } = openBackend({ endpoint: { kind: 'url', url: redis.url }, connectTimeoutMs: 2000, logger: defaultLogger('silent'), tracker: null });
    await backend.connect();
    const moves: number[] = [];
    let restored = 0;
    const gate = {
      setServableUntil: (t: number) => moves.push(t),
      setFillTtlCap: () => undefined,
      lossEpoch: () => 0,
      coherenceRestored: () => restored++,
      trackingConfirmed: () => false,
    };
    const watchdog = new CoherenceWatchdog(backend, gate, () => undefined, 300, defaultLogger('silent'));
    expect(await watchdog.confirm()).toBe(false); // Redis answered; tracking is not in force
    expect(moves.filter((t) => Number.isFinite(t) && t > 0)).toEqual([]);
    expect(restored).toBe(0);
    await backend.close();
  });
});
