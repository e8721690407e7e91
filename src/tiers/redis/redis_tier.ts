import { escapeGlob } from '../../util/glob.js';
import { RAW_READ, RAW_WRITE, type ReadHandler, type WriteHandler } from './batch_handlers.js';
import { withDeadline } from './deadline.js';
import { GetBatcher } from './get_batcher.js';
import type { RedisBackend } from './redis_backend.js';
import { SetBatcher } from './set_batcher.js';
import type { BreakerCore } from '../../resilience/breaker_core.js';

export interface RedisTierOptions {
  backend: RedisBackend;
  /** Namespace prefix in front of every key, e.g. `tiercache:v2:`. */
  prefix: string;
  commandTimeoutMs: number;
  maxBatch: number;
  /** Guards the batched reads and writes (not deletes, invalidations or pings, which must try). */
  breaker?: BreakerCore | null;
}

/**
 * L2: opaque envelopes in Redis under a namespace prefix, over any topology (redis_backend.ts).
 * Knows nothing of values, codecs or L1; every method either resolves or rejects with the
 * client's error (the tier stack decides whether an L2 failure degrades to a miss or reaches the
 * caller).
 */
export class RedisTier {
  readonly prefix: string;
  readonly backend: RedisBackend;
  readonly breaker: BreakerCore | null;
  readonly #gets: GetBatcher;
  readonly #sets: SetBatcher;
  readonly #timeoutMs: number;

  constructor(options: RedisTierOptions) {
    this.prefix = options.prefix;
    this.backend = options.backend;
    this.#timeoutMs = options.commandTimeoutMs;
    this.breaker = options.breaker ?? null;
    this.#gets = new GetBatcher(options.backend, options.prefix, options.maxBatch, options.commandTimeoutMs, this.breaker);
    this.#sets = new SetBatcher(options.backend, options.prefix, options.maxBatch, options.commandTimeoutMs, this.breaker);
  }

  get isReady(): boolean {
    return this.backend.isReady;
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

  /**
   * Deletes `key` (after `alsoFullKey`, a key of the same hash slot, given in full) in the write
   * queue: after every write of the key issued before it. Resolves to whether `key` existed (1/0).
   */
  remove(key: string, alsoFullKey: string | null): Promise<number> {
    return this.#sets.del(key, alsoFullKey, RAW_WRITE, undefined) as Promise<number>;
  }

  /** Resolves once every write and delete issued before this call has been answered or has failed. */
  writesSettled(): Promise<void> {
    return this.#sets.settled();
  }

  /** Deletes keys; resolves to how many existed. */
  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return withDeadline(
      this.backend.unlink(keys.map((k) => this.prefix + k)),
      this.#timeoutMs,
      'delete',
    );
  }

  /**
   * Deletes every key in the namespace that matches the Redis glob `pattern` (applied to the
   * un-prefixed key), on every master. SCAN, not KEYS: never blocks Redis on a large keyspace.
   * Each SCAN page is deleted as it arrives (cluster: in slot-grouped UNLINKs).
   */
  async deleteMatching(pattern: string, onPage?: (keys: string[]) => Promise<void>): Promise<number> {
    let deleted = 0;
    const match = escapeGlob(this.prefix) + pattern;
    const cut = this.prefix.length;
    await this.backend.scan(match, async (keys) => {
      deleted += await withDeadline(this.backend.unlink(keys), this.#timeoutMs, 'delete');
      if (onPage !== undefined) await onPage(keys.map((k) => k.slice(cut)));
    }, this.#timeoutMs);
    return deleted;
  }

  /** Deletes every key (full Redis keys, on every master) matching the glob `match` that `keep` accepts. */
  async deleteScanned(match: string, keep: (fullKey: string) => boolean): Promise<void> {
    await this.backend.scan(match, async (keys) => {
      const doomed = keys.filter(keep);
      if (doomed.length > 0) await withDeadline(this.backend.unlink(doomed), this.#timeoutMs, 'delete');
    }, this.#timeoutMs);
  }

  /** Un-prefixed keys matching `pattern`, page by page, without deleting (access-control dry runs). */
  async scanMatching(pattern: string, onPage: (keys: string[]) => Promise<void>): Promise<void> {
    const cut = this.prefix.length;
    await this.backend.scan(escapeGlob(this.prefix) + pattern, (keys) => onPage(keys.map((k) => k.slice(cut))), this.#timeoutMs);
  }

  /** Topology facts for the health check. */
  describe(): Promise<Record<string, unknown>> {
    return withDeadline(this.backend.describe(), this.#timeoutMs, 'describe');
  }

  /** Round-trip latency of a PING to every master, in ms. */
  ping(): Promise<number> {
    return withDeadline(this.backend.pingAll(), this.#timeoutMs, 'ping');
  }
}
