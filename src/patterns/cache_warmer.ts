import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '../errors.js';
import { requireShape } from '../guards/argument_validator.js';
import type { CacheOperations, Loader } from '../types/cache_operations.js';
import { batchToMap, type DataLoader } from './cache_pattern.js';
import { UNABORTABLE } from '../util/abort.js';

export interface WarmOptions {
  /** Keys loaded at once (the batch size with `loadBatch`, the parallelism without). @default 10 */
  concurrency?: number;
  /** Seconds. @default the cache's defaultTtl */
  ttl?: number;
  /** Also reload keys that are already cached. @default false */
  overwrite?: boolean;
  /** With security on: the session the warm-up runs under (it needs READ and WRITE on every key). */
  sessionId?: string;
}

export interface WarmProgress {
  done: number;
  total: number;
  loaded: number;
  failed: number;
}

/**
 * Pre-loads keys before traffic needs them. Emits `progress` (WarmProgress) after every chunk and
 * `error` ({ key, error }) per failed key (without an `error` listener failures are only counted).
 * With a DataLoader that has `loadBatch`, each chunk is one source call; otherwise `concurrency`
 * `load` calls run at a time. Stores go out as one batched cache write per chunk.
 */
export class CacheWarmer extends EventEmitter {
  readonly #ops: CacheOperations;

  /** @param ops the guarded operations: every read and store of a warm-up is authorized and audited. */
  constructor(ops: CacheOperations) {
    super();
    this.#ops = ops;
  }

  async warmKeys<T>(keys: string[], loader: DataLoader<T> | Loader<T>, options: WarmOptions = {}): Promise<WarmProgress> {
    await this.#ops.validate('warmKeys', options, () => {
      requireShape.options('warmKeys', options);
      requireShape.loader('warmKeys', loader);
      const c = options.concurrency ?? 10;
      if (!Number.isInteger(c) || c < 1) throw new InvalidArgumentError('concurrency must be a positive integer');
    });
    const concurrency = options.concurrency ?? 10;
    const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
    // Every key is admitted (valid, and writable by the session) before the source is asked for any.
    await this.#ops.check('warmKeys', ['read', 'write'], keys, sid);
    const progress: WarmProgress = { done: 0, total: keys.length, loaded: 0, failed: 0 };
    let todo = keys;
    if (!options.overwrite) {
      const present = await this.#ops.getMany(keys, sid);
      todo = keys.filter((_, i) => present[i] === undefined);
      progress.done = keys.length - todo.length;
    }
    for (let i = 0; i < todo.length; i += concurrency) {
      const chunk = todo.slice(i, i + concurrency);
      const values = new Map<string, T>();
      if (typeof loader !== 'function' && loader.loadBatch) {
        try {
          for (const [k, v] of batchToMap(await loader.loadBatch(chunk))) values.set(k, v);
        } catch (error) {
          progress.failed += chunk.length;
          for (const key of chunk) this.#fail(key, error);
        }
      } else {
        const load = typeof loader === 'function' ? loader : (k: string) => loader.load(k, UNABORTABLE);
        await Promise.all(
          chunk.map(async (key) => {
            try {
              const v = await load(key, UNABORTABLE);
              if (v !== undefined) values.set(key, v);
            } catch (error) {
              progress.failed++;
              this.#fail(key, error);
            }
          }),
        );
      }
      if (values.size > 0) await this.#ops.setMany([...values].map(([key, value]) => ({ key, value, ttl: options.ttl })), sid);
      progress.loaded += values.size;
      progress.done += chunk.length;
      this.emit('progress', { ...progress });
    }
    return progress;
  }

  #fail(key: string, error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', { key, error });
  }
}
