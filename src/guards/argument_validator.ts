import { InvalidArgumentError } from '../errors.js';
import type { KeyValidator } from './key_validator.js';

/** What argument validation needs from the cache's configuration. */
export interface ArgumentContext {
  keys: KeyValidator;
}

/**
 * Step 1 of the guard chain (security/secure_operations.ts): the arguments of public call `op`,
 * checked before anything else happens (no rate-limit token, no session lookup, no audit of
 * unchecked input, no side effect). Throws only CacheError subclasses.
 *
 * `args` is the call's arguments in order. This is the minimal version: the keys a call names
 * (`keys`) and its bulk pattern are validated here; per-operation shape checks extend this function.
 */
export function validateArgs(op: string, args: readonly unknown[], ctx: ArgumentContext, keys: readonly unknown[] = [], pattern?: unknown): void {
  if (typeof op !== 'string' || !Array.isArray(args)) throw new InvalidArgumentError('validateArgs: op and args are required');
  for (const k of keys) ctx.keys.validate(k);
  if (pattern !== undefined) ctx.keys.validatePattern(pattern);
}
