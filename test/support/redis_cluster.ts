import { createClient } from 'redis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redisCli, waitFor } from './redis_cli.js';
import { RedisServer } from '../../src/embedded/redis_server.js';

export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** Failed or not connected, as the queried node sees it. */
  failed: boolean;
  slots: string[];
}

/**
 * A real Redis Cluster on loopback: `masters` masters with `replicasPerMaster` replicas each,
 * made by `redis-cli --cluster create`. Any node can be killed (-9), paused (SIGSTOP) or
 * restarted; its nodes.conf stays in its directory, so a restarted node rejoins as itself.
 */
export class RedisClusterHarness {
  readonly nodes: RedisServer[];
  readonly nodeTimeoutMs: number;

  private constructor(nodes: RedisServer[], nodeTimeoutMs: number) {
    this.nodes = nodes;
    this.nodeTimeoutMs = nodeTimeoutMs;
  }

  static async start(options: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {}): Promise<RedisClusterHarness> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 1;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
    // No diskless-sync delay (default 5 s): a replica that has not synced yet is too stale to be
    // promoted (cluster-replica-validity-factor), and a failover test would wait forever.
    const args = [
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--repl-diskless-sync-delay', '0',
    ];
    const nodes = await Promise.all(Array.from({ length: masters * (1 + replicas) }, () => RedisServer.start({ args })));
    const harness = new RedisClusterHarness(nodes, nodeTimeoutMs);
    try {
      await promisify(execFile)(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000 },
      );
      await harness.waitHealthy();
    } catch (err) {
      await harness.stop();
      throw err;
    }
    return harness;
  }

  /** Root nodes for `createCluster` / `redisClusterNodes`. */
  get rootNodes(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** The cluster as the first live node sees it. */
  async topology(): Promise<ClusterNodeInfo[]> {
    let lastErr: unknown;
    for (const n of this.nodes) {
      try {
        const out = await redisCli(n.port, ['cluster', 'nodes']);
        return out
          .trim()
          .split('\n')
          .map((line) => {
            const f = line.split(' ');
            return {
              id: f[0],
              port: Number(f[1].split('@')[0].split(':')[1]),
              role: f[2].includes('master') ? 'master' : 'replica',
              failed: f[2].includes('fail') || f[7] !== 'connected',
              slots: f.slice(8),
            } satisfies ClusterNodeInfo;
          });
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  /** Waits until every live node reports cluster_state:ok and every master has its replicas in sync. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'cluster_state:ok on every live node',
      async () => {
        if (!(await this.#allLiveOk())) return false;
        const topo = await this.topology();
        const live = topo.filter((t) => !t.failed);
        if (live.length !== this.nodes.filter((n) => n.pid !== undefined).length) return false;
        // Every replica has synced with its master (only a synced replica can take over).
        for (const t of live.filter((x) => x.role === 'replica')) {
          if (!(await redisCli(t.port, ['info', 'replication'])).includes('master_link_status:up')) return false;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** The server holding `slot` as master. */
  async masterOfSlot(slot: number): Promise<RedisServer> {
    const topo = await this.topology();
    for (const t of topo) {
      if (t.role !== 'master' || t.failed) continue;
      for (const range of t.slots) {
        if (range.startsWith('[')) continue;
        const [a, b] = range.split('-').map(Number);
        if (slot >= a && slot <= (b ?? a)) return this.server(t.port);
      }
    }
    throw new Error(`no live master for slot ${slot}`);
  }

  /** Every running node reports cluster_state:ok (all slots served). */
  async #allLiveOk(): Promise<boolean> {
    for (const n of this.nodes) {
      if (n.pid === undefined) continue;
      if (!(await redisCli(n.port, ['cluster', 'info'])).includes('cluster_state:ok')) return false;
    }
    return true;
  }

  server(port: number): RedisServer {
    const s = this.nodes.find((n) => n.port === port);
    if (!s) throw new Error(`no node on port ${port}`);
    return s;
  }

  /** Waits until some replica has taken over every slot of a dead master. */
  async waitFailover(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'a replica promoted and cluster_state:ok',
      () => this.#allLiveOk(),
      timeoutMs,
    );
  }

  /** A node-redis client straight to one node (caller closes it). */
  async nodeClient(port: number) {
    const c = createClient({ url: `redis://127.0.0.1:${port}` });
    c.on('error', () => {});
    await c.connect();
    return c;
  }

  /** Runs `redis-cli -p port args...` and returns its output. */
  cli(port: number, args: string[]): Promise<string> {
    return redisCli(port, args);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
