import { describe, expect, it } from 'vitest';
import { configFromEnv, ENV_VARIABLES } from '../src/config/env_config.js';
import { integratedCacheConfigSchema } from '../src/config/config_schema.js';
import { resolveConfig } from '../src/config/integrated_cache_config.js';
import { InvalidOptionsError } from '../src/errors.js';
import { setupProductionCache } from '../src/index.js';

describe('configuration from CACHE_* environment variables', () => {
  it('reads the seed’s variables into options', () => {
    const options = configFromEnv({
      CACHE_REDIS_URL: 'redis://redis-cluster:6379',
      CACHE_ENABLE_MONITORING: 'true',
      CACHE_DEFAULT_TTL: '3600',
      CACHE_L1_MAX_SIZE: '10000',
      CACHE_SERIALIZER: 'msgpack',
      CACHE_REDIS_CLUSTER_NODES: undefined,
      CACHE_NAMESPACE: '',
    });
    expect(options).toEqual({ redisUrl: 'redis://redis-cluster:6379', enableMonitoring: true, defaultTtl: 3600, l1MaxSize: 10000, serializer: 'msgpack' });
    expect(configFromEnv({ CACHE_REDIS_CLUSTER_NODES: ' a:1, b:2 ,' }).redisClusterNodes).toEqual(['a:1', 'b:2']);
  });

  it('every variable names a real option (SCREAMING_SNAKE of the option name)', () => {
    const schemaKeys = Object.keys(integratedCacheConfigSchema.shape);
    for (const [name, { option }] of Object.entries(ENV_VARIABLES)) {
      // The keyring has two spellings (one key, or id:key pairs); both set encryptionKeys.
      if (option === 'encryptionKeys') continue;
      expect(name).toBe(`CACHE_${option.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`);
      if (!['enableEncryption', 'enableSecurity', 'enableAccessControl', 'enableMemoryMonitoring'].includes(option)) {
        expect(schemaKeys).toContain(option);
      }
    }
  });

  it.each([
    ['CACHE_ENABLE_MONITORING', 'maybe', 'true/false'],
    ['CACHE_L1_MAX_SIZE', '10k', 'an integer'],
    ['CACHE_DEFAULT_TTL', 'soon', 'a number'],
    ['CACHE_SERIALIZER', 'pickle', 'json, msgpack, v8'],
    ['CACHE_REDIS_CLUSTER_NODES', ',', 'comma-separated'],
  ])('%s=%s is refused naming the variable and what it accepts', (name, value, accepted) => {
    try {
      configFromEnv({ [name]: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).option).toBe(name);
      expect((err as Error).message).toContain(name);
      expect((err as Error).message).toContain(accepted);
    }
  });

  it('range errors are reported by the schema, naming the option', () => {
    expect(() => resolveConfig(configFromEnv({ CACHE_L1_MAX_SIZE: '0' }))).toThrow(/l1MaxSize/);
  });

  it('CACHE_ENABLE_ENCRYPTION=true without a key is refused, not run unencrypted', () => {
    expect(() => resolveConfig(configFromEnv({ CACHE_ENABLE_ENCRYPTION: 'true' }))).toThrow(/encryptionKeys/);
  });

  it('setupProductionCache: environment, then code options; initialized and usable (L1 only here)', async () => {
    const cache = await setupProductionCache({ l1MaxSize: 50 }, { CACHE_L1_MAX_SIZE: '10', CACHE_DEFAULT_TTL: '60', CACHE_LOG_LEVEL: 'silent' });
    expect(cache.config.l1MaxSize).toBe(50);
    expect(cache.config.defaultTtl).toBe(60);
    await cache.set('critical:data', { sensitive: 'information' });
    expect(await cache.get('critical:data')).toEqual({ sensitive: 'information' });
    await cache.close();
  });
});
