import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./instance_child.ts', import.meta.url));
const START_LIMIT_MS = 60_000;

export interface RemoteError {
  name: string;
  message: string;
  code?: string;
}

/** A cache instance in a child process (instance_child.ts); each call is one IPC round trip. */
export class InstanceProcess {
  readonly #child: ChildProcess;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: { id?: number; result?: { value?: unknown; undefined?: boolean }; error?: RemoteError }) => {
      if (m.id === undefined) return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error));
      else p.resolve(m.result?.undefined ? undefined : m.result?.value);
    });
  }

  static start(options: Record<string, unknown>): Promise<InstanceProcess> {
    const child = fork(CHILD, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      // Start-up transpiles the sources through tsx: tens of seconds on a loaded 2-core machine.
      // On the limit the child is killed, or it would outlive the test.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`instance process did not start in ${START_LIMIT_MS / 1000} s`));
      }, START_LIMIT_MS);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`instance process exited with ${code}`)));
      child.on('message', function ready(m: { ready?: boolean }) {
        if (m.ready) {
          clearTimeout(timer);
          child.off('message', ready);
          resolve(new InstanceProcess(child));
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

  get pid(): number | undefined {
    return this.#child.pid;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    await Promise.race([this.call('close').catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
