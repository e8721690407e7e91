import { escapeGlob } from '../../util/glob.js';
import { RAW_READ, type ReadHandler, type WriteHandler } from './batch_handlers.js';
import { withDeadline } from './deadline.js';
import { GetBatcher } from './get_batcher.js';
import { binaryView, type BinaryRedis, type RedisClient } from './redis_connection.js';
import { SetBatcher } from './set_batcher.js';

export interface RedisTierOptions {
  client: RedisClient;
  /** Namespace prefix in front of every key, e.g. `tiercache:v2:`. */
  prefix: string;
  commandTimeoutMs: number;
  maxBatch: number;
}

/**
 * L2: opaque envelopes in Redis under a namespace prefix. Knows nothing of values, codecs or L1;
 * every method either resolves or rejects with the client's error (the tier stack decides whether
 * an L2 failure degrades to a miss or reaches the caller).
 */
export class RedisTier {
  readonly prefix: string;
  readonly client: RedisClient;
  readonly #redis: BinaryRedis;
  readonly #gets: GetBatcher;
  readonly #sets: SetBatcher;
  readonly #timeoutMs: number;

  constructor(options: RedisTierOptions) {
    this.prefix = options.prefix;
    this.client = options.client;
    this.#redis = binaryView(options.client);
    this.#timeoutMs = options.commandTimeoutMs;
    this.#gets = new GetBatcher(this.#redis, options.prefix, options.maxBatch, options.commandTimeoutMs);
    this.#sets = new SetBatcher(this.#redis, options.prefix, options.maxBatch, options.commandTimeoutMs);
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  /** Round trips issued by the batchers so far (reads, writes). */
  get roundTrips(): { reads: number; writes: number } {
    return { reads: this.#gets.roundTrips, writes: this.#sets.roundTrips };
  }

  /** Raw bytes of `key` (batched with other reads of this tick); rejects on a Redis failure. */
  get(key: string): Promise<Buffer | null> {
    return this.#gets.get(key, RAW_READ, undefined) as Promise<Buffer | null>;
  }

  /** Batched read whose outcome goes through `handler` (see batch_handlers.ts). */
  read(key: string, handler: ReadHandler, ctx: unknown): Promise<unknown> {
    return this.#gets.get(key, handler, ctx);
  }

  /** Batched `SET key envelope PX ttl` whose outcome goes through `handler`. */
  write(key: string, envelope: Buffer | string, ttlMs: number, handler: WriteHandler, ctx: unknown): Promise<unknown> {
    return this.#sets.set(key, envelope, Math.max(1, Math.ceil(ttlMs)), handler, ctx);
  }

  /** Deletes keys; resolves to how many existed. */
  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return withDeadline(this.#redis.unlink(keys.map((k) => this.prefix + k)), this.#timeoutMs, 'delete');
  }

  /**
   * Deletes every key in the namespace that matches the Redis glob `pattern` (applied to the
   * un-prefixed key). SCAN, not KEYS: never blocks Redis on a large keyspace.
   */
  async deleteMatching(pattern: string): Promise<number> {
    let deleted = 0;
    const match = escapeGlob(this.prefix) + pattern;
    // The string-typed client: under the Buffer type mapping SCAN's cursor comes back as a Buffer
    // and node-redis's iterator never sees '0', so it would loop forever.
    let cursor = '0';
    do {
      const reply = await withDeadline(this.client.scan(cursor, { MATCH: match, COUNT: 1000 }), this.#timeoutMs, 'scan');
      cursor = reply.cursor;
      if (reply.keys.length > 0) deleted += await withDeadline(this.client.unlink(reply.keys), this.#timeoutMs, 'delete');
    } while (cursor !== '0');
    return deleted;
  }

  /** Round-trip latency of a PING in ms. */
  async ping(): Promise<number> {
    const t = performance.now();
    await withDeadline(this.#redis.ping(), this.#timeoutMs, 'ping');
    return performance.now() - t;
  }
}
