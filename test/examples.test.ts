import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useRedisServer } from './support/redis.js';

const redis = useRedisServer();
const examples = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.ts'));

describe('examples/ run as written', () => {
  for (const file of examples) {
    for (const mode of ['with Redis', 'L1-only'] as const) {
      it(`${file} (${mode})`, () => {
        const env = { ...process.env };
        if (mode === 'with Redis') env.CACHE_REDIS_URL = redis.url;
        else delete env.CACHE_REDIS_URL;
        const r = spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', `examples/${file}`], { env, encoding: 'utf8', timeout: 60_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout.length).toBeGreaterThan(0);
      });
    }
  }

  it('the pattern examples show what their pattern promises (PostgreSQL as L3)', () => {
    const run = (file: string) =>
      spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', `examples/${file}`], { env: { ...process.env, CACHE_REDIS_URL: redis.url }, encoding: 'utf8', timeout: 60_000 }).stdout;
    expect(run('pattern_read_through.ts')).toContain('loaded 20 users with 1 query');
    expect(run('pattern_write_through.ts')).toMatch(/refused by the database: duplicate key[\s\S]*cache still has: john@example.com/);
    expect(run('pattern_write_behind.ts')).toContain('database: User 5 v10');
    expect(run('pattern_refresh_ahead.ts')).toContain('misses while reading for 4 TTL periods: 0');
  });

  it('basic_usage prints the user and the hit rate', () => {
    const r = spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', 'examples/basic_usage.ts'], { env: { ...process.env, CACHE_REDIS_URL: redis.url }, encoding: 'utf8' });
    expect(r.stdout).toContain('User: {"name":"John","email":"john@example.com"}');
    expect(r.stdout).toMatch(/Hit rate: 100\.00%/);
  });

  it("the README's Basic usage block runs as written (against this test's Redis)", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /## Basic usage\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    mkdirSync(join(process.cwd(), '.tiercache-tmp'), { recursive: true }); // gitignored; inside the package so 'tiercache' resolves
    const dir = mkdtempSync(join(process.cwd(), '.tiercache-tmp', 'readme-'));
    const file = join(dir, 'readme_basic.ts');
    writeFileSync(file, block!.replace('redis://localhost:6379', redis.url));
    const r = spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('User: {"name":"John","email":"john@example.com"}');
    expect(r.stdout).toContain('Hit rate: 100.00%');
  });

  it('the demo (npm start) runs and prints a stats table', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--ops', '2000'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('User: {"name":"John","email":"john@example.com"}');
    expect(r.stdout).toMatch(/hit rate\s+\| \d+\.\d+%/);
    expect(r.stdout).toMatch(/health\s+\| healthy/);
  });
});
