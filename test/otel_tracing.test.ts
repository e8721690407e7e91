import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createIntegratedCache, enableOpenTelemetryTracing, type IntegratedCacheManager } from '../src/index.js';
import { uniqueNamespace, useRedisServer } from './support/redis.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('tiercache-test');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  exporter.reset();
});

function spansOf(namespace: string) {
  return exporter.getFinishedSpans().filter((s) => s.attributes['tiercache.namespace'] === namespace);
}

async function traced(make: (ns: string) => IntegratedCacheManager) {
  const ns = uniqueNamespace('otel');
  const cache = make(ns);
  await cache.initialize();
  cleanups.push(() => cache.close());
  const off = enableOpenTelemetryTracing(tracer);
  cleanups.push(off);
  return { cache, ns, off };
}

function suite(name: string, make: (ns: string) => IntegratedCacheManager) {
  describe(`enableOpenTelemetryTracing (${name})`, () => {
    it('makes one span per operation with namespace, key, tier and hit', async () => {
      const { cache, ns } = await traced(make);
      await cache.set('a', 1);
      await cache.get('a');
      await cache.get('nope');
      await cache.getOrSet('b', () => 2);
      await cache.getMany(['a', 'b', 'c']);
      await cache.delete('a');
      const spans = spansOf(ns).map((s) => ({ name: s.name, ...s.attributes, status: s.status.code }));
      expect(spans).toEqual([
        { name: 'tiercache.set', 'tiercache.namespace': ns, 'tiercache.operation': 'set', 'tiercache.key': 'a', status: 0 },
        { name: 'tiercache.get', 'tiercache.namespace': ns, 'tiercache.operation': 'get', 'tiercache.key': 'a', 'tiercache.tier': 'l1', 'tiercache.hit': true, status: 0 },
        { name: 'tiercache.get', 'tiercache.namespace': ns, 'tiercache.operation': 'get', 'tiercache.key': 'nope', 'tiercache.hit': false, status: 0 },
        { name: 'tiercache.getOrSet', 'tiercache.namespace': ns, 'tiercache.operation': 'getOrSet', 'tiercache.key': 'b', 'tiercache.tier': 'loader', 'tiercache.hit': false, status: 0 },
        { name: 'tiercache.getMany', 'tiercache.namespace': ns, 'tiercache.operation': 'getMany', 'tiercache.keys.count': 3, 'tiercache.hits': 2, status: 0 },
        { name: 'tiercache.delete', 'tiercache.namespace': ns, 'tiercache.operation': 'delete', 'tiercache.key': 'a', status: 0 },
      ]);
    });

    it('a failing operation ends its span with status ERROR, the exception and the error code', async () => {
      const { cache, ns } = await traced(make);
      await expect(cache.getOrSet('bad', () => Promise.reject(new Error('db down')))).rejects.toMatchObject({ code: 'E_LOADER' });
      await expect(cache.set('x', () => 1)).rejects.toMatchObject({ code: 'E_SERIALIZATION' });
      const [load, set] = spansOf(ns);
      expect(load.name).toBe('tiercache.getOrSet');
      expect(load.status).toMatchObject({ code: 2 });
      expect(load.status.message).toContain('db down');
      expect(load.attributes['error.type']).toBe('E_LOADER');
      expect(load.events.map((e) => e.name)).toEqual(['exception']);
      expect(set).toMatchObject({ name: 'tiercache.set', status: { code: 2 } });
      expect(set.attributes['error.type']).toBe('E_SERIALIZATION');
    });

    it('unsubscribing stops the spans', async () => {
      const { cache, ns, off } = await traced(make);
      await cache.get('k');
      expect(spansOf(ns).map((s) => s.name)).toEqual(['tiercache.get']);
      off();
      await cache.get('k');
      expect(spansOf(ns)).toHaveLength(1);
    });

    it('includeKeys: false leaves keys off the spans', async () => {
      const ns = uniqueNamespace('otel');
      const cache = make(ns);
      await cache.initialize();
      cleanups.push(() => cache.close());
      cleanups.push(enableOpenTelemetryTracing(tracer, { includeKeys: false }));
      await cache.get('user:42');
      expect(spansOf(ns)[0].attributes['tiercache.key']).toBeUndefined();
    });
  });
}

suite('L1 only', (ns) => createIntegratedCache({ namespace: ns, logLevel: 'silent' }));

describe('with Redis', () => {
  const redis = useRedisServer();
  suite('Redis', (ns) => createIntegratedCache({ redisUrl: redis.url, namespace: ns, logLevel: 'silent' }));
});
