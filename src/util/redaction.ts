import { inspect } from 'node:util';

/** What a secret is shown as. */
export const REDACTED = '[redacted]';

/**
 * Makes `obj` show `view()` instead of itself to `util.inspect` (console.log, REPL, test
 * failure output) and `JSON.stringify`. Both are non-enumerable, so spreading or iterating
 * the object is unchanged. Held secrets (encryption keys, HMAC and session secrets, the Redis
 * password) otherwise print with the object: `cache.config` kept the keyring as given.
 */
export function redactWith<T extends object>(obj: T, view: () => unknown): T {
  Object.defineProperty(obj, inspect.custom, { value: (_depth: number, options: object) => inspect(view(), options), enumerable: false, configurable: true });
  Object.defineProperty(obj, 'toJSON', { value: view, enumerable: false, configurable: true });
  return obj;
}

/** A URL with its password (and user) masked. */
function maskUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string) => `${scheme}${REDACTED}@`);
}

/** The configuration as it may be shown: every secret replaced, the rest as it is. */
export function redactedConfig(c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  if (Array.isArray(c.encryptionKeys)) out.encryptionKeys = (c.encryptionKeys as { id: number }[]).map((k) => ({ id: k.id, key: REDACTED }));
  for (const name of ['auditHmacKey', 'redisPassword', 'sessionSecret']) if (c[name] !== undefined) out[name] = REDACTED;
  if (typeof c.redisUrl === 'string') out.redisUrl = maskUrl(c.redisUrl);
  if (Array.isArray(c.redisClusterNodes)) out.redisClusterNodes = (c.redisClusterNodes as string[]).map(maskUrl);
  if (typeof c.redisTls === 'object' && c.redisTls !== null && (c.redisTls as { key?: unknown }).key !== undefined) out.redisTls = { ...(c.redisTls as object), key: REDACTED };
  if (c.redisClient !== undefined) out.redisClient = '[a node-redis client]';
  if (c.logger !== undefined) out.logger = '[logger]';
  return out;
}
