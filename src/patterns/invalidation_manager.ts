import type { CacheOperations, GuardOptions } from '../types/cache_operations.js';
import { HandlerError, InvalidArgumentError } from '../errors.js';
import { globMatcher } from '../util/glob.js';

/** Handler of an application event (`emit`), e.g. "user:42 changed". */
export type InvalidationEventHandler = (event: string, payload?: unknown) => void | Promise<void>;

/**
 * Invalidation beyond TTL: tags, patterns and application events, over the guarded operations
 * (so every removal is authorized and audited like a direct cache call; the dependency graph
 * itself stays below the guards, in core/dependency_graph.ts).
 *
 * - **tags**: `set(k, v, { tags })`; `invalidateTags(['t'])` removes every member and what depends on it.
 * - **events**: `addEventHandler('user:*', fn)`; `emit('user:42', payload)` runs every handler
 *   whose glob matches (the seed's event-driven invalidation). With security on, registering and
 *   emitting need the ADMIN permission: a handler runs with whatever rights its code holds.
 */
export class InvalidationManager {
  readonly #ops: CacheOperations;
  readonly #handlers: { pattern: string; test: (k: string) => boolean; fn: InvalidationEventHandler }[] = [];

  constructor(ops: CacheOperations) {
    this.#ops = ops;
  }

  /** Removes every key carrying any of `tags`, and their dependents; resolves to how many keys were removed. */
  invalidateTags(tags: string[], options?: GuardOptions): Promise<number> {
    return this.#ops.invalidateTags(tags, options);
  }

  /** Removes every key matching the Redis glob `pattern` (see the cache's `invalidatePattern`). */
  invalidatePattern(pattern: string, options?: GuardOptions): Promise<number> {
    return this.#ops.invalidatePattern(pattern, options);
  }

  /** Runs `handler` for every emitted event matching the Redis glob `pattern`. Resolves to the unsubscribe function. */
  async addEventHandler(pattern: string, handler: InvalidationEventHandler, options?: GuardOptions): Promise<() => void> {
    return this.#ops.admin('addEventHandler', options, () => {
      if (typeof pattern !== 'string' || pattern.length === 0) throw new InvalidArgumentError('pattern must be a non-empty string');
      if (typeof handler !== 'function') throw new InvalidArgumentError('handler must be a function');
      const entry = { pattern, test: globMatcher(pattern), fn: handler };
      this.#handlers.push(entry);
      return () => {
        const i = this.#handlers.indexOf(entry);
        if (i >= 0) this.#handlers.splice(i, 1);
      };
    });
  }

  /** Emits an application event; resolves once every matching handler finished, to how many ran. */
  emit(event: string, payload?: unknown, options?: GuardOptions): Promise<number> {
    return this.#ops.admin('emit', options, async () => {
      if (typeof event !== 'string') throw new InvalidArgumentError('event must be a string');
      const matching = this.#handlers.filter((h) => h.test(event));
      await Promise.all(
        matching.map(async (h) => {
          try {
            await h.fn(event, payload);
          } catch (err) {
            throw new HandlerError(`an event handler for ${h.pattern} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
          }
        }),
      );
      return matching.length;
    });
  }
}
