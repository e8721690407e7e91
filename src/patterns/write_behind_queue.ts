import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CacheLogger as Logger } from '../observability/logger.js';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import { withDeadline } from '../tiers/redis/deadline.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import type { DataWriter } from './cache_pattern.js';

export interface WriteBehindOptions {
  /** Most stream entries per flush (before coalescing). @default 500 */
  batchSize?: number;
  /** How long a flusher blocks waiting for new entries, in ms. @default 100 */
  flushIntervalMs?: number;
  /** Attempts of a batch before its entries go to the dead-letter stream. @default 5 */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt, in ms. @default 100 */
  retryBaseMs?: number;
  /** Flusher leadership lease, in ms (renewed while alive; a dead leader's successor waits this long). @default 5000 */
  leaseMs?: number;
}

export interface WriteBehindStats {
  queued: number;
  flushedKeys: number;
  batches: number;
  coalesced: number;
  retries: number;
  deadLettered: number;
  leader: boolean;
}

/**
 * Durable write-behind for one DataWriter, in Redis Streams.
 *
 *   enqueue ── XADD <stream> (key, envelope) ──▶ resolves: the write is in Redis
 *   leader  ── XAUTOCLAIM (what a dead leader held) ─┐
 *           ── XREADGROUP >  (new entries) ──────────┴▶ coalesce per key (last wins)
 *           ── writer.writeBatch ──▶ XACK + XDEL        (failure: retry with backoff;
 *                                                        after maxAttempts → XADD <dead>, XACK)
 *
 * One flusher at a time (a leader lease, `SET NX PX`, renewed): entries of one key are applied in
 * stream order, so the source ends with the last write; two flushers could apply an older value
 * after a newer one. Any instance can become leader when the lease lapses, and first claims the
 * entries the dead leader had read but not acknowledged (XAUTOCLAIM), which come before any new
 * one. All keys of a queue share a hash tag (one slot): the stream, the dead-letter stream and the
 * lease must be addressable together in a cluster.
 *
 * What "durable" means here is what Redis's persistence gives: with AOF (appendfsync everysec or
 * always) an acknowledged enqueue survives a Redis restart; without persistence it survives any
 * application crash but not a Redis crash.
 */
export class WriteBehindQueue<T = unknown> extends EventEmitter {
  readonly name: string;
  readonly stream: string;
  readonly deadStream: string;
  readonly #leaseKey: string;
  readonly #backend: RedisBackend;
  readonly #codec: EnvelopeCodec;
  readonly #writer: DataWriter<T>;
  readonly #logger: Logger;
  readonly #o: Required<WriteBehindOptions>;
  readonly #consumer = `c-${randomBytes(6).toString('hex')}`;
  readonly #token = randomBytes(16).toString('base64url');
  readonly #timeoutMs: number;
  #running = false;
  #loop: Promise<void> | null = null;
  #isLeader = false;
  #leaseTimer: NodeJS.Timeout | null = null;
  #groupReady = false;
  readonly stats: WriteBehindStats = { queued: 0, flushedKeys: 0, batches: 0, coalesced: 0, retries: 0, deadLettered: 0, leader: false };

  constructor(args: { name: string; namespace: string; backend: RedisBackend; codec: EnvelopeCodec; writer: DataWriter<T>; logger: Logger; commandTimeoutMs: number; options?: WriteBehindOptions }) {
    super();
    this.name = args.name;
    const tag = `{${args.namespace}:wb:${args.name}}`;
    this.stream = `${args.namespace}:wb:${tag}:stream`;
    this.deadStream = `${args.namespace}:wb:${tag}:dead`;
    this.#leaseKey = `${args.namespace}:wb:${tag}:leader`;
    this.#backend = args.backend;
    this.#codec = args.codec;
    this.#writer = args.writer;
    this.#logger = args.logger.child({ queue: args.name });
    this.#timeoutMs = args.commandTimeoutMs;
    const o = args.options ?? {};
    this.#o = {
      batchSize: o.batchSize ?? 500,
      flushIntervalMs: o.flushIntervalMs ?? 100,
      maxAttempts: o.maxAttempts ?? 5,
      retryBaseMs: o.retryBaseMs ?? 100,
      leaseMs: o.leaseMs ?? 5000,
    };
  }

  #send(args: (string | Buffer)[], binary = false): Promise<unknown> {
    return withDeadline(this.#backend.send(this.stream, args, binary), this.#timeoutMs + (args[0] === 'XREADGROUP' ? this.#o.flushIntervalMs : 0), 'write-behind');
  }

  /** Queues `value` for `key`; resolves once Redis has the entry (rejects if it could not be queued). */
  async enqueue(key: string, value: T): Promise<string> {
    const envelope = this.#codec.encode(value, 0, key, this.stream);
    const id = (await this.#send(['XADD', this.stream, '*', 'k', key, 'v', envelope])) as string;
    this.stats.queued++;
    return String(id);
  }

  /** Starts competing for leadership and flushing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async #ensureGroup(): Promise<void> {
    if (this.#groupReady) return;
    try {
      await this.#send(['XGROUP', 'CREATE', this.stream, 'flushers', '0', 'MKSTREAM']);
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.#groupReady = true;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#ensureGroup();
        if (!(await this.#holdLease())) {
          await sleep(Math.min(this.#o.leaseMs / 2, 500));
          continue;
        }
        await this.#flushOnce(true);
      } catch (err) {
        this.#logger.warn({ err: (err as Error).message }, 'write-behind loop error; retrying');
        await sleep(200);
      }
    }
  }

  /** Takes or renews the leader lease; true while this instance is the leader. */
  async #holdLease(): Promise<boolean> {
    if (this.#isLeader) return true;
    const ok = await this.#send(['SET', this.#leaseKey, this.#token, 'NX', 'PX', String(this.#o.leaseMs)]);
    if (ok === null || ok === undefined) return false;
    this.#isLeader = true;
    this.stats.leader = true;
    this.#leaseTimer = setInterval(() => {
      this.#backend
        .eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`, [this.#leaseKey], [this.#token, String(this.#o.leaseMs)])
        .then(
          (r) => {
            if (r !== 1) this.#loseLease();
          },
          () => undefined,
        );
    }, Math.max(20, Math.floor(this.#o.leaseMs / 3)));
    this.#leaseTimer.unref();
    // What a previous leader read but never acknowledged comes first: it is older than anything new.
    await this.#claimAbandoned();
    this.emit('leader');
    return true;
  }

  #loseLease(): void {
    this.#isLeader = false;
    this.stats.leader = false;
    if (this.#leaseTimer !== null) clearInterval(this.#leaseTimer);
    this.#leaseTimer = null;
  }

  async #claimAbandoned(): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = (await this.#send(['XAUTOCLAIM', this.stream, 'flushers', this.#consumer, '0', cursor, 'COUNT', String(this.#o.batchSize)])) as [string, unknown[]];
      cursor = String(reply[0]);
    } while (cursor !== '0-0');
  }

  /**
   * One batch: this consumer's pending entries first (claimed or unacknowledged), else new ones
   * (blocking up to flushIntervalMs when `block`). Resolves to how many entries it handled.
   */
  async #flushOnce(block: boolean): Promise<number> {
    let entries = await this.#read('0', false);
    if (entries.length === 0) entries = await this.#read('>', block);
    if (entries.length === 0) return 0;
    // Coalesce: per key, the last entry of the batch wins (a Map keeps first-seen order).
    const latest = new Map<string, T>();
    for (const e of entries) {
      if (latest.has(e.key)) {
        latest.delete(e.key);
        this.stats.coalesced++;
      }
      latest.set(e.key, e.value);
    }
    const ids = entries.map((e) => e.id);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#write(latest);
        break;
      } catch (err) {
        if (attempt >= this.#o.maxAttempts) {
          await this.#deadLetter(entries, err);
          await this.#ack(ids);
          this.emit('dead-letter', { keys: [...latest.keys()], error: err });
          return entries.length;
        }
        this.stats.retries++;
        this.#logger.warn({ err: (err as Error).message, attempt, keys: latest.size }, 'write-behind batch failed; retrying');
        await sleep(this.#o.retryBaseMs * 2 ** (attempt - 1));
        if (!this.#isLeader) return 0; // someone else owns the queue now; they will claim these
      }
    }
    await this.#ack(ids);
    this.stats.batches++;
    this.stats.flushedKeys += latest.size;
    this.emit('flushed', { keys: latest.size, entries: entries.length });
    return entries.length;
  }

  async #write(items: Map<string, T>): Promise<void> {
    if (this.#writer.writeBatch) {
      if ((await this.#writer.writeBatch(items)) === false) throw new Error('writeBatch returned false');
      return;
    }
    for (const [k, v] of items) {
      if ((await this.#writer.write(k, v)) === false) throw new Error(`write(${k}) returned false`);
    }
  }

  async #read(from: '0' | '>', block: boolean): Promise<{ id: string; key: string; value: T }[]> {
    const args = ['XREADGROUP', 'GROUP', 'flushers', this.#consumer, 'COUNT', String(this.#o.batchSize)];
    if (block && from === '>') args.push('BLOCK', String(this.#o.flushIntervalMs));
    args.push('STREAMS', this.stream, from);
    const reply = await this.#send(args, true);
    const streams = normalizeStreams(reply);
    const out: { id: string; key: string; value: T }[] = [];
    for (const [id, fields] of streams) {
      if (fields === null) continue; // deleted meanwhile
      let key = '';
      let raw: Buffer | null = null;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const f = fields[i].toString();
        if (f === 'k') key = fields[i + 1].toString();
        else if (f === 'v') raw = fields[i + 1];
      }
      if (raw === null) continue;
      out.push({ id, key, value: this.#codec.decode(raw, this.stream).value as T });
    }
    return out;
  }

  async #ack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#send(['XACK', this.stream, 'flushers', ...ids]);
    await this.#send(['XDEL', this.stream, ...ids]);
  }

  async #deadLetter(entries: { id: string; key: string; value: T }[], err: unknown): Promise<void> {
    for (const e of entries) {
      const envelope = this.#codec.encode(e.value, 0, e.key, this.stream);
      await this.#send(['XADD', this.deadStream, '*', 'k', e.key, 'v', envelope, 'error', String((err as Error)?.message ?? err), 'source-id', e.id]);
      this.stats.deadLettered++;
    }
    this.#logger.error({ err: (err as Error)?.message, entries: entries.length }, 'write-behind entries moved to the dead-letter stream');
  }

  /** Entries waiting (not yet acknowledged by a flush), as Redis counts them. */
  async backlog(): Promise<number> {
    return Number(await this.#send(['XLEN', this.stream]));
  }

  /**
   * Flushes until the stream is empty (taking leadership if needed, waiting up to `timeoutMs`
   * for it), then stops this instance's flusher. What is left when the time runs out stays in
   * Redis for the next leader.
   */
  async drainAndStop(timeoutMs = 10_000): Promise<void> {
    this.#running = false;
    await this.#loop;
    const deadline = Date.now() + timeoutMs;
    try {
      await this.#ensureGroup();
      while (Date.now() < deadline && (await this.backlog()) > 0) {
        if (!(await this.#holdLease())) {
          await sleep(50);
          continue;
        }
        await this.#flushOnce(false);
      }
    } finally {
      await this.stop();
    }
  }

  /** Stops flushing and gives up leadership (without draining). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    if (this.#isLeader) {
      this.#loseLease();
      await this.#backend.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, [this.#leaseKey], [this.#token]).catch(() => undefined);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** XREADGROUP's reply in RESP2 ([[stream, entries]]) or RESP3 (a map) shape → its entries. */
function normalizeStreams(reply: unknown): [string, Buffer[] | null][] {
  if (reply === null || reply === undefined) return [];
  let entries: unknown;
  if (Array.isArray(reply)) entries = (reply[0] as unknown[])?.[1];
  else if (reply instanceof Map) entries = [...reply.values()][0];
  else if (typeof reply === 'object') entries = Object.values(reply as Record<string, unknown>)[0];
  if (!Array.isArray(entries)) return [];
  return entries.map((e) => {
    const [id, fields] = e as [Buffer | string, Buffer[] | null];
    return [id.toString(), fields];
  });
}
