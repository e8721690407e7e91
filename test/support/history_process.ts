import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./history_child.ts', import.meta.url));

/** What a history child runs besides get/set/delete/getOrSet (history_child.ts). */
export interface HistoryWorkload {
  /** getMany, setMany, has, invalidatePattern, invalidateTags, clear, and session calls. */
  extended?: boolean;
  /** Padding characters in every value written (to cross a compression threshold). */
  pad?: number;
  /** The first this many keys are always written with a tag (t0/t1 alternately). */
  taggedKeys?: number;
}

/** A history_child.ts process: one cache instance running history workloads over IPC. */
export class HistoryProcess {
  readonly tag: string;
  readonly #child: ChildProcess;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  private constructor(child: ChildProcess, tag: string) {
    this.#child = child;
    this.tag = tag;
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`${tag}: ${m.error}`));
      else p.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`${tag} exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /**
   * `errorAware`: reads during which the instance counted an L2 error are logged as failed.
   * `workload`: the extended workload's settings (see HistoryWorkload); default the basic one.
   */
  static start(options: Record<string, unknown>, tag: string, errorAware = false, workload: HistoryWorkload = {}): Promise<HistoryProcess> {
    const child = fork(CHILD, [JSON.stringify(options), tag, errorAware ? 'error-aware' : '', JSON.stringify(workload)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${tag} did not start in 60 s`)), 60_000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${tag} exited with ${code} before it was ready`)));
      child.on('message', function ready(m: { ready?: boolean }) {
        if (m.ready) {
          clearTimeout(timer);
          child.off('message', ready);
          resolve(new HistoryProcess(child, tag));
        }
      });
    });
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ id, op, args });
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    await Promise.race([this.call('close').catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
