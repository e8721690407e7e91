// The product description's "Basic Usage", in TypeScript. Run: npm run example examples/basic_usage.ts
// Uses CACHE_REDIS_URL when set (e.g. redis://127.0.0.1:6380), else runs L1-only.
import { createIntegratedCache } from 'tiercache';

async function basicExample(): Promise<void> {
  // Create cache with simple configuration
  const cache = createIntegratedCache({
    ...(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL } : {}),
    enableSecurity: false,
    enableMonitoring: true,
  });

  await cache.initialize();

  // Basic operations
  await cache.set('user:123', { name: 'John', email: 'john@example.com' });
  const user = await cache.get('user:123');

  console.log(`User: ${JSON.stringify(user)}`);

  // Get statistics
  const stats = await cache.getStats();
  console.log(`Hit rate: ${(stats.hitRate * 100).toFixed(2)}%`);

  await cache.close();
}

await basicExample();
