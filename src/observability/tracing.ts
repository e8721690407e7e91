import diagnosticsChannel, { type TracingChannel } from 'node:diagnostics_channel';
import type { AnsweringTier } from './cache_events.js';

/** The operations traced, one `diagnostics_channel` tracing channel each: `tiercache:<operation>`. */
export type TracedOperation = 'get' | 'getMany' | 'getOrSet' | 'set' | 'setMany' | 'delete' | 'has' | 'invalidatePattern' | 'invalidateTags' | 'clear';

/**
 * The context object every event of one traced call carries (start, end, asyncStart, asyncEnd,
 * error). Fields are filled in as the call proceeds: `tier` and `hit` are set before asyncEnd;
 * `result` or `error` are set by Node's tracing channel.
 */
export interface TraceContext {
  operation: TracedOperation;
  /** The cache's namespace, to tell caches apart. */
  namespace: string;
  /** The key, for single-key operations. */
  key?: string;
  /** The keys, for getMany / setMany. */
  keys?: readonly string[];
  /** The pattern or tags of an invalidation. */
  pattern?: string;
  tags?: readonly string[];
  /** Reads: where the value came from (absent on a miss). */
  tier?: AnsweringTier;
  /** Reads: whether a value was found (getMany: how many were). */
  hit?: boolean;
  hits?: number;
  /** What the call resolved to (set by diagnostics_channel). */
  result?: unknown;
  /** What the call rejected with (set by diagnostics_channel). */
  error?: unknown;
}

const OPERATIONS: readonly TracedOperation[] = ['get', 'getMany', 'getOrSet', 'set', 'setMany', 'delete', 'has', 'invalidatePattern', 'invalidateTags', 'clear'];

/**
 * The tracing channels, created once per process (channels are global by name, so every cache
 * publishes on the same ones; `namespace` in the context tells them apart). Subscribe with
 * `diagnostics_channel.tracingChannel('tiercache:get').subscribe({ start, asyncEnd, error })`.
 */
export const TRACING_CHANNELS: Readonly<Record<TracedOperation, TracingChannel<object, TraceContext>>> = Object.fromEntries(
  OPERATIONS.map((op) => [op, diagnosticsChannel.tracingChannel<object, TraceContext>(`tiercache:${op}`)]),
) as Record<TracedOperation, TracingChannel<object, TraceContext>>;
