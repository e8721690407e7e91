import { withDeadline } from './deadline.js';
import type { BinaryRedis } from './redis_connection.js';

/**
 * Sets `KEYS[i]` to `ARGV[i+1]` with one shared PX (`ARGV[1]`). One script call replaces a batch
 * of SETs: Redis parses one command instead of N, and the client resolves one reply instead of N
 * (~1.25x the sets/s of pipelined `SET … PX` at concurrency 64; docs/benchmarks.md). It is not
 * atomic on a Redis Cluster unless all keys share a slot: the cluster work groups batches by slot.
 */
const SET_MANY_PX = `local px = ARGV[1]
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', px) end
return #KEYS`;

/**
 * Coalesces every `set` issued during one event-loop turn (see GetBatcher for why nextTick) into
 * one script call per distinct TTL. A lone set stays a plain `SET … PX`.
 */
export class SetBatcher {
  readonly #redis: BinaryRedis;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  #sha: string | undefined;
  #keys: string[] = [];
  #values: Buffer[] = [];
  #pxs: number[] = [];
  #resolves: (() => void)[] = [];
  #rejects: ((e: unknown) => void)[] = [];
  #scheduled = false;
  roundTrips = 0;
  readonly #flush = (): void => this.#run();

  constructor(redis: BinaryRedis, maxBatch: number, timeoutMs: number) {
    this.#redis = redis;
    this.#maxBatch = maxBatch;
    this.#timeoutMs = timeoutMs;
  }

  set(fullKey: string, value: Buffer, px: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#keys.push(fullKey);
      this.#values.push(value);
      this.#pxs.push(px);
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
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#keys = [];
    this.#values = [];
    this.#pxs = [];
    this.#resolves = [];
    this.#rejects = [];
    // Group by TTL; in the common case every set shares the default TTL and this is one group.
    const groups = new Map<number, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const g = groups.get(pxs[i]);
      if (g === undefined) groups.set(pxs[i], [i]);
      else g.push(i);
    }
    for (const [px, idx] of groups) {
      for (let s = 0; s < idx.length; s += this.#maxBatch) {
        const part = idx.slice(s, s + this.#maxBatch);
        this.roundTrips++;
        const done = (): void => {
          for (const i of part) resolves[i]();
        };
        const fail = (err: unknown): void => {
          for (const i of part) rejects[i](err);
        };
        if (part.length === 1) {
          const i = part[0];
          withDeadline(this.#redis.set(keys[i], values[i], { expiration: { type: 'PX', value: px } }), this.#timeoutMs, 'write').then(done, fail);
        } else {
          const request = this.#setMany(
            part.map((i) => keys[i]),
            [String(px), ...part.map((i) => values[i])],
          );
          withDeadline(request, this.#timeoutMs, 'write').then(done, fail);
        }
      }
    }
  }

  async #setMany(keys: string[], args: (string | Buffer)[]): Promise<void> {
    if (this.#sha === undefined) this.#sha = await this.#redis.scriptLoad(SET_MANY_PX);
    try {
      await this.#redis.evalSha(this.#sha, { keys, arguments: args });
    } catch (err) {
      // The server lost its script cache (restart, SCRIPT FLUSH, failover): send the body once.
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        await this.#redis.eval(SET_MANY_PX, { keys, arguments: args });
        this.#sha = undefined;
      } else throw err;
    }
  }
}
