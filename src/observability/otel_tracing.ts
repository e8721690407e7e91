import { CacheError } from '../errors.js';
import { TRACING_CHANNELS, type TraceContext, type TracedOperation } from './tracing.js';

/**
 * The parts of @opentelemetry/api's `Tracer` and `Span` this bridge uses, written out so the
 * published types import nothing that is not a dependency (a TypeScript app without
 * @opentelemetry/api failed to type-check our .d.ts). A real `Tracer` satisfies `TracerLike`.
 */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;
export interface SpanLike {
  setAttributes(attributes: SpanAttributes): unknown;
  setAttribute(key: string, value: string | number | boolean): unknown;
  recordException(exception: Error | string): void;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
export interface TracerLike {
  startSpan(name: string, options?: { kind?: number; attributes?: SpanAttributes }): SpanLike;
}

/** `SpanStatusCode.ERROR` and `SpanKind.INTERNAL` of @opentelemetry/api. */
const STATUS_ERROR = 2;
const KIND_INTERNAL = 0;

export interface OpenTelemetryTracingOptions {
  /**
   * Put the key (or the keys of a batch) on the span as `tiercache.key`. Keys can carry user ids:
   * turn this off when spans leave your trust boundary. @default true
   */
  includeKeys?: boolean;
}

/**
 * Bridges tiercache's `diagnostics_channel` tracing channels ({@link TRACING_CHANNELS}) to
 * OpenTelemetry: one span per cache operation (`tiercache.get`, `tiercache.getOrSet`, …), a child
 * of the span active when the call was made, with attributes `tiercache.namespace`,
 * `tiercache.operation`, `tiercache.key` (or `tiercache.keys.count`), `tiercache.tier` and
 * `tiercache.hit` for reads, and status ERROR (with the exception recorded and `error.type`, the
 * CacheError code) on a failure. Every cache of the process is traced (`namespace` tells them apart).
 *
 * `@opentelemetry/api` is not a dependency: pass the tracer of the API your application uses
 * (`trace.getTracer('tiercache')`).
 *
 * @returns a function that unsubscribes (spans of calls in flight at that moment are never ended, so not exported).
 */
export function enableOpenTelemetryTracing(tracer: TracerLike, options: OpenTelemetryTracingOptions = {}): () => void {
  const includeKeys = options.includeKeys ?? true;
  const spans = new WeakMap<TraceContext, SpanLike>();
  const finish = (ctx: TraceContext): void => {
    const span = spans.get(ctx);
    if (span === undefined) return;
    spans.delete(ctx);
    const attrs: SpanAttributes = {};
    if (ctx.tier !== undefined) attrs['tiercache.tier'] = ctx.tier;
    if (ctx.hit !== undefined) attrs['tiercache.hit'] = ctx.hit;
    if (ctx.hits !== undefined) attrs['tiercache.hits'] = ctx.hits;
    span.setAttributes(attrs);
    if (ctx.error !== undefined) {
      const err = ctx.error;
      span.recordException(err instanceof Error ? err : String(err));
      span.setAttribute('error.type', err instanceof CacheError ? err.code : err instanceof Error ? err.name : 'unknown');
      span.setStatus({ code: STATUS_ERROR, message: err instanceof Error ? err.message : String(err) });
    }
    span.end();
  };
  const handlers = {
    start: (message: unknown): void => {
      const ctx = message as TraceContext;
      const attributes: SpanAttributes = { 'tiercache.namespace': ctx.namespace, 'tiercache.operation': ctx.operation };
      if (includeKeys && ctx.key !== undefined) attributes['tiercache.key'] = ctx.key;
      if (ctx.keys !== undefined) attributes['tiercache.keys.count'] = ctx.keys.length;
      if (ctx.pattern !== undefined && includeKeys) attributes['tiercache.pattern'] = ctx.pattern;
      if (ctx.tags !== undefined) attributes['tiercache.tags.count'] = ctx.tags.length;
      spans.set(ctx, tracer.startSpan(`tiercache.${ctx.operation}`, { kind: KIND_INTERNAL, attributes }));
    },
    // A synchronous throw publishes error then end, and no asyncEnd: end the span there.
    end: (message: unknown): void => {
      const ctx = message as TraceContext;
      if (ctx.error !== undefined) finish(ctx);
    },
    asyncStart: (): void => undefined,
    asyncEnd: (message: unknown): void => finish(message as TraceContext),
    error: (): void => undefined,
  };
  const channels = Object.keys(TRACING_CHANNELS) as TracedOperation[];
  for (const op of channels) TRACING_CHANNELS[op].subscribe(handlers);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    for (const op of channels) TRACING_CHANNELS[op].unsubscribe(handlers);
  };
}
