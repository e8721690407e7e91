import type { IncomingMessage, ServerResponse } from 'node:http';
import { LATENCY_BUCKETS_SECONDS, type CacheStatsSnapshot } from './cache_stats.js';
import { loadPeer } from '../util/optional_peer.js';

/**
 * The registry behind `cache.metrics()`: a prom-client `Registry` at run time (merge it into yours
 * with `Registry.merge([yours, cache.prometheus.registry as Registry])`). Typed by its shape so the
 * declarations need no prom-client, which is an optional peer.
 */
export interface MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/**
 * The part of an OpenTelemetry `Meter` (`@opentelemetry/api`) that tiercache calls: any Meter,
 * the SDK's or a vendor's, fits. Typed by its shape so the declarations need no
 * `@opentelemetry/api`.
 */
export interface MeterLike {
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): object;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): object;
  addBatchObservableCallback(callback: BatchCallback, observables: object[]): void;
  /** Present on every `@opentelemetry/api` Meter; called on close so a closed cache is no longer observed. */
  removeBatchObservableCallback?(callback: BatchCallback, observables: object[]): void;
}

type BatchCallback = (result: { observe(observable: object, value: number, attributes?: Record<string, string>): void }) => void;

type Snapshot = () => CacheStatsSnapshot;

/**
 * Prometheus exposition (prom-client) of the cache's live figures. Nothing is counted twice: every
 * metric is read from `getStatsSync()` at scrape time (collect callbacks), so keeping metrics on
 * costs nothing between scrapes. Names follow Prometheus conventions: `tiercache_` prefix, base
 * units (seconds, bytes), `_total` for counters.
 */
export class PrometheusMetrics {
  readonly registry: MetricsRegistry;

  /** Throws `InvalidOptionsError` when prom-client (an optional peer) is not installed. */
  constructor(snapshot: Snapshot, labels: Record<string, string> = {}) {
    const { Counter, Gauge, Registry } = loadPeer<typeof import('prom-client')>('prom-client', 'metrics');
    const registry = new Registry();
    registry.setDefaultLabels(labels);
    this.registry = registry;
    type Read = (s: CacheStatsSnapshot, set: (labels: Record<string, string>, v: number) => void) => void;
    // Both kinds are filled the same way at scrape time: reset, then one value per label set.
    const counter = (name: string, help: string, labelNames: string[], read: Read) =>
      new Counter({ name, help, labelNames, registers: [registry], collect() { this.reset(); read(snapshot(), (l, v) => this.inc(l, v)); } });
    const gauge = (name: string, help: string, labelNames: string[], read: Read) =>
      new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); read(snapshot(), (l, v) => this.set(l, v)); } });
    counter('tiercache_hits_total', 'Reads answered by a tier.', ['tier'], (s, set) => {
      if (s.l1.enabled) set({ tier: 'l1' }, s.l1.hits);
      set({ tier: 'l2' }, s.l2.hits);
    });
    counter('tiercache_misses_total', 'Reads answered by no tier.', [], (s, set) => set({}, s.misses));
    counter('tiercache_sets_total', 'Values written.', [], (s, set) => set({}, s.sets));
    counter('tiercache_deletes_total', 'Keys deleted.', [], (s, set) => set({}, s.deletes));
    counter('tiercache_evictions_total', 'L1 entries evicted by the policy.', [], (s, set) => s.l1.enabled && set({}, s.l1.evictions));
    counter('tiercache_errors_total', 'Errors by kind.', ['kind'], (s, set) => {
      set({ kind: 'l2' }, s.l2.errors);
      set({ kind: 'loader' }, s.loader.errors);
      set({ kind: 'corrupt' }, s.l2.corrupt);
      set({ kind: 'security' }, s.security.events);
    });
    counter('tiercache_loader_calls_total', 'Loader (L3) calls.', [], (s, set) => set({}, s.loader.calls));
    counter('tiercache_coherence_invalidations_total', 'L1 entries dropped on another instance’s change.', [], (s, set) => set({}, s.coherence.invalidationsReceived));
    gauge('tiercache_hit_ratio', 'Hits / (hits + misses) since start.', [], (s, set) => set({}, s.hitRate));
    gauge('tiercache_operations_per_second', 'Operations per second over the last 10 s.', [], (s, set) => set({}, s.opsPerSecond));
    gauge('tiercache_l1_entries', 'Entries in L1.', [], (s, set) => s.l1.enabled && set({}, s.l1.size));
    gauge('tiercache_l1_bytes', 'Estimated bytes of L1 values.', [], (s, set) => s.l1.enabled && set({}, s.l1.bytes));
    registry.registerMetric(latencyHistogram(snapshot) as never);
    gauge('tiercache_circuit_breaker_open', '1 when a breaker is open or half-open.', ['breaker'], (s, set) => {
      for (const b of s.breakers) set({ breaker: b.name }, b.state === 'closed' ? 0 : 1);
    });
  }

  /** The exposition text. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** A request handler for any path you mount it on (`http.createServer(m.handler)`). */
  readonly handler = (_req: IncomingMessage, res: ServerResponse): void => {
    this.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': this.registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      },
    );
  };
}

/**
 * `tiercache_operation_duration_seconds` as a real Prometheus histogram (`_bucket`/`_sum`/`_count`),
 * read from CacheStats' fixed buckets at scrape time. A custom collector rather than a prom-client
 * `Histogram`: that one can only observe, and replaying every timing at scrape would cost what the
 * buckets exist to avoid.
 */
function latencyHistogram(snapshot: Snapshot) {
  const name = 'tiercache_operation_duration_seconds';
  const help = 'Latency of timed operations (L1 hits on the synchronous fast path are not timed).';
  const les = [...LATENCY_BUCKETS_SECONDS.map(String), '+Inf'];
  const collect = () => {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const [operation, h] of Object.entries(snapshot().latencyHistogram)) {
      if (h.count === 0) continue;
      let cumulative = 0;
      h.counts.forEach((c, i) => {
        cumulative += c;
        values.push({ metricName: `${name}_bucket`, labels: { le: les[i], operation }, value: cumulative });
      });
      values.push({ metricName: `${name}_sum`, labels: { operation }, value: h.sumSeconds });
      values.push({ metricName: `${name}_count`, labels: { operation }, value: h.count });
    }
    return { name, help, type: 'histogram' as const, aggregator: 'sum' as const, values };
  };
  return { name, help, type: 'histogram', aggregator: 'sum', get: () => Promise.resolve(collect()), reset: () => {} };
}

/**
 * The same figures as OpenTelemetry observable instruments on a meter you pass (any
 * `@opentelemetry/api` Meter: the SDK's, or a vendor's). Read at collection time. Every
 * observation carries the cache's `namespace` attribute: two caches on one meter are two series
 * (without it an SDK keeps one of two identical attribute sets). Returns the function that removes
 * the callback (the cache calls it on close).
 */
export function registerOpenTelemetry(meter: MeterLike, snapshot: Snapshot, namespace: string): () => void {
  const hits = meter.createObservableCounter('tiercache.hits', { description: 'Reads answered by a tier' });
  const misses = meter.createObservableCounter('tiercache.misses', { description: 'Reads answered by no tier' });
  const errors = meter.createObservableCounter('tiercache.errors', { description: 'Errors by kind' });
  const ratio = meter.createObservableGauge('tiercache.hit_ratio', { description: 'Hit ratio since start' });
  const l1 = meter.createObservableGauge('tiercache.l1.entries', { description: 'Entries in L1' });
  const latency = meter.createObservableGauge('tiercache.operation.duration', { description: 'Latency quantiles per operation', unit: 's' });
  const observables = [hits, misses, errors, ratio, l1, latency];
  const callback: BatchCallback = (r) => {
    const s = snapshot();
    const observe = (inst: object, v: number, attributes: Record<string, string> = {}) => r.observe(inst, v, { ...attributes, namespace });
    if (s.l1.enabled) observe(hits, s.l1.hits, { tier: 'l1' });
    observe(hits, s.l2.hits, { tier: 'l2' });
    observe(misses, s.misses);
    observe(errors, s.l2.errors, { kind: 'l2' });
    observe(errors, s.loader.errors, { kind: 'loader' });
    observe(ratio, s.hitRate);
    if (s.l1.enabled) observe(l1, s.l1.size);
    for (const [op, l] of Object.entries(s.latency)) {
      if (l.count === 0) continue;
      observe(latency, l.p50Ms / 1000, { operation: op, quantile: '0.5' });
      observe(latency, l.p99Ms / 1000, { operation: op, quantile: '0.99' });
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback?.(callback, observables);
}
