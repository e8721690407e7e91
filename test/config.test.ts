import { describe, expect, it } from 'vitest';
import { createIntegratedCache, resolveConfig } from '../src/index.js';
import { InvalidOptionsError } from '../src/errors.js';

function optionError(options: unknown): InvalidOptionsError {
  try {
    resolveConfig(options as never);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect((err as InvalidOptionsError).code).toBe('E_INVALID_OPTIONS');
    return err as InvalidOptionsError;
  }
  throw new Error('expected an InvalidOptionsError');
}

describe('IntegratedCacheConfig', () => {
  it('applies the documented defaults', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({ l1Policy: 'adaptive-tinylfu', namespace: 'tiercache', enableL1Cache: true, l1MaxSize: 10_000, defaultTtl: 3600, serializer: 'json', enableCompression: true, compressionThreshold: 1024 });
  });

  it.each([
    [{ l1MaxSize: 0 }, 'l1MaxSize'],
    [{ l1MaxSize: 1.5 }, 'l1MaxSize'],
    [{ defaultTtl: -1 }, 'defaultTtl'],
    [{ defaultTtl: 'soon' }, 'defaultTtl'],
    [{ redisUrl: 'http://x' }, 'redisUrl'],
    [{ serializer: 'pickle' }, 'serializer'],
    [{ namespace: 'has space' }, 'namespace'],
    [{ compressionThreshold: -5 }, 'compressionThreshold'],
    [{ l1MaxSixe: 10 }, 'l1MaxSixe'],
    [{ enableEncryption: true }, 'encryptionKeys'],
    [{ memoryThresholdMb: 0 }, 'memoryThresholdMb'],
    [{ enableMemoryMonitoring: 'yes' }, 'enableMemoryMonitoring'],
    [{ redisClusterNodes: ['no-port'] }, 'redisClusterNodes.0'],
    [{ redisClusterNodes: [] }, 'redisClusterNodes'],
    [{ redisUrl: 'redis://a', redisClusterNodes: ['a:1'] }, 'redisClusterNodes'],
    [{ sentinels: ['a:1'] }, 'sentinelMasterName'],
    [{ sentinelMasterName: 'm' }, 'sentinels'],
    [{ coherenceStalenessMs: 0 }, 'coherenceStalenessMs'],
    [{ redisUrl: 'redis://a', redisClient: { sendCommand() {} } }, 'redisClient'],
    [{ l1Policy: 'arc' }, 'l1Policy'],
  ])('%j is refused naming %s', (options, name) => {
    const err = optionError(options);
    expect(err.option).toBe(name);
    expect(err.message).toContain(name);
  });

  it('accepts the seed basic example options', () => {
    expect(() => createIntegratedCache({ redisUrl: 'redis://localhost:6379', enableSecurity: false, enableMonitoring: true })).not.toThrow();
  });
});
