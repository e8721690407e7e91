// Prints one Prometheus scrape of an L1-only cache after mixed traffic, for `promtool check metrics`
// in CI: the exposition is checked as Prometheus itself would read it, not as our tests parse it.
import { createIntegratedCache } from '../src/index.js';

const cache = createIntegratedCache({ logLevel: 'silent', namespace: 'scrape', l1MaxSize: 200 });
await cache.initialize();
for (let i = 0; i < 2000; i++) {
  const key = `k${(i * 7919) % 500}`;
  if (i % 10 === 0) await cache.set(key, { i });
  else if (i % 17 === 0) await cache.delete(key);
  else if (i % 3 === 0) await cache.get(key);
  else await cache.getOrSet(key, () => ({ i }));
}
process.stdout.write(await cache.metrics());
await cache.close();
