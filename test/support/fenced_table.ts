import pg from 'pg';
import type { DataWriter, WriteContext } from '../../src/index.js';
import { PG_CONFIG } from './postgres.js';

/**
 * A PostgreSQL table for the write-behind fencing tests: `key, value, fence`. Two writers over it:
 * a naive one (ignores the fence) and a fencing one (an upsert that refuses a fence lower than
 * the row's), both with only `write`, and an optional stall (Atomics.wait: the whole event loop
 * stops, like a long GC pause) before the SQL of one key's first write.
 */
export class FencedTable {
  readonly table: string;
  readonly pool: pg.Pool;

  private constructor(table: string) {
    this.table = table;
    this.pool = new pg.Pool({ ...PG_CONFIG, max: 2 });
  }

  static async create(table: string): Promise<FencedTable> {
    const t = new FencedTable(table);
    await t.pool.query(`CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, value jsonb NOT NULL, fence bigint NOT NULL DEFAULT 0)`);
    return t;
  }

  /** Upserts; with `fenced`, refuses (false) when the row holds a higher fence. */
  async upsert(key: string, value: unknown, fence: number, fenced: boolean): Promise<boolean> {
    const guard = fenced ? `WHERE ${this.table}.fence <= EXCLUDED.fence` : '';
    const r = await this.pool.query(
      `INSERT INTO ${this.table} (key, value, fence) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, fence = EXCLUDED.fence ${guard}`,
      [key, JSON.stringify(value), fence],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * A writer named `name`. `stall`: before the first write of `stall.key`, call `stall.before()`
   * and block the event loop for `stall.ms`, then `stall.after()`. `log` gets every call.
   */
  writer(name: string, fenced: boolean, stall?: { key: string; ms: number; before: () => void; after: () => void }, log?: (key: string, value: unknown, fence: number | undefined) => void): DataWriter<unknown> {
    let stalled = false;
    return {
      name,
      write: async (key: string, value: unknown, ctx?: WriteContext) => {
        log?.(key, value, ctx?.fence);
        if (stall && !stalled && key === stall.key) {
          stalled = true;
          stall.before();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stall.ms);
          stall.after();
        }
        return this.upsert(key, value, ctx?.fence ?? 0, fenced);
      },
    };
  }

  async rows(): Promise<Map<string, unknown>> {
    const r = await this.pool.query(`SELECT key, value FROM ${this.table}`);
    return new Map(r.rows.map((row: { key: string; value: unknown }) => [row.key, row.value]));
  }

  async drop(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.table}`);
    await this.pool.end();
  }
}
