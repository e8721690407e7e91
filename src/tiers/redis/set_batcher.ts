import type { WriteHandler } from './batch_handlers.js';
import { CircuitOpenError, TierUnavailableError } from '../../errors.js';
import type { CircuitBreaker } from '../../resilience/circuit_breaker.js';
import { withDeadline } from './deadline.js';
import type { RedisBackend } from './redis_backend.js';

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
  readonly #redis: RedisBackend;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #breaker: CircuitBreaker | null;
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

  constructor(redis: RedisBackend, prefix: string, maxBatch: number, timeoutMs: number, breaker: CircuitBreaker | null = null) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#maxBatch = maxBatch;
    this.#timeoutMs = timeoutMs;
    this.#breaker = breaker;
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
    for (let start = 0; start < keys.length; start += this.#maxBatch) {
      const end = Math.min(keys.length, start + this.#maxBatch);
      this.roundTrips++;
      const t0 = performance.now();
      const replies = new Array<Promise<unknown>>(end - start);
      const breaker = this.#breaker;
      const allowed = breaker === null || breaker.allow();
      for (let i = start; i < end; i++) {
        replies[i - start] = allowed ? this.#redis.setPx(prefix + keys[i], values[i], pxs[i]) : Promise.reject(new CircuitOpenError('Circuit redis is open'));
      }
      const settle = (i: number, err: unknown, ms: number): void => {
        try {
          resolves[i](err === undefined ? handlers[i].onDone(keys[i], ctxs[i], ms) : handlers[i].onError(err, keys[i], ctxs[i], ms));
        } catch (e) {
          rejects[i](e);
        }
      };
      withDeadline(Promise.all(replies), this.#timeoutMs, 'write').then(
        () => {
          breaker?.onSuccess();
          const ms = performance.now() - t0;
          for (let i = start; i < end; i++) settle(i, undefined, ms);
        },
        (batchErr: unknown) => {
          // Feed the breaker one outcome: a failure only when no key got through (in a cluster,
          // one dead master fails some keys of a batch while the others are written).
          if (breaker !== null && allowed) {
            if (batchErr instanceof TierUnavailableError) breaker.onFailure(); // the deadline: replies may never come
            else void Promise.allSettled(replies).then((r) => (r.some((x) => x.status === 'fulfilled') ? breaker.onSuccess() : breaker.onFailure()));
          }
          // Some SET failed or the batch timed out: give each key its own outcome where it has
          // one, the batch's error where it has none yet.
          const ms = performance.now() - t0;
          for (let i = start; i < end; i++) {
            let outcome: unknown = batchErr;
            let known = false;
            replies[i - start].then(
              () => {
                outcome = undefined;
                known = true;
              },
              (e: unknown) => {
                outcome = e;
                known = true;
              },
            );
            queueMicrotask(() => settle(i, known ? outcome : batchErr, ms));
          }
        },
      );
    }
  }
}
