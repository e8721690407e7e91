import type { ReadHandler } from './batch_handlers.js';
import { CircuitOpenError } from '../../errors.js';
import type { CircuitBreaker } from '../../resilience/circuit_breaker.js';
import { withDeadline } from './deadline.js';
import type { RedisBackend } from './redis_backend.js';

/**
 * Coalesces every `get` issued during one turn of the event loop into one MGET.
 *
 * Why `process.nextTick`: readers resumed by the previous batch's reply run as a cascade of
 * microtasks; a tick scheduled from inside that cascade runs only after it drains, so the next
 * batch collects all of them (64 concurrent readers → 64 keys per round trip, measured).
 *
 * Waiters live in parallel arrays, not per-request objects; each key's reply goes through its
 * handler inside the batch loop (see batch_handlers.ts). A batch larger than `maxBatch` is split
 * so one huge MGET never blocks Redis for long.
 */
export class GetBatcher {
  readonly #redis: RedisBackend;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #breaker: CircuitBreaker | null;
  #keys: string[] = [];
  #handlers: ReadHandler[] = [];
  #ctxs: unknown[] = [];
  #resolves: ((v: unknown) => void)[] = [];
  #rejects: ((e: unknown) => void)[] = [];
  #scheduled = false;
  /** Round trips issued (observability and tests). */
  roundTrips = 0;
  readonly #flush = (): void => this.#run();

  constructor(redis: RedisBackend, prefix: string, maxBatch: number, timeoutMs: number, breaker: CircuitBreaker | null = null) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#maxBatch = maxBatch;
    this.#timeoutMs = timeoutMs;
    this.#breaker = breaker;
  }

  /** `key` without the namespace prefix; the handler sees it the same way. */
  get(key: string, handler: ReadHandler, ctx: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#keys.push(key);
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
    const handlers = this.#handlers;
    const ctxs = this.#ctxs;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#keys = [];
    this.#handlers = [];
    this.#ctxs = [];
    this.#resolves = [];
    this.#rejects = [];
    const prefix = this.#prefix;
    for (let start = 0; start < keys.length; start += this.#maxBatch) {
      const end = Math.min(keys.length, start + this.#maxBatch);
      const full = new Array<string>(end - start);
      for (let i = start; i < end; i++) full[i - start] = prefix + keys[i];
      this.roundTrips++;
      const t0 = performance.now();
      // An open breaker answers the batch at once (every key a miss) instead of waiting on a
      // failing Redis; one outcome per round trip feeds it.
      const breaker = this.#breaker;
      const request =
        breaker === null || breaker.allow() ? withDeadline(this.#redis.mget(full), this.#timeoutMs, 'read') : Promise.reject(new CircuitOpenError('Circuit redis is open'));
      request.then(
        (values) => {
          breaker?.onSuccess();
          const ms = performance.now() - t0;
          for (let i = start; i < end; i++) {
            try {
              const v = values[i - start];
              resolves[i](v instanceof Error ? handlers[i].onError(v, keys[i], ctxs[i], ms) : handlers[i].onValue(v ?? null, keys[i], ctxs[i], ms));
            } catch (err) {
              rejects[i](err);
            }
          }
        },
        (err: unknown) => {
          if (breaker !== null && !(err instanceof CircuitOpenError)) breaker.onFailure();
          const ms = performance.now() - t0;
          for (let i = start; i < end; i++) {
            try {
              resolves[i](handlers[i].onError(err, keys[i], ctxs[i], ms));
            } catch (e) {
              rejects[i](e);
            }
          }
        },
      );
    }
  }
}
