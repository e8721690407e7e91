import { liveNow } from './live_clock.js';

/**
 * Time source for every expiry decision. Wall-clock milliseconds (not `performance.now()`),
 * because expiry instants are written into L2 envelopes and read by other processes.
 *
 * `coarseNow()` is the hot-path read: it caches `Date.now()` for up to `resolutionMs` so an L1 hit
 * costs a field read instead of a syscall-backed call (the lru-cache `ttlResolution` trick). An
 * entry may therefore live up to `resolutionMs` past its expiry; writes use `now()`.
 *
 * `liveNow()` is for decisions that must see time pass even inside one long synchronous stretch
 * (the coherence gate): it never stands still waiting for a timer, yet costs no syscall
 * (live_clock.ts).
 */
export interface Clock {
  now(): number;
  coarseNow(): number;
  liveNow(): number;
}

export class SystemClock implements Clock {
  #cached = 0;
  readonly #resolutionMs: number;
  readonly #reset = (): void => {
    this.#cached = 0;
  };

  constructor(resolutionMs = 1) {
    this.#resolutionMs = resolutionMs;
  }

  now(): number {
    return Date.now();
  }

  liveNow(): number {
    return liveNow();
  }

  coarseNow(): number {
    if (this.#cached !== 0) return this.#cached;
    this.#cached = Date.now();
    setTimeout(this.#reset, this.#resolutionMs).unref();
    return this.#cached;
  }
}

/** A clock tests move by hand, so TTL tests do not sleep. */
export class ManualClock implements Clock {
  #t: number;
  constructor(start = 1_700_000_000_000) {
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  coarseNow(): number {
    return this.#t;
  }
  liveNow(): number {
    return this.#t;
  }
  advance(ms: number): void {
    this.#t += ms;
  }
}
