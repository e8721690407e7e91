// Write-behind over PostgreSQL: writes are acknowledged once durably queued in Redis (a Stream),
// and reach the database later in coalesced batches. Needs Redis (CACHE_REDIS_URL).
// Run: CACHE_REDIS_URL=redis://127.0.0.1:6380 npm run example examples/pattern_write_behind.ts
import { CachePattern, createIntegratedCache, type DataWriter } from 'tiercache';
import { UsersDb, userId, type User } from './support/users_db.js';

if (!process.env.CACHE_REDIS_URL) {
  console.log('write-behind keeps its queue in Redis: set CACHE_REDIS_URL to run this example (nothing to do without it)');
  process.exit(0);
}

const db = new UsersDb();
await db.setup(0);

const writer: DataWriter<User> = {
  name: `users-${process.pid}`, // how other instances find this writer's queue
  async write(key, value) {
    await db.saveUser({ ...value, id: userId(key) });
  },
  async writeBatch(items) {
    await db.saveUsers([...items].map(([key, u]) => ({ ...u, id: userId(key) })));
  },
};

const cache = createIntegratedCache({ redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-wb-${process.pid}` }, { writeBehind: { batchSize: 500, flushIntervalMs: 50 } });
await cache.initialize();

// 1,000 writes to 100 users (10 each): each call returns once its write is queued in Redis.
const t0 = performance.now();
for (let round = 1; round <= 10; round++) {
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      cache.patternManager.setWithPattern(`user:${i}`, { id: String(i), name: `User ${i} v${round}`, email: `u${i}@example.com` }, { dataWriter: writer, pattern: CachePattern.WRITE_BEHIND }),
    ),
  );
}
console.log(`1000 writes acknowledged in ${(performance.now() - t0).toFixed(0)} ms; the cache already serves: ${(await cache.get<User>('user:5'))?.name}`);

const queue = cache.patternManager.writeBehindQueue(writer);
await cache.close(); // drains the queue into PostgreSQL
console.log(`database: ${(await db.getUser('5'))?.name}; ${queue.stats.batches} batches, ${queue.stats.coalesced} writes coalesced`);
await db.close();
