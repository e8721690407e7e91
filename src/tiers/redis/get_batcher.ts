import { withDeadline } from './deadline.js';
import type { BinaryRedis } from './redis_connection.js';

/**
 * Coalesces every `get` issued during one turn of the event loop into one MGET.
 *
 * Why `process.nextTick`: readers resumed by the previous batch's reply run as a cascade of
 * microtasks; a tick scheduled from inside that cascade runs only after it drains, so the next
 * batch collects all of them. 64 concurrent readers then cost one round trip instead of 64
 * (MGET of 64 keys moves ~2x the keys/s of 64 pipelined GETs on the same client; docs/benchmarks.md).
 *
 * Waiters live in parallel arrays, not per-request objects. A batch larger than `maxBatch` is
 * split so one huge MGET never blocks Redis for long.
 */
export class GetBatcher {
  readonly #redis: BinaryRedis;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  #keys: string[] = [];
  #resolves: ((v: Buffer | null) => void)[] = [];
  #rejects: ((e: unknown) => void)[] = [];
  #scheduled = false;
  /** Round trips issued (observability and tests). */
  roundTrips = 0;
  readonly #flush = (): void => this.#run();

  constructor(redis: BinaryRedis, maxBatch: number, timeoutMs: number) {
    this.#redis = redis;
    this.#maxBatch = maxBatch;
    this.#timeoutMs = timeoutMs;
  }

  get(fullKey: string): Promise<Buffer | null> {
    return new Promise<Buffer | null>((resolve, reject) => {
      this.#keys.push(fullKey);
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
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#keys = [];
    this.#resolves = [];
    this.#rejects = [];
    for (let start = 0; start < keys.length; start += this.#maxBatch) {
      const end = Math.min(keys.length, start + this.#maxBatch);
      this.roundTrips++;
      const request =
        end - start === 1
          ? this.#redis.get(keys[start]).then((v) => [v])
          : this.#redis.mGet(start === 0 && end === keys.length ? keys : keys.slice(start, end));
      withDeadline(request, this.#timeoutMs, 'read').then(
        (values) => {
          for (let i = start; i < end; i++) resolves[i]((values[i - start] as Buffer | null) ?? null);
        },
        (err: unknown) => {
          for (let i = start; i < end; i++) rejects[i](err);
        },
      );
    }
  }
}
