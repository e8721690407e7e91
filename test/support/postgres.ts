import pg from 'pg';
import type { DataLoader, DataWriter } from '../../src/index.js';

/** The machine's PostgreSQL (127.0.0.1:5432, trust auth): the real L3 of the pattern tests. */
export const PG_CONFIG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', max: 4 } as const;

let counter = 0;

/**
 * A `users`-style table of its own (dropped by `drop()`), with a DataLoader and a DataWriter over
 * it that count their calls and can be made slow or failing.
 */
export class UsersTable implements DataLoader<Record<string, unknown>>, DataWriter<Record<string, unknown>> {
  readonly table: string;
  readonly pool: pg.Pool;
  readonly name: string;
  loads = 0;
  batchLoads = 0;
  writes = 0;
  batchWrites = 0;
  /** Added before each write (ms). */
  writeDelayMs = 0;
  /** When set, writes throw this. */
  failWrites: Error | null = null;

  private constructor(table: string, pool: pg.Pool) {
    this.table = table;
    this.pool = pool;
    this.name = `users-${table}`;
  }

  static async create(table = `users_${process.pid}_${++counter}_${Date.now() % 100000}`): Promise<UsersTable> {
    const pool = new pg.Pool(PG_CONFIG);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, value jsonb NOT NULL)`);
    return new UsersTable(table, pool);
  }

  async load(key: string): Promise<Record<string, unknown> | undefined> {
    this.loads++;
    const r = await this.pool.query(`SELECT value FROM ${this.table} WHERE key = $1`, [key]);
    return r.rows[0]?.value as Record<string, unknown> | undefined;
  }

  async loadBatch(keys: string[]): Promise<Map<string, Record<string, unknown>>> {
    this.batchLoads++;
    const r = await this.pool.query(`SELECT key, value FROM ${this.table} WHERE key = ANY($1)`, [keys]);
    return new Map(r.rows.map((row: { key: string; value: Record<string, unknown> }) => [row.key, row.value]));
  }

  async write(key: string, value: Record<string, unknown>): Promise<boolean> {
    this.writes++;
    if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
    if (this.failWrites) throw this.failWrites;
    await this.pool.query(`INSERT INTO ${this.table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, JSON.stringify(value)]);
    return true;
  }

  /** While set, batch writes wait for it (a test holds the flusher to let writes pile up). */
  holdBatches: Promise<void> | null = null;

  async writeBatch(items: Map<string, Record<string, unknown>>): Promise<boolean> {
    this.batchWrites++;
    if (this.holdBatches !== null) await this.holdBatches;
    if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
    if (this.failWrites) throw this.failWrites;
    const keys = [...items.keys()];
    const values = [...items.values()].map((v) => JSON.stringify(v));
    await this.pool.query(
      `INSERT INTO ${this.table} (key, value) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [keys, values],
    );
    return true;
  }

  async rows(): Promise<Map<string, Record<string, unknown>>> {
    const r = await this.pool.query(`SELECT key, value FROM ${this.table}`);
    return new Map(r.rows.map((row: { key: string; value: Record<string, unknown> }) => [row.key, row.value]));
  }

  async insert(key: string, value: Record<string, unknown>): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, JSON.stringify(value)]);
  }

  async drop(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.table}`);
    await this.pool.end();
  }
}
