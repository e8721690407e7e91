#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';

const HELP = `tiercache — multi-level cache for Node.js

Usage: tiercache <command> [options]

Commands:
  demo        Run the basic example and a short mixed workload, print measured stats.
              Starts a private redis-server as L2 when one is installed.
                --redis-url URL   use this Redis instead
                --ops N           workload size (default 20000)

Options:
  -h, --help  Show this help (also: tiercache <command> --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'demo') {
    const { values } = parseArgs({ args: rest, options: { 'redis-url': { type: 'string' }, ops: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const ops = values.ops === undefined ? undefined : Number(values.ops);
    if (ops !== undefined && (!Number.isInteger(ops) || ops < 1)) {
      process.stderr.write('--ops must be a positive integer\n');
      return 2;
    }
    await runDemo({ ...(values['redis-url'] ? { redisUrl: values['redis-url'] } : {}), ...(ops ? { ops } : {}) });
    return 0;
  }
  process.stderr.write(`Unknown command "${command}".\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tiercache: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
