import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AccessDeniedError, InvalidArgumentError, RateLimitError, SessionForgedError } from '../errors.js';
import { AccessPolicy } from './access_policy.js';
import type { AuditLog } from './audit_log.js';
import { auditKeyText } from './audit_text.js';
import type { RateLimiter, RateLimitSpec } from './rate_limiter.js';
import { ADMIN_ROLE, hasPermission, Permission, SecurityLevel, type Role } from './role.js';
import { SessionStore, type SessionRecord } from './session_store.js';
import { redactWith } from '../util/redaction.js';

/** Who is calling, once authorized. */
export interface SecurityContext {
  sessionId: string;
  session: SessionRecord;
  role: Role;
  policy: AccessPolicy;
}

/** What an operation needs: permissions, and the keys (or the bulk pattern) it touches. */
export interface AccessRequest {
  op: string;
  sessionId: unknown;
  permissions: Permission[];
  keys?: readonly string[];
  pattern?: string;
  /** Rate-limit tokens the call costs (bulk calls: their size). @default 1 */
  cost?: number;
}

/** Rate-limit refusals of one bucket are audited at most once per this many ms (with a count of the rest). */
const RATE_LIMIT_AUDIT_MS = 1000;

const LEVELS = new Set<number>(Object.values(SecurityLevel));
const PERMISSIONS = new Set<string>(Object.values(Permission));

/**
 * Access control for a cache with `enableSecurity`: roles, sessions (in Redis, honoured by every
 * instance), per-user and global rate limits, and the audit trail. Every operation is
 * authorized before it touches a tier: a valid session, the permission, every key inside the
 * role's patterns (bulk invalidations: provably inside, access_policy.ts), the user's token
 * bucket. Denials are audited and raised as `AccessDeniedError` (and a 'security' event);
 * rate-limit refusals as `RateLimitError`.
 *
 * Internal: the door (secure_operations.ts) calls `authorize`, `refuseInvalid`,
 * `auditRateLimited`, `denyInside` and `audit`; users reach roles and sessions only through
 * `SecurityManager` (security_manager.ts, what `cache.securityManager` returns), which holds one
 * of these. Not exported from the package.
 */
export class AccessControl extends EventEmitter {
  readonly #roles = new Map<string, { role: Role; policy: AccessPolicy }>();
  readonly sessions: SessionStore;
  readonly #audit: AuditLog | null;
  readonly #limiter: RateLimiter;
  /** Denials so far. */
  denied = 0;
  /** Per bucket: when its last rate-limit refusal was audited, and how many were not since. */
  readonly #rateAudit = new Map<string, { at: number; suppressed: number }>();

  constructor(options: { sessions: SessionStore; audit: AuditLog | null; limiter: RateLimiter }) {
    super();
    this.sessions = options.sessions;
    this.#audit = options.audit;
    this.#limiter = options.limiter;
    this.addCustomRole(ADMIN_ROLE);
    redactWith(this, () => ({ roles: [...this.#roles.keys()], denied: this.denied }));
  }

  /** Adds (or replaces) a role. Validated: a malformed role is an error, not a silently wider one. */
  addCustomRole(role: Role): void {
    if (typeof role !== 'object' || role === null || typeof role.name !== 'string' || !/^[\w.-]{1,64}$/.test(role.name)) {
      throw new InvalidArgumentError('role.name must be 1-64 characters of letters, digits, _ . -');
    }
    if (!Array.isArray(role.permissions) || role.permissions.some((p) => !PERMISSIONS.has(p))) throw new InvalidArgumentError(`role ${role.name}: unknown permission`);
    if (!Array.isArray(role.keyPatterns) || role.keyPatterns.length === 0 || role.keyPatterns.some((p) => typeof p !== 'string' || p.length === 0)) {
      throw new InvalidArgumentError(`role ${role.name}: keyPatterns must be non-empty strings`);
    }
    if (!LEVELS.has(role.securityLevel)) throw new InvalidArgumentError(`role ${role.name}: unknown securityLevel`);
    if (role.rateLimit !== undefined && !(Number.isFinite(role.rateLimit) && role.rateLimit > 0)) throw new InvalidArgumentError(`role ${role.name}: rateLimit must be a positive number of operations per minute`);
    const frozen = Object.freeze({ ...role, permissions: [...role.permissions], keyPatterns: [...role.keyPatterns] });
    this.#roles.set(role.name, { role: frozen, policy: new AccessPolicy(frozen.keyPatterns) });
  }

  /** Removes a role: its sessions stop working at once. */
  removeRole(name: string): boolean {
    return this.#roles.delete(name);
  }

  getRole(name: string): Role | undefined {
    return this.#roles.get(name)?.role;
  }

  /** A new session for `userId` with `roleName`; its id is an unguessable 256-bit bearer token. */
  async createSession(userId: string, roleName: string, options: { ttl?: number } = {}): Promise<string> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) throw new InvalidArgumentError('userId must be a non-empty string');
    if (typeof roleName !== 'string' || !this.#roles.has(roleName)) throw new InvalidArgumentError(`no role named ${typeof roleName === 'string' ? roleName : `(a ${typeof roleName})`}`);
    const ttl = options?.ttl ?? 3600;
    if (!(Number.isFinite(ttl) && ttl > 0)) throw new InvalidArgumentError('session ttl must be a positive number of seconds');
    const id = await this.sessions.create(userId, roleName, ttl * 1000);
    this.#audit?.record({ user: userId, session: SessionStore.digest(id), op: 'createSession', key: null, keyHashed: false, outcome: 'ok', latencyMs: 0 });
    return id;
  }

  async revokeSession(sessionId: string): Promise<boolean> {
    if (typeof sessionId !== 'string') throw new InvalidArgumentError('sessionId must be a string');
    const existed = await this.sessions.revoke(sessionId);
    this.#audit?.record({ user: null, session: SessionStore.digest(String(sessionId)), op: 'revokeSession', key: null, keyHashed: false, outcome: 'ok', latencyMs: 0 });
    return existed;
  }

  /** Authorizes a request or throws (AccessDeniedError / RateLimitError), auditing the refusal. */
  async authorize(req: AccessRequest): Promise<SecurityContext> {
    const started = performance.now();
    const sid = typeof req.sessionId === 'string' ? req.sessionId : '';
    let session: SessionRecord | null;
    try {
      session = await this.sessions.get(req.sessionId);
    } catch (err) {
      if (!(err instanceof SessionForgedError)) throw err;
      this.denied++;
      this.audit(req.op, null, sid, req.keys?.[0] ?? req.pattern ?? null, SecurityLevel.RESTRICTED, 'denied', 'session record failed authentication (forged or changed in Redis)', performance.now() - started);
      this.emit('security', { type: 'session_forged', op: req.op, user: null, reason: err.message });
      throw err;
    }
    const deny = (reason: string, user: string | null, level: number, subject: unknown = req.keys?.[0] ?? req.pattern ?? null): never => {
      this.denied++;
      this.audit(req.op, user, sid, subject, level, 'denied', reason, performance.now() - started);
      this.emit('security', { type: 'access_denied', op: req.op, user, reason });
      throw new AccessDeniedError(`Access denied: ${reason}`);
    };
    if (session === null) return deny('no valid session (missing, unknown, expired or revoked)', null, SecurityLevel.RESTRICTED);
    const entry = this.#roles.get(session.role);
    if (entry === undefined) return deny(`the session's role ${session.role} no longer exists`, session.userId, SecurityLevel.RESTRICTED);
    const { role, policy } = entry;
    // Charged before the checks: a refused call costs what an allowed one does, so denials (and
    // their audit records) are bounded by the role's rate like everything else.
    await this.#charge(req.op, session.userId, sid, role, req.cost ?? 1, req.keys?.[0] ?? req.pattern ?? null, started);
    for (const p of req.permissions) if (!hasPermission(role, p)) deny(`role ${role.name} lacks ${p}`, session.userId, role.securityLevel);
    // The record names the key that was refused, not the call's first key.
    for (const k of req.keys ?? []) if (!policy.allowsKey(k)) deny(`key outside role ${role.name}'s patterns`, session.userId, role.securityLevel, k);
    if (req.pattern !== undefined && !policy.allowsPattern(req.pattern)) deny(`pattern not provably inside role ${role.name}'s patterns`, session.userId, role.securityLevel, req.pattern);
    return { sessionId: sid, session, role, policy };
  }

  /**
   * A call refused by argument validation (step 1 of the door), with security on: a denial like
   * any other, audited (the refused key escaped and bounded) and charged to the session's rate
   * limit when the session is valid. Throws RateLimitError when that limit is spent.
   */
  async refuseInvalid(op: string, sessionId: unknown, subject: unknown, reason: string, started: number): Promise<void> {
    this.denied++;
    const sid = typeof sessionId === 'string' ? sessionId : '';
    const session = await this.sessions.get(sessionId).catch(() => null);
    const entry = session === null ? undefined : this.#roles.get(session.role);
    const user = session?.userId ?? null;
    if (entry !== undefined) await this.#charge(op, user as string, sid, entry.role, 1, subject, started);
    this.audit(op, user, sid, subject, entry?.role.securityLevel ?? SecurityLevel.RESTRICTED, 'denied', `invalid argument: ${reason}`, performance.now() - started);
    this.emit('security', { type: 'invalid_argument', op, user, reason });
  }

  /** Takes `cost` tokens from the user's bucket when the role has a rate limit. */
  async #charge(op: string, userId: string, sid: string, role: Role, cost: number, subject: unknown, started: number): Promise<void> {
    if (role.rateLimit === undefined) return;
    const spec: RateLimitSpec = { ratePerSecond: role.rateLimit / 60, burst: Math.max(1, Math.ceil(role.rateLimit / 6)) };
    try {
      await this.#limiter.take(`user:${userId}`, spec, cost);
    } catch (err) {
      if (err instanceof RateLimitError) this.#auditRateLimited(op, userId, sid, `user:${userId}`, subject, role.securityLevel, err.message, started);
      throw err;
    }
  }

  /** A refusal by the global limit (step 2 of the door), audited like a user's. */
  auditRateLimited(op: string, sessionId: unknown, bucket: string, subject: unknown, reason: string, started: number): void {
    this.#auditRateLimited(op, null, typeof sessionId === 'string' ? sessionId : '', bucket, subject, SecurityLevel.RESTRICTED, reason, started);
  }

  /**
   * Rate-limit refusals cost no work, so a caller can make them as fast as it can call: one record
   * per bucket per second, carrying how many refusals it stands for, keeps the trail (and the
   * disk) bounded while still saying that it happened and how often.
   */
  #auditRateLimited(op: string, user: string | null, sid: string, bucket: string, subject: unknown, level: number, reason: string, started: number): void {
    const now = Date.now();
    const last = this.#rateAudit.get(bucket);
    if (last !== undefined && now - last.at < RATE_LIMIT_AUDIT_MS) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.#rateAudit.set(bucket, { at: now, suppressed: 0 });
    if (this.#rateAudit.size > 10_000) this.#rateAudit.delete(this.#rateAudit.keys().next().value as string);
    this.audit(op, user, sid, subject, level, 'rate_limited', suppressed > 0 ? `${reason} (and ${suppressed} more refusals of ${bucket} since the last record)` : reason, performance.now() - started);
  }

  /** Denies inside an authorized call (a value above the role's level, a dependency outside its patterns). */
  denyInside(ctx: SecurityContext, op: string, key: string, level: number, reason: string): never {
    this.denied++;
    this.audit(op, ctx.session.userId, ctx.sessionId, key, level, 'denied', reason, 0);
    this.emit('security', { type: 'access_denied', op, user: ctx.session.userId, reason });
    throw new AccessDeniedError(`Access denied: ${reason}`);
  }

  /**
   * One audit record. The key is escaped and bounded (audit_text.ts), and hashed when the data is
   * CONFIDENTIAL or above. `key` may be anything a caller passed (a refused call's argument).
   */
  audit(op: string, user: string | null, sessionId: string, key: unknown, level: number, outcome: 'ok' | 'denied' | 'error' | 'rate_limited', reason: string | null, latencyMs: number): void {
    if (this.#audit === null) return;
    const text = auditKeyText(key);
    const hashed = text !== null && level >= SecurityLevel.CONFIDENTIAL;
    this.#audit.record({
      user,
      session: sessionId === '' ? null : SessionStore.digest(sessionId),
      op,
      key: text === null ? null : hashed ? createHash('sha256').update(typeof key === 'string' ? key : text).digest('hex') : text,
      keyHashed: hashed,
      outcome,
      reason,
      latencyMs,
    });
  }
}
