import { CircuitOpenError } from '../errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Shown in errors, stats and health. */
  name: string;
  /** Open when failures / calls reaches this over the window… @default 0.5 */
  failureRatio?: number;
  /** …once at least this many calls were made in it. @default 20 */
  minimumCalls?: number;
  /** Rolling window, in ms (10 buckets). @default 10000 */
  windowMs?: number;
  /** How long to stay open before letting probes through, in ms. @default 1000 */
  openMs?: number;
  /** Concurrent probes while half-open; all must succeed to close. @default 1 */
  halfOpenProbes?: number;
  /**
   * Open on a call that timed out when nothing succeeded since it started: the dependency gave no
   * answer at all for a whole deadline. Opens within one command timeout at any request rate
   * (the ratio rule needs `minimumCalls` in the window, which a few slow callers never reach).
   * @default true
   */
  tripOnSilentTimeout?: boolean;
  /** Time source (ms). */
  now?: () => number;
  /** Called on every state change (the cache's 'breaker' event). Half-open is noticed lazily, on the next use. */
  onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

const BUCKETS = 10;

/**
 * The breaker itself, with the hooks the cache's own callers use (the L2 batchers report each
 * round trip's outcome, the health check and the coherence watchdog report their PINGs). Not
 * exported from the package: users get `CircuitBreaker` (circuit_breaker.ts), a facade over one of these with
 * `run`, `state` and `snapshot` only, so a caller cannot report outcomes it did not have (or take
 * a half-open probe with `allow()` and never report it).
 *
 * Closed → open on a failure ratio over a rolling window; open → half-open after `openMs`, when
 * up to `halfOpenProbes` calls go through; a probe failure reopens, all probes succeeding closes
 * (and clears the window). While open, `allow()` is false and `run` rejects with
 * `CircuitOpenError` without calling: the failing dependency gets time to recover and callers get
 * an answer at once (L1, a stale value, a miss) instead of waiting on timeouts.
 *
 * The window is BUCKETS counters pairs over `windowMs`, rotated lazily on use: no timer.
 */
export class BreakerCore {
  readonly name: string;
  readonly #ratio: number;
  readonly #minimum: number;
  readonly #bucketMs: number;
  readonly #openMs: number;
  readonly #probes: number;
  readonly #now: () => number;
  readonly #onStateChange: ((state: BreakerState, previous: BreakerState) => void) | undefined;
  readonly #ok = new Uint32Array(BUCKETS);
  readonly #bad = new Uint32Array(BUCKETS);
  #bucket = 0;
  #bucketStart = 0;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #probesInFlight = 0;
  #probeOk = 0;
  /** When a call last succeeded (this breaker's clock); -Infinity before the first. */
  #lastSuccessAt = -Infinity;
  readonly #tripOnSilentTimeout: boolean;
  /** Times it opened, and calls it refused. */
  opens = 0;
  rejected = 0;

  constructor(options: CircuitBreakerOptions) {
    this.name = options.name;
    this.#ratio = options.failureRatio ?? 0.5;
    this.#minimum = options.minimumCalls ?? 20;
    this.#bucketMs = (options.windowMs ?? 10_000) / BUCKETS;
    this.#openMs = options.openMs ?? 1000;
    this.#probes = options.halfOpenProbes ?? 1;
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
    this.#tripOnSilentTimeout = options.tripOnSilentTimeout ?? true;
    this.#bucketStart = this.#now();
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#openMs) {
      this.#state = 'half-open';
      this.#probesInFlight = 0;
      this.#probeOk = 0;
      this.#onStateChange?.('half-open', 'open');
    }
    return this.#state;
  }

  /**
   * Whether a call may go now. A true answer while half-open reserves a probe: the caller must
   * then report `onSuccess` or `onFailure`.
   */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && this.#probesInFlight < this.#probes) {
      this.#probesInFlight++;
      return true;
    }
    this.rejected++;
    return false;
  }

  /** This breaker's clock (ms): what callers pass back to `onTimeout` as a call's start. */
  now(): number {
    return this.#now();
  }

  onSuccess(): void {
    this.#lastSuccessAt = this.#now();
    if (this.#state === 'half-open') {
      if (++this.#probeOk >= this.#probes) this.#close();
      return;
    }
    this.#rotate();
    this.#ok[this.#bucket]++;
  }

  onFailure(): void {
    if (this.#state === 'half-open') {
      this.#open();
      return;
    }
    if (this.#state === 'open') return;
    this.#rotate();
    this.#bad[this.#bucket]++;
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < BUCKETS; i++) {
      ok += this.#ok[i];
      bad += this.#bad[i];
    }
    if (ok + bad >= this.#minimum && bad / (ok + bad) >= this.#ratio) this.#open();
  }

  /**
   * A call started at `startedAt` (see `now()`) timed out. A failure like any other, and, when no
   * call succeeded since it started, proof the dependency answered nothing for a whole deadline:
   * the breaker opens at once (`tripOnSilentTimeout`).
   */
  onTimeout(startedAt: number): void {
    if (this.#tripOnSilentTimeout && this.#state === 'closed' && this.#lastSuccessAt <= startedAt) {
      this.#rotate();
      this.#bad[this.#bucket]++;
      this.#open();
      return;
    }
    this.onFailure();
  }

  /** Calls `fn` if allowed, recording its outcome; rejects with CircuitOpenError otherwise. */
  async run<R>(fn: () => Promise<R>): Promise<R> {
    if (!this.allow()) throw new CircuitOpenError(`Circuit ${this.name} is open`);
    try {
      const r = await fn();
      this.onSuccess();
      return r;
    } catch (err) {
      this.onFailure();
      throw err;
    }
  }

  /**
   * A probe made outside `run`, sent at `startedAt` (see `now()`), answered: healthCheck's or the
   * coherence watchdog's PING to Redis. Sent after the breaker opened, it proves the dependency
   * answers again, and the breaker closes (open or half-open). Without it an idle cache, whose
   * only traffic is health checks, stayed half-open (and out of a readiness pool) until some
   * request came by; and writes right after a stall ended were refused for the rest of `openMs`.
   * A probe sent before the breaker opened proves nothing about now and is ignored. If the
   * dependency still cannot serve real calls, the next silent timeout opens the breaker again.
   */
  probeSucceeded(startedAt: number = this.#now()): void {
    if (this.#state !== 'closed' && startedAt >= this.#openedAt) this.#close();
  }

  /** A probe made outside `run` failed: when half-open, the breaker opens again, as on a failed probe call. */
  probeFailed(): void {
    if (this.state === 'half-open') this.#open();
  }

  snapshot(): { name: string; state: BreakerState; opens: number; rejected: number } {
    return { name: this.name, state: this.state, opens: this.opens, rejected: this.rejected };
  }

  #open(): void {
    const previous = this.#state;
    this.#state = 'open';
    this.#openedAt = this.#now();
    this.opens++;
    this.#onStateChange?.('open', previous);
  }

  #close(): void {
    this.#state = 'closed';
    this.#ok.fill(0);
    this.#bad.fill(0);
    this.#onStateChange?.('closed', 'half-open');
  }

  #rotate(): void {
    const now = this.#now();
    let steps = Math.floor((now - this.#bucketStart) / this.#bucketMs);
    if (steps <= 0) return;
    this.#bucketStart += steps * this.#bucketMs;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS;
      this.#ok[this.#bucket] = 0;
      this.#bad[this.#bucket] = 0;
    }
  }
}
