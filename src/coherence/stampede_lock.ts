import { randomBytes } from 'node:crypto';
import { TierUnavailableError } from '../errors.js';
import { withDeadline } from '../tiers/redis/deadline.js';
import { keySlot, slotTag } from '../tiers/redis/hash_slot.js';
import { escapeGlob } from '../util/glob.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import type { TrackingInvalidator } from './tracking_invalidator.js';

// Release-and-write in one step, so the lock and the value change atomically. KEYS[1] = value,
// KEYS[2] = lock, which share a hash slot (see lockKey); ARGV[4] = the caller's clock (ms).
// Returns 1 written, 0 a fresh value already exists (someone wrote after our miss: it is newer
// than what we loaded, keep it; a stale value inside its grace period is what we replace), -1 the
// lock is no longer ours (it expired and another loader took over: our value may be older).
const WRITE_AND_RELEASE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[2])
local v = redis.call('GET', KEYS[1])
if v and string.byte(v, 1) == 28 then
  local exp = tonumber(string.sub(v, 5, 16), 16)
  if exp == 0 or exp > tonumber(ARGV[4]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

// Acquire, unless a fresh value is already there (it landed between the caller's miss and now):
// one round trip for both questions. KEYS[1] = value, KEYS[2] = lock, ARGV[3] = the caller's
// clock (ms). "Fresh" reads the envelope header (envelope_header.ts): magic 0x1C at byte 1, the
// logical expiry as 12 hex digits at bytes 5-16, all zeros for none. A value past its expiry
// (inside a grace period) does not count: it is what the load is replacing.
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v and string.byte(v, 1) == 28 then
  local exp = tonumber(string.sub(v, 5, 16), 16)
  if exp == 0 or exp > tonumber(ARGV[3]) then return {1, v} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export interface StampedeLockOptions {
  backend: RedisBackend;
  /** `${namespace}:` */
  namespacePrefix: string;
  /** Prefix of value keys, `${namespace}:v2:`. */
  dataPrefix: string;
  /** Lease of a lock; renewed every third of it while the loader runs. */
  leaseMs: number;
  /** Longest a waiter waits for another process's loader before loading itself. */
  maxWaitMs: number;
  commandTimeoutMs: number;
  /** Wakes waiters when a lock key changes; null: waiters poll. */
  tracker: TrackingInvalidator | null;
}

/** A held lock: its token and the timer renewing its lease. */
export interface LockLease {
  key: string;
  lockKey: string;
  token: string;
  renewTimer: NodeJS.Timeout;
  /** No renewal after this instant (ms since epoch): a loader that never settles cannot hold the lock for ever. */
  renewUntil: number;
}

/**
 * The cross-process half of `getOrSet`'s stampede protection (the in-process half is
 * tier_stack.ts getOrLoad): one loader per missing key across every instance.
 *
 * - acquire: `SET lock token NX PX lease`, a random 128-bit token per attempt;
 * - while the loader runs the lease is renewed (compare-and-PEXPIRE), so a slow loader keeps it,
 *   for at most `maxWaitMs` (waiters give up then anyway); a failed load releases it, also one
 *   that failed after the caller was answered by a soft or hard timeout;
 * - `delete(key)` removes the lock with the value (tier_stack.ts), and `invalidatePattern`/`clear`
 *   the locks of the keys they match, before the values: a load that began before the
 *   invalidation then finds the lock not its own and writes nothing (it is fenced);
 * - the value is written by a script that checks the token, so a loader whose lease was lost
 *   (paused process, partition) cannot overwrite what the next holder wrote, and never overwrites
 *   a value someone set after the miss;
 * - waiters do not poll blindly: with coherence on, the lock key is tracked (BCAST prefix
 *   `<ns>:lock:`), so the holder's release wakes them; they poll (backoff to 200 ms) only
 *   without tracking. They wait at most `maxWaitMs`, then load themselves.
 */
export class StampedeLock {
  readonly #o: StampedeLockOptions;
  acquired = 0;
  waited = 0;
  lostLeases = 0;

  constructor(options: StampedeLockOptions) {
    this.#o = options;
  }

  /**
   * The lock key of value key `key`: in the value key's hash slot (a cluster runs the
   * write-and-release script only on keys of one slot), via a slot tag, because the value key
   * itself may contain braces and cannot be reused as a tag.
   */
  lockKey(key: string): string {
    return `${this.#o.namespacePrefix}lock:{${slotTag(keySlot(this.#o.dataPrefix + key))}}:${key}`;
  }

  /** A Redis glob matching the lock keys of the value keys `pattern` matches (and possibly more: filter with `keyOfLock`). */
  lockMatch(pattern: string): string {
    return `${escapeGlob(`${this.#o.namespacePrefix}lock:{`)}*}:${pattern}`;
  }

  /** The value key a lock key belongs to, or null when `lockKey` is not one of ours. */
  keyOfLock(lockKey: string): string | null {
    const head = `${this.#o.namespacePrefix}lock:{`;
    if (!lockKey.startsWith(head)) return null;
    const end = lockKey.indexOf('}:', head.length);
    return end < 0 ? null : lockKey.slice(end + 2);
  }

  /**
   * Tries once: the value's bytes when it already exists, a lease when the lock was free, or
   * null when another process holds it.
   */
  async tryAcquire(key: string): Promise<LockLease | Buffer | null> {
    const lockKey = this.lockKey(key);
    const token = randomBytes(16).toString('base64url');
    const reply = (await withDeadline(
      this.#o.backend.eval(ACQUIRE, [this.#o.dataPrefix + key, lockKey], [token, String(this.#o.leaseMs), String(Date.now())]),
      this.#o.commandTimeoutMs,
      'lock',
    )) as [number, Buffer?];
    if (reply[0] === 1) return reply[1] as Buffer;
    if (reply[0] !== 2) return null;
    this.acquired++;
    const lease: LockLease = { key, lockKey, token, renewTimer: undefined as unknown as NodeJS.Timeout, renewUntil: Date.now() + this.#o.maxWaitMs };
    lease.renewTimer = setInterval(() => this.#renew(lease), Math.max(10, Math.floor(this.#o.leaseMs / 3)));
    lease.renewTimer.unref();
    return lease;
  }

  /** Writes `envelope` under the value key and releases, atomically. 1 written, 0 a value exists, -1 lease lost. */
  async writeAndRelease(lease: LockLease, envelope: Buffer | string, px: number): Promise<number> {
    clearInterval(lease.renewTimer);
    const reply = await withDeadline(
      this.#o.backend.eval(WRITE_AND_RELEASE, [this.#o.dataPrefix + lease.key, lease.lockKey], [lease.token, envelope, String(Math.max(1, Math.ceil(px))), String(Date.now())]),
      this.#o.commandTimeoutMs,
      'write',
    );
    const n = Number(reply);
    if (n === -1) this.lostLeases++;
    return n;
  }

  /** Releases without writing (loader failed or found nothing). Best effort: the lease expires anyway. */
  async release(lease: LockLease): Promise<void> {
    clearInterval(lease.renewTimer);
    await withDeadline(this.#o.backend.eval(RELEASE, [lease.lockKey], [lease.token]), this.#o.commandTimeoutMs, 'unlock').catch(() => undefined);
  }

  /**
   * Resolves when the lock on `key` may have been released: on its tracking push, when the
   * lock is found gone, or after `maxWaitMs` (then false: the caller loads itself).
   */
  async waitForRelease(key: string, deadline: number): Promise<boolean> {
    this.waited++;
    return this.#waitOn(this.lockKey(key), deadline);
  }

  async #waitOn(lockKey: string, deadline: number): Promise<boolean> {
    const tracker = this.#o.tracker;
    let delay = 20;
    while (Date.now() < deadline) {
      let wake: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const unsubscribe = tracker?.onLockChange(lockKey, wake);
      try {
        // Subscribed first, then checked: a release between the two is seen by one or the other.
        const ttl = Number(await withDeadline(this.#o.backend.eval(`return redis.call('PTTL', KEYS[1])`, [lockKey], []), this.#o.commandTimeoutMs, 'lock'));
        if (ttl < 0) return true;
        const wait = Math.min(deadline - Date.now(), tracker ? ttl + 5 : Math.min(ttl + 5, delay));
        delay = Math.min(200, delay * 2);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(1, wait))))]);
        clearTimeout(timer);
      } finally {
        unsubscribe?.();
      }
    }
    return false;
  }

  /**
   * Runs `fn` holding an exclusive lock named `purpose` on `key` across every instance (the lock
   * key is in the value key's slot, under the tracked lock prefix, so a release wakes the next
   * waiter). Waits up to `maxWaitMs`, then throws. The lease is renewed while `fn` runs.
   */
  async withExclusive<R>(purpose: string, key: string, fn: () => Promise<R>): Promise<R> {
    const lockKey = `${this.#o.namespacePrefix}lock:{${slotTag(keySlot(this.#o.dataPrefix + key))}}:${purpose}:${key}`;
    const deadline = Date.now() + this.#o.maxWaitMs;
    for (;;) {
      const token = randomBytes(16).toString('base64url');
      const ok = await withDeadline(
        this.#o.backend.eval(`return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])`, [lockKey], [token, String(this.#o.leaseMs)]),
        this.#o.commandTimeoutMs,
        'lock',
      );
      if (ok !== null && ok !== undefined) {
        const lease: LockLease = { key, lockKey, token, renewUntil: Infinity, renewTimer: setInterval(() => this.#renew(lease), Math.max(10, Math.floor(this.#o.leaseMs / 3))) };
        lease.renewTimer.unref();
        try {
          return await fn();
        } finally {
          await this.release(lease);
        }
      }
      if (!(await this.#waitOn(lockKey, deadline))) throw new TierUnavailableError('l2', `timed out waiting for the ${purpose} lock on ${key}`, { key });
    }
  }

  /**
   * Takes a marker named `purpose` on `key` for `pxMs` if no instance holds it, without waiting;
   * it is not released (it expires). For "once per period across instances" work: refresh-ahead.
   */
  async tryOnce(purpose: string, key: string, pxMs: number): Promise<boolean> {
    const lockKey = `${this.#o.namespacePrefix}lock:{${slotTag(keySlot(this.#o.dataPrefix + key))}}:${purpose}:${key}`;
    const ok = await withDeadline(
      this.#o.backend.eval(`return redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1])`, [lockKey], [String(Math.max(1, Math.ceil(pxMs)))]),
      this.#o.commandTimeoutMs,
      'lock',
    );
    return ok !== null && ok !== undefined;
  }

  #renew(lease: LockLease): void {
    if (Date.now() > lease.renewUntil) {
      // Waiters stop waiting after maxWaitMs anyway; past it, let the lease run out.
      clearInterval(lease.renewTimer);
      return;
    }
    this.#o.backend.eval(RENEW, [lease.lockKey], [lease.token, String(this.#o.leaseMs)]).then(
      (ok) => {
        if (ok !== 1) {
          this.lostLeases++;
          clearInterval(lease.renewTimer);
        }
      },
      () => undefined,
    );
  }

  get maxWaitMs(): number {
    return this.#o.maxWaitMs;
  }
}
