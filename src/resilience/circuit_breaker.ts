import { BreakerCore, type BreakerState, type CircuitBreakerOptions } from './breaker_core.js';

export type { BreakerState, CircuitBreakerOptions } from './breaker_core.js';

/**
 * A circuit breaker for your own dependency, the same one the cache puts around Redis and around
 * each loader. Closed → open on a failure ratio over a rolling window (or at once on a silent
 * timeout); open → half-open after `openMs`, when up to `halfOpenProbes` calls go through; a probe
 * failure reopens, all probes succeeding closes. While open, `run` rejects with
 * `CircuitOpenError` without calling: the failing dependency gets time to recover and callers get
 * an answer at once instead of waiting on timeouts.
 *
 * ```ts
 * const breaker = new CircuitBreaker({ name: 'payments', failureRatio: 0.5, openMs: 2000 });
 * const quote = await breaker.run(() => payments.quote(order));
 * ```
 *
 * A thin shell: the state machine lives in resilience/breaker_core.ts, which the cache's own
 * callers use directly (they report outcomes `run` cannot see, such as a batch's round trip).
 */
export class CircuitBreaker {
  readonly #core: BreakerCore;

  constructor(options: CircuitBreakerOptions) {
    this.#core = new BreakerCore(options);
  }

  /** Shown in errors, stats and health. */
  get name(): string {
    return this.#core.name;
  }

  /** The state now (an open breaker past `openMs` reads as half-open). */
  get state(): BreakerState {
    return this.#core.state;
  }

  /** Times it opened. */
  get opens(): number {
    return this.#core.opens;
  }

  /** Calls it refused. */
  get rejected(): number {
    return this.#core.rejected;
  }

  /** Calls `fn` if allowed, recording its outcome; rejects with `CircuitOpenError` otherwise. */
  run<R>(fn: () => Promise<R>): Promise<R> {
    return this.#core.run(fn);
  }

  /** Name, state and counters, as the cache's health report shows its own breakers. */
  snapshot(): { name: string; state: BreakerState; opens: number; rejected: number } {
    return this.#core.snapshot();
  }
}
