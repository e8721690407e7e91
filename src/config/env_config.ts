import { InvalidOptionsError } from '../errors.js';
import type { IntegratedCacheOptions } from './integrated_cache_config.js';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'list' | 'keyring' | readonly string[];

/**
 * Every `CACHE_*` variable tiercache reads, and the option it sets. The name is the option's in
 * SCREAMING_SNAKE_CASE (`l1MaxSize` → `CACHE_L1_MAX_SIZE`); the value is parsed per kind, then
 * validated by the same schema as options passed in code.
 */
export const ENV_VARIABLES: Readonly<Record<string, { option: keyof IntegratedCacheOptions; kind: Kind }>> = {
  CACHE_REDIS_URL: { option: 'redisUrl', kind: 'string' },
  CACHE_REDIS_CLUSTER_NODES: { option: 'redisClusterNodes', kind: 'list' },
  CACHE_SENTINELS: { option: 'sentinels', kind: 'list' },
  CACHE_SENTINEL_MASTER_NAME: { option: 'sentinelMasterName', kind: 'string' },
  CACHE_NAMESPACE: { option: 'namespace', kind: 'string' },
  CACHE_ENABLE_L1_CACHE: { option: 'enableL1Cache', kind: 'bool' },
  CACHE_L1_MAX_SIZE: { option: 'l1MaxSize', kind: 'int' },
  CACHE_L1_MAX_BYTES: { option: 'l1MaxBytes', kind: 'int' },
  CACHE_L1_POLICY: { option: 'l1Policy', kind: ['adaptive-tinylfu', 'lru'] },
  CACHE_DEFAULT_TTL: { option: 'defaultTtl', kind: 'number' },
  CACHE_DEFAULT_GRACE: { option: 'defaultGrace', kind: 'number' },
  CACHE_LOADER_SOFT_TIMEOUT_MS: { option: 'loaderSoftTimeoutMs', kind: 'int' },
  CACHE_LOADER_HARD_TIMEOUT_MS: { option: 'loaderHardTimeoutMs', kind: 'int' },
  CACHE_SERIALIZER: { option: 'serializer', kind: ['json', 'msgpack', 'v8'] },
  CACHE_ENABLE_COMPRESSION: { option: 'enableCompression', kind: 'bool' },
  CACHE_COMPRESS_ENCRYPTED: { option: 'compressEncrypted', kind: 'bool' },
  CACHE_COMPRESSION_THRESHOLD: { option: 'compressionThreshold', kind: 'int' },
  CACHE_MAX_VALUE_BYTES: { option: 'maxValueBytes', kind: 'int' },
  CACHE_MAX_KEY_LENGTH: { option: 'maxKeyLength', kind: 'int' },
  CACHE_ALLOWED_KEY_PATTERN: { option: 'allowedKeyPattern', kind: 'string' },
  CACHE_SESSION_SECRET: { option: 'sessionSecret', kind: 'string' },
  CACHE_MAX_TAGS_PER_KEY: { option: 'maxTagsPerKey', kind: 'int' },
  CACHE_MAX_DEPENDENCIES: { option: 'maxDependencies', kind: 'int' },
  CACHE_MAX_BATCH_SIZE: { option: 'maxBatchSize', kind: 'int' },
  CACHE_ENABLE_MONITORING: { option: 'enableMonitoring', kind: 'bool' },
  CACHE_SUPPRESS_L2_ERRORS: { option: 'suppressL2Errors', kind: 'bool' },
  CACHE_L2_COMMAND_TIMEOUT_MS: { option: 'l2CommandTimeoutMs', kind: 'int' },
  CACHE_CONNECT_TIMEOUT_MS: { option: 'connectTimeoutMs', kind: 'int' },
  CACHE_L2_MAX_BATCH: { option: 'l2MaxBatch', kind: 'int' },
  CACHE_REDIS_CONNECTIONS: { option: 'redisConnections', kind: 'int' },
  CACHE_REDIS_SCRIPTED_WRITES: { option: 'redisScriptedWrites', kind: 'bool' },
  CACHE_ENABLE_COHERENCE: { option: 'enableCoherence', kind: 'bool' },
  CACHE_COHERENCE_STALENESS_MS: { option: 'coherenceStalenessMs', kind: 'int' },
  CACHE_ENABLE_DISTRIBUTED_LOCK: { option: 'enableDistributedLock', kind: 'bool' },
  CACHE_LOCK_LEASE_MS: { option: 'lockLeaseMs', kind: 'int' },
  CACHE_LOCK_WAIT_MS: { option: 'lockWaitMs', kind: 'int' },
  CACHE_CONSISTENCY_LEVEL: { option: 'consistencyLevel', kind: ['strong', 'eventual', 'weak', 'session'] },
  CACHE_DEFAULT_READ_PATTERN: { option: 'defaultReadPattern', kind: ['cache_aside', 'read_through', 'refresh_ahead'] },
  CACHE_DEFAULT_WRITE_PATTERN: { option: 'defaultWritePattern', kind: ['cache_aside', 'write_through', 'write_behind'] },
  CACHE_LOG_LEVEL: { option: 'logLevel', kind: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  CACHE_ENABLE_ENCRYPTION: { option: 'enableEncryption', kind: 'bool' },
  // Secrets: parse errors name the variable, never echo the value.
  CACHE_ENCRYPTION_KEY: { option: 'encryptionKeys', kind: 'keyring' },
  CACHE_ENCRYPTION_KEYRING: { option: 'encryptionKeys', kind: 'keyring' },
  CACHE_ENCRYPTION_KEY_ID: { option: 'encryptionKeyId', kind: 'int' },
  CACHE_ENABLE_SECURITY: { option: 'enableSecurity', kind: 'bool' },
  CACHE_AUDIT_LOG_PATH: { option: 'auditLogPath', kind: 'string' },
  CACHE_AUDIT_HMAC_KEY: { option: 'auditHmacKey', kind: 'string' },
  CACHE_INSTANCE_ID: { option: 'instanceId', kind: 'string' },
  CACHE_ENABLE_ACCESS_CONTROL: { option: 'enableAccessControl', kind: 'bool' },
  CACHE_ENABLE_MEMORY_MONITORING: { option: 'enableMemoryMonitoring', kind: 'bool' },
  CACHE_MEMORY_THRESHOLD_MB: { option: 'memoryThresholdMb', kind: 'number' },
  CACHE_MEMORY_CHECK_INTERVAL_MS: { option: 'memoryCheckIntervalMs', kind: 'int' },
  CACHE_TEMPORARY_KEY_PATTERNS: { option: 'temporaryKeyPatterns', kind: 'list' },
};

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function parse(name: string, raw: string, kind: Kind): unknown {
  const v = raw.trim();
  const bad = (accepted: string): never => {
    throw new InvalidOptionsError(name, `${JSON.stringify(raw)} is not accepted; expected ${accepted}`);
  };
  if (Array.isArray(kind)) return kind.includes(v) ? v : bad(`one of ${kind.join(', ')}`);
  switch (kind) {
    case 'string':
      return v.length > 0 ? v : bad('a non-empty string');
    case 'bool':
      if (TRUE.has(v.toLowerCase())) return true;
      if (FALSE.has(v.toLowerCase())) return false;
      return bad('true/false (also 1/0, yes/no, on/off)');
    case 'int':
      return /^-?\d+$/.test(v) ? Number(v) : bad('an integer');
    case 'number':
      return v !== '' && Number.isFinite(Number(v)) ? Number(v) : bad('a number');
    case 'keyring': {
      // "KEY" (id 1) or "id:KEY,id:KEY" — the key text is never put in a message.
      const secret = (): never => {
        throw new InvalidOptionsError(name, 'is not accepted; expected a base64 / 64-hex-digit key, or id:key pairs separated by commas (ids 1-255)');
      };
      const parts = v.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
      if (parts.length === 0) return secret();
      if (parts.length === 1 && !/^\d{1,3}:/.test(parts[0])) return [{ id: 1, key: parts[0] }];
      return parts.map((p) => {
        const m = /^(\d{1,3}):(.+)$/.exec(p);
        return m ? { id: Number(m[1]), key: m[2] } : secret();
      });
    }
    case 'list': {
      const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      return items.length > 0 ? items : bad('a comma-separated list, e.g. host1:6379,host2:6379');
    }
  }
  return bad('a value');
}

/**
 * Options from `CACHE_*` environment variables (see {@link ENV_VARIABLES}). Unset and empty
 * variables are skipped; a malformed one throws `InvalidOptionsError` naming the variable and the
 * values it accepts. Range checks happen when the options reach `createIntegratedCache`, which
 * names the option.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): IntegratedCacheOptions {
  const out: Record<string, unknown> = {};
  for (const [name, { option, kind }] of Object.entries(ENV_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    out[option] = parse(name, raw, kind);
  }
  return out as IntegratedCacheOptions;
}
