import { TierUnavailableError } from '../../errors.js';

/**
 * Rejects when `promise` has not settled within `ms`. node-redis v5's own command `timeout` stops
 * counting once a command is written to the socket, so a server that accepted the bytes and then
 * stalled (SIGSTOP, a long script, a network black hole) would hang the caller forever. One timer
 * per round trip (a batch), not per key. The late reply, if any, is dropped.
 */
const deadlines = new WeakSet<object>();

/** Whether `err` is a deadline passing (no answer at all), as opposed to an error Redis or the client gave. */
export function isDeadline(err: unknown): boolean {
  return typeof err === 'object' && err !== null && deadlines.has(err);
}

export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new TierUnavailableError('l2', `Redis ${what} timed out after ${ms} ms`);
      deadlines.add(err);
      reject(err);
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
