import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SessionForgedError } from '../errors.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import { withDeadline } from '../tiers/redis/deadline.js';
import { redactWith } from '../util/redaction.js';

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
 *
 * Records are authenticated: each carries `mac`, an HMAC-SHA256 (server key `secret`) over the
 * namespace, the session id, user, role and expiry. Someone who can write Redis but does not hold
 * the key cannot grant a role (`HSET … role admin`), forge a session, or move a record to another
 * id or namespace: the record fails with SessionForgedError.
 */
export class SessionStore {
  readonly #backend: RedisBackend | null;
  readonly prefix: string;
  readonly #timeoutMs: number;
  readonly #local = new Map<string, SessionRecord & { cachedAt: number }>();
  readonly #localTtlMs: number;
  readonly #secret: Buffer;

  constructor(backend: RedisBackend | null, namespacePrefix: string, commandTimeoutMs: number, tracked: boolean, secret: Buffer) {
    this.#backend = backend;
    this.prefix = `${namespacePrefix}session:`;
    this.#timeoutMs = commandTimeoutMs;
    this.#localTtlMs = tracked ? 60_000 : 1000;
    this.#secret = secret;
    redactWith(this, () => ({ sessions: this.prefix, local: this.#local.size }));
  }

  /** A digest of a session id, safe to log. */
  static digest(id: string): string {
    return createHash('sha256').update(id).digest('hex').slice(0, 16);
  }

  #mac(id: string, user: string, role: string, exp: string): Buffer {
    return createHmac('sha256', this.#secret).update(JSON.stringify(['tiercache-session-v1', this.prefix, id, user, role, exp])).digest();
  }

  async create(userId: string, role: string, ttlMs: number): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + ttlMs;
    if (this.#backend !== null) {
      const key = this.prefix + id;
      const exp = String(expiresAt);
      const mac = this.#mac(id, userId, role, exp).toString('base64url');
      await withDeadline(
        this.#backend.eval(`redis.call('HSET', KEYS[1], 'user', ARGV[1], 'role', ARGV[2], 'exp', ARGV[3], 'mac', ARGV[5]) return redis.call('PEXPIRE', KEYS[1], ARGV[4])`, [key], [userId, role, exp, String(Math.ceil(ttlMs)), mac]),
        this.#timeoutMs,
        'session',
      );
    }
    this.#local.set(id, { userId, role, expiresAt, cachedAt: Date.now() });
    return id;
  }

  /**
   * The live session for `id`, or null (unknown, malformed, expired or revoked). A record that
   * exists but does not authenticate throws SessionForgedError (the caller audits it).
   */
  async get(id: unknown): Promise<SessionRecord | null> {
    if (typeof id !== 'string' || !ID_FORMAT.test(id)) return null;
    const now = Date.now();
    const local = this.#local.get(id);
    if (local !== undefined && local.expiresAt > now && (this.#backend === null || now - local.cachedAt < this.#localTtlMs)) return local;
    if (this.#backend === null) return null;
    const key = this.prefix + id;
    const r = await withDeadline(this.#backend.send(key, ['HMGET', key, 'user', 'role', 'exp', 'mac']), this.#timeoutMs, 'session');
    const [user, role, exp, mac] = (r as (string | null)[]).map((x) => (x === null ? null : String(x)));
    if (user === null && role === null && exp === null && mac === null) {
      this.#local.delete(id);
      return null;
    }
    this.#local.delete(id);
    if (user === null || role === null || exp === null || mac === null) throw new SessionForgedError('Access denied: the session record is incomplete (written outside tiercache)');
    const given = Buffer.from(mac, 'base64url');
    const expected = this.#mac(id, user, role, exp);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SessionForgedError('Access denied: the session record failed authentication (changed or forged in Redis)');
    if (Number(exp) <= now) return null;
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
