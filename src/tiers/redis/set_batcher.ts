import type { WriteHandler } from './batch_handlers.js';
import { TierUnavailableError } from '../../errors.js';
import type { BinaryRedis } from './redis_connection.js';

/**
 * Coalesces every `set` issued during one event-loop turn (see GetBatcher for why nextTick) and
 * sends them as pipelined `SET key value PX ttl` commands, which node-redis writes in one syscall.
 *
 * Measured alternatives (docs/decisions.md): one Lua script setting N keys was the slowest
 * (Redis pays a `redis.call` per key: ~0.6x of plain pipelined SETs), MULTI pipelines and
 * MSET + PEXPIRE gained nothing worth a non-atomic TTL. The batcher's gain is on the client: one
 * deadline timer and one handler loop per batch instead of per key.
 */
export class SetBatcher {
  readonly #redis: BinaryRedis;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  #keys: string[] = [];
  #values: (Buffer | string)[] = [];
  #pxs: number[] = [];
  #handlers: WriteHandler[] = [];
  #ctxs: unknown[] = [];
  #resolves: ((v: unknown) => void)[] = [];
  #rejects: ((e: unknown) => void)[] = [];
  #scheduled = false;
  roundTrips = 0;
  readonly #flush = (): void => this.#run();

  constructor(redis: BinaryRedis, prefix: string, maxBatch: number, timeoutMs: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#maxBatch = maxBatch;
    this.#timeoutMs = timeoutMs;
  }

  set(key: string, value: Buffer | string, px: number, handler: WriteHandler, ctx: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#keys.push(key);
      this.#values.push(value);
      this.#pxs.push(px);
      this.#handlers.push(handler);
      this.#ctxs.push(ctx);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
      if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(this.#flush);
      }
    });
  }

  #run(): void {
    this.#scheduled = false;
    const keys = this.#keys;
    const values = this.#values;
    const pxs = this.#pxs;
    const handlers = this.#handlers;
    const ctxs = this.#ctxs;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#keys = [];
    this.#values = [];
    this.#pxs = [];
    this.#handlers = [];
    this.#ctxs = [];
    this.#resolves = [];
    this.#rejects = [];
    const prefix = this.#prefix;
    const timeoutMs = this.#timeoutMs;
    for (let start = 0; start < keys.length; start += this.#maxBatch) {
      const end = Math.min(keys.length, start + this.#maxBatch);
      this.roundTrips++;
      const t0 = performance.now();
      // Each caller is settled by its own reply, as soon as it arrives (continuations overlap with
      // the parsing of later replies, as with plain pipelined commands); one timer per batch
      // settles whatever has not answered by the deadline.
      const settled = new Uint8Array(end - start);
      let pending = end - start;
      const settle = (i: number, err: unknown): void => {
        if (settled[i - start] === 1) return;
        settled[i - start] = 1;
        if (--pending === 0) clearTimeout(timer);
        const ms = performance.now() - t0;
        try {
          resolves[i](err === undefined ? handlers[i].onDone(keys[i], ctxs[i], ms) : handlers[i].onError(err, keys[i], ctxs[i], ms));
        } catch (e) {
          rejects[i](e);
        }
      };
      const timer = setTimeout(() => {
        const err = new TierUnavailableError('l2', `Redis write timed out after ${timeoutMs} ms`);
        for (let i = start; i < end; i++) settle(i, err);
      }, timeoutMs);
      for (let i = start; i < end; i++) {
        this.#redis.sendCommand(['SET', prefix + keys[i], values[i], 'PX', String(pxs[i])]).then(
          () => settle(i, undefined),
          (e: unknown) => settle(i, e),
        );
      }
    }
  }
}
