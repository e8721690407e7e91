// Cache-aside over PostgreSQL, from the product description's "Cache-Aside Pattern", plus the
// pattern manager's cache-aside writes. Run: npm run example examples/cache_aside.ts   (CACHE_REDIS_URL optional)
import { CachePattern, createIntegratedCache, type DataWriter } from 'tiercache';
import { UsersDb, userId, type User } from './support/users_db.js';

const database = new UsersDb();
await database.setup(3);

const cache = createIntegratedCache(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-aside-${process.pid}` } : {});
await cache.initialize();

// Cache-aside: the application checks the cache, loads on a miss, and stores the result.
async function getUserWithCacheAside(id: string): Promise<User | undefined> {
  let user = await cache.get<User>(`user:${id}`);
  if (user === undefined) {
    user = await database.getUser(id);
    if (user) await cache.set(`user:${id}`, user, { ttl: 3600 });
  }
  return user;
}

const first = await getUserWithCacheAside('1');
const again = await getUserWithCacheAside('1');
console.log(`${first?.name} / ${again?.name}: ${database.queries} database query for two reads`);

// Read-through with single flight: 100 concurrent requests, one database query.
const before = database.queries;
await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('user:2', () => database.getUser('2'), { ttl: 3600 })));
console.log(`100 concurrent reads of user:2 cost ${database.queries - before} database query`);

// A cache-aside write: the database is updated and the cached copy dropped; the next read reloads.
const writer: DataWriter<User> = { write: (key, user) => database.saveUser({ ...user, id: userId(key) }) };
await cache.patternManager.setWithPattern('user:1', { id: '1', name: 'Renamed', email: 'user1@example.com' }, { dataWriter: writer, pattern: CachePattern.CACHE_ASIDE });
console.log(`after the write: cached ${JSON.stringify(await cache.get('user:1'))}, read again: ${(await getUserWithCacheAside('1'))?.name}`);

await cache.invalidatePattern('user:*');
await cache.close();
await database.close();
