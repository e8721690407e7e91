import type { createClient } from 'redis';
import { withDeadline } from './deadline.js';
import { BINARY, type RedisBackend } from './redis_backend.js';

type Client = ReturnType<typeof createClient>;

/** One Redis server (or any endpoint that behaves as one) through a node-redis client. */
export class StandaloneBackend implements RedisBackend {
  readonly topology = 'standalone' as const;
  readonly client: Client;

  constructor(client: Client) {
    this.client = client;
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  mget(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 1) return this.client.sendCommand<Buffer | null>(['GET', keys[0]], BINARY).then((v) => [v]);
    return this.client.sendCommand<(Buffer | null)[]>(['MGET', ...keys], BINARY);
  }

  #lastPx = -1;
  #lastPxText = '';

  setPx(key: string, value: Buffer | string, px: number): Promise<unknown> {
    // A batch's writes usually share one TTL: format it once.
    if (px !== this.#lastPx) {
      this.#lastPx = px;
      this.#lastPxText = String(px);
    }
    return this.client.sendCommand(['SET', key, value, 'PX', this.#lastPxText]);
  }

  unlink(keys: readonly string[]): Promise<number> {
    return this.client.sendCommand<number>(['UNLINK', ...keys]);
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
    await this.client.sendCommand(['PING']);
    return performance.now() - t;
  }

  async describe(): Promise<Record<string, unknown>> {
    const info = await this.client.sendCommand<string>(['INFO', 'replication']);
    return { topology: this.topology, role: /role:(\w+)/.exec(String(info))?.[1] ?? 'unknown' };
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    const c = this.client;
    if (c.isReady) await c.close().catch(() => c.destroy());
    else if (c.isOpen) c.destroy();
  }
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
