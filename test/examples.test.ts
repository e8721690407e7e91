import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useRedisServer } from './support/redis.js';

const redis = useRedisServer();
/** Examples take tens of seconds on a loaded 2-core machine; one budget for all of them. */
const EXAMPLE_MS = 90_000;

/**
 * Runs node on `args` and collects its output. Asynchronous on purpose: a spawnSync blocks the
 * vitest worker, which then misses its own RPC deadlines while a slow example runs.
 */
function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), EXAMPLE_MS - 5_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
const TSX = ['--conditions=tiercache-source', '--import', 'tsx'];
const examples = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.ts'));

describe('examples/ run as written', () => {
  for (const file of examples) {
    for (const mode of ['with Redis', 'L1-only'] as const) {
      it(`${file} (${mode})`, async () => {
        const env = { ...process.env };
        if (mode === 'with Redis') env.CACHE_REDIS_URL = redis.url;
        else delete env.CACHE_REDIS_URL;
        const r = await runNode([...TSX, `examples/${file}`], env);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout.length).toBeGreaterThan(0);
      }, EXAMPLE_MS);
    }
  }

  it('the pattern examples show what their pattern promises (PostgreSQL as L3)', async () => {
    const run = async (file: string) => (await runNode([...TSX, `examples/${file}`], { ...process.env, CACHE_REDIS_URL: redis.url })).stdout;
    expect(await run('pattern_read_through.ts')).toContain('loaded 20 users with 1 query');
    expect(await run('pattern_write_through.ts')).toMatch(/refused by the database: (dataWriter failed to write the key: )?duplicate key[\s\S]*cache still has: john@example.com/);
    expect(await run('pattern_write_behind.ts')).toContain('database: User 5 v10');
    expect(await run('pattern_refresh_ahead.ts')).toContain('misses while reading for 4 TTL periods: 0');
  }, EXAMPLE_MS);

  it('express_route_cache: one handler run for ten concurrent GETs, a PUT drops the route by tag', async () => {
    const r = await runNode([...TSX, 'examples/express_route_cache.ts'], { ...process.env, CACHE_REDIS_URL: redis.url });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('10 concurrent GETs: 1 MISS, 9 HIT; queries: 1');
    expect(r.stdout).toContain('next GET: HIT {"id":"1","name":"Lamp","price":30}; queries: 1');
    expect(r.stdout).toContain('GET after PUT: MISS {"id":"1","name":"Lamp","price":25}; queries: 2');
  }, EXAMPLE_MS);

  it('nestjs_cache_module: CacheInterceptor over the Keyv store runs the handler once, shares it through Redis, a PUT drops it on both instances; 10 concurrent cold GETs over two instances run a GetOrSetInterceptor route once', async () => {
    const r = await runNode([...TSX, 'examples/nestjs_cache_module.ts'], { ...process.env, CACHE_REDIS_URL: redis.url });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('5 GETs on instance A: MISS HIT HIT HIT HIT; handler ran 1 time(s)');
    expect(r.stdout).toContain(`GET on instance B: HIT {"id":"1","name":"Lamp","price":30}; B's handler ran 0 time(s)`);
    expect(r.stdout).toContain('GET after PUT: MISS {"id":"1","name":"Lamp","price":25}; handler ran 2 time(s)');
    expect(r.stdout).toContain('next GET: HIT {"id":"1","name":"Lamp","price":25}; handler ran 2 time(s)');
    expect(r.stdout).toContain(`GET on instance B after PUT: HIT {"id":"1","name":"Lamp","price":25}; B's handler ran 0 time(s)`);
    // CacheInterceptor's count depends on timing (up to 10); getOrSet's does not.
    expect(r.stdout).toMatch(/10 concurrent GETs of a cold route: CacheInterceptor ran the handler \d+ time\(s\); GetOrSetInterceptor ran it 1 time\(s\), 1 distinct answer\(s\)/);
    expect(r.stdout).toContain('GetOrSetInterceptor on a missing product: 404');
  }, EXAMPLE_MS);

  it('basic_usage prints the user and the hit rate', async () => {
    const r = await runNode([...TSX, 'examples/basic_usage.ts'], { ...process.env, CACHE_REDIS_URL: redis.url });
    expect(r.stdout).toContain('User: {"name":"John","email":"john@example.com"}');
    expect(r.stdout).toMatch(/Hit rate: 100\.00%/);
  }, EXAMPLE_MS);

  it("the README's Basic usage block runs as written (against this test's Redis)", async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /## Basic usage\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    mkdirSync(join(process.cwd(), '.tiercache-tmp'), { recursive: true }); // gitignored; inside the package so 'tiercache' resolves
    const dir = mkdtempSync(join(process.cwd(), '.tiercache-tmp', 'readme-'));
    const file = join(dir, 'readme_basic.ts');
    // The snippet assumes no Redis (issue 17: it must not silently use whatever is on 6379).
    expect(block).not.toMatch(/localhost:6379|127\.0\.0\.1:6379'/);
    writeFileSync(file, block!);
    for (const env of [{ ...process.env, CACHE_REDIS_URL: redis.url }, { ...process.env, CACHE_REDIS_URL: '' }]) {
      const r = await runNode([...TSX, file], env);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('User: {"name":"John","email":"john@example.com"}');
      expect(r.stdout).toContain('Hit rate: 100.00%');
    }
  }, EXAMPLE_MS);

  it('the demo (npm start) runs and prints a stats table', async () => {
    const r = await runNode(['--import', 'tsx', 'src/cli/main.ts', 'demo', '--ops', '2000']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('User: {"name":"John","email":"john@example.com"}');
    expect(r.stdout).toMatch(/hit rate\s+\| \d+\.\d+%/);
    expect(r.stdout).toMatch(/health\s+\| healthy/);
  }, EXAMPLE_MS);
});
