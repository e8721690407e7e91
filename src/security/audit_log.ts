import { createHash, createHmac } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CacheStateError, InvalidOptionsError } from '../errors.js';
import { escapeAuditText } from './audit_text.js';
import { redactWith } from '../util/redaction.js';
import { auditFileLogger, type CacheLogger as Logger } from '../observability/logger.js';

/** One audited operation. */
export interface AuditRecord {
  seq: number;
  ts: string;
  instance: string;
  user: string | null;
  /** A digest of the session id (the id itself is a bearer secret and never logged). */
  session: string | null;
  op: string;
  /** The key, or its SHA-256 when the data is CONFIDENTIAL or above (`keyHashed`). */
  key: string | null;
  keyHashed: boolean;
  outcome: 'ok' | 'denied' | 'error' | 'rate_limited';
  reason: string | null;
  latencyMs: number;
  prev: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);
/** The head file is rewritten in place at a fixed size (one pwrite, no rename per record). */
const HEAD_BYTES = 256;
/** How far from the end of an existing trail the last record is looked for at open. */
const TAIL_BYTES = 1 << 20;

function canonical(r: Omit<AuditRecord, 'hash'>): string {
  return JSON.stringify([r.seq, r.ts, r.instance, r.user, r.session, r.op, r.key, r.keyHashed, r.outcome, r.reason, r.latencyMs, r.prev]);
}

function digest(text: string, key: Buffer | null): string {
  return key === null ? createHash('sha256').update(text).digest('hex') : createHmac('sha256', key).update(text).digest('hex');
}

/** The head: the last record's seq and hash, signed (HMAC with the audit key), in `<path>.head`. */
export interface AuditHead {
  seq: number;
  hash: string;
  mac: string;
}

function headMac(seq: number, hash: string, key: Buffer | null): string {
  return digest(`tiercache-audit-head:${seq}:${hash}`, key);
}

/** Where the head of the trail at `path` is kept. */
export function auditHeadPath(path: string): string {
  return `${path}.head`;
}

/** The last complete record of an existing trail (its seq and hash), or the genesis. */
function lastRecord(fd: number): { seq: number; hash: string } {
  const size = fstatSync(fd).size;
  if (size === 0) return { seq: 0, hash: GENESIS };
  const len = Math.min(size, TAIL_BYTES);
  const buf = Buffer.allocUnsafe(len);
  readSync(fd, buf, 0, len, size - len);
  const lines = buf.toString('utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      const r = JSON.parse(line) as Partial<AuditRecord>;
      if (typeof r.seq === 'number' && typeof r.hash === 'string') return { seq: r.seq, hash: r.hash };
    } catch {
      // a torn last line (a crash mid-write): the record before it is the last one
    }
  }
  return { seq: 0, hash: GENESIS };
}

/** An append-only file for the trail; every failure to open it is an InvalidOptionsError naming auditLogPath. */
class AuditFile {
  readonly #fd: number;
  readonly #head: number;

  constructor(path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#fd = openSync(path, 'a+');
      this.#head = openSync(auditHeadPath(path), existsSync(auditHeadPath(path)) ? 'r+' : 'w+');
    } catch (err) {
      throw new InvalidOptionsError('auditLogPath', `cannot open the audit trail for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  last(): { seq: number; hash: string } {
    return lastRecord(this.#fd);
  }

  write(line: string, head: AuditHead): void {
    try {
      writeSync(this.#fd, line);
      const text = JSON.stringify(head);
      writeSync(this.#head, Buffer.from(text.padEnd(HEAD_BYTES, ' ') + '\n'), 0, HEAD_BYTES + 1, 0);
    } catch (err) {
      // The operation is not reported as done when its record could not be kept.
      throw new CacheStateError(`the audit trail cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  close(): void {
    closeSync(this.#fd);
    closeSync(this.#head);
  }
}

/**
 * Tamper-evident audit trail: JSON lines, each record carrying the hash of the one before it
 * (`prev`) and its own (`hash` over its fields and `prev`), with a sequence number. An edited
 * record fails its own hash; an inserted or deleted one breaks `prev` or `seq` at the next
 * record. With `hmacKey` the hashes are HMACs, so someone who can write the file but not read the
 * key cannot rebuild a consistent chain after editing it.
 *
 * With a file (`path`): the chain goes on across restarts (the last record's seq and hash are
 * read at open), and a head (`<path>.head`: the last seq and hash, signed) is rewritten after
 * every record, so `verifyAuditFile` detects a truncated tail: the head names a record the file
 * no longer has. Text fields are escaped (audit_text.ts) so every record reads back exactly as
 * it was hashed.
 */
export class AuditLog {
  readonly #logger: Logger | null;
  readonly #file: AuditFile | null;
  readonly #key: Buffer | null;
  readonly #instance: string;
  #seq = 0;
  #prev = GENESIS;

  constructor(options: { path?: string; logger?: Logger; hmacKey?: Buffer | null; instance: string }) {
    this.#key = options.hmacKey ?? null;
    this.#instance = escapeAuditText(options.instance);
    redactWith(this, () => ({ auditLog: this.#file === null ? 'logger' : 'file', hmac: this.#key !== null, seq: this.#seq }));
    if (options.path !== undefined && options.logger === undefined) {
      this.#file = new AuditFile(options.path);
      this.#logger = null;
      const last = this.#file.last();
      this.#seq = last.seq;
      this.#prev = last.hash;
    } else {
      this.#file = null;
      this.#logger = options.logger ?? auditFileLogger(options.path);
    }
  }

  record(entry: { user: string | null; session: string | null; op: string; key: string | null; keyHashed: boolean; outcome: AuditRecord['outcome']; reason?: string | null; latencyMs: number }): void {
    const text = (v: string | null | undefined): string | null => (typeof v === 'string' ? escapeAuditText(v) : null);
    const r: Omit<AuditRecord, 'hash'> = {
      seq: this.#seq + 1,
      ts: new Date().toISOString(),
      instance: this.#instance,
      user: text(entry.user),
      session: entry.session,
      op: escapeAuditText(entry.op),
      key: entry.key,
      keyHashed: entry.keyHashed,
      outcome: entry.outcome,
      reason: text(entry.reason),
      latencyMs: Math.round(entry.latencyMs * 1000) / 1000,
      prev: this.#prev,
    };
    const hash = digest(canonical(r), this.#key);
    if (this.#file !== null) {
      this.#file.write(`${JSON.stringify({ audit: true, ...r, hash })}\n`, { seq: r.seq, hash, mac: headMac(r.seq, hash, this.#key) });
    } else {
      (this.#logger as Logger).info({ audit: true, ...r, hash });
    }
    this.#seq = r.seq;
    this.#prev = hash;
  }

  flush(): void {
    this.#logger?.flush?.();
  }

  /** Closes the trail's file (records after this throw). */
  close(): void {
    this.#file?.close();
  }
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  /** The first record that does not verify (1-based line number), and why. */
  firstBad: { line: number; seq: number | null; problem: string } | null;
  /** What the head (`<file>.head`) says: 'ok', 'missing' (truncation cannot be ruled out), or the problem. */
  head: string;
}

/**
 * Checks a file written by AuditLog: every record's hash, every `prev` link, every `seq` step,
 * then the head (`<path>.head`): its signature, and that the file still holds the record it
 * names (a truncated tail fails here). A missing head is reported (and fails): without it a
 * truncation cannot be ruled out.
 */
export function verifyAuditFile(path: string, hmacKey: Buffer | null = null): VerifyResult {
  const lines = readFileSync(path, 'utf8').split('\n');
  let prev = GENESIS;
  let seq = 0;
  let records = 0;
  const hashes = new Map<number, { hash: string; line: number }>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    let r: AuditRecord;
    try {
      r = JSON.parse(line) as AuditRecord;
    } catch {
      return { ok: false, records, firstBad: { line: i + 1, seq: null, problem: 'not JSON (edited)' }, head: 'not checked' };
    }
    if (typeof r.hash !== 'string' || digest(canonical(r), hmacKey) !== r.hash) {
      return { ok: false, records, firstBad: { line: i + 1, seq: r.seq ?? null, problem: 'hash mismatch: this record was edited' }, head: 'not checked' };
    }
    if (r.prev !== prev || r.seq !== seq + 1) {
      const problem = r.seq <= seq ? 'sequence goes back: a record was inserted here' : r.seq > seq + 1 ? `sequence skips ${r.seq - seq - 1}: record(s) deleted before this one` : 'chain broken: a record before this one was replaced';
      return { ok: false, records, firstBad: { line: i + 1, seq: r.seq, problem }, head: 'not checked' };
    }
    prev = r.hash;
    seq = r.seq;
    hashes.set(seq, { hash: r.hash, line: i + 1 });
    records++;
  }
  const head = readHead(path, hmacKey);
  if (typeof head === 'string') return { ok: false, records, firstBad: head === 'missing' ? null : { line: lines.length, seq: null, problem: head }, head };
  const named = hashes.get(head.seq);
  if (head.seq > seq) {
    return { ok: false, records, firstBad: { line: lines.length, seq, problem: `truncated: the signed head names record ${head.seq}, the file ends at ${seq}` }, head: 'file truncated' };
  }
  if (named === undefined || named.hash !== head.hash) {
    return { ok: false, records, firstBad: { line: named?.line ?? lines.length, seq: head.seq, problem: 'the signed head does not match the record it names (tail replaced)' }, head: 'mismatch' };
  }
  return { ok: true, records, firstBad: null, head: 'ok' };
}

function readHead(path: string, hmacKey: Buffer | null): AuditHead | string {
  let text: string;
  try {
    text = readFileSync(auditHeadPath(path), 'utf8');
  } catch {
    return 'missing';
  }
  let head: AuditHead;
  try {
    head = JSON.parse(text) as AuditHead;
  } catch {
    return 'head is not JSON (edited)';
  }
  if (typeof head.seq !== 'number' || typeof head.hash !== 'string' || head.mac !== headMac(head.seq, head.hash, hmacKey)) return 'head signature does not verify (edited or forged)';
  return head;
}
