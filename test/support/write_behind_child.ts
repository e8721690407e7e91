/**
 * A process that acknowledges 10,000 write-behind writes (1,000 keys × versions 1..10) into a
 * PostgreSQL table through a slow writer, reports "acked", and keeps flushing until it is killed.
 */
import { CachePattern, createIntegratedCache } from '../../src/index.js';
import { UsersTable } from './postgres.js';

const [redisUrl, namespace, table] = process.argv.slice(2);
const users = await UsersTable.create(table);
users.writeDelayMs = 40; // slow enough that the flush is mid-way when the test kills us
const cache = createIntegratedCache({ redisUrl, namespace, logLevel: 'silent' }, { writeBehind: { batchSize: 200, leaseMs: 1000 } });
await cache.initialize();
const keys = Array.from({ length: 1000 }, (_, i) => `user:${i}`);
for (let v = 1; v <= 10; v++) {
  await Promise.all(keys.map((k) => cache.patternManager.setWithPattern(k, { v }, { dataWriter: users, pattern: CachePattern.WRITE_BEHIND })));
}
process.send?.({ acked: 10_000 });
setInterval(() => process.send?.({ batches: users.batchWrites }), 20);
