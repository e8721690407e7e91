import { RESP_TYPES } from '@redis/client';

/** How tiercache reaches Redis. */
export type RedisTopology = 'standalone' | 'cluster' | 'sentinel';

/** Command options that make bulk strings come back as Buffers (envelopes are binary). */
export const BINARY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

/**
 * The few Redis operations the tiers need, over any topology. Keys are full Redis keys (prefix
 * included). Every method resolves or rejects with the client's error; deadlines are the caller's
 * (deadline.ts), so one timer covers a whole batch.
 *
 * Why an interface of operations rather than a shared client type: node-redis's client, cluster
 * and sentinel differ in routing (`sendCommand(args)` / `(firstKey, readonly, args)` /
 * `(readonly, args)`), and the cluster must split multi-key commands by hash slot. Each backend
 * does that once, here, and the batchers above stay topology-blind.
 */
export interface RedisBackend {
  readonly topology: RedisTopology;
  /** True when commands can be sent now (every master connected, for a cluster). */
  readonly isReady: boolean;
  /**
   * Connections that writes are spread across (standalone_backend.ts: lanes). The write batcher
   * sends each lane's share as its own round trip, settled on its own, so one lane's replies never
   * wait for another's. Absent means one.
   */
  readonly writeLanes?: number;
  /**
   * Read round trips the batcher keeps in flight, out of phase (get_batcher.ts); `mget`'s `lane` is
   * one of them, mapped onto the backend's connections. Absent means one.
   */
  readonly readLanes?: number;
  /** The write lane (0 … writeLanes-1) of `key`; the same key always maps to the same lane. */
  laneOf?(key: string): number;
  /**
   * Values of `keys` in order. Cluster: one MGET per hash slot, all written in one tick (one
   * pipeline per node); a slot group whose node failed yields its Error in place of each of its
   * keys (the other groups still answer), and the promise rejects only when every group failed.
   */
  mget(keys: readonly string[], lane?: number): Promise<(Buffer | null | Error)[]>;
  /** `SET key value PX px`. `lane`, when given, is `laneOf(key)` (the batchers know it already). */
  setPx(key: string, value: Buffer | string, px: number, lane?: number): Promise<unknown>;
  /**
   * Optional: `SET key value PX px` for every key in one command (keys of one write lane), so a
   * batch costs the client one command instead of one per key. Rejects as a whole. Offered only
   * where it is safe (standalone_backend.ts explains when).
   */
  setMany?(keys: readonly string[], values: readonly (Buffer | string)[], pxs: readonly number[], lane: number): Promise<unknown>;
  /**
   * UNLINK; resolves to how many existed. Cluster: grouped by slot. `lane`, when given, is the
   * write lane of every key (the write batcher's deletes, ordered after the lane's writes).
   */
  unlink(keys: readonly string[], lane?: number): Promise<number>;
  /**
   * SCAN with MATCH over every master (and only masters), calling `onKeys` for each page. Must
   * see every key that existed for the whole scan, also while slots migrate between masters.
   */
  scan(match: string, onKeys: (keys: string[]) => Promise<void>, timeoutMs: number): Promise<void>;
  /**
   * Any command, routed by `firstKey` (its slot, in a cluster), to the master. For the queues,
   * tags and sessions other modules keep in Redis. `binary`: bulk strings as Buffers.
   */
  send(firstKey: string, args: readonly (string | Buffer)[], binary?: boolean): Promise<unknown>;
  /** EVAL `script` with `keys` (which must share one hash slot) and `args`. */
  eval(script: string, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown>;
  /** One PING to every master over the connections that carry commands; resolves to the slowest round trip in ms. */
  pingAll(): Promise<number>;
  /** Topology facts for the health check (cluster state, slot coverage, replication). */
  describe(): Promise<Record<string, unknown>>;
  connect(): Promise<void>;
  /** Graceful close; falls back to destroy. Only for backends tiercache opened. */
  close(): Promise<void>;
}
