// Write-through over PostgreSQL, from the product description's "Write-Through Pattern".
// Run: npm run example examples/pattern_write_through.ts   (CACHE_REDIS_URL optional)
import { CachePattern, createIntegratedCache, type DataWriter } from 'tiercache';
import { UsersDb, userId, type User } from './support/users_db.js';

const db = new UsersDb();
await db.setup(2);

class UserDataWriter implements DataWriter<User> {
  async write(key: string, value: User): Promise<boolean> {
    await db.saveUser({ ...value, id: userId(key) });
    return true;
  }

  async writeBatch(items: Map<string, User>): Promise<boolean> {
    await db.saveUsers([...items].map(([key, u]) => ({ ...u, id: userId(key) })));
    return true;
  }
}

const cache = createIntegratedCache(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-wt-${process.pid}` } : {});
await cache.initialize();
const writer = new UserDataWriter();

const success = await cache.patternManager.setWithPattern('user:123', { id: '123', name: 'John', email: 'john@example.com' }, { dataWriter: writer, pattern: CachePattern.WRITE_THROUGH });
console.log(`written: ${success}; database has: ${(await db.getUser('123'))?.name}; cache has: ${(await cache.get<User>('user:123'))?.name}`);

// The source refuses (the email belongs to user 1): the caller gets the error, the cache keeps the old value.
try {
  await cache.patternManager.setWithPattern('user:123', { id: '123', name: 'John', email: 'user1@example.com' }, { dataWriter: writer });
} catch (err) {
  console.log(`refused by the database: ${(err as Error).message.split('\n')[0]}`);
}
console.log(`cache still has: ${(await cache.get<User>('user:123'))?.email}`);

await cache.close();
await db.close();
