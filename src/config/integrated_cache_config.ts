import { InvalidOptionsError } from '../errors.js';
import { redactedConfig, redactWith } from '../util/redaction.js';
import { integratedCacheConfigSchema } from './config_schema.js';
import type { IntegratedCacheConfig, IntegratedCacheOptions, OptionsWithoutDefault } from './integrated_cache_options.js';

export type { IntegratedCacheConfig, IntegratedCacheOptions, OptionsWithoutDefault };

/** Validates `options` and applies defaults. Throws `InvalidOptionsError` naming the first bad option. */
export function resolveConfig(options: IntegratedCacheOptions = {}): IntegratedCacheConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('(root)', 'options must be an object');
  const parsed = integratedCacheConfigSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option =
      issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new InvalidOptionsError(option, issue.code === 'unrecognized_keys' ? 'unknown option' : issue.message);
  }
  const d = parsed.data;
  const endpoints = (['redisUrl', 'redisClient', 'redisClusterNodes', 'sentinels'] as const).filter((k) => d[k] !== undefined);
  if (endpoints.length > 1) {
    throw new InvalidOptionsError(endpoints[1], `cannot be combined with ${endpoints[0]}: give one way to reach Redis`);
  }
  if (d.enableEncryption && d.encryptionKeys === undefined && !process.env.CACHE_ENCRYPTION_KEY && !process.env.CACHE_ENCRYPTION_KEYRING) {
    // Asking for encryption without a key must not start an unencrypted cache.
    throw new InvalidOptionsError('encryptionKeys', 'required when enableEncryption is true (or set CACHE_ENCRYPTION_KEY / CACHE_ENCRYPTION_KEYRING)');
  }
  if (d.redisTls !== undefined && [d.redisUrl, ...(d.redisClusterNodes ?? [])].some((u) => u?.startsWith('redis://'))) {
    // An explicit plaintext URL and TLS settings contradict each other: say so rather than guess.
    throw new InvalidOptionsError('redisTls', 'needs rediss:// URLs (a redis:// URL asks for plaintext)');
  }
  if (d.sentinels !== undefined && d.sentinelMasterName === undefined) {
    throw new InvalidOptionsError('sentinelMasterName', 'is required with sentinels');
  }
  if (d.sentinelMasterName !== undefined && d.sentinels === undefined) {
    throw new InvalidOptionsError('sentinels', 'is required with sentinelMasterName');
  }
  // The resolved config is public (`cache.config`) and holds the keyring: it never prints it.
  return redactWith(d, () => redactedConfig(d));
}
