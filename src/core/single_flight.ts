/**
 * In-process single flight: while a load for a key is running, every other caller for that key
 * gets the same promise (its value or its error). The entry is removed when the promise settles,
 * so a failed load is retried by the next caller, not cached.
 */
export class SingleFlight<T> {
  readonly #inflight = new Map<string, Promise<T>>();

  get size(): number {
    return this.#inflight.size;
  }

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    const p = work();
    this.#inflight.set(key, p);
    const clear = (): void => {
      if (this.#inflight.get(key) === p) this.#inflight.delete(key);
    };
    // Both arms handled: this chain never produces an unhandled rejection of its own.
    p.then(clear, clear);
    return p;
  }
}
