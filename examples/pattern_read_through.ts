// Read-through over PostgreSQL, from the product description's "Read-Through Pattern".
// Run: npm run example examples/pattern_read_through.ts   (CACHE_REDIS_URL optional)
import { CachePattern, createIntegratedCache, type DataLoader } from 'tiercache';
import { UsersDb, userId, type User } from './support/users_db.js';

const db = new UsersDb();
await db.setup(20);

class UserDataLoader implements DataLoader<User> {
  async load(key: string): Promise<User | undefined> {
    return db.getUser(userId(key));
  }

  // Batch loading: one query for every key a multi-key read misses.
  async loadBatch(keys: string[]): Promise<Map<string, User>> {
    const users = await db.getUsers(keys.map(userId));
    return new Map(users.map((u) => [`user:${u.id}`, u]));
  }
}

const cache = createIntegratedCache(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-rt-${process.pid}` } : {});
await cache.initialize();
const loader = new UserDataLoader();

// 100 concurrent readers of one user: one query.
const users = await Promise.all(Array.from({ length: 100 }, () => cache.patternManager.getOrSet('user:7', loader, { pattern: CachePattern.READ_THROUGH })));
console.log(`user:7 → ${users[0]?.name}; queries so far: ${db.queries}`);

// 20 users, 19 of them not cached yet: one batched query.
const before = db.queries;
const many = await cache.patternManager.getMany(Array.from({ length: 20 }, (_, i) => `user:${i + 1}`), loader);
console.log(`loaded ${many.filter(Boolean).length} users with ${db.queries - before} query`);

await cache.close();
await db.close();
