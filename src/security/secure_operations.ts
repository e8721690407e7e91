import { AccessDeniedError, CacheStateError, InvalidArgumentError, RateLimitError } from '../errors.js';
import { entryKeys, keysWith, refusedSubject, validateArgs, type ArgumentContext } from '../guards/argument_validator.js';
import type { CacheEntry, CacheOperations, ConsistencyOptions, GetOptions, GetOrSetOptions, GuardOptions, Loader, LoaderContext, LoaderLike, RawOperations, SetManyEntry, SetOptions } from '../types/cache_operations.js';
import type { RateLimiter, RateLimitSpec } from './rate_limiter.js';
import { Permission, SecurityLevel } from './role.js';
import type { AccessControl, SecurityContext } from './access_control.js';

export type { GuardOptions } from '../types/cache_operations.js';

/**
 * A stored value with its security level. With security on every value is stored wrapped, so the
 * level travels with it through L1 and L2 (and is authenticated with it when encryption is on).
 */
interface Labeled {
  $tcl: number;
  $tcv: unknown;
}

function isLabeled(v: unknown): v is Labeled {
  return typeof v === 'object' && v !== null && '$tcl' in v && '$tcv' in v && typeof (v as Labeled).$tcl === 'number';
}

const LEVELS = new Set<number>(Object.values(SecurityLevel));
const PERMISSIONS = new Set<string>(Object.values(Permission));

/** One call as the chain sees it. */
interface Request {
  op: string;
  /** The call's arguments, for step 1. */
  args: readonly unknown[];
  sessionId: unknown;
  permissions: readonly Permission[];
  /** Keys the call names (gathered once step 1 checked the shapes; authorized in step 3). */
  keys?: () => readonly unknown[];
  /** A bulk pattern (authorized as "provably inside the role's patterns"). */
  pattern?: unknown;
  /** Tags the call names (they count towards its rate-limit cost). */
  tags?: unknown;
  /** The argument rules to apply, when not `op`'s own (`check` runs under its caller's name). */
  rules?: string;
}

/** Rate-limit tokens a call costs: one, or its size for bulk calls (keys and tags it names). */
function costOf(keys: readonly string[], tags: unknown): number {
  return Math.max(1, keys.length + (Array.isArray(tags) ? tags.length : 0));
}

function sessionOf(options: unknown): unknown {
  return typeof options === 'object' && options !== null ? (options as GuardOptions).sessionId : undefined;
}

/**
 * The one door: every operation any public object can start passes this chain, read top to bottom
 * in `#pipeline`:
 *
 *   1. validate arguments   guards/argument_validator.ts (keys, shapes) — nothing else happened yet
 *   2. global rate limit    one token from the namespace's bucket (`globalRateLimit`)
 *   3. authorize            session, permission, every key (dependencies included) and pattern
 *                           inside the role, the user's rate limit; denials audited here
 *   4. run                  the tier operation (core/tier_operations.ts); values are labeled with
 *                           their level on the way in and checked against the role's on the way out
 *   5. audit                the outcome ('ok' / 'error') with the call's latency
 *
 * Denials (steps 1–3, and the level and cascade checks that start step 4) happen before any side
 * effect. With neither security nor a global limit, steps 2, 3 and 5 are empty and an L1 hit of
 * `get`/`getOrSet` skips step 1 (a resident key was validated when it was written).
 */
export class SecureOperations implements CacheOperations {
  readonly #security: AccessControl | null;
  readonly #limiter: RateLimiter | null;
  readonly #global: RateLimitSpec | null;
  readonly #raw: RawOperations;
  readonly #args: ArgumentContext;
  /** No security, no global limit: the read fast paths go straight to the tiers. */
  readonly #open: boolean;

  constructor(o: { security: AccessControl | null; limiter: RateLimiter | null; global: RateLimitSpec | null; raw: RawOperations; args: ArgumentContext }) {
    this.#security = o.security;
    this.#limiter = o.limiter;
    this.#global = o.global;
    this.#raw = o.raw;
    this.#args = { ...o.args, permissions: PERMISSIONS };
    this.#open = o.security === null && o.global === null;
  }

  /** Whether calls are checked against sessions (security on). */
  get secured(): boolean {
    return this.#security !== null;
  }

  /**
   * A synchronous call (getSync, getStatsSync, resizeL1, getMemoryMonitor) cannot look a session
   * up: with security on it is refused, and the refusal audited, before it does anything.
   */
  refuseSync(op: string): void {
    const sec = this.#security;
    if (sec === null) return;
    sec.denied++;
    sec.audit(op, null, '', null, SecurityLevel.RESTRICTED, 'denied', 'a synchronous call has no session to check', 0);
    throw new CacheStateError(`${op} has no session to check: with security on, use the asynchronous call with { sessionId }`);
  }

  async validate(op: string, options: unknown, shapes: () => void): Promise<void> {
    try {
      shapes();
    } catch (err) {
      if (this.#security !== null) await this.#security.refuseInvalid(op, sessionOf(options), refusedSubject(err) ?? options, (err as Error).message, performance.now());
      throw err;
    }
  }

  async #pipeline<R>(req: Request, run: (ctx: SecurityContext | null) => Promise<R> | R): Promise<R> {
    const started = performance.now();
    const sec = this.#security;
    // 1. validate arguments (with security on, a refusal is a denial: audited, and charged to the caller's limit)
    let keys: string[];
    try {
      keys = validateArgs(req.rules ?? req.op, req.args, this.#args, req.keys, req.pattern);
    } catch (err) {
      if (sec !== null) {
        // A refusal is charged like a call (the global bucket here, the session's in refuseInvalid).
        await this.#takeGlobal(req, 1, refusedSubject(err) ?? req.args[0], started);
        await sec.refuseInvalid(req.op, req.sessionId, refusedSubject(err) ?? req.args[0], (err as Error).message, started);
      }
      throw err;
    }
    const pattern = req.pattern as string | undefined;
    const cost = costOf(keys, req.tags);
    // 2. global rate limit
    await this.#takeGlobal(req, cost, keys[0] ?? pattern ?? null, started);
    // 3. authorize
    const ctx = sec === null ? null : await sec.authorize({ op: req.op, sessionId: req.sessionId, permissions: [...req.permissions], keys, pattern, cost });
    const auditKey = keys[0] ?? pattern ?? null;
    try {
      // 4. run
      const r = await run(ctx);
      // 5. audit
      if (sec !== null && ctx !== null) sec.audit(req.op, ctx.session.userId, ctx.sessionId, auditKey, ctx.role.securityLevel, 'ok', null, performance.now() - started);
      return r;
    } catch (err) {
      if (sec !== null && ctx !== null && !(err instanceof AccessDeniedError)) {
        sec.audit(req.op, ctx.session.userId, ctx.sessionId, auditKey, ctx.role.securityLevel, 'error', (err as Error).message, performance.now() - started);
      }
      throw err;
    }
  }

  async #takeGlobal(req: Request, cost: number, subject: unknown, started: number): Promise<void> {
    if (this.#global === null) return;
    try {
      await (this.#limiter as RateLimiter).take('global', this.#global, cost);
    } catch (err) {
      if (this.#security !== null && err instanceof RateLimitError) this.#security.auditRateLimited(req.op, req.sessionId, 'global', subject, err.message, started);
      throw err;
    }
  }

  /** The level a write stores, checked against the writer's role before anything is written. */
  #levelFor(ctx: SecurityContext, op: string, key: string, level: unknown): number {
    // Default: INTERNAL, or the writer's own level when lower. Sensitive data says so explicitly.
    const l = level ?? Math.min(SecurityLevel.INTERNAL, ctx.role.securityLevel);
    if (typeof l !== 'number' || !LEVELS.has(l)) throw new InvalidArgumentError('securityLevel must be a SecurityLevel', { key });
    if (l > ctx.role.securityLevel) (this.#security as AccessControl).denyInside(ctx, op, key, l, `cannot write a value above role ${ctx.role.name}'s level`);
    return l;
  }

  #label(ctx: SecurityContext | null, op: string, key: string, value: unknown, level: unknown): unknown {
    if (ctx === null) return value;
    return { $tcl: this.#levelFor(ctx, op, key, level), $tcv: value } satisfies Labeled;
  }

  #unlabel(ctx: SecurityContext | null, op: string, key: string, v: unknown): unknown {
    if (ctx === null || !isLabeled(v)) return v;
    if (v.$tcl > ctx.role.securityLevel) (this.#security as AccessControl).denyInside(ctx, op, key, v.$tcl, `value above role ${ctx.role.name}'s level`);
    return v.$tcv;
  }

  /**
   * Refuses when a key in `keys` is outside the caller's patterns and still exists (a dependency
   * or tag set may name keys deleted since; removing nothing is no escape).
   */
  async #checkAll(ctx: SecurityContext | null, op: string, keys: string[], why: string): Promise<void> {
    if (ctx === null) return;
    for (const k of keys) {
      if (!ctx.policy.allowsKey(k) && (await this.#raw.has(k))) (this.#security as AccessControl).denyInside(ctx, op, k, ctx.role.securityLevel, why);
    }
  }

  check(op: string, permissions: readonly string[], keys: readonly string[], options?: GuardOptions): Promise<void> {
    // Validated as 'check' (shapes, bounds) and audited under the caller's name for it.
    const args = [permissions, keys, options];
    return this.#pipeline({ op, rules: 'check', args, sessionId: sessionOf(options), permissions: (Array.isArray(permissions) ? permissions : []) as Permission[], keys: () => (Array.isArray(keys) ? keys : []) }, () => undefined);
  }

  admin<R>(op: string, options: GuardOptions | undefined, fn: () => Promise<R> | R): Promise<R> {
    return this.#pipeline({ op, rules: 'admin', args: [options], sessionId: sessionOf(options), permissions: [Permission.ADMIN] }, fn);
  }

  get(key: string, options?: GetOptions<unknown>): Promise<unknown> {
    if (this.#open) return this.#raw.get(key, options);
    return this.#pipeline({ op: 'get', args: [key, options], sessionId: sessionOf(options), permissions: [Permission.READ], keys: () => [key] }, async (ctx) => this.#unlabel(ctx, 'get', key, await this.#raw.get(key, options)));
  }

  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    return this.#pipeline({ op: 'set', args: [key, value, options], sessionId: sessionOf(options), permissions: [Permission.WRITE], keys: () => keysWith(key, options?.dependsOn), tags: options?.tags }, (ctx) =>
      this.#raw.set(key, this.#label(ctx, 'set', key, value, options?.securityLevel), options),
    );
  }

  has(key: string, options?: ConsistencyOptions): Promise<boolean> {
    return this.#pipeline({ op: 'has', args: [key, options], sessionId: sessionOf(options), permissions: [Permission.READ], keys: () => [key] }, () => this.#raw.has(key, options));
  }

  getMany(keys: readonly string[], options?: ConsistencyOptions): Promise<unknown[]> {
    return this.#pipeline({ op: 'getMany', args: [keys, options], sessionId: sessionOf(options), permissions: [Permission.READ], keys: () => keys }, async (ctx) =>
      (await this.#raw.getMany(keys, options)).map((v, i) => this.#unlabel(ctx, 'getMany', keys[i], v)),
    );
  }

  setMany(entries: readonly SetManyEntry[], options?: ConsistencyOptions): Promise<void> {
    return this.#pipeline({ op: 'setMany', args: [entries, options], sessionId: sessionOf(options), permissions: [Permission.WRITE], keys: () => entryKeys(entries) }, (ctx) =>
      this.#raw.setMany(
        entries.map((e) => ({ ...e, value: this.#label(ctx, 'setMany', e.key, e.value, undefined) })),
        options,
      ),
    );
  }

  getOrSet(key: string, loader: LoaderLike<unknown>, options?: GetOrSetOptions): Promise<unknown> {
    if (this.#open) return this.#raw.getOrSet(key, loader, options);
    // A dependency is a write to the dependency's graph: authorized like set's.
    return this.#pipeline({ op: 'getOrSet', args: [key, loader, options], sessionId: sessionOf(options), permissions: [Permission.READ, Permission.WRITE], keys: () => keysWith(key, options?.dependsOn), tags: options?.tags }, async (ctx) => {
      if (ctx === null) return this.#raw.getOrSet(key, loader, options);
      // The level is decided (and refused if above the role) before the loader can run.
      const level = this.#levelFor(ctx, 'getOrSet', key, options?.securityLevel);
      const fn: Loader<unknown> = typeof loader === 'function' ? loader : (k, c) => loader.load(k, c);
      const wrapped = async (k: string, c: LoaderContext): Promise<unknown> => {
        const v = await fn(k, c);
        return v === undefined ? undefined : ({ $tcl: level, $tcv: v } satisfies Labeled);
      };
      return this.#unlabel(ctx, 'getOrSet', key, await this.#raw.getOrSet(key, wrapped, options));
    });
  }

  getEntry(key: string, options?: GuardOptions): Promise<CacheEntry | undefined> {
    return this.#pipeline({ op: 'getEntry', args: [key, options], sessionId: sessionOf(options), permissions: [Permission.READ], keys: () => [key] }, async (ctx) => {
      const e = await this.#raw.getEntry(key);
      return e === undefined ? undefined : { value: this.#unlabel(ctx, 'getEntry', key, e.value), freshUntil: e.freshUntil };
    });
  }

  delete(key: string, options?: ConsistencyOptions): Promise<boolean> {
    return this.#pipeline({ op: 'delete', args: [key, options], sessionId: sessionOf(options), permissions: [Permission.DELETE], keys: () => [key] }, async (ctx) => {
      if (ctx !== null) await this.#checkAll(ctx, 'delete', await this.#raw.collectCascade([key]), 'a dependent key is outside the role’s patterns');
      return this.#raw.delete(key, options);
    });
  }

  invalidateTags(tags: string[], options?: GuardOptions): Promise<number> {
    return this.#pipeline({ op: 'invalidateTags', args: [tags, options], sessionId: sessionOf(options), permissions: [Permission.DELETE], tags }, async (ctx) => {
      if (ctx !== null) {
        const members = await this.#raw.tagMembers(tags);
        await this.#checkAll(ctx, 'invalidateTags', members, 'a tagged key is outside the role’s patterns');
        await this.#checkAll(ctx, 'invalidateTags', await this.#raw.collectCascade(members), 'a dependent key is outside the role’s patterns');
      }
      return this.#raw.invalidateTags(tags);
    });
  }

  invalidatePattern(pattern: string, options?: GuardOptions): Promise<number> {
    return this.#pipeline({ op: 'invalidatePattern', args: [pattern, options], sessionId: sessionOf(options), permissions: [Permission.DELETE], pattern }, async (ctx) => {
      if (ctx !== null) {
        // The pattern is provably inside (authorize); what its keys' dependents reach may not be.
        const matched = await this.#raw.scanKeys(pattern);
        await this.#checkAll(ctx, 'invalidatePattern', await this.#raw.collectCascade(matched), 'a dependent key is outside the role’s patterns');
      }
      return this.#raw.invalidatePattern(pattern);
    });
  }

  clear(options?: GuardOptions): Promise<void> {
    return this.#pipeline({ op: 'clear', args: [options], sessionId: sessionOf(options), permissions: [Permission.ADMIN], pattern: '*' }, () => this.#raw.clear());
  }
}
