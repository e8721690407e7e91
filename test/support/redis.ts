import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { RedisServer } from '../../src/embedded/redis_server.js';
import { createIntegratedCache, type IntegratedCacheManager } from '../../src/index.js';
import type { IntegratedCacheOptions } from '../../src/config/integrated_cache_config.js';

export { RedisServer };

/**
 * Starts a private redis-server for the calling test file (beforeAll) and stops it (afterAll).
 * Each file gets its own process on a free port, so files run in parallel without sharing state
 * and a test may kill or pause its server.
 */
export function useRedisServer(args?: string[]): { readonly server: RedisServer; readonly url: string } {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start(args ? { args } : {});
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('redis server not started yet');
      return server;
    },
    get url() {
      if (!server) throw new Error('redis server not started yet');
      return server.url;
    },
  };
}

/** A raw node-redis client for poking at what tiercache wrote (caller closes it). */
export async function rawClient(url: string) {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** A namespace unique to one test, so tests in one file never see each other's keys. */
let counter = 0;
export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}${process.pid}-${++counter}`;
}

/**
 * Caches and raw clients for one test file over `redis` (useRedisServer): each test's are closed
 * after it (afterEach), so a failing test leaves nothing open for the next.
 */
export function useCaches(redis: { readonly url: string }): {
  makeCache(options?: IntegratedCacheOptions): Promise<IntegratedCacheManager>;
  raw(): Promise<Awaited<ReturnType<typeof rawClient>>>;
} {
  const open: IntegratedCacheManager[] = [];
  const raws: Awaited<ReturnType<typeof rawClient>>[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await Promise.all(raws.splice(0).map((c) => c.close().catch(() => undefined)));
  });
  return {
    async makeCache(options: IntegratedCacheOptions = {}) {
      const cache = createIntegratedCache({ redisUrl: redis.url, namespace: uniqueNamespace(), logLevel: 'silent', ...options });
      await cache.initialize();
      open.push(cache);
      return cache;
    },
    async raw() {
      const c = await rawClient(redis.url);
      raws.push(c);
      return c;
    },
  };
}
