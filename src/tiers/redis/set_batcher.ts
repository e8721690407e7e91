import type { WriteHandler } from './batch_handlers.js';
import { CircuitOpenError, TierUnavailableError } from '../../errors.js';
import type { BreakerCore } from '../../resilience/breaker_core.js';
import { isDeadline, withDeadline } from './deadline.js';
import { laneChunks } from './lane_chunks.js';
import type { RedisBackend } from './redis_backend.js';

/** Smallest half worth its own round trip when a batch is split to keep two in flight. */
const MIN_SPLIT = 8;

/** The `px` of a queued delete (a write's px is at least 1); its `value` is the second key to remove, or ''. */
const DELETE = 0;

/**
 * Coalesces every `set` issued during one event-loop turn (see GetBatcher for why nextTick), splits
 * the batch by the backend's write lanes, and sends each lane's share as one round trip: one
 * `setMany` call where the backend offers it (a script: one command for the client instead of one
 * per key), else pipelined `SET key value PX ttl` commands, which node-redis writes in one syscall.
 * One deadline timer and one handler loop per round trip, not per key.
 *
 * Two round trips in flight: when nothing is in flight, a one-lane batch goes half now and half one
 * loop turn later, so the writers split into two groups whose round trips alternate and Redis runs
 * one while this process settles the other (docs/decisions.md: 0.8x → 1.2-1.4x raw node-redis with
 * L1 and coherence on). Batches flushed while a half is held queue behind it: writes to one key
 * reach Redis in issue order.
 *
 * Deletes of single keys join the same queue (`del`), so a delete is never overtaken by a write of
 * the key issued before it (a `set` not awaited, then `delete`: the delete used to go out at once
 * and the set after it). Deletes are not refused by an open breaker: an invalidation must try.
 *
 * Measured alternatives are in docs/decisions.md (MULTI pipelines, MSET + PEXPIRE, and when the
 * script pays and when it does not).
 */
export class SetBatcher {
  readonly #redis: RedisBackend;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #breaker: BreakerCore | null;
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
  /** Round trips sent and not yet settled. */
  #inFlight = 0;
  /** Round trips sent and not yet settled (for `settled()`). */
  readonly #requests = new Set<Promise<unknown>>();
  /** Sends deferred to the next loop turn, in issue order; null when none is waiting. */
  #held: (() => void)[] | null = null;
  readonly #sendHeld = (): void => {
    const held = this.#held as (() => void)[];
    this.#held = null;
    for (const f of held) f();
  };

  constructor(redis: RedisBackend, prefix: string, maxBatch: number, timeoutMs: number, breaker: BreakerCore | null = null) {
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

  /**
   * `UNLINK alsoFullKey` then `UNLINK key` (same connection, so in order) after every queued
   * write; the handler's `onDone` gets UNLINK's count for `key`.
   */
  del(key: string, alsoFullKey: string | null, handler: WriteHandler, ctx: unknown): Promise<unknown> {
    return this.set(key, alsoFullKey ?? '', DELETE, handler, ctx);
  }

  /** Resolves once every write and delete issued before the call has been answered or has failed. */
  async settled(): Promise<void> {
    // The flush of what was queued before this call runs on an earlier nextTick; a half it held
    // back goes out on an earlier setImmediate. After both, every earlier write is in #requests.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#requests.size > 0) await Promise.allSettled([...this.#requests]);
  }

  #track(request: Promise<unknown>): Promise<unknown> {
    this.#inFlight++;
    this.#requests.add(request);
    const done = (): void => {
      this.#inFlight--;
      this.#requests.delete(request);
    };
    request.then(done, done);
    return request;
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
    const full = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) full[i] = prefix + keys[i];
    const setMany = this.#redis.setMany;
    const send = (chunk: number[], lane: number): void => {
      this.roundTrips++;
      if (setMany !== undefined && chunk.length > 1 && !hasDelete(chunk, pxs)) this.#sendMany(setMany, chunk, lane, full, values, pxs, settle);
      else this.#sendPipelined(chunk, lane, full, values, pxs, settle);
    };
    const chunks = laneChunks(this.#redis, full, this.#maxBatch);
    if (this.#held !== null) {
      // A half batch is waiting for the next loop turn: what came after it goes after it.
      for (const c of chunks) this.#held.push(() => send(c.items, c.lane));
      return;
    }
    if (chunks.length === 1 && this.#inFlight === 0 && keys.length >= 2 * MIN_SPLIT) {
      // Nothing in flight and one lane: half now, half one loop turn later, so the writers form
      // two groups whose round trips alternate (Redis runs one while we settle the other),
      // instead of the two sides taking turns. Later batches keep the phase by themselves.
      const { items, lane } = chunks[0];
      const half = items.length >> 1;
      send(items.slice(0, half), lane);
      const rest = items.slice(half);
      this.#held = [() => send(rest, lane)];
      setImmediate(this.#sendHeld);
      return;
    }
    for (const c of chunks) send(c.items, c.lane);

    function settle(i: number, err: unknown, ms: number, reply?: unknown): void {
      try {
        resolves[i](err === undefined ? handlers[i].onDone(keys[i], ctxs[i], ms, reply) : handlers[i].onError(err, keys[i], ctxs[i], ms));
      } catch (e) {
        rejects[i](e);
      }
    }
  }

  /** One script call for the chunk: every key shares its outcome. */
  #sendMany(
    setMany: NonNullable<RedisBackend['setMany']>,
    chunk: number[],
    lane: number,
    full: string[],
    values: (Buffer | string)[],
    pxs: number[],
    settle: (i: number, err: unknown, ms: number) => void,
  ): void {
    const t0 = performance.now();
    const breaker = this.#breaker;
    const startedAt = breaker?.now() ?? 0;
    let request: Promise<unknown>;
    if (breaker === null || breaker.allow()) {
      const ks = new Array<string>(chunk.length);
      const vs = new Array<Buffer | string>(chunk.length);
      const ps = new Array<number>(chunk.length);
      for (let j = 0; j < chunk.length; j++) {
        const i = chunk[j];
        ks[j] = full[i];
        vs[j] = values[i];
        ps[j] = pxs[i];
      }
      request = this.#track(withDeadline(setMany.call(this.#redis, ks, vs, ps, lane), this.#timeoutMs, 'write'));
    } else request = Promise.reject(new CircuitOpenError('Circuit redis is open'));
    request.then(
      () => {
        breaker?.onSuccess();
        const ms = performance.now() - t0;
        for (const i of chunk) settle(i, undefined, ms);
      },
      (err: unknown) => {
        if (breaker !== null && !(err instanceof CircuitOpenError)) {
          if (isDeadline(err)) breaker.onTimeout(startedAt);
          else breaker.onFailure();
        }
        const ms = performance.now() - t0;
        for (const i of chunk) settle(i, err, ms);
      },
    );
  }

  /** One `SET … PX` per key, pipelined; each key gets its own outcome. */
  #sendPipelined(
    chunk: number[],
    lane: number,
    full: string[],
    values: (Buffer | string)[],
    pxs: number[],
    settle: (i: number, err: unknown, ms: number, reply?: unknown) => void,
  ): void {
    const t0 = performance.now();
    const replies = new Array<Promise<unknown>>(chunk.length);
    const breaker = this.#breaker;
    const startedAt = breaker?.now() ?? 0;
    const allowed = breaker === null || breaker.allow();
    const redis = this.#redis;
    for (let j = 0; j < chunk.length; j++) {
      const i = chunk[j];
      if (pxs[i] === DELETE) {
        // The second key (the stampede lock) first: a locked load's write-and-release running
        // between the two would otherwise find its lock and store its value after the delete.
        const also = values[i] as string;
        if (also !== '') redis.unlink([also], lane).catch(() => undefined);
        replies[j] = redis.unlink([full[i]], lane);
      } else replies[j] = allowed ? redis.setPx(full[i], values[i], pxs[i], lane) : Promise.reject(new CircuitOpenError('Circuit redis is open'));
    }
    (this.#track(withDeadline(Promise.all(replies), this.#timeoutMs, 'write')) as Promise<unknown[]>).then(
      (answers) => {
        breaker?.onSuccess();
        const ms = performance.now() - t0;
        for (let j = 0; j < chunk.length; j++) settle(chunk[j], undefined, ms, answers[j]);
      },
      (batchErr: unknown) => {
        // Feed the breaker one outcome: a failure only when no key got through (in a cluster,
        // one dead master fails some keys of a batch while the others are written).
        if (breaker !== null && allowed) {
          if (isDeadline(batchErr)) breaker.onTimeout(startedAt); // replies may never come
          else if (batchErr instanceof TierUnavailableError) breaker.onFailure();
          else void Promise.allSettled(replies).then((r) => (r.some((x) => x.status === 'fulfilled') ? breaker.onSuccess() : breaker.onFailure()));
        }
        // Some SET failed or the batch timed out: give each key its own outcome where it has
        // one, the batch's error where it has none yet.
        const ms = performance.now() - t0;
        for (let j = 0; j < chunk.length; j++) {
          const i = chunk[j];
          let outcome: unknown = batchErr;
          let known = false;
          let answer: unknown;
          replies[j].then(
            (a) => {
              outcome = undefined;
              answer = a;
              known = true;
            },
            (e: unknown) => {
              outcome = e;
              known = true;
            },
          );
          queueMicrotask(() => settle(i, known ? outcome : batchErr, ms, answer));
        }
      },
    );
  }
}

function hasDelete(chunk: number[], pxs: number[]): boolean {
  for (const i of chunk) if (pxs[i] === DELETE) return true;
  return false;
}
