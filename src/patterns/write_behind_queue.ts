import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CacheLogger as Logger } from '../observability/logger.js';
import type { EnvelopeCodec } from '../codec/envelope_codec.js';
import { CacheError, TierUnavailableError } from '../errors.js';
import { withDeadline } from '../tiers/redis/deadline.js';
import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import type { DataWriter, WriteResult } from './cache_pattern.js';
import { backoffMs } from './write_behind/backoff.js';
import { FencedLease } from './write_behind/fenced_lease.js';
import { ACK, DEAD_LETTER, ENQUEUE, REPLAY } from './write_behind/scripts.js';

export interface WriteBehindOptions {
  /** Most stream entries per flush (before coalescing). @default 500 */
  batchSize?: number;
  /** How long an idle flusher waits before polling for new entries again, in ms. @default 100 */
  flushIntervalMs?: number;
  /** Most attempts of a key before it goes to the dead letters. @default Infinity (bounded by maxRetryMs) */
  maxAttempts?: number;
  /** How long a key is retried (from its first failure) before it goes to the dead letters, in ms. @default 120000 */
  maxRetryMs?: number;
  /**
   * Attempts after which a key that keeps failing while other keys are written is treated as
   * poison and dead-lettered early (the source is up; this key is refused). @default 5
   */
  poisonAttempts?: number;
  /** First retry delay, doubled per attempt (with jitter), in ms. @default 100 */
  retryBaseMs?: number;
  /** Largest retry delay, in ms. @default 5000 */
  retryMaxMs?: number;
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
  /** Dead letters dropped because a newer write of their key was already queued. */
  superseded: number;
  /** Terms that ended with entries unwritten (lease lost, stale fence). */
  termsLost: number;
  leader: boolean;
  /** The current term's fencing token (0 when not leader). */
  fence: number;
}

/** One write that the source refused until the queue gave up on it. */
export interface DeadLetter<T = unknown> {
  key: string;
  value: T;
  /** The last error the writer gave. */
  error: string;
  /** Attempts made. */
  attempts: number;
  /** When it was dead-lettered (ms since the epoch). */
  failedAt: number;
  /** Stream id of the entry that failed. */
  sourceId: string;
}

interface Entry<T> {
  id: string;
  key: string;
  value: T;
}

interface KeyState<T> {
  value: T;
  ids: string[];
  lastId: string;
  attempts: number;
  error: string;
}

interface DeadRecord {
  id: string;
  error: string;
  attempts: number;
  at: number;
  v: string;
}

/**
 * Durable write-behind for one DataWriter, in Redis Streams.
 *
 *   enqueue ── script: XADD <stream>, latest[key] = id ──▶ resolves: the write is in Redis
 *   leader  ── claim what a lapsed leader left (idle ≥ lease) ─┐
 *           ── XREADGROUP > (new entries, no BLOCK) ───────────┴▶ coalesce per key (last wins)
 *           ── confirm term ── writer.writeBatch(items, { fence }) ──▶ script: XACK + XDEL
 *              (failure: retry per key with backoff; a key that fails past maxRetryMs goes to the
 *               dead letters, the others are written and acknowledged)
 *
 * One flusher at a time, fenced (write_behind/fenced_lease.ts): entries of one key are applied in
 * stream order, so the source ends with the last write. A new leader first finishes what the
 * previous one had read (those entries are older than any unread one) and reads nothing new until
 * it has them; it claims them only once they were idle a full lease, never from a live term. All
 * keys of a queue share a hash tag (one slot), so each script is atomic in a cluster too.
 *
 * No read blocks the connection: XREADGROUP BLOCK on the shared connection would hold every other
 * command queued behind it for up to the poll interval, so an idle flusher polls instead.
 *
 * What "durable" means here is what Redis's persistence gives: with AOF (appendfsync everysec or
 * always) an acknowledged enqueue survives a Redis restart; without persistence it survives any
 * application crash but not a Redis crash. After a restart that lost the data, the consumer group
 * is created again and flushing goes on with what is queued from then.
 */
/**
 * What the pattern manager does with a queue beyond its public API: queue writes, read a key's
 * pending value, start the flusher and stop it (drained or not). Reached with
 * {@link writeBehindInternals}, which src/index.ts does not export: the queue a user gets from
 * `patternManager.writeBehindQueue(writer)` shows its stats, backlog and dead letters only, so no
 * caller can queue a write the cache never saw or stop a flusher the manager still feeds.
 */
export interface WriteBehindInternals<T> {
  /** Queues `value` for `key`; resolves once Redis has the entry (rejects with a CacheError if it could not be queued). */
  enqueue(key: string, value: T): Promise<string>;
  /**
   * The newest queued (not yet written) value of `key`, if any: what a read of the key must see
   * until the source has it.
   */
  pendingValue(key: string): Promise<{ value: T } | undefined>;
  /** Starts competing for leadership and flushing. */
  start(): void;
  /** Stops flushing and gives up leadership (without draining). */
  stop(): Promise<void>;
  /**
   * Flushes until nothing is left (taking leadership if needed, waiting up to `timeoutMs` for
   * it), then stops this instance's flusher. What is left when the time runs out stays in Redis
   * for the next leader.
   */
  drainAndStop(timeoutMs?: number): Promise<void>;
}

let hooksOf: <T>(queue: WriteBehindQueue<T>) => WriteBehindInternals<T>;

/** The internal hooks of `queue` (see {@link WriteBehindInternals}). */
export function writeBehindInternals<T>(queue: WriteBehindQueue<T>): WriteBehindInternals<T> {
  return hooksOf(queue);
}

export class WriteBehindQueue<T = unknown> extends EventEmitter {
  readonly name: string;
  readonly stream: string;
  /** Hash key → dead letter (JSON) of the keys the source refused. */
  readonly deadKey: string;
  readonly #latestKey: string;
  readonly #leaseKey: string;
  readonly #backend: RedisBackend;
  readonly #codec: EnvelopeCodec;
  readonly #writer: DataWriter<T>;
  readonly #logger: Logger;
  readonly #o: Required<WriteBehindOptions>;
  readonly #consumer = `c-${randomBytes(6).toString('hex')}`;
  readonly #timeoutMs: number;
  readonly #lease: FencedLease;
  #running = false;
  /**
   * When a stop was asked for: retrying a failing batch gives up at this time (its entries stay
   * unacknowledged in the stream, for the next leader or the next start). Infinity while running.
   */
  #stopBy = Infinity;
  #loop: Promise<void> | null = null;
  #groupReady = false;
  #internals: WriteBehindInternals<T> | null = null;

  static {
    hooksOf = <T>(q: WriteBehindQueue<T>): WriteBehindInternals<T> =>
      (q.#internals ??= {
        enqueue: (key, value) => q.#enqueue(key, value),
        pendingValue: (key) => q.#pendingValue(key),
        start: () => q.#start(),
        stop: () => q.#stop(),
        drainAndStop: (timeoutMs) => q.#drainAndStop(timeoutMs),
      });
  }

  readonly stats: WriteBehindStats = { queued: 0, flushedKeys: 0, batches: 0, coalesced: 0, retries: 0, deadLettered: 0, superseded: 0, termsLost: 0, leader: false, fence: 0 };

  /** @internal Built by the pattern manager (`patternManager.writeBehindQueue(writer)`), which owns its Redis connection. */
  constructor(args: { name: string; namespace: string; backend: RedisBackend; codec: EnvelopeCodec; writer: DataWriter<T>; logger: Logger; commandTimeoutMs: number; options?: WriteBehindOptions }) {
    super();
    this.name = args.name;
    const tag = `{${args.namespace}:wb:${args.name}}`;
    this.stream = `${args.namespace}:wb:${tag}:stream`;
    this.deadKey = `${args.namespace}:wb:${tag}:dead`;
    this.#latestKey = `${args.namespace}:wb:${tag}:latest`;
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
      maxAttempts: o.maxAttempts ?? Infinity,
      maxRetryMs: o.maxRetryMs ?? 120_000,
      poisonAttempts: o.poisonAttempts ?? 5,
      retryBaseMs: o.retryBaseMs ?? 100,
      retryMaxMs: o.retryMaxMs ?? 5000,
      leaseMs: o.leaseMs ?? 5000,
    };
    this.#lease = new FencedLease({
      eval: (script, keys, argv) => this.#eval(script, keys, argv),
      leaseKey: this.#leaseKey,
      fenceKey: `${args.namespace}:wb:${tag}:fence`,
      leaseMs: this.#o.leaseMs,
      onLost: () => {
        this.stats.leader = false;
        this.stats.fence = 0;
        this.emit('leader-lost');
      },
    });
  }

  /** Every node-redis rejection becomes a typed error; a NOGROUP also marks the group for re-creation. */
  #typed(err: unknown, what: string): CacheError {
    if (err instanceof CacheError) return err;
    const message = (err as Error)?.message ?? String(err);
    if (message.includes('NOGROUP')) this.#groupReady = false;
    return new TierUnavailableError('l2', `Redis write-behind ${what} failed: ${message}`, { cause: err });
  }

  async #send(args: (string | Buffer)[], binary = false): Promise<unknown> {
    try {
      return await withDeadline(this.#backend.send(this.stream, args, binary), this.#timeoutMs, 'write-behind');
    } catch (err) {
      throw this.#typed(err, String(args[0]));
    }
  }

  async #eval(script: string, keys: string[], argv: (string | Buffer)[]): Promise<unknown> {
    try {
      return await withDeadline(this.#backend.eval(script, keys, argv), this.#timeoutMs, 'write-behind');
    } catch (err) {
      throw this.#typed(err, 'script');
    }
  }

  async #enqueue(key: string, value: T): Promise<string> {
    const envelope = this.#codec.encode(value, 0, key, this.stream);
    const id = String(await this.#eval(ENQUEUE, [this.stream, this.#latestKey, this.deadKey], [key, envelope]));
    this.stats.queued++;
    return id;
  }

  async #pendingValue(key: string): Promise<{ value: T } | undefined> {
    const id = await this.#send(['HGET', this.#latestKey, key]);
    if (id === null || id === undefined) return undefined;
    const entries = toEntries(await this.#send(['XRANGE', this.stream, String(id), String(id)], true));
    const e = entries.map((x) => this.#decode(x)).find((x) => x !== null);
    return e ? { value: e.value } : undefined;
  }

  #start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopBy = Infinity;
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
        if ((await this.#step()) === 0) await sleep(this.#o.flushIntervalMs);
      } catch (err) {
        this.#logger.warn({ err: (err as Error).message }, 'write-behind loop error; retrying');
        await sleep(200);
      }
    }
  }

  /** One turn: make sure of the group and the term, then one batch. Resolves to entries handled. */
  async #step(): Promise<number> {
    await this.#ensureGroup();
    if (!this.#lease.holds()) {
      if (!(await this.#lease.tryAcquire())) {
        await sleep(Math.min(this.#o.leaseMs / 2, 500));
        return -1;
      }
      this.stats.leader = true;
      this.stats.fence = this.#lease.fence ?? 0;
      this.emit('leader', this.stats.fence);
    }
    return this.#flushOnce();
  }

  /** Pending-entry counts of the group: ours and everyone else's. */
  async #pending(): Promise<{ mine: number; others: number }> {
    const reply = (await this.#send(['XPENDING', this.stream, 'flushers'])) as [unknown, unknown, unknown, [unknown, unknown][] | null];
    let mine = 0;
    let others = 0;
    for (const [consumer, n] of reply?.[3] ?? []) {
      if (String(consumer) === this.#consumer) mine += Number(n);
      else others += Number(n);
    }
    return { mine, others };
  }

  /**
   * One batch. Order matters: our own unfinished entries, else what a previous leader read and
   * left (claimed only once idle a full lease: its term is surely over), else new entries. New
   * entries are never read while an older term's entries are outstanding, or a key's newer value
   * could reach the source before its older one.
   */
  async #flushOnce(): Promise<number> {
    const p = await this.#pending();
    let entries: Entry<T>[];
    if (p.mine > 0) entries = await this.#read('0');
    else if (p.others > 0) {
      await this.#send(['XAUTOCLAIM', this.stream, 'flushers', this.#consumer, String(this.#o.leaseMs), '0-0', 'COUNT', String(this.#o.batchSize)]);
      entries = await this.#read('0');
    } else entries = await this.#read('>');
    if (entries.length === 0) return 0;
    await this.#flushBatch(entries);
    return entries.length;
  }

  async #flushBatch(entries: Entry<T>[]): Promise<void> {
    // Coalesce: per key, the last entry of the batch wins (a Map keeps first-seen order).
    const keys = new Map<string, KeyState<T>>();
    for (const e of entries) {
      const s = keys.get(e.key);
      if (s === undefined) keys.set(e.key, { value: e.value, ids: [e.id], lastId: e.id, attempts: 0, error: '' });
      else {
        this.stats.coalesced++;
        s.value = e.value;
        s.ids.push(e.id);
        s.lastId = e.id;
      }
    }
    const firstFailure = { at: 0 };
    let perKey = false;
    let sourceUp = false;
    for (let round = 1; keys.size > 0; round++) {
      const failed = await this.#attempt(keys, perKey);
      if (failed === null) return this.#termLost();
      const done = [...keys.keys()].filter((k) => !failed.has(k));
      if (done.length > 0) {
        if (perKey) sourceUp = true;
        if (!(await this.#ack(done.map((k) => [k, keys.get(k) as KeyState<T>])))) return this.#termLost();
        for (const k of done) keys.delete(k);
        this.stats.flushedKeys += done.length;
      }
      if (keys.size === 0) break;
      if (firstFailure.at === 0) firstFailure.at = Date.now();
      for (const [k, err] of failed) {
        const s = keys.get(k);
        if (s === undefined) continue;
        s.attempts++;
        s.error = err;
      }
      const outOfTime = Date.now() - firstFailure.at >= this.#o.maxRetryMs;
      const give = [...keys].filter(([, s]) => outOfTime || s.attempts >= this.#o.maxAttempts || (sourceUp && s.attempts >= this.#o.poisonAttempts));
      for (const [k, s] of give) {
        if (!(await this.#deadLetter(k, s))) return this.#termLost();
        keys.delete(k);
      }
      if (keys.size === 0) break;
      // A close() during a source outage must not wait out maxRetryMs (2 minutes by default).
      if (Date.now() >= this.#stopBy) {
        this.#logger.warn({ keys: keys.size }, 'write-behind stopping with a failing batch; it stays queued');
        return;
      }
      // After a failed batch, keys go one at a time: one refused key must not hold back the rest.
      perKey = true;
      this.stats.retries++;
      this.#logger.warn({ keys: keys.size, round, err: [...keys.values()][0]?.error }, 'write-behind write failed; retrying');
      await sleep(Math.max(0, Math.min(backoffMs(round, this.#o), this.#stopBy - Date.now())));
      if (!this.#lease.holds()) return this.#termLost();
    }
    this.stats.batches++;
    this.emit('flushed', { entries: entries.length });
  }

  #termLost(): void {
    this.stats.termsLost++;
    this.#logger.warn('write-behind term ended with a batch in hand; the next leader writes it');
  }

  /**
   * Immediately before calling the writer: the term must be confirmed (a round trip when the last
   * confirmation is older than a tenth of the lease) and, checked synchronously right before the
   * call, still within its known lifetime. A leader that stalled stops here, before the write.
   */
  #lastConfirm = 0;
  async #stillLeader(): Promise<number | null> {
    if (Date.now() - this.#lastConfirm > this.#o.leaseMs / 10) {
      if (!(await this.#lease.confirm())) return null;
      this.#lastConfirm = Date.now();
    }
    return this.#lease.holds() ? this.#lease.fence : null;
  }

  /** Writes every key (one batch, or one key at a time). Resolves to the failed keys with their error, or null when the term ended first. */
  async #attempt(keys: Map<string, KeyState<T>>, perKey: boolean): Promise<Map<string, string> | null> {
    const failed = new Map<string, string>();
    const w = this.#writer;
    if (!perKey && w.writeBatch) {
      const fence = await this.#stillLeader();
      if (fence === null) return null;
      const items = new Map([...keys].map(([k, s]) => [k, s.value]));
      try {
        const r = await w.writeBatch(items, { fence });
        const refused = refusedKeys(r, items.keys());
        for (const k of refused) failed.set(k, `writeBatch refused ${k}`);
      } catch (err) {
        for (const k of keys.keys()) failed.set(k, errorText(err));
      }
      return failed;
    }
    for (const [k, s] of keys) {
      const fence = await this.#stillLeader();
      if (fence === null) return null;
      try {
        const r = w.write ? await w.write(k, s.value, { fence }) : await w.writeBatch?.(new Map([[k, s.value]]), { fence });
        if (refusedKeys(r, [k]).length > 0) failed.set(k, `write refused ${k}`);
      } catch (err) {
        failed.set(k, errorText(err));
      }
    }
    return failed;
  }

  async #read(from: '0' | '>'): Promise<Entry<T>[]> {
    const reply = await this.#send(['XREADGROUP', 'GROUP', 'flushers', this.#consumer, 'COUNT', String(this.#o.batchSize), 'STREAMS', this.stream, from], true);
    const out: Entry<T>[] = [];
    const stale: string[] = [];
    for (const raw of parseEntries(reply)) {
      const e = this.#decode(raw);
      if (e === null) stale.push(raw[0]);
      else out.push(e);
    }
    // Entries deleted while pending come back without fields: just drop them from the group.
    if (stale.length > 0) await this.#send(['XACK', this.stream, 'flushers', ...stale]);
    return out;
  }

  #decode([id, fields]: [string, Buffer[] | null]): Entry<T> | null {
    if (fields === null) return null;
    let key = '';
    let raw: Buffer | null = null;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const f = fields[i].toString();
      if (f === 'k') key = fields[i + 1].toString();
      else if (f === 'v') raw = fields[i + 1];
    }
    if (raw === null) return null;
    return { id, key, value: this.#codec.decode(raw, this.stream).value as T };
  }

  /** Acknowledges and deletes the entries of `done` in one step; false when the term is no longer ours. */
  async #ack(done: [string, KeyState<T>][]): Promise<boolean> {
    const fence = this.#lease.fence;
    if (fence === null) return false;
    const argv: string[] = [String(fence), String(done.length)];
    for (const [k, s] of done) argv.push(k, s.lastId);
    for (const [, s] of done) argv.push(...s.ids);
    const r = await this.#eval(ACK, [this.stream, this.#latestKey, this.#leaseKey], argv);
    if (r === -1) {
      this.#lease.lose();
      return false;
    }
    return true;
  }

  async #deadLetter(key: string, s: KeyState<T>): Promise<boolean> {
    const fence = this.#lease.fence;
    if (fence === null) return false;
    const record: DeadRecord = { id: s.lastId, error: s.error, attempts: s.attempts, at: Date.now(), v: toBuffer(this.#codec.encode(s.value, 0, key, this.stream)).toString('base64') };
    const r = await this.#eval(DEAD_LETTER, [this.stream, this.#latestKey, this.deadKey, this.#leaseKey], [String(fence), key, s.lastId, JSON.stringify(record), ...s.ids]);
    if (r === -1) {
      this.#lease.lose();
      return false;
    }
    if (r === 1) {
      this.stats.deadLettered++;
      this.#logger.error({ key, err: s.error, attempts: s.attempts }, 'write-behind write moved to the dead letters');
      this.emit('dead-letter', { keys: [key], error: s.error });
    } else this.stats.superseded++;
    return true;
  }

  /** The writes the source refused until the queue gave up, one per key (the newest). */
  async deadLetters(): Promise<DeadLetter<T>[]> {
    const out: DeadLetter<T>[] = [];
    for (const [key, raw] of await this.#deadRecords()) {
      const r = JSON.parse(raw) as DeadRecord;
      const value = this.#codec.decode(Buffer.from(r.v, 'base64'), this.stream).value as T;
      out.push({ key, value, error: r.error, attempts: r.attempts, failedAt: r.at, sourceId: r.id });
    }
    return out;
  }

  async #deadRecords(): Promise<[string, string][]> {
    const flat = (await this.#send(['HGETALL', this.deadKey])) as unknown;
    const pairs: [string, string][] = [];
    if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([String(flat[i]), String(flat[i + 1])]);
    else if (flat instanceof Map) for (const [k, v] of flat) pairs.push([String(k), String(v)]);
    else if (flat !== null && typeof flat === 'object') for (const [k, v] of Object.entries(flat)) pairs.push([k, String(v)]);
    return pairs;
  }

  /**
   * Queues dead letters again (all, or those of `keys`), behind whatever is queued now. A dead
   * letter whose key was written again since is not replayed: the newer write already replaced it
   * (such letters are removed when the newer write is queued).
   */
  async replayDeadLetters(keys?: string[]): Promise<{ replayed: string[]; skipped: string[] }> {
    const wanted = keys === undefined ? null : new Set(keys);
    const replayed: string[] = [];
    const skipped: string[] = [];
    for (const [key, raw] of await this.#deadRecords()) {
      if (wanted !== null && !wanted.has(key)) continue;
      const r = JSON.parse(raw) as DeadRecord;
      const id = await this.#eval(REPLAY, [this.stream, this.#latestKey, this.deadKey], [key, raw, Buffer.from(r.v, 'base64')]);
      if (id === null || id === undefined) skipped.push(key);
      else replayed.push(key);
    }
    return { replayed, skipped };
  }

  /**
   * Writes not yet applied to the source: pending in a flusher plus not yet read (Redis 7's group
   * lag). Entries acknowledged but left in the stream by an older version are not counted.
   */
  async backlog(): Promise<number> {
    let groups: unknown;
    try {
      groups = await this.#send(['XINFO', 'GROUPS', this.stream]);
    } catch {
      return Number(await this.#send(['XLEN', this.stream]));
    }
    for (const g of Array.isArray(groups) ? groups : []) {
      const info = toRecord(g);
      if (String(info.name) !== 'flushers') continue;
      if (info.lag === null || info.lag === undefined) break;
      return Number(info.pending) + Number(info.lag);
    }
    return Number(await this.#send(['XLEN', this.stream]));
  }

  async #drainAndStop(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.#running = false;
    this.#stopBy = deadline;
    await this.#loop;
    try {
      while (Date.now() < deadline && (await this.backlog()) > 0) {
        if ((await this.#step()) <= 0) await sleep(Math.min(50, this.#o.flushIntervalMs));
      }
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'write-behind drain stopped early; what is left stays queued');
    } finally {
      await this.#stop();
    }
  }

  async #stop(): Promise<void> {
    this.#running = false;
    this.#stopBy = Math.min(this.#stopBy, Date.now());
    await this.#loop;
    await this.#lease.release();
  }
}

/** The keys a writer's answer says it did not write: `false` is all of them; a map names them. */
function refusedKeys(r: WriteResult, keys: Iterable<string>): string[] {
  if (r === false) return [...keys];
  if (r === true || r === undefined || r === null) return [];
  const out: string[] = [];
  if (r instanceof Map) {
    for (const k of keys) if (r.get(k) === false) out.push(k);
  } else for (const k of keys) if ((r as Record<string, boolean>)[k] === false) out.push(k);
  return out;
}

/** An envelope as the bytes Redis stores (a text envelope goes over the wire as UTF-8). */
function toBuffer(envelope: Buffer | string): Buffer {
  return typeof envelope === 'string' ? Buffer.from(envelope) : envelope;
}

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function toRecord(g: unknown): Record<string, unknown> {
  if (g instanceof Map) return Object.fromEntries([...g].map(([k, v]) => [String(k), v]));
  if (Array.isArray(g)) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) o[String(g[i])] = g[i + 1];
    return o;
  }
  return (g ?? {}) as Record<string, unknown>;
}

/** XREADGROUP's reply in RESP2 ([[stream, entries]]) or RESP3 (a map) shape → its entries. */
function parseEntries(reply: unknown): [string, Buffer[] | null][] {
  if (reply === null || reply === undefined) return [];
  let entries: unknown;
  if (Array.isArray(reply)) entries = (reply[0] as unknown[])?.[1];
  else if (reply instanceof Map) entries = [...reply.values()][0];
  else if (typeof reply === 'object') entries = Object.values(reply as Record<string, unknown>)[0];
  return toEntries(entries);
}

/** XRANGE's reply ([[id, fields], …]) or one stream's entries → [id, fields]. */
function toEntries(entries: unknown): [string, Buffer[] | null][] {
  if (!Array.isArray(entries)) return [];
  return entries.map((e) => {
    const [id, fields] = e as [Buffer | string, Buffer[] | null];
    return [id.toString(), fields];
  });
}
