import type { CacheLogger as Logger } from '../observability/logger.js';
import { withDeadline } from '../tiers/redis/deadline.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';

/** The L1 controls the watchdog moves (MemoryTier implements the first two). */
export interface ServableGate {
  setServableUntil(t: number): void;
  setFillTtlCap(ms: number): void;
  /** Coherence losses so far (tier_stack.ts `lossEpoch`). */
  lossEpoch(): number;
  /** Tracking confirmed in force with round trips begun after loss `epoch`: fills may resume. */
  coherenceRestored(epoch: number): void;
  /**
   * Every master answered a round trip sent at `sentAt` (ms since epoch): the L2 breaker may close
   * (the watchdog's PINGs are the probe an idle cache otherwise lacks; after an outage, writes
   * would go on skipping L2). See BreakerCore.probeSucceeded (resilience/breaker_core.ts).
   */
  redisAnswered?(sentAt: number): void;
  /**
   * Both PING rounds were answered over every tracking connection (so every tracking handshake
   * built before them completed): called before the gate moves, so a flush a reconnection asked
   * for (tracking_invalidator.ts) lands before L1 may serve longer. `false`: no connection ever
   * turned tracking on, so the round trips confirm nothing (the gate does not move).
   */
  trackingConfirmed?(): boolean | undefined;
}

/**
 * Bounds how stale L1 can be when invalidations cannot be confirmed.
 *
 * Invalidation pushes travel on the same connections as replies, but one reply proves less than it
 * seems: Redis sends a BCAST push at the end of the event-loop iteration that applied the change,
 * so a write applied just before our PING (same iteration) has its push *after* the PONG. A
 * second PING, sent once the first PONG is back, runs in a later iteration: its PONG follows every
 * push of a change applied before the first PING was sent. So after two rounds from every master,
 * every invalidation for a write Redis applied before t (the first PING's send time) has been
 * processed: L1 is known fresh as of t. The watchdog runs a round pair every `boundMs / 4`, and
 * soon after a tracking connection was lost (to end the fill stop of tier_stack.ts early).
 *
 * - Confirmed: L1 serves until `t + boundMs` (a gate checked on every L1 hit, so even a blocked
 *   event loop cannot stretch it).
 * - The gate passes without a new confirmation (Redis stalled, partitioned, unreachable): outage
 *   mode. Everything in L1 is dropped (it is older than the bound), and from then on each entry
 *   stored lives at most `boundMs` (local writes and fills keep serving, each for at most the
 *   bound, since no one can tell this instance about later writes).
 * - Confirmed again: back to the gate; entries stored during the outage keep their short lives.
 *
 * So no L1 value older than the bound is served while the bus is down. A lost connection is
 * handled sooner, by the invalidator's flush.
 */
export class CoherenceWatchdog {
  readonly #backend: RedisBackend;
  readonly #gate: ServableGate;
  readonly #flush: (reason: string) => void;
  readonly #boundMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #inFlight = false;
  /** When the last confirmation's PING was sent (ms since epoch); 0 = never. */
  confirmedAt = 0;
  /** True while confirmations are overdue past the bound. */
  outage = false;
  /** Outage windows entered so far. */
  outages = 0;
  /** When PINGs started failing (0 while they succeed), and the length of the last failing window. */
  #failingSince = 0;
  lastWindowMs = 0;
  #startedAt = Date.now();

  constructor(backend: RedisBackend, gate: ServableGate, flush: (reason: string) => void, boundMs: number, logger: Logger) {
    this.#backend = backend;
    this.#gate = gate;
    this.#flush = flush;
    this.#boundMs = boundMs;
    this.#logger = logger;
  }

  /** How long PINGs have been failing, in ms (0 while they succeed). */
  get degradedForMs(): number {
    return this.#failingSince === 0 ? 0 : Date.now() - this.#failingSince;
  }

  /**
   * How long invalidations have gone unconfirmed, in ms: since the last confirmation's PING, or
   * since start when none ever succeeded (then `confirmedAt` is 0 and PINGs may have failed only
   * for the last few ms, so neither figure alone says how long L1 has been on short lifetimes).
   */
  get unconfirmedForMs(): number {
    return Date.now() - (this.confirmedAt > 0 ? this.confirmedAt : this.#startedAt);
  }

  get intervalMs(): number {
    return Math.min(1000, Math.max(5, Math.floor(this.#boundMs / 4)));
  }

  /** First confirmation now (awaited), then periodic ones. */
  async start(): Promise<void> {
    this.#startedAt = Date.now();
    this.#gate.setServableUntil(0);
    // A tracking handshake that lands during the first confirmation (a lane connecting) opens a
    // new loss epoch, and that confirmation no longer proves it: confirm again, or a cache that
    // resolved initialize() would refuse every L1 fill until the first periodic round.
    let ok = false;
    for (let round = 0; round < 3; round++) {
      const epoch = this.#gate.lossEpoch();
      ok = await this.confirm();
      if (!ok || this.#gate.lossEpoch() === epoch) break;
    }
    if (!ok) this.#enterOutage();
    this.#timer = setInterval(() => {
      if (!this.outage && Date.now() >= this.confirmedAt + this.#boundMs) this.#enterOutage();
      void this.confirm();
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** One PING round over every master; on success moves the gate forward. */
  async confirm(): Promise<boolean> {
    if (this.#inFlight) return false;
    this.#inFlight = true;
    const epoch = this.#gate.lossEpoch();
    const sentAt = Date.now();
    try {
      await withDeadline(this.#backend.pingAll(), this.#boundMs, 'coherence ping');
      await withDeadline(this.#backend.pingAll(), this.#boundMs, 'coherence ping');
      if (this.#gate.trackingConfirmed?.() === false) {
        this.#warnUntracked();
        throw new Error('tracking not in force');
      }
      this.#gate.coherenceRestored(epoch);
      this.#gate.redisAnswered?.(sentAt);
      this.confirmedAt = sentAt;
      if (this.#failingSince !== 0) {
        this.lastWindowMs = Date.now() - this.#failingSince;
        this.#failingSince = 0;
      }
      this.#gate.setServableUntil(sentAt + this.#boundMs);
      if (this.outage) {
        this.outage = false;
        this.#gate.setFillTtlCap(0);
        this.#logger.info('coherence confirmed again; L1 back to normal lifetimes');
      }
      return true;
    } catch {
      if (this.#failingSince === 0) this.#failingSince = sentAt;
      return false;
    } finally {
      this.#inFlight = false;
    }
  }

  #warnedUntracked = false;
  #warnUntracked(): void {
    if (this.#warnedUntracked) return;
    this.#warnedUntracked = true;
    this.#logger.error('redis answers but no connection turned invalidation tracking on: L1 serves each entry for at most the staleness bound');
  }

  /** A tracking connection was lost or restarted: try to confirm shortly (it fails until the connection is back). */
  confirmSoon(): void {
    if (this.#timer === null) return;
    for (const ms of [5, 25, 100, 250]) setTimeout(() => void this.confirm(), ms).unref();
  }

  #enterOutage(): void {
    this.outage = true;
    this.outages++;
    this.#logger.warn({ boundMs: this.#boundMs }, 'coherence unconfirmed past the staleness bound; L1 dropped, new entries live at most the bound');
    this.#gate.setFillTtlCap(this.#boundMs);
    this.#flush('coherence unconfirmed past the staleness bound');
    this.#gate.setServableUntil(Infinity);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
