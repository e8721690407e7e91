// Route caching in Express: a middleware that answers GET routes from tiercache and lets one
// request per URL (across every instance, with Redis) run the handler; a write invalidates by tag.
// Run: npm run example examples/express_route_cache.ts
// Uses CACHE_REDIS_URL when set (e.g. redis://127.0.0.1:6380), else runs L1-only.
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createIntegratedCache } from 'tiercache';

interface CachedResponse {
  status: number;
  body: unknown;
}
// Typed keys: everything under 'route:' is a cached response.
const cache = createIntegratedCache<{ 'route:': CachedResponse }>({
  ...(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-express-${process.pid}` } : {}),
  logLevel: 'warn',
});
await cache.initialize();

/**
 * Caches a GET route's JSON for `ttl` seconds, tagged so writes can drop it. Concurrent misses of
 * one URL share one handler run (getOrSet's single flight, and with Redis its distributed lock).
 */
function cacheRoute(ttl: number, tags: (req: Request) => string[]) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let ranHandler = false;
    try {
      const cached = await cache.getOrSet(
        `route:${req.originalUrl}`,
        () =>
          new Promise<CachedResponse>((resolve, reject) => {
            ranHandler = true;
            // Capture what the handler sends instead of sending it, then answer from the cache.
            res.json = (body: unknown) => {
              resolve({ status: res.statusCode, body });
              return res;
            };
            next();
            res.once('error', reject);
          }),
        { ttl, tags: tags(req) },
      );
      res.set('x-cache', ranHandler ? 'MISS' : 'HIT').status(cached.status).send(JSON.stringify(cached.body));
    } catch (err) {
      next(err);
    }
  };
}

// The "database": a product table and a count of how often the slow query ran.
const products = new Map<string, { id: string; name: string; price: number }>([['1', { id: '1', name: 'Lamp', price: 30 }]]);
let queries = 0;

const app = express();
app.use(express.json());
app.get(
  '/products/:id',
  cacheRoute(60, (req) => [`product:${req.params.id}`]),
  async (req, res) => {
    queries++;
    await new Promise((r) => setTimeout(r, 50)); // a slow query
    const p = products.get(req.params.id as string);
    res.status(p ? 200 : 404).json(p ?? { error: 'not found' });
  },
);
app.put('/products/:id', async (req, res) => {
  const id = req.params.id;
  products.set(id, { id, ...(req.body as { name: string; price: number }) });
  // Every cached route showing this product goes, on every instance.
  const dropped = await cache.invalidateTags([`product:${id}`]);
  res.json({ updated: id, droppedRoutes: dropped });
});

let hits = 0;
cache.on('hit', () => hits++);

const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

try {
  // Ten concurrent requests for one product: one query.
  const first = await Promise.all(Array.from({ length: 10 }, () => fetch(`${base}/products/1`)));
  const labels = first.map((r) => r.headers.get('x-cache'));
  console.log(`10 concurrent GETs: ${labels.filter((l) => l === 'MISS').length} MISS, ${labels.filter((l) => l === 'HIT').length} HIT; queries: ${queries}`);
  const again = await fetch(`${base}/products/1`);
  console.log(`next GET: ${again.headers.get('x-cache')} ${await again.text()}; queries: ${queries}`);

  const put = await fetch(`${base}/products/1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Lamp', price: 25 }) });
  console.log(`PUT: ${await put.text()}`);
  const fresh = await fetch(`${base}/products/1`);
  console.log(`GET after PUT: ${fresh.headers.get('x-cache')} ${await fresh.text()}; queries: ${queries}`);
  const missing = await fetch(`${base}/products/9`);
  console.log(`GET a missing product: ${missing.status} (cached too: a 404 is an answer); cache hits seen: ${hits}`);
} finally {
  server.close();
  await cache.clear();
  await cache.close();
}
