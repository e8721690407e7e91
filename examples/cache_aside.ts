// Cache-aside and read-through with getOrSet, from the product description's "Cache Patterns".
// Run: npm run example examples/cache_aside.ts   (CACHE_REDIS_URL optional)
import { createIntegratedCache } from 'tiercache';

interface User {
  id: string;
  name: string;
}

// Stand-in for a database: counts how often it is queried.
const database = {
  queries: 0,
  async getUser(id: string): Promise<User | undefined> {
    this.queries++;
    await new Promise((r) => setTimeout(r, 5));
    return id === 'missing' ? undefined : { id, name: `User ${id}` };
  },
};

const cache = createIntegratedCache(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: 'example-aside' } : {});
await cache.initialize();

// Cache-aside: the application checks the cache, loads on a miss, and stores the result.
async function getUserWithCacheAside(userId: string): Promise<User | undefined> {
  let user = await cache.get<User>(`user:${userId}`);
  if (user === undefined) {
    user = await database.getUser(userId);
    if (user) await cache.set(`user:${userId}`, user, { ttl: 3600 });
  }
  return user;
}

console.log(await getUserWithCacheAside('1'), await getUserWithCacheAside('1'));

// Read-through with single flight: 100 concurrent requests, one database query.
const before = database.queries;
await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('user:2', () => database.getUser('2'), { ttl: 3600 })));
console.log(`100 concurrent reads of user:2 cost ${database.queries - before} database query`);

await cache.invalidatePattern('user:*');
await cache.close();
