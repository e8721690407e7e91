/**
 * The chaos test's third instance: it becomes the queue's leader first, stalls (Atomics.wait)
 * inside its first write for `stallMs` (past its lease), then keeps writing its own keys c:0..9
 * with increasing n until it is SIGKILLed. It reports each write's attempt and acknowledgement.
 */
import { CachePattern, createIntegratedCache } from '../../src/index.js';
import { FencedTable } from './fenced_table.js';

const [redisUrl, namespace, table, stallMs] = process.argv.slice(2);
const db = await FencedTable.create(table);
const writer = db.chaosWriter(`chaos-${table}`, { stall: { ms: Number(stallMs), before: () => process.send?.({ stalling: true }), after: () => process.send?.({ resumed: true }) } });
const cache = createIntegratedCache({ redisUrl, namespace, logLevel: 'silent', l2CommandTimeoutMs: 500 }, { writeBehind: { leaseMs: 500, flushIntervalMs: 10, maxRetryMs: 20_000 } });
await cache.initialize();
for (let n = 1; ; n++) {
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const key = `c:${i}`;
      process.send?.({ attempt: { key, n } });
      try {
        await cache.patternManager.setWithPattern(key, { n }, { dataWriter: writer, pattern: CachePattern.WRITE_BEHIND });
        process.send?.({ acked: { key, n } });
      } catch {
        // not acknowledged: the parent counts it as attempted only
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 20));
}
