import { requireShape } from '../guards/argument_validator.js';
import type { CacheOperations, GuardOptions } from '../types/cache_operations.js';
import type { Role } from './role.js';
import type { AccessControl } from './access_control.js';

/**
 * Roles and sessions: what `cache.securityManager` returns. These are the owner's delegation
 * calls (a session must exist before any call can carry one): without `options.sessionId` they
 * run as the owner of the cache object; with one, that session must hold ADMIN, or the call is
 * refused and audited like any other. Authorization and the audit trail themselves are not
 * reachable from here: they run inside the guard chain.
 */
export class SecurityManager {
  readonly #access: AccessControl;
  readonly #ops: CacheOperations;

  /** @internal Built by the cache (`cache.securityManager`) around its access control. */
  constructor(manager: AccessControl, ops: CacheOperations) {
    this.#access = manager;
    this.#ops = ops;
  }

  #asOwnerOrAdmin<R>(op: string, options: GuardOptions | undefined, fn: () => R | Promise<R>): Promise<R> {
    try {
      requireShape.options(op, options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (typeof options === 'object' && options !== null && options.sessionId !== undefined) return this.#ops.admin(op, options, fn);
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Adds (or replaces) a role. Validated: a malformed role is an error, not a silently wider one. */
  addCustomRole(role: Role, options?: GuardOptions): Promise<void> {
    return this.#asOwnerOrAdmin('addCustomRole', options, () => this.#access.addCustomRole(role));
  }

  /** Removes a role: its sessions stop working at once. */
  removeRole(name: string, options?: GuardOptions): Promise<boolean> {
    return this.#asOwnerOrAdmin('removeRole', options, () => this.#access.removeRole(name));
  }

  /** The role named `name`, if any (a frozen copy). */
  getRole(name: string, options?: GuardOptions): Promise<Role | undefined> {
    return this.#asOwnerOrAdmin('getRole', options, () => this.#access.getRole(name));
  }

  /** A new session for `userId` with `roleName`; its id is an unguessable 256-bit bearer token. `ttl` in seconds. */
  createSession(userId: string, roleName: string, options: { ttl?: number } & GuardOptions = {}): Promise<string> {
    return this.#asOwnerOrAdmin('createSession', options, () => this.#access.createSession(userId, roleName, options ?? {}));
  }

  /** Ends a session on every instance. Resolves to whether it existed. */
  revokeSession(sessionId: string, options?: GuardOptions): Promise<boolean> {
    return this.#asOwnerOrAdmin('revokeSession', options, () => this.#access.revokeSession(sessionId));
  }

  /** Denials so far. */
  get denied(): number {
    return this.#access.denied;
  }
}
