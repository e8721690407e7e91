import { BasicPooledClientSideCache } from '@redis/client';

/** What the invalidator tells the tier stack. */
export interface InvalidationSink {
  /** `key` (without prefix) was written, deleted, expired or evicted in Redis by someone else. */
  invalidate(key: string): void;
  /** Every L1 entry may be stale: a tracking connection was lost, or Redis was flushed. */
  invalidateAll(reason: string): void;
  /**
   * A tracking connection is down or (re)starting: until tracking is confirmed in force again
   * (the watchdog), a change to a key may produce no invalidation, so nothing may fill L1.
   */
  coherenceLost(): void;
}

/**
 * L1 coherence through Redis server-assisted client-side caching, plugged into node-redis as its
 * client-side-cache provider so that node-redis does the connection bookkeeping:
 *
 * - `trackingOn()` is sent in the handshake of every connection node-redis opens (first connect,
 *   reconnect, every cluster node, a new master after failover), before the connection is used,
 *   as `CLIENT TRACKING ON BCAST PREFIX <ns>:v2: PREFIX <ns>:lock: NOLOOP`: Redis then pushes an
 *   invalidation to this connection for every change of a key under those prefixes made by any
 *   other connection (other instances, and writers outside tiercache), including expiry and
 *   eviction. NOLOOP: an instance never hears its own writes.
 * - Pushes arrive on the connection that carries this instance's writes, in the byte stream with
 *   the replies. What that order does and does not promise (docs/consistency.md, "Why L1 stays
 *   coherent"): Redis appends a BCAST invalidation at the end of the event-loop iteration that
 *   applied the change, so the push of a change applied in the same iteration as one of our
 *   commands comes *after* that command's reply, and node-redis handles a push synchronously
 *   while it resumes a reply's caller only in a later microtask. So a reply never proves that the
 *   pushes before it were handled, nor that none about a later change was: the tier stack's fill
 *   guard refuses any fill whose key was touched since its command was sent, and the watchdog
 *   confirms with two PING rounds, not one.
 * - The one way to miss a push is to lose the connection (Redis disconnects a client whose output
 *   buffer overflows rather than dropping pushes). Pushes missed while a connection was down are
 *   gone for good, so every connection after the first drops all of L1 once it has (re)started
 *   tracking: `trackingOn()` marks it, and the watchdog's next confirmation (which needs that
 *   handshake to have completed) does it. Until then L1 keeps serving, within the staleness
 *   bound the watchdog enforces (coherence_watchdog.ts), so an outage degrades to L1 instead of
 *   emptying it. A cluster also calls `clear()` when it rediscovers its topology: all of L1 goes.
 *
 * The node-redis response cache itself is not used: `handleCache` passes every command through.
 */
export class TrackingInvalidator extends BasicPooledClientSideCache {
  readonly #prefixes: string[];
  readonly #dataPrefix: string;
  readonly #sink: InvalidationSink;
  readonly #lockPrefix: string;
  readonly #lockWaiters = new Map<string, Set<() => void>>();
  #connections = 0;
  #lostSinceFlush = false;
  /** A connection (re)started tracking after a window without it: L1 goes at the next confirmation. */
  #flushPending = false;
  /** Invalidations received (for stats). */
  received = 0;
  /** Times all of L1 was dropped. */
  fullFlushes = 0;

  readonly #extra: { prefix: string; onKey: (key: string) => void; onFlush: () => void }[];

  /**
   * `extra`: more tracked prefixes with their handlers (sessions), each told of its keys'
   * changes and of every full flush.
   */
  constructor(namespacePrefix: string, dataPrefix: string, sink: InvalidationSink, extra: { prefix: string; onKey: (key: string) => void; onFlush: () => void }[] = []) {
    super();
    this.#dataPrefix = dataPrefix;
    this.#lockPrefix = `${namespacePrefix}lock:`;
    this.#extra = extra;
    this.#prefixes = [dataPrefix, this.#lockPrefix, ...extra.map((e) => e.prefix)];
    this.#sink = sink;
  }

  override trackingOn(): string[] {
    // The first connection of each node starts with whatever L1 holds from before; any later
    // one follows a window in which this instance was not listening. The flush waits for
    // `trackingConfirmed()`: node-redis builds this handshake as soon as TCP connects, and a dying
    // server (SIGKILLed, its backlog still accepting) lets it connect and then resets it, so
    // flushing here emptied L1 at the start of an outage that L1 is meant to ride out.
    if (this.#connections++ > 0 || this.#lostSinceFlush) this.#flushPending = true;
    this.#lostSinceFlush = false;
    this.#wakeAllLockWaiters();
    // The flush happens now, while this handshake is being built; CLIENT TRACKING is in force only
    // once Redis has run it. A read on another connection answered in between would fill L1 with
    // a value whose later change is never pushed: fills stop until the watchdog confirms.
    this.#sink.coherenceLost();
    const args = ['CLIENT', 'TRACKING', 'ON', 'BCAST'];
    for (const p of this.#prefixes) args.push('PREFIX', p);
    args.push('NOLOOP');
    return args;
  }

  override async handleCache(...args: Parameters<BasicPooledClientSideCache['handleCache']>): Promise<unknown> {
    const [, parser, fn, transformReply, typeMapping] = args;
    const reply = await fn();
    return transformReply ? transformReply(reply as never, parser.preserve, typeMapping) : reply;
  }

  override invalidate(key: unknown): void {
    if (key === null) {
      this.#flush('redis flushed the database or reset tracking');
      return;
    }
    this.received++;
    const k = typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString() : String(key);
    if (k.startsWith(this.#dataPrefix)) {
      this.#sink.invalidate(k.slice(this.#dataPrefix.length));
    } else if (k.startsWith(this.#lockPrefix)) {
      this.#wakeLockWaiters(k);
    } else {
      for (const e of this.#extra) if (k.startsWith(e.prefix)) e.onKey(k);
    }
  }

  override clear(): void {
    this.#flush('cluster topology refresh');
  }

  override onError(): void {
    // Not a flush yet (see the class comment): the reconnect's trackingOn() does it. But from
    // now on pushes may be missed: no new L1 fills.
    this.#lostSinceFlush = true;
    this.#sink.coherenceLost();
  }

  override onClose(): void {
    this.#lostSinceFlush = true;
    this.#sink.coherenceLost();
  }

  override onPoolClose(): void {
    this.#flush('redis connection pool closed');
  }

  override size(): number {
    return 0;
  }

  /**
   * The watchdog has just had round trips answered over every tracking connection, so every
   * handshake built so far has completed and pushes missed before it can no longer arrive: drop
   * L1 now if a (re)connection asked for it, before the watchdog extends how long L1 may serve.
   * Until then L1 served only under the watchdog's staleness gate. False when no connection has
   * ever sent the tracking handshake: coherence is not in force, whatever Redis answers.
   */
  trackingConfirmed(): boolean {
    if (this.#flushPending) {
      this.#flushPending = false;
      this.#flush('a redis connection (re)started tracking');
    }
    // Answered round trips prove nothing if no handshake ever asked for tracking (a client that
    // did not take this provider): then no invalidation will come, and L1 must not be trusted.
    return this.#connections > 0;
  }

  /**
   * Calls `wake` when `lockKey` changes in Redis (released, expired, taken over), or when
   * coherence is lost. Returns the unsubscribe function.
   */
  onLockChange(lockKey: string, wake: () => void): () => void {
    let set = this.#lockWaiters.get(lockKey);
    if (set === undefined) {
      set = new Set();
      this.#lockWaiters.set(lockKey, set);
    }
    set.add(wake);
    return () => {
      const s = this.#lockWaiters.get(lockKey);
      if (s === undefined) return;
      s.delete(wake);
      if (s.size === 0) this.#lockWaiters.delete(lockKey);
    };
  }

  #wakeLockWaiters(lockKey: string): void {
    const set = this.#lockWaiters.get(lockKey);
    if (set === undefined) return;
    this.#lockWaiters.delete(lockKey);
    for (const wake of set) wake();
  }

  #flush(reason: string): void {
    this.fullFlushes++;
    this.#sink.invalidateAll(reason);
    for (const e of this.#extra) e.onFlush();
    this.#wakeAllLockWaiters();
  }

  /** Lock waiters may have missed their release: let them look again. */
  #wakeAllLockWaiters(): void {
    const all = [...this.#lockWaiters.values()];
    this.#lockWaiters.clear();
    for (const set of all) for (const wake of set) wake();
  }
}
