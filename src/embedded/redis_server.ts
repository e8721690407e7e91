import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Port to bind; default: a free loopback port (never 6379). */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /** How long to wait for the server to accept connections. @default 10000 */
  startTimeoutMs?: number;
  /**
   * Contents of a config file written into the server's private directory and passed first on
   * the command line (Sentinel needs a writable config file of its own).
   */
  configText?: string;
}

/** True when a `redis-server` binary is on PATH. */
export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel (and never 6379, the shared default). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
      });
    });
    if (port !== 6379 && port !== 0) return port;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A private `redis-server` on loopback with no persistence, for the demo, the benchmarks and the
 * tests. It can be killed, paused (SIGSTOP) and restarted on the same port to simulate outages.
 */
export class RedisServer {
  readonly port: number;
  readonly #args: string[];
  readonly #dir: string;
  readonly #startTimeoutMs: number;
  readonly #configFile: string | null;
  #proc: ChildProcess | null = null;

  private constructor(port: number, args: string[], startTimeoutMs: number, configText: string | undefined) {
    this.port = port;
    this.#args = args;
    this.#startTimeoutMs = startTimeoutMs;
    this.#dir = mkdtempSync(join(tmpdir(), 'tiercache-redis-'));
    this.#configFile = null;
    if (configText !== undefined) {
      this.#configFile = join(this.#dir, 'redis.conf');
      writeFileSync(this.#configFile, configText);
    }
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const port = options.port ?? (await freePort());
    const server = new RedisServer(port, options.args ?? [], options.startTimeoutMs ?? 10_000, options.configText);
    await server.#spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  async #spawn(): Promise<void> {
    const proc = spawn(
      'redis-server',
      [...(this.#configFile === null ? [] : [this.#configFile]), '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, '--daemonize', 'no', ...this.#args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#proc = proc;
    let output = '';
    proc.stdout?.on('data', (d: Buffer) => {
      if (output.length < 10_000) output += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      if (output.length < 10_000) output += d.toString();
    });
    const deadline = Date.now() + this.#startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${output.slice(-2000)}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server did not start on port ${this.port} within ${this.#startTimeoutMs} ms: ${output.slice(-2000)}`);
  }

  /** Suspends the process (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.#proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.#proc?.kill('SIGCONT');
  }

  /** Kills the process (SIGKILL by default) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#proc;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT');
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
    this.#proc = null;
  }

  /** Starts again on the same port (empty: nothing is persisted). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
