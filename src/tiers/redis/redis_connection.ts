import { createClient, createCluster, createSentinel } from 'redis';
import type { Logger } from 'pino';
import type { TrackingInvalidator } from '../../coherence/tracking_invalidator.js';
import { ClusterBackend } from './cluster_backend.js';
import type { RedisBackend } from './redis_backend.js';
import { SentinelBackend } from './sentinel_backend.js';
import { StandaloneBackend } from './standalone_backend.js';

/** A node-redis v5 standalone client, as `createClient()` returns it. */
export type RedisClient = ReturnType<typeof createClient>;

/** Where Redis is: exactly one of the three. */
export type RedisEndpoint =
  | { kind: 'url'; url: string }
  | { kind: 'cluster'; nodes: string[] }
  | { kind: 'sentinel'; sentinels: string[]; masterName: string }
  | { kind: 'client'; client: RedisClient };

export interface RedisConnectionOptions {
  endpoint: RedisEndpoint;
  connectTimeoutMs: number;
  logger: Logger;
  /** Coherence provider; when set, connections speak RESP3 and enable tracking in their handshake. */
  tracker: TrackingInvalidator | null;
}

/** The backend plus whether tiercache owns (and so closes) its connections. */
export interface OpenedBackend {
  backend: RedisBackend;
  owned: boolean;
}

/** `host:port` or a redis URL → a redis URL. */
export function nodeUrl(node: string): string {
  return /^rediss?:\/\//.test(node) ? node : `redis://${node}`;
}

function hostPort(node: string): { host: string; port: number } {
  const u = new URL(nodeUrl(node));
  return { host: u.hostname, port: Number(u.port || 6379) };
}

/**
 * Builds the backend for an endpoint (not yet connected).
 *
 * Every connection tiercache opens uses `disableOfflineQueue`: commands fail at once while a
 * socket is down instead of queueing without bound, and the read path turns that failure into an
 * L2 miss (degrade) where a queue would turn it into a hang. Reconnection backs off to 2 s.
 * No node-redis command `timeout`: it stops counting once a command is written (so it misses a
 * stalled server); deadline.ts bounds each round trip instead.
 */
export function openBackend(options: RedisConnectionOptions): OpenedBackend {
  const { endpoint, tracker } = options;
  const socket = {
    connectTimeout: options.connectTimeoutMs,
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
  };
  const coherence = tracker === null ? {} : ({ RESP: 3, clientSideCache: tracker } as const);
  const onError = throttledErrorLogger(options.logger);
  switch (endpoint.kind) {
    case 'url': {
      const client = createClient({ url: endpoint.url, disableOfflineQueue: true, socket, ...coherence });
      client.on('error', onError);
      return { backend: new StandaloneBackend(client as RedisClient), owned: true };
    }
    case 'client': {
      if (tracker === null) return { backend: new StandaloneBackend(endpoint.client), owned: false };
      // Tracking must live on the connection that carries the reads (ordering of pushes and
      // replies), so coherence needs a connection of our own: same options as yours, plus RESP3.
      const client = endpoint.client.duplicate({ disableOfflineQueue: true, ...coherence });
      client.on('error', onError);
      return { backend: new StandaloneBackend(client as unknown as RedisClient), owned: true };
    }
    case 'cluster': {
      // Nodes found by discovery inherit `defaults`, so TLS must be stated there too.
      const tls = endpoint.nodes.some((n) => n.startsWith('rediss://'));
      const cluster = createCluster({
        rootNodes: endpoint.nodes.map((n) => ({ url: nodeUrl(n) })),
        defaults: { disableOfflineQueue: true, socket: tls ? { ...socket, tls: true as const } : socket },
        ...coherence,
      });
      cluster.on('error', onError);
      return { backend: new ClusterBackend(cluster as never), owned: true };
    }
    case 'sentinel': {
      const sentinel = createSentinel({
        name: endpoint.masterName,
        sentinelRootNodes: endpoint.sentinels.map(hostPort),
        nodeClientOptions: { disableOfflineQueue: true, socket },
        ...coherence,
      });
      sentinel.on('error', onError);
      return { backend: new SentinelBackend(sentinel as never), owned: true };
    }
  }
}

/** Without an 'error' listener node-redis errors crash the process; log at most once a second. */
function throttledErrorLogger(logger: Logger): (err: unknown) => void {
  let lastLogged = 0;
  return (err: unknown) => {
    const now = Date.now();
    if (now - lastLogged > 1000) {
      lastLogged = now;
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'redis connection error');
    }
  };
}
