import type { ReadHandler } from './batch_handlers.js';
import { CircuitOpenError } from '../../errors.js';
import type { BreakerCore } from '../../resilience/breaker_core.js';
import { isDeadline, withDeadline } from './deadline.js';
import type { RedisBackend } from './redis_backend.js';

/** Smallest half worth its own round trip when splitting a batch across idle read slots. */
const MIN_SPLIT = 8;

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
 *
 * Two round trips in flight, out of phase (`readLanes`, 2 on every backend: slots pipelined on one
 * connection, or on one connection each with lanes): when every slot is idle, half the batch goes
 * now and half one event-loop turn later; after that each batch takes the idlest slot. The readers
 * then form two groups whose round trips alternate, so Redis answers one group while this process
 * handles the other's replies, instead of the two taking turns (docs/decisions.md: 1.60-1.91x raw
 * node-redis GETs against 1.28-1.50x with one batch at a time). Splitting a batch at the same
 * moment does not do this (measured slower than one MGET): both halves come back together.
 */
export class GetBatcher {
  readonly #redis: RedisBackend;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #breaker: BreakerCore | null;
  #keys: string[] = [];
  #handlers: ReadHandler[] = [];
  #ctxs: unknown[] = [];
  #resolves: ((v: unknown) => void)[] = [];
  #rejects: ((e: unknown) => void)[] = [];
  #scheduled = false;
  /** Round trips in flight per read slot (RedisBackend.readLanes). */
  readonly #inFlight: number[];
  /** Round trips issued (observability and tests). */
  roundTrips = 0;
  readonly #flush = (): void => this.#run();

  constructor(redis: RedisBackend, prefix: string, maxBatch: number, timeoutMs: number, breaker: BreakerCore | null = null) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#maxBatch = maxBatch;
    this.#timeoutMs = timeoutMs;
    this.#breaker = breaker;
    this.#inFlight = new Array<number>(redis.readLanes ?? 1).fill(0);
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
    const n = keys.length;
    const lanes = this.#inFlight.length;
    if (lanes === 1) {
      this.#send(keys, handlers, ctxs, resolves, rejects, 0, n, 0);
      return;
    }
    // On the idlest slot; and when every slot is idle and the batch is big, half now and half one
    // event-loop turn later on another slot. The offset is what lets Redis serve one half while
    // this process handles the other's replies (see the class comment).
    let lane = 0;
    for (let l = 1; l < lanes; l++) if (this.#inFlight[l] < this.#inFlight[lane]) lane = l;
    if (this.#inFlight[lane] === 0 && n >= 2 * MIN_SPLIT) {
      let other = -1;
      for (let l = 0; l < lanes; l++) if (l !== lane && this.#inFlight[l] === 0) other = l;
      if (other >= 0) {
        const half = n >> 1;
        this.#send(keys, handlers, ctxs, resolves, rejects, 0, half, lane);
        this.#inFlight[other]++; // reserved, so the next flush does not take it meanwhile
        setImmediate(() => {
          this.#inFlight[other]--;
          this.#send(keys, handlers, ctxs, resolves, rejects, half, n, other);
        });
        return;
      }
    }
    this.#send(keys, handlers, ctxs, resolves, rejects, 0, n, lane);
  }

  #send(
    keys: string[],
    handlers: ReadHandler[],
    ctxs: unknown[],
    resolves: ((v: unknown) => void)[],
    rejects: ((e: unknown) => void)[],
    from: number,
    to: number,
    lane: number,
  ): void {
    const prefix = this.#prefix;
    for (let start = from; start < to; start += this.#maxBatch) {
      const end = Math.min(to, start + this.#maxBatch);
      const full = new Array<string>(end - start);
      for (let i = start; i < end; i++) full[i - start] = prefix + keys[i];
      this.roundTrips++;
      const t0 = performance.now();
      // An open breaker answers the batch at once (every key a miss) instead of waiting on a
      // failing Redis; one outcome per round trip feeds it.
      const breaker = this.#breaker;
      const inFlight = this.#inFlight;
      const startedAt = breaker?.now() ?? 0;
      let request: Promise<(Buffer | null | Error)[]>;
      if (breaker === null || breaker.allow()) {
        inFlight[lane]++;
        request = withDeadline(this.#redis.mget(full, lane), this.#timeoutMs, 'read');
        request.then(
          () => inFlight[lane]--,
          () => inFlight[lane]--,
        );
      } else request = Promise.reject(new CircuitOpenError('Circuit redis is open'));
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
          if (breaker !== null && !(err instanceof CircuitOpenError)) {
            if (isDeadline(err)) breaker.onTimeout(startedAt);
            else breaker.onFailure();
          }
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
