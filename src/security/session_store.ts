import { createHash, randomBytes } from 'node:crypto';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import { withDeadline } from '../tiers/redis/deadline.js';

export interface SessionRecord {
  userId: string;
  role: string;
  /** ms since epoch */
  expiresAt: number;
}

/** Session ids are 256 random bits, base64url: 43 characters. */
const ID_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * Sessions in Redis (`<ns>:session:<id>`, a hash with a PX expiry), so every instance honours
 * them and revoking on one revokes on all. Each instance keeps the sessions it used in memory;
 * the session prefix is tracked like the data keys (coherence), so a revocation or expiry drops
 * the local copy as soon as Redis pushes the invalidation; without tracking, local copies live at
 * most `localTtlMs`. Without Redis, sessions live in this process only.
 */
export class SessionStore {
  readonly #backend: RedisBackend | null;
  readonly prefix: string;
  readonly #timeoutMs: number;
  readonly #local = new Map<string, SessionRecord & { cachedAt: number }>();
  readonly #localTtlMs: number;

  constructor(backend: RedisBackend | null, namespacePrefix: string, commandTimeoutMs: number, tracked: boolean) {
    this.#backend = backend;
    this.prefix = `${namespacePrefix}session:`;
    this.#timeoutMs = commandTimeoutMs;
    this.#localTtlMs = tracked ? 60_000 : 1000;
  }

  /** A digest of a session id, safe to log. */
  static digest(id: string): string {
    return createHash('sha256').update(id).digest('hex').slice(0, 16);
  }

  async create(userId: string, role: string, ttlMs: number): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + ttlMs;
    if (this.#backend !== null) {
      const key = this.prefix + id;
      await withDeadline(
        this.#backend.eval(`redis.call('HSET', KEYS[1], 'user', ARGV[1], 'role', ARGV[2], 'exp', ARGV[3]) return redis.call('PEXPIRE', KEYS[1], ARGV[4])`, [key], [userId, role, String(expiresAt), String(Math.ceil(ttlMs))]),
        this.#timeoutMs,
        'session',
      );
    }
    this.#local.set(id, { userId, role, expiresAt, cachedAt: Date.now() });
    return id;
  }

  /** The live session for `id`, or null (unknown, malformed, expired or revoked). */
  async get(id: unknown): Promise<SessionRecord | null> {
    if (typeof id !== 'string' || !ID_FORMAT.test(id)) return null;
    const now = Date.now();
    const local = this.#local.get(id);
    if (local !== undefined && local.expiresAt > now && (this.#backend === null || now - local.cachedAt < this.#localTtlMs)) return local;
    if (this.#backend === null) return null;
    const key = this.prefix + id;
    const r = await withDeadline(this.#backend.send(key, ['HMGET', key, 'user', 'role', 'exp']), this.#timeoutMs, 'session');
    const [user, role, exp] = (r as (string | null)[]).map((x) => (x === null ? null : String(x)));
    if (user === null || role === null || exp === null || Number(exp) <= now) {
      this.#local.delete(id);
      return null;
    }
    const rec = { userId: user, role, expiresAt: Number(exp), cachedAt: now };
    this.#local.set(id, rec);
    if (this.#local.size > 100_000) this.#local.delete(this.#local.keys().next().value as string);
    return rec;
  }

  async revoke(id: string): Promise<boolean> {
    this.#local.delete(id);
    if (this.#backend === null) return true;
    const key = this.prefix + id;
    return Number(await withDeadline(this.#backend.send(key, ['UNLINK', key]), this.#timeoutMs, 'session')) > 0;
  }

  /** Tracking told us the Redis record changed or went away. */
  onInvalidated(redisKey: string): void {
    this.#local.delete(redisKey.slice(this.prefix.length));
  }

  /** Coherence lost: forget every local copy. */
  forgetAll(): void {
    this.#local.clear();
  }
}
