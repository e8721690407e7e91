/** What a role may do. ADMIN implies every other permission. */
export const Permission = {
  READ: 'read',
  WRITE: 'write',
  DELETE: 'delete',
  ADMIN: 'admin',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

/** How sensitive a value is; a role reads values at or below its own level. */
export const SecurityLevel = {
  PUBLIC: 0,
  INTERNAL: 1,
  CONFIDENTIAL: 2,
  RESTRICTED: 3,
} as const;
export type SecurityLevel = (typeof SecurityLevel)[keyof typeof SecurityLevel];

export interface Role {
  name: string;
  permissions: Permission[];
  /** Redis globs of the keys this role may touch (`user:*`). */
  keyPatterns: string[];
  /** Operations per minute per user with this role (a token bucket across instances); none when absent. */
  rateLimit?: number;
  /** The highest level of value this role reads, and the default level of what it writes. */
  securityLevel: SecurityLevel;
}

/** Built in: full access. Custom roles are added with `securityManager.addCustomRole`. */
export const ADMIN_ROLE: Role = {
  name: 'admin',
  permissions: [Permission.ADMIN],
  keyPatterns: ['*'],
  securityLevel: SecurityLevel.RESTRICTED,
};

export function hasPermission(role: Role, p: Permission): boolean {
  return role.permissions.includes(Permission.ADMIN) || role.permissions.includes(p);
}
