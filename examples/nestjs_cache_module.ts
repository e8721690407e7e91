// NestJS CacheModule on tiercache: `@nestjs/cache-manager` takes a Keyv instance whose store is
// tiercache's Keyv adapter, so CacheInterceptor's route cache gets L1, Redis L2 and coherence.
// CacheInterceptor does not merge concurrent misses (each request that finds nothing runs the
// handler); GetOrSetInterceptor below caches a route through tiercache's getOrSet instead, so N
// concurrent requests for one route run the handler once (in this process and, with Redis,
// across instances).
// Run: npm run example examples/nestjs_cache_module.ts
// Uses CACHE_REDIS_URL when set (e.g. redis://127.0.0.1:6380), else runs L1-only.
//
// Decorators: Nest's are legacy (experimentalDecorators, set in tsconfig.json). tsx/esbuild cannot
// emit decorator metadata, so every injection names its token with @Inject(...).
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { CACHE_MANAGER, CacheInterceptor, CacheModule, CacheTTL, type Cache } from '@nestjs/cache-manager';
import {
  Body,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Put,
  UseInterceptors,
  type CallHandler,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Keyv from 'keyv';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { createIntegratedCache, LoaderError, type IntegratedCacheManager } from 'tiercache';
import { KeyvTiercache } from 'tiercache/keyv';

interface Product {
  id: string;
  name: string;
  price: number;
}

// The "database", shared by both app instances; `queries` counts the slow lookups per instance.
const products = new Map<string, Product>([['1', { id: '1', name: 'Lamp', price: 30 }]]);

@Injectable()
class ProductsService {
  queries = 0;

  async find(id: string): Promise<Product | undefined> {
    this.queries++;
    await new Promise((r) => setTimeout(r, 50)); // a slow query
    return products.get(id);
  }
}

/** The app's tiercache, for injection. */
const TIERCACHE = Symbol('tiercache');

/**
 * Caches a GET route's response for 60 s through `getOrSet`: a miss runs the handler once for all
 * the requests waiting on that URL (single flight, and a Redis lock across instances), and the
 * others get its result. A handler error (a 404) reaches every waiter as itself, not as the
 * LoaderError getOrSet wraps it in.
 */
@Injectable()
class GetOrSetInterceptor implements NestInterceptor {
  constructor(@Inject(TIERCACHE) private readonly cache: IntegratedCacheManager) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<{ method: string; originalUrl: string }>();
    if (req.method !== 'GET') return next.handle();
    const load = this.cache.getOrSet(`route:${req.originalUrl}`, () => lastValueFrom(next.handle()), { ttl: 60 }).catch((err: unknown) => {
      throw err instanceof LoaderError && err.cause !== undefined ? err.cause : err;
    });
    return from(load);
  }
}

@Controller('products')
class ProductsController {
  constructor(
    @Inject(ProductsService) private readonly service: ProductsService,
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
  ) {}

  /** Cached by URL for 60 s (cache-manager TTLs are milliseconds; the store converts to seconds). */
  @Get(':id')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(60_000)
  async get(@Param('id') id: string): Promise<Product> {
    const p = await this.service.find(id);
    if (!p) throw new NotFoundException();
    return p;
  }

  /** The same lookup, cached through GetOrSetInterceptor (tiercache's getOrSet). */
  @Get(':id/merged')
  @UseInterceptors(GetOrSetInterceptor)
  async getMerged(@Param('id') id: string): Promise<Product> {
    return this.get(id);
  }

  /** A write drops the cached route; through tiercache the delete also reaches other instances' L1. */
  @Put(':id')
  async put(@Param('id') id: string, @Body() body: Omit<Product, 'id'>): Promise<{ updated: string }> {
    products.set(id, { id, name: body.name, price: body.price });
    await this.cache.del(`/products/${id}`);
    return { updated: id };
  }
}

@Module({})
class AppModule {
  /** One app per tiercache cache, so this process can run two instances side by side. */
  static forCache(tiercache: IntegratedCacheManager): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CacheModule.registerAsync({
          // Keyv prefixes keys with its namespace ('keyv:'); Nest disconnects the store on close,
          // which leaves a cache passed in (not created by the store) open for us to close.
          useFactory: () => ({ stores: [new Keyv({ store: new KeyvTiercache(tiercache) })] }),
        }),
      ],
      controllers: [ProductsController],
      providers: [ProductsService, GetOrSetInterceptor, { provide: TIERCACHE, useValue: tiercache }],
    };
  }
}

/** An app instance: its own tiercache (own L1) over the shared Redis when CACHE_REDIS_URL is set. */
async function startInstance(): Promise<{ app: INestApplication; tiercache: IntegratedCacheManager; base: string; service: ProductsService }> {
  const tiercache = createIntegratedCache({
    ...(process.env.CACHE_REDIS_URL ? { redisUrl: process.env.CACHE_REDIS_URL, namespace: `example-nest-${process.pid}` } : {}),
    logLevel: 'warn',
  });
  await tiercache.initialize();
  const app = await NestFactory.create(AppModule.forCache(tiercache), { logger: ['warn', 'error'] });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return { app, tiercache, base, service: app.get(ProductsService) };
}

/**
 * GETs `url` and waits until CacheInterceptor has stored the response: it stores after sending
 * (in a `tap`), so without this wait the next request could race the write.
 */
async function getAndWaitForStore(tiercache: IntegratedCacheManager, url: string): Promise<Response> {
  const stored = new Promise<void>((resolve) => tiercache.once('set', () => resolve()));
  const res = await fetch(url);
  if (res.headers.get('x-cache') === 'MISS' && res.ok) await stored;
  return res;
}

const a = await startInstance();
const instances = [a];
try {
  const first = await getAndWaitForStore(a.tiercache, `${a.base}/products/1`);
  const labels = [first.headers.get('x-cache')];
  for (let i = 0; i < 4; i++) labels.push((await fetch(`${a.base}/products/1`)).headers.get('x-cache'));
  console.log(`5 GETs on instance A: ${labels.join(' ')}; handler ran ${a.service.queries} time(s)`);

  if (process.env.CACHE_REDIS_URL) {
    // A second instance, with an empty L1, answers from the shared Redis without running its handler.
    const b = await startInstance();
    instances.push(b);
    const fromB = await fetch(`${b.base}/products/1`);
    console.log(`GET on instance B: ${fromB.headers.get('x-cache')} ${await fromB.text()}; B's handler ran ${b.service.queries} time(s)`);
  } else {
    console.log('L1-only (no CACHE_REDIS_URL): a second instance would have its own cache');
  }

  // A's delete reaches B's L1 through Redis; wait for it so B's next read is not a race.
  const b = instances[1];
  const droppedOnB = b && new Promise<void>((resolve) => b.tiercache.once('invalidated', () => resolve()));
  const put = await fetch(`${a.base}/products/1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Lamp', price: 25 }) });
  console.log(`PUT: ${await put.text()}`);
  const fresh = await getAndWaitForStore(a.tiercache, `${a.base}/products/1`);
  console.log(`GET after PUT: ${fresh.headers.get('x-cache')} ${await fresh.text()}; handler ran ${a.service.queries} time(s)`);
  const again = await fetch(`${a.base}/products/1`);
  console.log(`next GET: ${again.headers.get('x-cache')} ${await again.text()}; handler ran ${a.service.queries} time(s)`);
  if (b) {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('B never heard of the delete')), 5_000).unref());
    await Promise.race([droppedOnB, timeout]);
    const fromB = await fetch(`${b.base}/products/1`);
    console.log(`GET on instance B after PUT: ${fromB.headers.get('x-cache')} ${await fromB.text()}; B's handler ran ${b.service.queries} time(s)`);
  }

  // Ten concurrent GETs of a cold route (split over both instances when there are two).
  const ran = () => instances.reduce((n, i) => n + i.service.queries, 0);
  const burst = async (path: string): Promise<{ runs: number; bodies: Set<string> }> => {
    const before = ran();
    const bodies = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${instances[i % instances.length].base}${path}`).then((r) => r.text())));
    return { runs: ran() - before, bodies: new Set(bodies) };
  };
  const nest = await burst('/products/1?burst=nest');
  const merged = await burst('/products/1/merged');
  console.log(`10 concurrent GETs of a cold route: CacheInterceptor ran the handler ${nest.runs} time(s); GetOrSetInterceptor ran it ${merged.runs} time(s), ${merged.bodies.size} distinct answer(s)`);
  const missing = await fetch(`${a.base}/products/404/merged`);
  console.log(`GetOrSetInterceptor on a missing product: ${missing.status}`);
} finally {
  await a.tiercache.clear();
  for (const { app, tiercache } of instances) {
    await app.close();
    await tiercache.close();
  }
}
