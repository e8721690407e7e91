// Refresh-ahead over PostgreSQL: a hot key is reloaded in the background before it expires, so
// readers never wait on the database. Run: npm run example examples/pattern_refresh_ahead.ts
import { CachePattern, createIntegratedCache } from 'tiercache';
import { UsersDb } from './support/users_db.js';

const db = new UsersDb();
await db.setup(1);

const cache = createIntegratedCache(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-ra-${process.pid}` } : {});
await cache.initialize();
// Keys under "user:" live 0.5 s and are reloaded once they are 60% through that.
cache.patternManager.configurePrefix('user:', { readPattern: CachePattern.REFRESH_AHEAD, ttl: 0.5, refreshAheadFactor: 0.6 });

const loader = (key: string) => db.getUser(key.slice('user:'.length));
await cache.patternManager.getOrSet('user:1', loader);
const missesBefore = (await cache.getStats()).misses;
let slowest = 0;
const end = Date.now() + 2000; // four TTL periods
while (Date.now() < end) {
  const t = performance.now();
  await cache.patternManager.getOrSet('user:1', loader);
  slowest = Math.max(slowest, performance.now() - t);
  await new Promise((r) => setTimeout(r, 20));
}
const stats = await cache.getStats();
console.log(`misses while reading for 4 TTL periods: ${stats.misses - missesBefore}; background reloads: ${cache.patternManager.stats.refreshes}; slowest read ${slowest.toFixed(2)} ms`);

await cache.close();
await db.close();
