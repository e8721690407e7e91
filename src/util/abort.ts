import { AbortedError } from '../errors.js';
import type { LoaderContext } from '../types/cache_operations.js';

/**
 * The context of a load that no caller can abandon (a background refresh, a warm-up, a direct
 * call outside `getOrSet`): its signal never aborts.
 */
export const UNABORTABLE: LoaderContext = Object.freeze({ signal: new AbortController().signal });

/** The typed error of a call whose `signal` aborted; the signal's reason is its `cause`. */
export function abortedError(key: string, signal: AbortSignal): AbortedError {
  return new AbortedError('getOrSet was aborted by its signal', { key, cause: signal.reason });
}
