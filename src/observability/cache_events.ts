import { EventEmitter } from 'node:events';
import type { BreakerState } from '../resilience/breaker_core.js';

/** Which tier answered a read: in-process L1, Redis L2, or this call's loader (L3). */
export type AnsweringTier = 'l1' | 'l2' | 'loader';

/** The payload of each event `cache.on(name, listener)` delivers. */
export interface CacheEventMap {
  /** A read found a value. `tier` is where: a `getOrSet` that waited for a concurrent load of the key reports 'l2'. */
  hit: { operation: 'get' | 'getMany' | 'getOrSet'; key: string; tier: 'l1' | 'l2' };
  /** A read found nothing. On `getOrSet`, `loaded` tells whether this call's loader then ran. */
  miss: { operation: 'get' | 'getMany' | 'getOrSet'; key: string; loaded: boolean };
  /** A value was stored (after L2 acknowledged it, or L1 kept it when L2 failed and errors are suppressed). `ttl` in seconds. */
  set: { operation: 'set' | 'setMany' | 'getOrSet'; key: string; ttl: number };
  /** A key was deleted; `existed` is whether any tier had it. */
  delete: { key: string; existed: boolean };
  /**
   * Keys left L1 or the cache for a reason other than this instance's `delete`: `coherence` (another
   * instance or Redis client changed `key`; `key` null: every L1 entry was dropped, `reason` says
   * why), `pattern` and `tags` (this instance's invalidation calls, with how many keys went).
   */
  invalidated:
    | { source: 'coherence'; key: string }
    | { source: 'coherence'; key: null; reason: string }
    | { source: 'pattern'; pattern: string; count: number }
    | { source: 'tags'; tags: string[]; count: number };
  /**
   * A failure the cache absorbed instead of throwing: an L2 read served as a miss, an L2 write
   * kept in L1 only (`suppressL2Errors`), an L2 `has` answered false. Failures that reject a call
   * reach its caller and are not emitted. Without an 'error' listener nothing is emitted (no throw).
   */
  error: { operation: 'get' | 'set' | 'has'; key: string; tier: 'l2'; error: Error };
  /** A circuit breaker (around Redis, or a loader) changed state. */
  breaker: { name: string; state: BreakerState; previous: BreakerState };
  /** A rejected value or a denied access (see docs/security.md). */
  security: { type: string; key: string; reason: string };
}

export type CacheEventName = keyof CacheEventMap;
export type CacheEventListener<E extends CacheEventName> = (payload: CacheEventMap[E]) => void;

/** Events whose listeners do not make operations build payloads ('security' is emitted where it happens). */
const PASSIVE = new Set<string | symbol>(['newListener', 'removeListener', 'security']);

/**
 * The cache's event emitter, typed by {@link CacheEventMap}. `active` is true while a listener for
 * an operation event is attached: emitters check that one field, so a cache nobody listens to
 * (or only a 'security' listener) builds no payloads.
 */
export class CacheEvents extends EventEmitter {
  /** Any listener for an operation event. Kept in step by newListener/removeListener. */
  active = false;

  constructor() {
    super();
    // newListener fires before the listener is added, removeListener after it is gone.
    this.on('newListener', (name: string | symbol) => {
      if (!PASSIVE.has(name)) this.active = true;
    });
    this.on('removeListener', () => {
      this.active = this.eventNames().some((n) => !PASSIVE.has(n));
    });
  }

  /** Emits `name` if someone listens to it (an 'error' without a listener must not throw). */
  fire<E extends CacheEventName>(name: E, payload: CacheEventMap[E]): void {
    if (this.listenerCount(name) === 0) return;
    try {
      this.emit(name, payload);
    } catch (err) {
      // A listener's bug must not fail the cache call that happened to emit.
      process.emitWarning(`a tiercache '${name}' listener threw: ${(err as Error)?.message ?? String(err)}`, 'TiercacheListenerWarning');
    }
  }
}

/** A breaker's state-change callback that emits the cache's 'breaker' event (when listened to). */
export function breakerEvents(events: CacheEvents, name: string): (state: BreakerState, previous: BreakerState) => void {
  return (state, previous) => {
    if (events.active) events.fire('breaker', { name, state, previous });
  };
}
