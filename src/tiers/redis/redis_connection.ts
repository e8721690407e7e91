import { readFileSync } from 'node:fs';
import { createClient, createCluster, createSentinel, type RedisClientType } from '@redis/client';
import type { CacheLogger as Logger } from '../../observability/logger.js';
import type { TrackingInvalidator } from '../../coherence/tracking_invalidator.js';
import { ClusterBackend } from './cluster_backend.js';
import type { RedisBackend } from './redis_backend.js';
import { SentinelBackend } from './sentinel_backend.js';
import { StandaloneBackend } from './standalone_backend.js';

/**
 * A node-redis v5 standalone client, from `redis` or `@redis/client`, with any modules, scripts
 * or RESP version. Named (not `ReturnType<typeof createClient>`) so declarations refer to it
 * instead of inlining node-redis's whole command map.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any client shape is accepted; tiercache only sends raw commands
export type RedisClient = RedisClientType<any, any, any, any, any>;
/** The client type the backend is written against (no modules, RESP2 replies as typed). */
type BackendClient = ConstructorParameters<typeof StandaloneBackend>[0];

/** Where Redis is: exactly one of the three. */
export type RedisEndpoint =
  | { kind: 'url'; url: string }
  | { kind: 'cluster'; nodes: string[] }
  | { kind: 'sentinel'; sentinels: string[]; masterName: string }
  | { kind: 'client'; client: RedisClient };

/** TLS settings for the connection to Redis. */
export interface RedisTlsOptions {
  /** CA certificate (PEM text or a file path). @default the system's CAs */
  ca?: string;
  /** Client certificate (PEM text or a file path), for mutual TLS. @default none */
  cert?: string;
  /** Client key (PEM text or a file path), for mutual TLS. @default none */
  key?: string;
  /** Server name checked against the certificate (SNI). @default the host of the URL */
  servername?: string;
  /** Refuse a server whose certificate does not verify. @default true */
  rejectUnauthorized?: boolean;
}

export interface RedisConnectionOptions {
  endpoint: RedisEndpoint;
  connectTimeoutMs: number;
  logger: Logger;
  /** Redis ACL user and password (also accepted in the URL). */
  username?: string;
  password?: string;
  tls?: RedisTlsOptions;
  /** Every connection error, unthrottled (initialize() watches for configuration errors). */
  onConnectionError?: (err: unknown) => void;
  /** Coherence provider; when set, connections speak RESP3 and enable tracking in their handshake. */
  tracker: TrackingInvalidator | null;
  /** Connections to open for a standalone `url` endpoint (standalone_backend.ts: lanes). @default 1 */
  connections?: number;
  /** Batch untracked standalone writes into one script call per lane. @default false */
  scriptedWrites?: boolean;
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
  const log = throttledErrorLogger(options.logger);
  const onError = (err: unknown): void => {
    options.onConnectionError?.(err);
    log(err);
  };
  const auth = {
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  const tls = options.tls === undefined ? null : tlsSocketOptions(options.tls);
  switch (endpoint.kind) {
    case 'url': {
      const useTls = tls !== null || endpoint.url.startsWith('rediss://');
      const base = { url: endpoint.url, disableOfflineQueue: true, socket: useTls ? { ...socket, tls: true as const, ...(tls ?? {}) } : socket, ...auth };
      const client = createClient({ ...base, ...coherence });
      client.on('error', onError);
      // Extra lanes never track (standalone_backend.ts): with coherence on they carry reads only.
      const extra = Math.max(0, (options.connections ?? 1) - 1);
      const lanes = Array.from({ length: extra }, () => {
        const lane = createClient(base);
        lane.on('error', onError);
        return lane as unknown as BackendClient;
      });
      return { backend: new StandaloneBackend(client as unknown as BackendClient, { extraLanes: lanes, trackedWrites: tracker !== null, scriptedWrites: options.scriptedWrites }), owned: true };
    }
    case 'client': {
      if (tracker === null) return { backend: new StandaloneBackend(endpoint.client as unknown as BackendClient, { scriptedWrites: options.scriptedWrites }), owned: false };
      // Tracking must live on the connection that carries the reads (ordering of pushes and
      // replies), so coherence needs a connection of our own: same options as yours, plus RESP3.
      // Built with our copy of node-redis, not `duplicate()`: a client from another copy (an app
      // pinning its own `redis`) tells a cache provider by `instanceof` against its own classes,
      // and would take our tracker for a plain cache config: tracking on, but never ours.
      const client = createClient({ ...endpoint.client.options, disableOfflineQueue: true, ...coherence });
      client.on('error', onError);
      return { backend: new StandaloneBackend(client as unknown as BackendClient, { trackedWrites: true }), owned: true };
    }
    case 'cluster': {
      // Nodes found by discovery inherit `defaults`, so TLS must be stated there too.
      const useTls = tls !== null || endpoint.nodes.some((n) => n.startsWith('rediss://'));
      const cluster = createCluster({
        rootNodes: endpoint.nodes.map((n) => ({ url: nodeUrl(n) })),
        defaults: { disableOfflineQueue: true, ...auth, socket: useTls ? { ...socket, tls: true as const, ...(tls ?? {}) } : socket },
        ...coherence,
      });
      cluster.on('error', onError);
      return { backend: new ClusterBackend(cluster as never), owned: true };
    }
    case 'sentinel': {
      const sentinel = createSentinel({
        name: endpoint.masterName,
        sentinelRootNodes: endpoint.sentinels.map(hostPort),
        nodeClientOptions: { disableOfflineQueue: true, ...auth, socket: tls !== null ? { ...socket, tls: true as const, ...tls } : socket },
        ...coherence,
      });
      sentinel.on('error', onError);
      return { backend: new SentinelBackend(sentinel as never), owned: true };
    }
  }
}

/** PEM text, or the contents of the file it names. */
function pem(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8');
}

function tlsSocketOptions(t: RedisTlsOptions): { ca?: string; cert?: string; key?: string; servername?: string; rejectUnauthorized?: boolean } {
  return {
    ...(t.ca !== undefined ? { ca: pem(t.ca) } : {}),
    ...(t.cert !== undefined ? { cert: pem(t.cert) } : {}),
    ...(t.key !== undefined ? { key: pem(t.key) } : {}),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
    ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}),
  };
}

/**
 * Errors retrying cannot fix: wrong credentials, a certificate that does not verify, a user
 * without permission to connect. initialize() fails on them instead of starting degraded.
 */
export function isConfigurationError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? '');
  return (
    /WRONGPASS|NOAUTH|NOPERM|invalid password|AUTH failed/i.test(msg) ||
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(String(e?.code ?? '')) ||
    /certificate|self[- ]signed|wrong version number|alert/i.test(msg)
  );
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
