import type { Clock } from '../../core/clock.js';
import { SystemClock } from '../../core/clock.js';
import type { EvictionPolicy, PolicyFactory } from '../../policy/eviction_policy.js';
import { adaptiveTinyLfuPolicy } from '../../policy/adaptive_tinylfu_policy.js';
import { hashKey } from '../../util/hash.js';
import { ExpiryHeap } from './expiry_heap.js';

/** Why an entry left L1 (Caffeine's `RemovalCause`). */
export type RemovalCause = 'deleted' | 'expired' | 'evicted' | 'cleared' | 'rejected';

export interface MemoryTierOptions {
  /** Entry bound: never more than this many live entries. */
  maxEntries: number;
  /** Byte bound on the sum of entry weights; 0 = no byte bound. */
  maxBytes?: number;
  /** Eviction/admission policy. @default adaptive W-TinyLFU */
  policy?: PolicyFactory;
  clock?: Clock;
  /** Called after an entry leaves for a reason other than being overwritten. */
  onRemove?: (key: string, cause: RemovalCause) => void;
}

/**
 * What the cache's own components do to its L1 beyond the public API: the coherence gate
 * (coherence_watchdog.ts via tier_setup.ts), memory pressure (memory_monitor.ts), tuning's
 * samplers (quick_tune.ts), fail-safe and WEAK reads (tier_stack.ts, tier_operations.ts) and
 * resizing (`resizeL1`). Reached with {@link l1Internals}, which src/index.ts does not export: a
 * MemoryTier a user builds shows only the cache-like API.
 */
export interface MemoryTierInternals<V> {
  /** Entries are served only before `t` (ms since epoch); Infinity lifts the bound. */
  setServableUntil(t: number): void;
  /** Caps the lifetime of entries stored from now on at `ms` (0 lifts the cap). */
  setFillTtlCap(ms: number): void;
  /** Whether entries are currently served (the coherence gate is open). */
  servable(): boolean;
  /** Like `peek`, ignoring the coherence gate (WEAK reads: the entry's own TTL is the only bound). */
  peekUngated(key: string): V | undefined;
  /**
   * A live entry even when stale (past its fresh time, inside its grace period), with the time it
   * became or becomes stale. For fail-safe reads; does not touch the policy or the counters.
   */
  peekStale(key: string): { value: V; staleAt: number } | undefined;
  /** The entry bound in force (at most `maxEntries`). */
  entryLimit(): number;
  /**
   * Lowers (or restores, up to `maxEntries`) the entry bound, evicting by policy at once when
   * lowered. Memory pressure shrinks L1 this way and gives the room back when it passes.
   */
  setEntryLimit(n: number): void;
  /** Sees every key `get` looks up (tuning samples traffic with it); null stops it. */
  setAccessSampler(sampler: ((key: string) => void) | null): void;
  /** Tuning: `observer` sees every key stored and its TTL in ms (0 = none); null stops it. */
  setFillObserver(observer: ((key: string, ttlMs: number) => void) | null): void;
  /**
   * A new tier of `maxEntries` holding this tier's live entries (as many as fit; the policy of the
   * new tier starts fresh), carrying its coherence gate, fill cap and hit/miss/eviction/expiration
   * counters on. For resizing beyond the allocated capacity.
   */
  resized(maxEntries: number): MemoryTier<V>;
  /** Entries the policy tracks; equals `size` (tests check it after random operations). */
  policySize(): number;
}

let hooksOf: <V>(tier: MemoryTier<V>) => MemoryTierInternals<V>;

/** The internal hooks of `tier` (see {@link MemoryTierInternals}); one object per tier, made on first use. */
export function l1Internals<V>(tier: MemoryTier<V>): MemoryTierInternals<V> {
  return hooksOf(tier);
}

export interface MemoryTierStats {
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  size: number;
  bytes: number;
}

/**
 * The in-process tier (L1). Synchronous by contract: nothing here awaits.
 *
 * Layout follows node-lru-cache: a `Map<key, slot>` plus parallel arrays indexed by slot
 * (keys, values, expiry instants, weights) and a stack of free slots, all allocated once. A hit is a
 * Map lookup, one Float64Array read and a policy touch: no closures, promises or objects.
 *
 * Invariants (checked by `test/memory_tier.test.ts` after random operations):
 * - `size <= maxEntries` and (`maxBytes` > 0) `bytes <= maxBytes` whenever a public method returns;
 * - an expired entry is never returned (expiry is read through `clock.coarseNow()`, so up to the
 *   clock's resolution late), and when the tier must evict, expired entries go before any policy
 *   victim (expiry_heap.ts);
 * - every live slot is known to the policy exactly once.
 *
 * Values are held by reference, as lru-cache and BentoCache do: mutating an object after `set`
 * mutates what L1 serves (L2 keeps the serialized copy).
 */
export class MemoryTier<V = unknown> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #map = new Map<string, number>();
  readonly #keys: (string | undefined)[];
  readonly #values: (V | undefined)[];
  // Allocated on first use (a TTL, a non-zero weight), as lru-cache does: a tier without TTLs or a
  // byte bound pays nothing for them. `null` reads as "0 for every slot".
  #expires: Float64Array | null = null;
  #expiryHeap: ExpiryHeap | null = null;
  /** Bumped on every write to and removal from a slot; heap entries carry the version they saw. */
  #versions: Uint32Array | null = null;
  readonly #isCurrent = (slot: number, version: number): boolean => (this.#versions as Uint32Array)[slot] === version;
  #weights: Uint32Array | null = null;
  // Grace (fail-safe): an entry stored with a grace period stays until `expires` but is fresh only
  // until `staleAt`; `get` misses on a stale entry, `peekStale` still returns it. Allocated on the
  // first graced entry, so a cache without grace pays nothing.
  #staleAt: Float64Array | null = null;
  readonly #capacity: number;
  readonly #free: Uint32Array;
  #freeTop = 0;
  #fresh = 0;
  #bytes = 0;
  readonly #policy: EvictionPolicy;
  readonly #clock: Clock;
  readonly #onRemove: ((key: string, cause: RemovalCause) => void) | undefined;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;
  // Coherence gate (coherence_watchdog.ts): past this instant L1 cannot vouch for its entries, so
  // `get`/`peek` miss without removing anything; Infinity when no one bounds staleness.
  #servableUntil = Infinity;
  /** Set once the coherence watchdog drives the gate: serve decisions read the real clock. */
  #exactTime = false;
  /** The entry bound in force: `maxEntries`, or less while memory pressure shrinks the tier. */
  #limit: number;
  /** Called with every key looked up by `get` while tuning samples traffic; null otherwise. */
  #sampler: ((key: string) => void) | null = null;
  /** Called with every key stored and the TTL it got (ms; 0 = none) while tuning watches fills. */
  #fillObserver: ((key: string, ttlMs: number) => void) | null = null;
  readonly #options: MemoryTierOptions;
  /** When > 0, no entry is stored for longer than this many ms (coherence outage mode). */
  #fillTtlCapMs = 0;
  #internals: MemoryTierInternals<V> | null = null;

  static {
    hooksOf = <V>(tier: MemoryTier<V>): MemoryTierInternals<V> =>
      (tier.#internals ??= {
        setServableUntil: (t) => {
          tier.#servableUntil = t;
          tier.#exactTime = true;
        },
        setFillTtlCap: (ms) => {
          tier.#fillTtlCapMs = ms;
        },
        servable: () => tier.#servableUntil === Infinity || tier.#now() < tier.#servableUntil,
        peekUngated: (key) => tier.#peekUngated(key),
        peekStale: (key) => tier.#peekStale(key),
        entryLimit: () => tier.#limit,
        setEntryLimit: (n) => {
          tier.#limit = Math.max(1, Math.min(tier.maxEntries, Math.floor(n)));
          if (tier.#map.size > tier.#limit) tier.#enforceBounds();
        },
        setAccessSampler: (sampler) => {
          tier.#sampler = sampler;
        },
        setFillObserver: (observer) => {
          tier.#fillObserver = observer;
        },
        resized: (maxEntries) => tier.#resized(maxEntries),
        policySize: () => tier.#policy.size,
      });
  }

  constructor(options: MemoryTierOptions) {
    const { maxEntries } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
    this.#limit = maxEntries;
    this.#options = options;
    this.maxBytes = options.maxBytes ?? 0;
    // One spare slot: a candidate is inserted before the policy picks a victim (admission).
    const capacity = maxEntries + 1;
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#capacity = capacity;
    this.#free = new Uint32Array(capacity);
    this.#policy = (options.policy ?? adaptiveTinyLfuPolicy)(capacity);
    this.#clock = options.clock ?? new SystemClock();
    this.#onRemove = options.onRemove;
  }

  get size(): number {
    return this.#map.size;
  }

  /**
   * Time for the serve decisions. Once a coherence gate is in use, the live clock: the coarse
   * clock is refreshed by a timer, so inside one long synchronous stretch it stands still, and an
   * entry past the staleness bound would be served.
   */
  #now(): number {
    return this.#exactTime ? this.#clock.liveNow() : this.#clock.coarseNow();
  }

  get bytes(): number {
    return this.#bytes;
  }

  get policyName(): string {
    return this.#policy.name;
  }

  /** The live value, or `undefined`. Counts a hit or a miss and tells the policy. */
  get(key: string): V | undefined {
    if (this.#sampler !== null) this.#sampler(key);
    const slot = this.#map.get(key);
    if (slot === undefined) {
      this.#misses++;
      return undefined;
    }
    // One branch when nothing time-bound is in use (no TTLs, no grace, no coherence gate); else
    // one clock read for all three checks.
    const expires = this.#expires;
    const staleAt = this.#staleAt;
    if (expires !== null || staleAt !== null || this.#servableUntil !== Infinity) {
      const now = this.#now();
      if (now >= this.#servableUntil) {
        this.#misses++;
        return undefined;
      }
      if (expires !== null && expires[slot] !== 0 && expires[slot] <= now) {
        this.#removeSlot(slot, 'expired');
        this.#misses++;
        return undefined;
      }
      if (staleAt !== null && staleAt[slot] !== 0 && staleAt[slot] <= now) {
        this.#misses++;
        return undefined;
      }
    }
    this.#hits++;
    this.#policy.onAccess(slot);
    return this.#values[slot];
  }

  /** Like `get` but without touching the policy or the counters. */
  peek(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    const now = this.#now();
    if (now >= this.#servableUntil || this.#isExpired(slot, now)) return undefined;
    const staleAt = this.#staleAt;
    return staleAt !== null && staleAt[slot] !== 0 && staleAt[slot] <= now ? undefined : this.#values[slot];
  }

  #peekUngated(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    const now = this.#now();
    if (this.#isExpired(slot, now)) return undefined;
    const staleAt = this.#staleAt;
    return staleAt !== null && staleAt[slot] !== 0 && staleAt[slot] <= now ? undefined : this.#values[slot];
  }

  #peekStale(key: string): { value: V; staleAt: number } | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    const now = this.#now();
    if (now >= this.#servableUntil || this.#isExpired(slot, now)) return undefined;
    const staleAt = this.#staleAt === null || this.#staleAt[slot] === 0 ? (this.#expires?.[slot] ?? 0) : this.#staleAt[slot];
    return { value: this.#values[slot] as V, staleAt };
  }

  /** Expiry instant (ms since epoch, 0 = none) of a live entry, or -1 when absent. */
  expiresAt(key: string): number {
    const slot = this.#map.get(key);
    if (slot === undefined) return -1;
    if (this.#isExpired(slot, this.#clock.coarseNow())) return -1;
    return this.#expires === null ? 0 : this.#expires[slot];
  }

  /**
   * Stores `value` until `expiresAt` (ms since epoch; 0 = no expiry). `weight` is the entry's
   * estimated size in bytes (the encoded length when known). Returns false when the entry was not
   * kept: already expired, heavier than `maxBytes`, or refused by the policy.
   */
  set(key: string, value: V, expiresAt: number, weight: number, staleAt = 0): boolean {
    if (this.#fillTtlCapMs > 0) {
      const cap = this.#clock.now() + this.#fillTtlCapMs;
      if (expiresAt === 0 || expiresAt > cap) expiresAt = cap;
    }
    if (expiresAt !== 0 && expiresAt <= this.#clock.now()) {
      this.delete(key);
      return false;
    }
    if (this.#fillObserver !== null) this.#fillObserver(key, expiresAt === 0 ? 0 : expiresAt - this.#clock.now());
    const w = weight >>> 0;
    if (this.maxBytes !== 0 && w > this.maxBytes) {
      this.delete(key);
      return false;
    }
    if (expiresAt !== 0 && this.#expires === null) {
      this.#expires = new Float64Array(this.#capacity);
      this.#versions = new Uint32Array(this.#capacity);
      this.#expiryHeap = new ExpiryHeap();
    }
    if (w !== 0 && this.#weights === null) this.#weights = new Uint32Array(this.#capacity);
    if (staleAt !== 0 && this.#staleAt === null) this.#staleAt = new Float64Array(this.#capacity);
    const expires = this.#expires;
    const weights = this.#weights;
    let slot = this.#map.get(key);
    if (slot !== undefined) {
      const old = weights === null ? 0 : weights[slot];
      this.#values[slot] = value;
      if (expires !== null) expires[slot] = expiresAt;
      if (weights !== null) weights[slot] = w;
      if (this.#staleAt !== null) this.#staleAt[slot] = staleAt;
      this.#bytes += w - old;
      this.#policy.onUpdate(slot, old, w);
    } else {
      slot = this.#freeTop > 0 ? this.#free[--this.#freeTop] : this.#fresh++;
      this.#map.set(key, slot);
      this.#keys[slot] = key;
      this.#values[slot] = value;
      if (expires !== null) expires[slot] = expiresAt;
      if (weights !== null) weights[slot] = w;
      if (this.#staleAt !== null) this.#staleAt[slot] = staleAt;
      this.#bytes += w;
      this.#policy.onInsert(slot, hashKey(key), w);
    }
    const versions = this.#versions;
    if (versions !== null) {
      const v = ++versions[slot];
      if (expiresAt !== 0) {
        const heap = this.#expiryHeap as ExpiryHeap;
        heap.push(expiresAt, slot, v);
        if (heap.size > 2 * this.#map.size + 64) heap.compact(this.#map.size, this.#isCurrent);
      }
    }
    if (this.#map.size > this.#limit || (this.maxBytes !== 0 && this.#bytes > this.maxBytes)) {
      this.#enforceBounds();
      // Evicting frees slots without reusing them, so the slot still holds the key iff it stayed.
      return this.#keys[slot] === key;
    }
    return true;
  }

  delete(key: string): boolean {
    const slot = this.#map.get(key);
    if (slot === undefined) return false;
    this.#removeSlot(slot, 'deleted');
    return true;
  }

  /** Deletes every key `test` accepts; returns how many. */
  deleteWhere(test: (key: string) => boolean): number {
    let n = 0;
    for (const [key, slot] of this.#map) {
      if (test(key)) {
        this.#removeSlot(slot, 'deleted');
        n++;
      }
    }
    return n;
  }

  clear(): void {
    const listener = this.#onRemove;
    const keys = listener ? [...this.#map.keys()] : [];
    this.#map.clear();
    this.#keys.fill(undefined);
    this.#values.fill(undefined);
    this.#expires?.fill(0);
    this.#staleAt?.fill(0);
    this.#expiryHeap?.clear();
    this.#weights?.fill(0);
    this.#freeTop = 0;
    this.#fresh = 0;
    this.#bytes = 0;
    this.#policy.reset();
    if (listener) for (const k of keys) listener(k, 'cleared');
  }

  /** Live keys (expired ones not yet collected are skipped). */
  *keys(): IterableIterator<string> {
    const now = this.#clock.coarseNow();
    for (const [key, slot] of this.#map) {
      if (!this.#isExpired(slot, now)) yield key;
    }
  }

  #resized(maxEntries: number): MemoryTier<V> {
    const next = new MemoryTier<V>({ ...this.#options, maxEntries });
    const now = this.#clock.now();
    for (const [key, slot] of this.#map) {
      if (this.#isExpired(slot, now)) continue;
      next.set(key, this.#values[slot] as V, this.#expires?.[slot] ?? 0, this.#weights?.[slot] ?? 0, this.#staleAt?.[slot] ?? 0);
    }
    const hooks = hooksOf(next);
    hooks.setServableUntil(this.#servableUntil);
    hooks.setFillTtlCap(this.#fillTtlCapMs);
    // The counters are the cache's, not this allocation's: Prometheus counters and getStats()
    // must never fall because autoOptimize grew L1.
    next.#hits += this.#hits;
    next.#misses += this.#misses;
    next.#evictions += this.#evictions;
    next.#expirations += this.#expirations;
    return next;
  }

  stats(): MemoryTierStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      expirations: this.#expirations,
      size: this.#map.size,
      bytes: this.#bytes,
    };
  }

  #enforceBounds(): void {
    const heap = this.#expiryHeap;
    while (this.#map.size > this.#limit || (this.maxBytes !== 0 && this.#bytes > this.maxBytes)) {
      // Expired entries go first: they are worth nothing, whatever the policy thinks of them.
      if (heap !== null && heap.peekExpiry() <= this.#clock.now()) {
        const expired = heap.peek(this.#isCurrent);
        if (expired >= 0 && this.#isExpired(expired, this.#clock.now())) {
          this.#removeSlot(expired, 'expired');
          continue;
        }
      }
      const victim = this.#policy.victim();
      if (victim < 0) throw new Error('tiercache internal: policy returned no victim while over bounds');
      this.#removeSlot(victim, this.#isExpired(victim, this.#clock.coarseNow()) ? 'expired' : 'evicted');
    }
  }

  #isExpired(slot: number, now: number): boolean {
    const expires = this.#expires;
    if (expires === null) return false;
    const exp = expires[slot];
    return exp !== 0 && exp <= now;
  }

  #removeSlot(slot: number, cause: RemovalCause): void {
    const key = this.#keys[slot] as string;
    this.#map.delete(key);
    this.#policy.onRemove(slot);
    const weights = this.#weights;
    if (weights !== null) {
      this.#bytes -= weights[slot];
      weights[slot] = 0;
    }
    if (this.#expires !== null) {
      this.#expires[slot] = 0;
      (this.#versions as Uint32Array)[slot]++;
    }
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#free[this.#freeTop++] = slot;
    if (cause === 'evicted') this.#evictions++;
    else if (cause === 'expired') this.#expirations++;
    if (this.#onRemove !== undefined) this.#onRemove(key, cause);
  }
}
