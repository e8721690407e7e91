// The examples' L3: a `users` table in the local PostgreSQL (127.0.0.1:5432, trust auth; override
// with PGHOST/PGPORT/PGUSER/PGDATABASE). Each run makes its own table and drops it at the end.
import pg from 'pg';

export interface User {
  id: string;
  name: string;
  email: string;
}

export class UsersDb {
  readonly pool: pg.Pool;
  readonly table = `example_users_${process.pid}`;
  queries = 0;

  constructor() {
    this.pool = new pg.Pool({
      host: process.env.PGHOST ?? '127.0.0.1',
      port: Number(process.env.PGPORT ?? 5432),
      user: process.env.PGUSER ?? 'postgres',
      database: process.env.PGDATABASE ?? 'postgres',
      max: 4,
    });
  }

  async setup(seed: number): Promise<void> {
    await this.pool.query(`CREATE TABLE ${this.table} (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE)`);
    for (let i = 1; i <= seed; i++) await this.pool.query(`INSERT INTO ${this.table} VALUES ($1, $2, $3)`, [String(i), `User ${i}`, `user${i}@example.com`]);
  }

  async getUser(id: string): Promise<User | undefined> {
    this.queries++;
    const r = await this.pool.query(`SELECT id, name, email FROM ${this.table} WHERE id = $1`, [id]);
    return r.rows[0] as User | undefined;
  }

  async getUsers(ids: string[]): Promise<User[]> {
    this.queries++;
    const r = await this.pool.query(`SELECT id, name, email FROM ${this.table} WHERE id = ANY($1)`, [ids]);
    return r.rows as User[];
  }

  async saveUser(user: User): Promise<void> {
    this.queries++;
    await this.pool.query(
      `INSERT INTO ${this.table} VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email`,
      [user.id, user.name, user.email],
    );
  }

  async saveUsers(users: User[]): Promise<void> {
    this.queries++;
    await this.pool.query(
      `INSERT INTO ${this.table} SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email`,
      [users.map((u) => u.id), users.map((u) => u.name), users.map((u) => u.email)],
    );
  }

  async close(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.table}`);
    await this.pool.end();
  }
}

/** `user:42` → `42` */
export function userId(key: string): string {
  return key.split(':')[1] ?? '';
}
