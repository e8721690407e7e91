/**
 * Everything that needs `@redis/client` at run time, behind one dynamic import: tier_setup.ts
 * loads this module only when the config names a Redis endpoint, so an L1-only cache (and a bare
 * `import 'tiercache'`) never parses node-redis (about 200 ms on a slow machine, docs/benchmarks.md).
 */
export { CoherenceWatchdog } from '../../coherence/coherence_watchdog.js';
export { StampedeLock } from '../../coherence/stampede_lock.js';
export { TrackingInvalidator } from '../../coherence/tracking_invalidator.js';
export { isConfigurationError, openBackend } from './redis_connection.js';
export { RedisTier } from './redis_tier.js';
