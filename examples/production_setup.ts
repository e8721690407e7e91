// The product description's "Production Setup", in TypeScript. Run: npm run example examples/production_setup.ts
// Where Redis is comes from the environment, as in a deployment: CACHE_REDIS_CLUSTER_NODES
// (e.g. 127.0.0.1:7000,127.0.0.1:7001), CACHE_SENTINELS + CACHE_SENTINEL_MASTER_NAME, or
// CACHE_REDIS_URL; with none of them it runs L1-only.
import { setupProductionCache } from 'tiercache';

async function productionExample(): Promise<void> {
  // Two app instances (in one process here, to keep the example short).
  const a = await setupProductionCache();
  const b = await setupProductionCache();
  if (!a.hasL2) console.log('(no Redis configured: each instance has only its own L1, so B sees nothing of A)');

  await a.set('critical:data', { sensitive: 'information' });
  console.log(`B reads: ${JSON.stringify(await b.get('critical:data'))}`);

  // A changes the value; B's L1 copy is invalidated through Redis, so B reads the new one.
  await a.set('critical:data', { sensitive: 'updated' });
  await new Promise((r) => setTimeout(r, 20));
  console.log(`B reads after A's update: ${JSON.stringify(await b.get('critical:data'))}`);

  const health = await b.healthCheck();
  console.log(`health: ${health.overallHealth}, topology: ${health.topology ?? 'L1 only'}`);

  await a.close();
  await b.close();
}

await productionExample();
