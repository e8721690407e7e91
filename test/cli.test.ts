import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

/** The same, asynchronously: the help checks start their processes together. */
const cliAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('close', (status) => resolve({ status, stdout }));
  });

const COMMANDS = ['demo', 'replay', 'bench', 'stats', 'health', 'dashboard', 'audit', 'dead-letters'];

describe('issue 16: CLI help and output', () => {
  it('tiercache <command> --help prints that command\'s own help, not the global one', async () => {
    const [global, topic, ...each] = await Promise.all([cliAsync(['--help']), cliAsync(['help', 'replay']), ...COMMANDS.map((c) => cliAsync([c, '--help']))]);
    expect(global.status).toBe(0);
    for (const c of COMMANDS) expect(global.stdout).toContain(`  ${c} `);
    for (const [i, c] of COMMANDS.entries()) {
      const r = each[i];
      expect(r.status, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: tiercache ${c} `));
      expect(r.stdout, c).not.toContain('Commands:');
      for (const other of COMMANDS.filter((o) => o !== c && !o.startsWith(c) && !c.startsWith(o))) expect(r.stdout, `${c} help names ${other}`).not.toMatch(new RegExp(`^\\s+${other}\\s`, 'm'));
    }
    expect(topic.stdout).toMatch(/^Usage: tiercache replay /);
  }, 120_000);

  it('health against an unreachable Redis quotes how long coherence went unconfirmed (it printed "for ? ms")', () => {
    const r = cli(['health'], { CACHE_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.status).toBe(1); // degraded
    expect(r.stdout).not.toContain('?');
    expect(r.stdout).toMatch(/unconfirmed for \d+ ms \(never confirmed since start\)/);
  }, 60_000);
});
