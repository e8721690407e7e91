import { AbortedError } from '../errors.js';

/** The typed error of a call whose `signal` aborted; the signal's reason is its `cause`. */
export function abortedError(key: string, signal: AbortSignal): AbortedError {
  return new AbortedError('getOrSet was aborted by its signal', { key, cause: signal.reason });
}
