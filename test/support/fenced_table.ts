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
    await t.pool.query(`CREATE TABLE IF NOT EXISTS ${table}_h (id bigserial PRIMARY KEY, key text NOT NULL, n bigint, fence bigint NOT NULL)`);
    return t;
  }

  /**
   * Fenced upsert that also appends to the history table in the same statement (the row lock
   * orders concurrent writers of a key, so history ids follow the order writes were applied).
   */
  async upsertLogged(key: string, value: { n?: number }, fence: number): Promise<boolean> {
    const r = await this.pool.query(
      `WITH up AS (INSERT INTO ${this.table} (key, value, fence) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, fence = EXCLUDED.fence WHERE ${this.table}.fence <= EXCLUDED.fence RETURNING key)
       INSERT INTO ${this.table}_h (key, n, fence) SELECT key, $4, $3 FROM up`,
      [key, JSON.stringify(value), fence, value.n ?? null],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * The chaos test's writer: fenced and logged; throws while `refusing()`; answers false for keys
   * in `poison`; optionally stalls (Atomics.wait) on its first call.
   */
  chaosWriter(name: string, controls: { refusing?: () => boolean; poison?: Set<string>; stall?: { ms: number; before: () => void; after: () => void } }): DataWriter<unknown> {
    let stalled = false;
    return {
      name,
      write: async (key: string, value: unknown, ctx?: WriteContext) => {
        if (controls.stall && !stalled) {
          stalled = true;
          controls.stall.before();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, controls.stall.ms);
          controls.stall.after();
        }
        if (controls.refusing?.()) throw new Error('source refusing connections');
        if (controls.poison?.has(key)) return false;
        return this.upsertLogged(key, value as { n?: number }, ctx?.fence ?? 0);
      },
    };
  }

  /** Applied values of each key, in the order they were applied. */
  async history(): Promise<Map<string, number[]>> {
    const r = await this.pool.query(`SELECT key, n FROM ${this.table}_h ORDER BY id`);
    const out = new Map<string, number[]>();
    for (const row of r.rows as { key: string; n: string }[]) {
      const list = out.get(row.key) ?? [];
      list.push(Number(row.n));
      out.set(row.key, list);
    }
    return out;
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
    await this.pool.query(`DROP TABLE IF EXISTS ${this.table}, ${this.table}_h`);
    await this.pool.end();
  }
}
