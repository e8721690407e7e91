/** Retry timing of a write-behind batch. */
export interface BackoffOptions {
  /** First retry delay, in ms. */
  retryBaseMs: number;
  /** Largest delay between two attempts, in ms. */
  retryMaxMs: number;
}

/**
 * Delay before attempt `attempt + 1` (attempt counts from 1): exponential with a cap, and "equal
 * jitter" (half fixed, half random) so flushers of many queues that failed together do not retry
 * in lockstep against a source that is coming back.
 */
export function backoffMs(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const d = Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** Math.min(30, attempt - 1));
  return d / 2 + random() * (d / 2);
}
