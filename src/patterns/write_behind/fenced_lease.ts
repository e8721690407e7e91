import { performance } from 'node:perf_hooks';

/** What the lease needs from Redis: one script call (keys share the queue's hash tag). */
export type EvalFn = (script: string, keys: string[], args: string[]) => Promise<unknown>;

// The fence is max(INCR, Redis's clock in ms): INCR keeps it strictly increasing while the
// counter lives; the clock floor keeps it increasing after Redis lost its data (a restart without
// persistence), where a bare INCR would restart at 1 and a fencing source would refuse every
// later leader. Re-acquiring our own unexpired term (a renewal that timed out) is allowed, with a
// new fence.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[2] then return false end
local f = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if f < now then f = now end
local fs = string.format('%.0f', f)
redis.call('SET', KEYS[2], fs)
redis.call('SET', KEYS[1], fs, 'PX', ARGV[1])
return fs`;

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Leadership of one write-behind queue: a lease (`SET PX`) whose value is the term's fencing
 * token, a number that grows with every term.
 *
 * Why both a lease and a local deadline: a leader learns it lost the lease only when it next talks
 * to Redis, and a leader stalled past its lease (GC pause, blocked loop) has not talked to it. So
 * the leader also keeps the time its lease is known to last (measured from when the renewal was
 * *sent*, minus a safety margin for clock rate) and {@link holds} is false past it without any
 * round trip. A failed or refused renewal ends the term at once. The fence goes to the data
 * source with every write, so a source can refuse a stale leader whose write was already on its
 * way when the term ended (the one case no client-side check can close).
 */
export class FencedLease {
  readonly #eval: EvalFn;
  readonly #leaseKey: string;
  readonly #fenceKey: string;
  readonly #leaseMs: number;
  #fence: number | null = null;
  #lastFence: number | null = null;
  #validUntil = 0;
  #timer: NodeJS.Timeout | null = null;
  #onLost: () => void;

  constructor(args: { eval: EvalFn; leaseKey: string; fenceKey: string; leaseMs: number; onLost?: () => void }) {
    this.#eval = args.eval;
    this.#leaseKey = args.leaseKey;
    this.#fenceKey = args.fenceKey;
    this.#leaseMs = args.leaseMs;
    this.#onLost = args.onLost ?? (() => undefined);
  }

  /** The current term's fencing token, or null when not leader. */
  get fence(): number | null {
    return this.#fence;
  }

  /** True while this instance is leader and its lease is known not to have expired (no I/O). */
  holds(): boolean {
    if (this.#fence === null) return false;
    if (performance.now() < this.#validUntil) return true;
    this.lose();
    return false;
  }

  #extend(sentAt: number): void {
    // 80%: Redis's clock and ours may run at slightly different rates; never trust the edge.
    this.#validUntil = sentAt + this.#leaseMs * 0.8;
  }

  /** Tries to start a term; resolves to true when this instance is leader. */
  async tryAcquire(): Promise<boolean> {
    if (this.holds()) return true;
    const sentAt = performance.now();
    const r = await this.#eval(ACQUIRE, [this.#leaseKey, this.#fenceKey], [String(this.#leaseMs), this.#lastFence === null ? '' : String(this.#lastFence)]);
    if (r === null || r === undefined || r === false) return false;
    this.#fence = Number(r);
    this.#lastFence = this.#fence;
    this.#extend(sentAt);
    this.#timer = setInterval(() => void this.confirm(), Math.max(20, Math.floor(this.#leaseMs / 4)));
    this.#timer.unref();
    return true;
  }

  /**
   * Checks with Redis that the term is still ours and extends it. Resolves to {@link holds} after
   * the reply: a refused or failed renewal ends the term at once.
   */
  async confirm(): Promise<boolean> {
    const fence = this.#fence;
    if (fence === null) return false;
    const sentAt = performance.now();
    let ok = false;
    try {
      ok = (await this.#eval(RENEW, [this.#leaseKey], [String(fence), String(this.#leaseMs)])) === 1;
    } catch {
      ok = false;
    }
    if (this.#fence !== fence) return false;
    if (!ok) {
      this.lose();
      return false;
    }
    this.#extend(sentAt);
    return this.holds();
  }

  /** Ends the term locally (stops renewing); the lease in Redis lapses or is released. */
  lose(): void {
    if (this.#fence === null) return;
    this.#fence = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#onLost();
  }

  /** Ends the term and deletes the lease if it is still ours, so a successor need not wait. */
  async release(): Promise<void> {
    const fence = this.#fence;
    this.lose();
    if (fence !== null) await this.#eval(RELEASE, [this.#leaseKey], [String(fence)]).catch(() => undefined);
  }
}
