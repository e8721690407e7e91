import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

function canonical(r: Omit<AuditRecord, 'hash'>): string {
  return JSON.stringify([r.seq, r.ts, r.instance, r.user, r.session, r.op, r.key, r.keyHashed, r.outcome, r.reason, r.latencyMs, r.prev]);
}

function digest(text: string, key: Buffer | null): string {
  return key === null ? createHash('sha256').update(text).digest('hex') : createHmac('sha256', key).update(text).digest('hex');
}

/**
 * Tamper-evident audit trail: JSON lines through pino, each record carrying the hash of the one
 * before it (`prev`) and its own (`hash` over its fields and `prev`), with a sequence number. An
 * edited record fails its own hash; an inserted or deleted one breaks `prev` or `seq` at the
 * next record. With `hmacKey` the hashes are HMACs, so someone who can write the file but not
 * read the key cannot rebuild a consistent chain after editing it. (A truncated tail is not
 * detectable from the file alone; ship the last hash elsewhere if that matters.)
 */
export class AuditLog {
  readonly #logger: Logger;
  readonly #key: Buffer | null;
  readonly #instance: string;
  #seq = 0;
  #prev = GENESIS;

  constructor(options: { path?: string; logger?: Logger; hmacKey?: Buffer | null; instance: string }) {
    this.#key = options.hmacKey ?? null;
    this.#instance = options.instance;
    this.#logger = options.logger ?? auditFileLogger(options.path);
  }

  record(entry: { user: string | null; session: string | null; op: string; key: string | null; keyHashed: boolean; outcome: AuditRecord['outcome']; reason?: string | null; latencyMs: number }): void {
    const r: Omit<AuditRecord, 'hash'> = {
      seq: ++this.#seq,
      ts: new Date().toISOString(),
      instance: this.#instance,
      user: entry.user,
      session: entry.session,
      op: entry.op,
      key: entry.key,
      keyHashed: entry.keyHashed,
      outcome: entry.outcome,
      reason: entry.reason ?? null,
      latencyMs: Math.round(entry.latencyMs * 1000) / 1000,
      prev: this.#prev,
    };
    const hash = digest(canonical(r), this.#key);
    this.#prev = hash;
    this.#logger.info({ audit: true, ...r, hash });
  }

  flush(): void {
    this.#logger.flush?.();
  }
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  /** The first record that does not verify (1-based line number), and why. */
  firstBad: { line: number; seq: number | null; problem: string } | null;
}

/** Checks a file written by AuditLog: every record's hash, every `prev` link, every `seq` step. */
export function verifyAuditFile(path: string, hmacKey: Buffer | null = null): VerifyResult {
  const lines = readFileSync(path, 'utf8').split('\n');
  let prev = GENESIS;
  let seq = 0;
  let records = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    let r: AuditRecord;
    try {
      r = JSON.parse(line) as AuditRecord;
    } catch {
      return { ok: false, records, firstBad: { line: i + 1, seq: null, problem: 'not JSON (edited)' } };
    }
    if (typeof r.hash !== 'string' || digest(canonical(r), hmacKey) !== r.hash) {
      return { ok: false, records, firstBad: { line: i + 1, seq: r.seq ?? null, problem: 'hash mismatch: this record was edited' } };
    }
    if (r.prev !== prev || r.seq !== seq + 1) {
      const problem = r.seq <= seq ? 'sequence goes back: a record was inserted here' : r.seq > seq + 1 ? `sequence skips ${r.seq - seq - 1}: record(s) deleted before this one` : 'chain broken: a record before this one was replaced';
      return { ok: false, records, firstBad: { line: i + 1, seq: r.seq, problem } };
    }
    prev = r.hash;
    seq = r.seq;
    records++;
  }
  return { ok: true, records, firstBad: null };
}
