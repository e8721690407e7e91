import type { WriteHandler } from './batch_handlers.js';
import { withDeadline } from './deadline.js';
import type { BinaryRedis } from './redis_connection.js';

/**
 * Sets `KEYS[i]` to `ARGV[i+1]` with one shared PX (`ARGV[1]`). One script call replaces a batch
 * of SETs: Redis parses one command instead of N and the client resolves one reply instead of N
 * (docs/benchmarks.md). Not atomic across slots on a Redis Cluster: the cluster work groups
 * batches by slot before they reach here.
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
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  #sha: string | undefined;
  #keys: string[] = [];
  #values: Buffer[] = [];
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

  set(key: string, value: Buffer, px: number, handler: WriteHandler, ctx: unknown): Promise<unknown> {
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
    // Group by TTL; in the common case every set shares the default TTL and this is one group.
    let groups: Map<number, number[]> | null = null;
    const px0 = pxs[0];
    for (let i = 1; i < pxs.length; i++) {
      if (pxs[i] !== px0) {
        groups = new Map();
        for (let j = 0; j < pxs.length; j++) {
          const g = groups.get(pxs[j]);
          if (g === undefined) groups.set(pxs[j], [j]);
          else g.push(j);
        }
        break;
      }
    }
    const all = groups ?? new Map([[px0, Array.from({ length: keys.length }, (_, i) => i)]]);
    for (const [px, idx] of all) {
      for (let s = 0; s < idx.length; s += this.#maxBatch) {
        const part = idx.length <= this.#maxBatch ? idx : idx.slice(s, s + this.#maxBatch);
        this.roundTrips++;
        const t0 = performance.now();
        let request: Promise<unknown>;
        if (part.length === 1) {
          const i = part[0];
          request = this.#redis.set(this.#prefix + keys[i], values[i], { expiration: { type: 'PX', value: px } });
        } else {
          const fullKeys = new Array<string>(part.length);
          const args = new Array<string | Buffer>(part.length + 1);
          args[0] = String(px);
          for (let j = 0; j < part.length; j++) {
            fullKeys[j] = this.#prefix + keys[part[j]];
            args[j + 1] = values[part[j]];
          }
          request = this.#setMany(fullKeys, args);
        }
        withDeadline(request, this.#timeoutMs, 'write').then(
          () => {
            const ms = performance.now() - t0;
            for (const i of part) {
              try {
                resolves[i](handlers[i].onDone(keys[i], ctxs[i], ms));
              } catch (err) {
                rejects[i](err);
              }
            }
          },
          (err: unknown) => {
            const ms = performance.now() - t0;
            for (const i of part) {
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

  async #setMany(keys: string[], args: (string | Buffer)[]): Promise<void> {
    if (this.#sha === undefined) this.#sha = String(await this.#redis.scriptLoad(SET_MANY_PX));
    try {
      await this.#redis.evalSha(this.#sha, { keys, arguments: args });
    } catch (err) {
      // The server lost its script cache (restart, SCRIPT FLUSH, failover): send the body once.
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        this.#sha = undefined;
        await this.#redis.eval(SET_MANY_PX, { keys, arguments: args });
      } else throw err;
    }
  }
}
