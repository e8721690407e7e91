import { configFromEnv } from '../config/env_config.js';
import type { IntegratedCacheOptions } from '../config/integrated_cache_config.js';
import { IntegratedCacheManager } from './integrated_cache_manager.js';
import type { UntypedSchema } from '../types/cache_schema.js';

/**
 * What a production deployment gets unless it says otherwise: coherent L1s across instances,
 * one loader per missing key across instances, compression, monitoring, L2 failures degrading
 * instead of throwing. Each is also the library default today; they are spelled out here so
 * that a change of library default never silently changes a production setup.
 */
export const PRODUCTION_DEFAULTS: IntegratedCacheOptions = {
  enableL1Cache: true,
  enableCoherence: true,
  enableDistributedLock: true,
  enableCompression: true,
  enableMonitoring: true,
  suppressL2Errors: true,
};

/**
 * A ready (initialized) cache for production: {@link PRODUCTION_DEFAULTS}, then the `CACHE_*`
 * environment variables, then `options` (later wins). Pass `redisClusterNodes`, `sentinels` +
 * `sentinelMasterName` or `redisUrl`, here or through the environment.
 *
 * ```ts
 * const cache = await setupProductionCache({ redisClusterNodes: ['redis-node1:6379', 'redis-node2:6379'] });
 * ```
 */
export async function setupProductionCache<S extends object = UntypedSchema>(
  options: IntegratedCacheOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<IntegratedCacheManager<S>> {
  const fromEnv = configFromEnv(env);
  // An endpoint given in code replaces the environment's (they cannot be combined).
  const endpointKeys = ['redisUrl', 'redisClient', 'redisClusterNodes', 'sentinels', 'sentinelMasterName'] as const;
  if (endpointKeys.some((k) => options[k] !== undefined)) for (const k of endpointKeys) delete fromEnv[k];
  const cache = new IntegratedCacheManager<S>({ ...PRODUCTION_DEFAULTS, ...fromEnv, ...options });
  await cache.initialize();
  return cache;
}
