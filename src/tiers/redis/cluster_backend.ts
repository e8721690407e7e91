import type { createCluster } from '@redis/client';
import { groupBySlot } from './hash_slot.js';
import { BINARY, type RedisBackend } from './redis_backend.js';
import { scanNode } from './standalone_backend.js';

type Cluster = ReturnType<typeof createCluster>;

/** Most full scans `scan` repeats while slots are migrating (each key moves at most once per migration). */
const MAX_SCAN_PASSES = 5;

/**
 * A Redis Cluster through node-redis's cluster client, which routes each command by its first
 * key, follows MOVED (refreshing the slot map) and ASK (with ASKING), and keeps one connection per
 * node. What it cannot do for us, this class does: split multi-key commands by hash slot (Redis
 * refuses CROSSSLOT), and scan every master.
 */
export class ClusterBackend implements RedisBackend {
  readonly topology = 'cluster' as const;
  /** Two read batches in flight, out of phase (get_batcher.ts), pipelined on each node's connection. */
  readonly readLanes = 2;
  readonly cluster: Cluster;

  #lastRediscover = 0;
  /** Slot-map refreshes this backend asked for after node errors. */
  rediscoveries = 0;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    // node-redis refreshes its slot map on MOVED only. A dead master sends no MOVED: its client
    // just keeps reconnecting, and commands for its slots fail until someone asks the cluster who
    // owns them now. So every node error (throttled to one refresh per 250 ms) triggers that
    // question, and a promoted replica is found within one refresh of the cluster electing it.
    cluster.on('node-error', () => this.#rediscoverSoon());
  }

  #rediscoverSoon(): void {
    const now = Date.now();
    if (now - this.#lastRediscover < 250) return;
    this.#lastRediscover = now;
    const slots = (this.cluster as unknown as { _slots?: { rediscover(c: unknown): Promise<void> } })._slots;
    const healthy = this.cluster.masters.find((m) => m.client?.isReady)?.client;
    if (slots === undefined || healthy === undefined) return;
    this.rediscoveries++;
    slots.rediscover(healthy).catch(() => undefined);
  }

  get isReady(): boolean {
    if (!this.cluster.isOpen) return false;
    const masters = this.cluster.masters;
    if (masters.length === 0) return false;
    for (const m of masters) if (m.client === undefined || !m.client.isReady) return false;
    return true;
  }

  mget(keys: readonly string[]): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 1) return this.#send<Buffer | null>(keys[0], ['GET', keys[0]], true).then((v) => [v]);
    const groups = groupBySlot(keys);
    if (groups.size === 1) return this.#send<(Buffer | null)[]>(keys[0], ['MGET', ...keys], true);
    // One MGET per slot; issued in the same tick, so node-redis writes each node's share as one pipeline.
    const out = new Array<Buffer | null | Error>(keys.length);
    const parts: Promise<void>[] = [];
    let failed = 0;
    let lastError: unknown;
    for (const idx of groups.values()) {
      const slotKeys = idx.map((i) => keys[i]);
      const request =
        slotKeys.length === 1
          ? this.#send<Buffer | null>(slotKeys[0], ['GET', slotKeys[0]], true).then((v) => [v])
          : this.#send<(Buffer | null)[]>(slotKeys[0], ['MGET', ...slotKeys], true);
      parts.push(
        request.then(
          (values) => {
            for (let j = 0; j < idx.length; j++) out[idx[j]] = values[j] ?? null;
          },
          (err: unknown) => {
            // One dead master must not fail the keys of the live ones.
            failed++;
            lastError = err;
            const e = err instanceof Error ? err : new Error(String(err));
            for (const i of idx) out[i] = e;
          },
        ),
      );
    }
    return Promise.all(parts).then(() => {
      if (failed === groups.size) throw lastError;
      return out;
    });
  }

  setPx(key: string, value: Buffer | string, px: number): Promise<unknown> {
    return this.cluster.sendCommand(key, false, ['SET', key, value, 'PX', String(px)]).catch(this.#onCommandError);
  }

  /** A failed command may mean its master died: ask for the slot map (throttled), then fail as before. */
  readonly #onCommandError = (err: unknown): never => {
    this.#rediscoverSoon();
    throw err;
  };

  async unlink(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const counts = await Promise.all(
      [...groupBySlot(keys).values()].map(async (idx) => {
        const slotKeys = idx.map((i) => keys[i]);
        try {
          return await this.cluster.sendCommand<number>(slotKeys[0], false, ['UNLINK', ...slotKeys]).catch(this.#onCommandError);
        } catch (err) {
          // While a slot migrates, a multi-key command whose keys are split between the two nodes
          // gets TRYAGAIN; one key at a time is always routable (ASK is followed per key).
          if (slotKeys.length === 1) throw err;
          let n = 0;
          for (const k of slotKeys) n += await this.cluster.sendCommand<number>(k, false, ['UNLINK', k]);
          return n;
        }
      }),
    );
    let total = 0;
    for (const c of counts) total += c;
    return total;
  }

  async scan(match: string, onKeys: (keys: string[]) => Promise<void>, timeoutMs: number): Promise<void> {
    // A key that migrates from a not-yet-scanned master to an already-scanned one during a pass
    // escapes that pass; so while any slot is migrating (or the topology changed under us), scan
    // again. A migrating key moves once, so the next pass finds it where it landed.
    for (let pass = 1; ; pass++) {
      const before = await this.#migrationState();
      for (const master of this.cluster.masters) {
        const client = await this.cluster.nodeClient(master);
        await scanNode(client, match, onKeys, timeoutMs);
      }
      const after = await this.#migrationState();
      if ((!before.migrating && !after.migrating && before.layout === after.layout) || pass >= MAX_SCAN_PASSES) return;
    }
  }

  /** Whether any slot is MIGRATING/IMPORTING, and a fingerprint of which master owns what. */
  async #migrationState(): Promise<{ migrating: boolean; layout: string }> {
    const master = this.cluster.masters[0];
    if (master === undefined) return { migrating: false, layout: '' };
    const client = await this.cluster.nodeClient(master);
    const nodes = String(await client.sendCommand(['CLUSTER', 'NODES']));
    const layout = nodes
      .split('\n')
      .filter((l) => l.includes('master') && !l.includes('fail'))
      .map((l) => {
        const f = l.split(' ');
        return `${f[0]}:${f.slice(8).join(',')}`;
      })
      .sort()
      .join(';');
    return { migrating: nodes.includes('['), layout };
  }

  send(firstKey: string, args: readonly (string | Buffer)[], binary = false): Promise<unknown> {
    return this.cluster.sendCommand(firstKey, false, [...args], binary ? BINARY : undefined).catch(this.#onCommandError);
  }

  eval(script: string, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    return this.#send(keys[0], ['EVAL', script, String(keys.length), ...keys, ...args], false);
  }

  async pingAll(): Promise<number> {
    const t = performance.now();
    const masters = this.cluster.masters;
    if (masters.length === 0) throw new Error('no cluster masters known');
    await Promise.all(masters.map(async (m) => (await this.cluster.nodeClient(m)).sendCommand(['PING']))).catch(this.#onCommandError);
    return performance.now() - t;
  }

  async describe(): Promise<Record<string, unknown>> {
    const master = this.cluster.masters[0];
    if (master === undefined) return { topology: this.topology, clusterState: 'unknown' };
    const client = await this.cluster.nodeClient(master);
    const info = String(await client.sendCommand(['CLUSTER', 'INFO']));
    const field = (name: string): string | undefined => new RegExp(`${name}:(\\S+)`).exec(info)?.[1];
    return {
      topology: this.topology,
      clusterState: field('cluster_state') ?? 'unknown',
      slotsAssigned: Number(field('cluster_slots_assigned') ?? 0),
      slotsOk: Number(field('cluster_slots_ok') ?? 0),
      slotsFailing: Number(field('cluster_slots_fail') ?? 0) + Number(field('cluster_slots_pfail') ?? 0),
      masters: this.cluster.masters.length,
      replicas: this.cluster.replicas.length,
    };
  }

  #send<T>(firstKey: string | undefined, args: (string | Buffer)[], readonly: boolean): Promise<T> {
    return this.cluster.sendCommand<T>(firstKey, readonly, args, BINARY).catch(this.#onCommandError);
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async close(): Promise<void> {
    await this.cluster.close().catch(() => this.cluster.destroy());
  }
}
