import { redisCli, waitFor } from './redis_cli.js';
import { freePort, RedisServer } from '../../src/embedded/redis_server.js';

/**
 * A Sentinel-managed Redis on loopback: one master, `replicas` replicas and `sentinels`
 * sentinels (quorum 2) watching it under `masterName`, with a short down-after so a killed master
 * fails over in a few seconds.
 */
export class RedisSentinelHarness {
  readonly masterName: string;
  readonly data: RedisServer[];
  readonly sentinels: RedisServer[];

  private constructor(masterName: string, data: RedisServer[], sentinels: RedisServer[]) {
    this.masterName = masterName;
    this.data = data;
    this.sentinels = sentinels;
  }

  static async start(options: { replicas?: number; sentinels?: number; downAfterMs?: number; masterName?: string } = {}): Promise<RedisSentinelHarness> {
    const masterName = options.masterName ?? 'tiercache-master';
    const downAfter = options.downAfterMs ?? 1000;
    const sync = ['--repl-diskless-sync-delay', '0'];
    const master = await RedisServer.start({ args: sync });
    const replicas = await Promise.all(
      Array.from({ length: options.replicas ?? 1 }, () => RedisServer.start({ args: [...sync, '--replicaof', '127.0.0.1', String(master.port)] })),
    );
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < (options.sentinels ?? 3); i++) {
      const port = await freePort();
      sentinels.push(
        await RedisServer.start({
          port,
          args: ['--sentinel'],
          configText: [
            `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
            `sentinel down-after-milliseconds ${masterName} ${downAfter}`,
            `sentinel failover-timeout ${masterName} 10000`,
            `sentinel parallel-syncs ${masterName} 1`,
            '',
          ].join('\n'),
        }),
      );
    }
    const harness = new RedisSentinelHarness(masterName, [master, ...replicas], sentinels);
    try {
      await harness.waitReady();
    } catch (err) {
      await harness.stop();
      throw err;
    }
    return harness;
  }

  get sentinelNodes(): { host: string; port: number }[] {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** The master's port as the first live sentinel reports it. */
  async masterPort(): Promise<number> {
    for (const s of this.sentinels) {
      if (s.pid === undefined) continue;
      try {
        const out = await redisCli(s.port, ['sentinel', 'get-master-addr-by-name', this.masterName]);
        return Number(out.trim().split('\n')[1]);
      } catch {
        // next sentinel
      }
    }
    throw new Error('no sentinel answered');
  }

  async master(): Promise<RedisServer> {
    const port = await this.masterPort();
    const s = this.data.find((d) => d.port === port);
    if (!s) throw new Error(`master on unknown port ${port}`);
    return s;
  }

  /** Waits until every sentinel knows the replicas and the other sentinels. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'sentinels to discover replicas and each other',
      async () => {
        for (const s of this.sentinels) {
          const replicas = await redisCli(s.port, ['sentinel', 'replicas', this.masterName]);
          const others = await redisCli(s.port, ['sentinel', 'sentinels', this.masterName]);
          const nReplicas = (replicas.match(/^flags$/gm) ?? []).length;
          const nOthers = (others.match(/^flags$/gm) ?? []).length;
          if (nReplicas < this.data.length - 1 || nOthers < this.sentinels.length - 1) return false;
        }
        for (const r of this.data.slice(1)) {
          if (!(await redisCli(r.port, ['info', 'replication'])).includes('master_link_status:up')) return false;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** Waits until the sentinels name a master other than `oldPort` and it accepts writes. */
  async waitFailover(oldPort: number, timeoutMs = 30_000): Promise<number> {
    let port = oldPort;
    await waitFor(
      'a new master',
      async () => {
        port = await this.masterPort();
        if (port === oldPort) return false;
        const role = await redisCli(port, ['role']);
        return role.startsWith('master');
      },
      timeoutMs,
    );
    return port;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.data].map((n) => n.stop()));
  }
}
