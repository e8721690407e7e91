import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tryLoadPeer } from '../util/optional_peer.js';

/** One level's method, as pino's: an object of fields and a message, or a message alone. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * The logger tiercache writes to: any logger with pino's methods (pino itself, or an adapter over
 * winston, bunyan, console…). Pass it as the `logger` option.
 */
export interface CacheLogger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  /** A logger that adds these fields to every record. */
  child(bindings: Record<string, unknown>): CacheLogger;
  /** Writes out anything buffered (pino's `flush`); called before close. */
  flush?(): void;
}

/** Levels of `logLevel`, in pino's numbering (JSON lines carry the number, as pino's do). */
export const LOG_LEVELS = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10, silent: Infinity } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

interface PinoModule {
  pino: ((options: object, destination: unknown) => CacheLogger) & { destination(dest: number | { dest: string | number; sync: boolean; mkdir: boolean }): unknown };
}

/**
 * The logger used when none is given: pino to stderr when pino is installed (an optional peer),
 * else {@link JsonLinesLogger}, which writes the same JSON line shape.
 */
export function defaultLogger(level: LogLevel): CacheLogger {
  const mod = tryLoadPeer<PinoModule>('pino');
  if (mod !== undefined) return mod.pino({ name: 'tiercache', level }, mod.pino.destination(2));
  return new JsonLinesLogger(LOG_LEVELS[level], { name: 'tiercache' });
}

/**
 * The audit trail's writer: one JSON line per record, synchronously (a record is on disk when the
 * call returns), with no time or pid of its own (the record carries `ts`). pino when installed,
 * else plain appends of the same lines. `path` absent: stdout.
 */
export function auditFileLogger(path: string | undefined): CacheLogger {
  const mod = tryLoadPeer<PinoModule>('pino');
  if (mod !== undefined) return mod.pino({ base: null, timestamp: false, level: 'info' }, mod.pino.destination({ dest: path ?? 1, sync: true, mkdir: true }));
  if (path === undefined) return new JsonLinesLogger(LOG_LEVELS.info, {}, (l) => process.stdout.write(l), false);
  mkdirSync(dirname(path), { recursive: true });
  return new JsonLinesLogger(LOG_LEVELS.info, {}, (l) => appendFileSync(path, l), false);
}

/**
 * pino's record shape (`level` number, `time`, `msg`, the bindings and fields) on stderr, without
 * pino: enough for the few warnings tiercache writes, so pino need not be installed.
 */
export class JsonLinesLogger implements CacheLogger {
  readonly #threshold: number;
  readonly #bindings: Record<string, unknown>;
  readonly #write: (line: string) => void;
  readonly #stamp: boolean;

  /** `stamp`: add pino's `time` and `pid` to each record. */
  constructor(threshold: number, bindings: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stderr.write(l), stamp = true) {
    this.#threshold = threshold;
    this.#bindings = bindings;
    this.#write = write;
    this.#stamp = stamp;
  }

  readonly error: LogFn = (a: object | string, m?: string) => this.#log(50, a, m);
  readonly warn: LogFn = (a: object | string, m?: string) => this.#log(40, a, m);
  readonly info: LogFn = (a: object | string, m?: string) => this.#log(30, a, m);
  readonly debug: LogFn = (a: object | string, m?: string) => this.#log(20, a, m);

  child(bindings: Record<string, unknown>): CacheLogger {
    return new JsonLinesLogger(this.#threshold, { ...this.#bindings, ...bindings }, this.#write, this.#stamp);
  }

  #log(level: number, a: object | string, m: string | undefined): void {
    if (level < this.#threshold) return;
    const fields = typeof a === 'string' ? {} : a;
    const msg = typeof a === 'string' ? a : m;
    const stamp = this.#stamp ? { time: Date.now(), pid: process.pid } : {};
    const record = { level, ...stamp, ...this.#bindings, ...fields, ...(msg === undefined ? {} : { msg }) };
    this.#write(`${JSON.stringify(record)}\n`);
  }
}
