import type { GetOptions, GetOrSetOptions, SetManyEntry, SetOptions } from '../core/integrated_cache_manager.js';
import type { Loader } from '../core/tier_stack.js';
import { AccessDeniedError, InvalidArgumentError } from '../errors.js';
import type { DataLoader } from '../patterns/cache_pattern.js';
import type { InvalidationManager } from '../patterns/invalidation_manager.js';
import type { RateLimiter, RateLimitSpec } from './rate_limiter.js';
import { Permission, SecurityLevel } from './role.js';
import type { SecurityContext, SecurityManager } from './security_manager.js';

/** The session an operation runs under (required when security is on). */
export interface GuardOptions {
  sessionId?: string;
}

/** The cache's operations without guards (what SecureOperations calls once a request passed). */
export interface RawOperations {
  get(key: string, options?: GetOptions<unknown>): Promise<unknown>;
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  delete(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  getMany(keys: readonly string[]): Promise<unknown[]>;
  setMany(entries: readonly SetManyEntry[]): Promise<void>;
  getOrSet(key: string, loader: Loader<unknown>, options?: GetOrSetOptions): Promise<unknown>;
  invalidatePattern(pattern: string): Promise<number>;
  invalidateTags(tags: string[]): Promise<number>;
  clear(): Promise<void>;
  /** Keys matching a pattern, without deleting (dry run). */
  scanKeys(pattern: string): Promise<string[]>;
}

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

/**
 * The guards of the request path (facade → guards → tiers) when security or a global rate limit
 * is on: every operation takes a global token, is authorized (session, permission, key patterns,
 * user rate limit), runs, and is audited with its outcome. Reads refuse values above the role's
 * level; writes label values with a level (at most the role's); deletes, tags and patterns are
 * refused if anything they would remove — cascades through dependencies included — lies outside
 * the role's patterns.
 */
export class SecureOperations {
  readonly #security: SecurityManager | null;
  readonly #limiter: RateLimiter;
  readonly #global: RateLimitSpec | null;
  readonly #raw: RawOperations;
  readonly #invalidation: InvalidationManager;
  readonly #wrappedLoaders = new WeakMap<object, Loader<unknown>>();

  constructor(o: { security: SecurityManager | null; limiter: RateLimiter; global: RateLimitSpec | null; raw: RawOperations; invalidation: InvalidationManager }) {
    this.#security = o.security;
    this.#limiter = o.limiter;
    this.#global = o.global;
    this.#raw = o.raw;
    this.#invalidation = o.invalidation;
  }

  async #run<R>(op: string, sessionId: unknown, permissions: Permission[], keys: readonly string[] | undefined, pattern: string | undefined, fn: (ctx: SecurityContext | null) => Promise<R>): Promise<R> {
    const started = performance.now();
    if (this.#global !== null) await this.#limiter.take('global', this.#global);
    const sec = this.#security;
    const ctx = sec === null ? null : await sec.authorize({ op, sessionId, permissions, keys, pattern });
    try {
      const r = await fn(ctx);
      if (sec !== null && ctx !== null) sec.audit(op, ctx.session.userId, ctx.sessionId, keys?.[0] ?? pattern ?? null, ctx.role.securityLevel, 'ok', null, performance.now() - started);
      return r;
    } catch (err) {
      if (sec !== null && ctx !== null && !(err instanceof AccessDeniedError)) {
        sec.audit(op, ctx.session.userId, ctx.sessionId, keys?.[0] ?? pattern ?? null, ctx.role.securityLevel, 'error', (err as Error).message, performance.now() - started);
      }
      throw err;
    }
  }

  #label(ctx: SecurityContext | null, op: string, key: string, value: unknown, level: number | undefined): unknown {
    if (ctx === null) return value;
    // Default: INTERNAL, or the writer's own level when lower. Sensitive data says so explicitly.
    const l = level ?? Math.min(SecurityLevel.INTERNAL, ctx.role.securityLevel);
    if (!Object.values(SecurityLevel).includes(l as SecurityLevel)) throw new InvalidArgumentError('securityLevel must be a SecurityLevel', { key });
    if (l > ctx.role.securityLevel) (this.#security as SecurityManager).denyInside(ctx, op, key, l, `cannot write a value above role ${ctx.role.name}'s level`);
    return { $tcl: l, $tcv: value } satisfies Labeled;
  }

  #unlabel(ctx: SecurityContext | null, op: string, key: string, v: unknown): unknown {
    if (ctx === null || !isLabeled(v)) return v;
    if (v.$tcl > ctx.role.securityLevel) (this.#security as SecurityManager).denyInside(ctx, op, key, v.$tcl, `value above role ${ctx.role.name}'s level`);
    return v.$tcv;
  }

  /**
   * Refuses when a key in `keys` is outside the caller's patterns and still exists (a dependency
   * or tag set may name keys deleted since; removing nothing is no escape).
   */
  async #checkAll(ctx: SecurityContext | null, op: string, keys: string[], why: string): Promise<void> {
    if (ctx === null) return;
    for (const k of keys) {
      if (!ctx.policy.allowsKey(k) && (await this.#raw.has(k))) (this.#security as SecurityManager).denyInside(ctx, op, k, ctx.role.securityLevel, why);
    }
  }

  /** Authorizes (and audits) an operation done outside the cache, before it happens: a pattern's source write. */
  check(op: string, sessionId: unknown, permissions: Permission[], keys: readonly string[]): Promise<void> {
    return this.#run(op, sessionId, permissions, keys, undefined, async () => undefined);
  }

  get(key: string, options?: GetOptions<unknown> & GuardOptions): Promise<unknown> {
    return this.#run('get', options?.sessionId, [Permission.READ], [key], undefined, async (ctx) => this.#unlabel(ctx, 'get', key, await this.#raw.get(key, options)));
  }

  set(key: string, value: unknown, options?: SetOptions & GuardOptions & { securityLevel?: number }): Promise<void> {
    return this.#run('set', options?.sessionId, [Permission.WRITE], [key, ...(options?.dependsOn ?? [])], undefined, (ctx) => this.#raw.set(key, this.#label(ctx, 'set', key, value, options?.securityLevel), options));
  }

  has(key: string, options?: GuardOptions): Promise<boolean> {
    return this.#run('has', options?.sessionId, [Permission.READ], [key], undefined, () => this.#raw.has(key));
  }

  getMany(keys: readonly string[], options?: GuardOptions): Promise<unknown[]> {
    return this.#run('getMany', options?.sessionId, [Permission.READ], keys, undefined, async (ctx) => (await this.#raw.getMany(keys)).map((v, i) => this.#unlabel(ctx, 'getMany', keys[i], v)));
  }

  setMany(entries: readonly SetManyEntry[], options?: GuardOptions): Promise<void> {
    return this.#run('setMany', options?.sessionId, [Permission.WRITE], entries.map((e) => e.key), undefined, (ctx) =>
      this.#raw.setMany(entries.map((e) => ({ ...e, value: this.#label(ctx, 'setMany', e.key, e.value, undefined) }))),
    );
  }

  getOrSet(key: string, loader: Loader<unknown> | DataLoader<unknown>, options?: GetOrSetOptions & GuardOptions): Promise<unknown> {
    return this.#run('getOrSet', options?.sessionId, [Permission.READ, Permission.WRITE], [key], undefined, async (ctx) => {
      let wrapped = this.#wrappedLoaders.get(loader);
      if (wrapped === undefined) {
        const fn = typeof loader === 'function' ? loader : (k: string) => loader.load(k);
        // One wrapper per loader (and per level): the loader's breaker keeps seeing all its calls.
        wrapped = async (k: string) => {
          const v = await fn(k);
          return v === undefined ? undefined : this.#label(ctx, 'getOrSet', k, v, undefined);
        };
        if (ctx === null) this.#wrappedLoaders.set(loader, wrapped);
      }
      return this.#unlabel(ctx, 'getOrSet', key, await this.#raw.getOrSet(key, wrapped, options));
    });
  }

  delete(key: string, options?: GuardOptions): Promise<boolean> {
    return this.#run('delete', options?.sessionId, [Permission.DELETE], [key], undefined, async (ctx) => {
      if (ctx !== null) await this.#checkAll(ctx, 'delete', await this.#invalidation.collectCascade([key]), 'a dependent key is outside the role’s patterns');
      return this.#raw.delete(key);
    });
  }

  invalidateTags(tags: string[], options?: GuardOptions): Promise<number> {
    return this.#run('invalidateTags', options?.sessionId, [Permission.DELETE], undefined, undefined, async (ctx) => {
      if (ctx !== null && Array.isArray(tags)) {
        const members = await this.#invalidation.tagMembers(tags);
        await this.#checkAll(ctx, 'invalidateTags', members, 'a tagged key is outside the role’s patterns');
        await this.#checkAll(ctx, 'invalidateTags', await this.#invalidation.collectCascade(members), 'a dependent key is outside the role’s patterns');
      }
      return this.#raw.invalidateTags(tags);
    });
  }

  invalidatePattern(pattern: string, options?: GuardOptions): Promise<number> {
    return this.#run('invalidatePattern', options?.sessionId, [Permission.DELETE], undefined, typeof pattern === 'string' ? pattern : '', async (ctx) => {
      if (ctx !== null) {
        // The pattern is provably inside (authorize); what its keys' dependents reach may not be.
        const matched = await this.#raw.scanKeys(pattern);
        await this.#checkAll(ctx, 'invalidatePattern', await this.#invalidation.collectCascade(matched), 'a dependent key is outside the role’s patterns');
      }
      return this.#raw.invalidatePattern(pattern);
    });
  }

  clear(options?: GuardOptions): Promise<void> {
    return this.#run('clear', options?.sessionId, [Permission.ADMIN], undefined, '*', () => this.#raw.clear());
  }
}
