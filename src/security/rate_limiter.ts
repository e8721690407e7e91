import { RateLimitError } from '../errors.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import { withDeadline } from '../tiers/redis/deadline.js';

/** A token bucket: `ratePerSecond` sustained, up to `burst` at once. */
export interface RateLimitSpec {
  ratePerSecond: number;
  burst: number;
}

// Token bucket in Redis, atomic, on Redis's clock (instances' clocks may differ). Takes up to
// ARGV[3] tokens (a lease) and at least ARGV[4] (the call's cost); returns {granted, retryAfterMs}.
// KEYS[1] = bucket hash {tokens, ts}. ARGV: rate per ms, burst, lease, need.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local need = tonumber(ARGV[4] or '1')
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local granted = math.min(want, math.floor(tokens))
local retry = 0
if granted < need then
  granted = 0
  retry = math.ceil((need - tokens) / rate)
end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return {granted, retry}`;

/**
 * Distributed token buckets (per user, global) enforced across instances through Redis.
 *
 * Each instance leases tokens from the shared bucket in small batches (1/20 of a second's rate,
 * at most a tenth of the burst) and spends them locally, so a rate-limited operation costs a
 * Redis round trip only once per lease, not per call. The fleet can overshoot by at most one
 * unspent lease per instance (the test holds two processes within 5% of the configured rate).
 * A leased token not spent within a second is returned to oblivion (not refunded): the lease is
 * small enough that this only ever errs on the side of denying. Without Redis, buckets are local.
 */
export class RateLimiter {
  readonly #backend: RedisBackend | null;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #local = new Map<string, { tokens: number; at: number }>();
  /** Round trips to the shared buckets, and denials. */
  leases = 0;
  denied = 0;

  constructor(backend: RedisBackend | null, namespacePrefix: string, commandTimeoutMs: number) {
    this.#backend = backend;
    this.#prefix = `${namespacePrefix}rl:`;
    this.#timeoutMs = commandTimeoutMs;
  }

  /**
   * Takes `cost` tokens (a bulk call's size; at most a full burst, so no call is refused forever)
   * from `bucket`, or throws RateLimitError with the time to wait.
   */
  async take(bucket: string, spec: RateLimitSpec, cost = 1): Promise<void> {
    const now = Date.now();
    const need = Math.max(1, Math.min(Math.ceil(cost), Math.floor(spec.burst)));
    let local = this.#local.get(bucket);
    if (local !== undefined && local.tokens >= need && now - local.at < 1000) {
      local.tokens -= need;
      return;
    }
    const lease = Math.max(need, Math.min(Math.floor(spec.ratePerSecond / 20), Math.floor(spec.burst / 10)));
    let granted: number;
    let retryMs: number;
    if (this.#backend === null) {
      ({ granted, retryMs } = this.#takeLocally(bucket, spec, lease, need, now));
    } else {
      this.leases++;
      const key = this.#prefix + bucket;
      const r = (await withDeadline(this.#backend.eval(TAKE, [key], [String(spec.ratePerSecond / 1000), String(spec.burst), String(lease), String(need)]), this.#timeoutMs, 'rate limit')) as [number, number];
      granted = Number(r[0]);
      retryMs = Number(r[1]);
    }
    if (granted < need) {
      this.denied++;
      throw new RateLimitError(`Rate limit of ${spec.ratePerSecond}/s exceeded for ${bucket}; retry after ${retryMs} ms`, retryMs);
    }
    local = { tokens: granted - need, at: now };
    this.#local.set(bucket, local);
    if (this.#local.size > 10_000) this.#local.delete(this.#local.keys().next().value as string);
  }

  readonly #buckets = new Map<string, { tokens: number; ts: number }>();

  #takeLocally(bucket: string, spec: RateLimitSpec, want: number, need: number, now: number): { granted: number; retryMs: number } {
    const b = this.#buckets.get(bucket) ?? { tokens: spec.burst, ts: now };
    const rate = spec.ratePerSecond / 1000;
    b.tokens = Math.min(spec.burst, b.tokens + (now - b.ts) * rate);
    b.ts = now;
    const granted = Math.min(want, Math.floor(b.tokens));
    this.#buckets.set(bucket, b);
    if (granted < need) return { granted: 0, retryMs: Math.ceil((need - b.tokens) / rate) };
    b.tokens -= granted;
    return { granted, retryMs: 0 };
  }
}
