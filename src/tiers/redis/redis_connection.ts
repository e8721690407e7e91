import { createClient, RESP_TYPES } from 'redis';
import type { Logger } from 'pino';

/** A node-redis v5 standalone client, as `createClient()` returns it. */
export type RedisClient = ReturnType<typeof createClient>;

export interface RedisConnectionOptions {
  url: string;
  connectTimeoutMs: number;
  logger: Logger;
}

/**
 * Opens a client tiercache owns. `disableOfflineQueue` makes commands fail at once while the
 * socket is down instead of queueing without bound: the read path turns that failure into an L2
 * miss (degrade), where a queue would turn it into a hang. Reconnection backs off to 2 s.
 */
export function createOwnedRedisClient(options: RedisConnectionOptions): RedisClient {
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
    },
  });
  let lastLogged = 0;
  // Without an 'error' listener node-redis errors crash the process; log at most once a second.
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 1000) {
      lastLogged = now;
      options.logger.warn({ err: err.message }, 'redis connection error');
    }
  });
  return client;
}

/**
 * A view of `client` whose bulk-string replies are Buffers. No node-redis `timeout` here: it stops
 * counting once a command is written (so it misses a stalled server) and costs an AbortSignal per
 * command; deadline.ts bounds each round trip instead.
 */
export function binaryView(client: RedisClient) {
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

export type BinaryRedis = ReturnType<typeof binaryView>;
