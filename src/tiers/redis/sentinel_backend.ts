import type { createSentinel } from '@redis/client';
import { BINARY, type RedisBackend } from './redis_backend.js';
import { scanNode } from './standalone_backend.js';

type Sentinel = ReturnType<typeof createSentinel>;

/**
 * A Sentinel-managed master through node-redis's sentinel client, which asks the sentinels for
 * the master, follows failovers, and sends every command (replicaPoolSize 0) to the master.
 */
export class SentinelBackend implements RedisBackend {
  readonly topology = 'sentinel' as const;
  /** Two read batches in flight, out of phase, pipelined on the master connection (get_batcher.ts). */
  readonly readLanes = 2;
  readonly sentinel: Sentinel;

  constructor(sentinel: Sentinel) {
    this.sentinel = sentinel;
  }

  get isReady(): boolean {
    return this.sentinel.isReady;
  }

  mget(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 1) return this.sentinel.sendCommand<Buffer | null>(false, ['GET', keys[0]], BINARY).then((v) => [v]);
    return this.sentinel.sendCommand<(Buffer | null)[]>(false, ['MGET', ...keys], BINARY);
  }

  setPx(key: string, value: Buffer | string, px: number): Promise<unknown> {
    return this.sentinel.sendCommand(false, ['SET', key, value, 'PX', String(px)]);
  }

  unlink(keys: readonly string[]): Promise<number> {
    return this.sentinel.sendCommand<number>(false, ['UNLINK', ...keys]);
  }

  async scan(match: string, onKeys: (keys: string[]) => Promise<void>, timeoutMs: number): Promise<void> {
    // SCAN's cursor is tied to one server; a failover mid-scan makes the cursor meaningless, so
    // the scan starts over (onKeys is idempotent: UNLINK of a gone key is a no-op).
    for (let attempt = 0; ; attempt++) {
      const master = this.#masterAddress();
      try {
        await scanNode({ sendCommand: <T>(args: string[]) => this.sentinel.sendCommand<T>(false, args) }, match, onKeys, timeoutMs);
        if (this.#masterAddress() === master) return;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
  }

  #masterAddress(): string | null {
    const m = this.sentinel.getMasterNode();
    return m === undefined ? null : `${m.host}:${m.port}`;
  }

  send(_firstKey: string, args: readonly (string | Buffer)[], binary = false): Promise<unknown> {
    return this.sentinel.sendCommand(false, [...args], binary ? BINARY : undefined);
  }

  eval(script: string, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    return this.sentinel.sendCommand(false, ['EVAL', script, String(keys.length), ...keys, ...args], BINARY);
  }

  async pingAll(): Promise<number> {
    const t = performance.now();
    await this.sentinel.sendCommand(false, ['PING']);
    return performance.now() - t;
  }

  async describe(): Promise<Record<string, unknown>> {
    const info = String(await this.sentinel.sendCommand(false, ['INFO', 'replication']));
    return {
      topology: this.topology,
      master: this.#masterAddress(),
      connectedReplicas: Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0),
    };
  }

  async connect(): Promise<void> {
    await this.sentinel.connect();
  }

  async close(): Promise<void> {
    await this.sentinel.close().catch(() => this.sentinel.destroy());
  }
}
