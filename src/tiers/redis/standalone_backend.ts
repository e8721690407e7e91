import type { createClient } from '@redis/client';
import { withDeadline } from './deadline.js';
import { hashKey } from '../../util/hash.js';
import { BINARY, type RedisBackend } from './redis_backend.js';

type Client = ReturnType<typeof createClient>;

/**
 * Sets every key of one batch: KEYS[i] gets ARGV[2i-1] with PX ARGV[2i]. The script's writes are
 * the SETs a pipeline would send; what it saves is the client's per-command work (a promise, a
 * queue entry, a reply to decode) on each key.
 */
const SET_MANY = "for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i]) end return #KEYS";

/**
 * One Redis server (or any endpoint that behaves as one) through one connection, or several
 * ("lanes", `redisConnections`).
 *
 * One is the default and enough for speed: what keeps this process and Redis from taking turns is
 * the batchers keeping two round trips in flight, out of phase, which a pipelined connection
 * carries as well as two sockets (docs/decisions.md). Lanes remain for deployments that want more
 * sockets.
 *
 * With lanes, reads may go on any lane. That is safe for coherence too: invalidations arrive on
 * lane 0, and a read racing one is caught by the tier stack's touched-key check whichever
 * connection it used (BCAST tracking does not depend on which connection read a key). Writes
 * without coherence map to a lane by key hash, so writes and deletes of one key keep their issue
 * order. With coherence (`trackedWrites`), every write stays on lane 0 as plain pipelined SETs:
 * client tracking's NOLOOP hides only the writes of the connection that tracks, and (Redis 7.0,
 * measured) not the writes a script makes, so a write on another lane or a scripted write would
 * come back as an invalidation of our own fresh L1 entry.
 *
 * `scriptedWrites` (without coherence): each lane's batch as one SET_MANY script call instead of one
 * command per key. Everything else (other modules' scripts and commands, scans, pings) uses lane 0.
 */
export class StandaloneBackend implements RedisBackend {
  readonly topology = 'standalone' as const;
  /** The primary connection (lane 0). */
  readonly client: Client;
  readonly #lanes: Client[];
  readonly writeLanes: number;
  readonly readLanes: number;
  readonly setMany?: (keys: readonly string[], values: readonly (Buffer | string)[], pxs: readonly number[], lane: number) => Promise<unknown>;

  /**
   * `extraLanes`: more connections to the same server (reads; writes too without coherence). `trackedWrites`: coherence is
   * on, so writes stay on `client` as plain SETs. `scriptedWrites`: batch untracked writes into one
   * script call per lane (fewer client commands; Redis spends more per key, docs/decisions.md).
   */
  constructor(client: Client, options: { extraLanes?: Client[]; trackedWrites?: boolean; scriptedWrites?: boolean } = {}) {
    const { extraLanes = [], trackedWrites = false, scriptedWrites = false } = options;
    this.client = client;
    this.#lanes = [client, ...extraLanes];
    this.writeLanes = trackedWrites ? 1 : this.#lanes.length;
    // Two read batches in flight, out of phase, pay off even on one connection (pipelined); with
    // more connections, one per connection.
    this.readLanes = Math.max(2, this.#lanes.length);
    if (!trackedWrites && scriptedWrites) this.setMany = (keys, values, pxs, lane) => this.#setMany(keys, values, pxs, lane);
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  /** By a hash of the whole key: keys often differ only in the middle (`user:42:settings`). */
  laneOf(key: string): number {
    const n = this.writeLanes;
    return n === 1 ? 0 : hashKey(key) % n;
  }

  /** The connection of `lane`; the primary while that lane is reconnecting. */
  #conn(lane: number): Client {
    const c = this.#lanes[lane];
    return c.isReady ? c : this.client;
  }

  mget(keys: readonly string[], lane = 0): Promise<(Buffer | null)[]> {
    const conn = this.#conn(lane % this.#lanes.length);
    if (keys.length === 1) return conn.sendCommand<Buffer | null>(['GET', keys[0]], BINARY).then((v) => [v]);
    return conn.sendCommand<(Buffer | null)[]>(['MGET', ...keys], BINARY);
  }

  #lastPx = -1;
  #lastPxText = '';

  /** A batch's writes usually share one TTL: format it once. */
  #pxText(px: number): string {
    if (px !== this.#lastPx) {
      this.#lastPx = px;
      this.#lastPxText = String(px);
    }
    return this.#lastPxText;
  }

  setPx(key: string, value: Buffer | string, px: number, lane?: number): Promise<unknown> {
    return this.#conn(lane ?? this.laneOf(key)).sendCommand(['SET', key, value, 'PX', this.#pxText(px)]);
  }

  /** Set once Redis refused a script (an ACL user without @scripting, scripting disabled). */
  #scriptsRefused = false;

  #setMany(keys: readonly string[], values: readonly (Buffer | string)[], pxs: readonly number[], lane: number): Promise<unknown> {
    if (this.#scriptsRefused) return this.#setEach(keys, values, pxs, lane);
    const n = keys.length;
    const args = new Array<string | Buffer>(3 + 3 * n);
    args[0] = 'EVAL';
    args[1] = SET_MANY;
    args[2] = String(n);
    for (let i = 0; i < n; i++) {
      args[3 + i] = keys[i];
      args[3 + n + 2 * i] = values[i];
      args[4 + n + 2 * i] = this.#pxText(pxs[i]);
    }
    return this.#conn(lane)
      .sendCommand(args)
      .catch((err: unknown) => {
        // Refused before running (so nothing was written): plain SETs from now on, this batch too.
        if (!isScriptRefusal(err)) throw err;
        this.#scriptsRefused = true;
        return this.#setEach(keys, values, pxs, lane);
      });
  }

  #setEach(keys: readonly string[], values: readonly (Buffer | string)[], pxs: readonly number[], lane: number): Promise<unknown> {
    return Promise.all(keys.map((k, i) => this.setPx(k, values[i], pxs[i], lane)));
  }

  unlink(keys: readonly string[], lane?: number): Promise<number> {
    if (lane !== undefined) return this.#conn(lane).sendCommand<number>(['UNLINK', ...keys]);
    if (this.writeLanes === 1 || keys.length === 0) return this.client.sendCommand<number>(['UNLINK', ...keys]);
    // On each key's write lane, so a delete is ordered after the writes issued before it.
    const groups = new Map<number, string[]>();
    for (const k of keys) {
      const lane = this.laneOf(k);
      let g = groups.get(lane);
      if (g === undefined) groups.set(lane, (g = []));
      g.push(k);
    }
    return Promise.all([...groups].map(([lane, ks]) => this.#conn(lane).sendCommand<number>(['UNLINK', ...ks]))).then((n) => n.reduce((a, b) => a + b, 0));
  }

  async scan(match: string, onKeys: (keys: string[]) => Promise<void>, timeoutMs: number): Promise<void> {
    await scanNode(this.client, match, onKeys, timeoutMs);
  }

  send(_firstKey: string, args: readonly (string | Buffer)[], binary = false): Promise<unknown> {
    return this.client.sendCommand([...args], binary ? BINARY : undefined);
  }

  eval(script: string, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    return this.client.sendCommand(['EVAL', script, String(keys.length), ...keys, ...args], BINARY);
  }

  async pingAll(): Promise<number> {
    const t = performance.now();
    await Promise.all(this.#lanes.map((l) => (l.isReady || l === this.client ? l.sendCommand(['PING']) : undefined)));
    return performance.now() - t;
  }

  async describe(): Promise<Record<string, unknown>> {
    const info = await this.client.sendCommand<string>(['INFO', 'replication']);
    return { topology: this.topology, role: /role:(\w+)/.exec(String(info))?.[1] ?? 'unknown', connections: this.#lanes.length, connectionsReady: this.#lanes.filter((l) => l.isReady).length };
  }

  async connect(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.connect()));
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#lanes.map(async (c) => {
        if (c.isReady) await c.close().catch(() => c.destroy());
        else if (c.isOpen) c.destroy();
      }),
    );
  }
}

/** NOPERM (ACL without @scripting) or EVAL unknown/disabled: the server will never run the script. */
function isScriptRefusal(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /^NOPERM|unknown command|scripting is disabled|NOSCRIPT/i.test(msg);
}

/**
 * Full SCAN of one node. Strings, not Buffers: under a Buffer type mapping the cursor comes back
 * as a Buffer and never compares equal to '0'.
 */
export async function scanNode(
  client: { sendCommand<T>(args: string[]): Promise<T> },
  match: string,
  onKeys: (keys: string[]) => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await withDeadline(client.sendCommand<[string, string[]]>(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000']), timeoutMs, 'scan');
    cursor = String(next);
    if (keys.length > 0) await onKeys(keys.map(String));
  } while (cursor !== '0');
}
