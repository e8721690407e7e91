#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { DEFAULT_POLICY, POLICIES } from '../policy/policies.js';
import { replay } from '../sim/replay.js';
import { readTrace } from '../sim/trace.js';
import { runDemo } from './demo.js';
import { verifyAuditFile } from '../security/audit_log.js';

const HELP = `tiercache — multi-level cache for Node.js

Usage: tiercache <command> [options]

Commands:
  demo        Run the basic example and a short mixed workload, print measured stats.
              Starts a private redis-server as L2 when one is installed.
                --redis-url URL   use this Redis instead
                --ops N           workload size (default 20000)
  replay      Replay an access trace (one key per line, .gz or plain) through the L1 and print
              its hit ratio.
                tiercache replay TRACE --size N [--size M …] [--policy NAME]
                policies: adaptive-tinylfu (default), lru
  audit       Check an audit trail written with auditLogPath.
                tiercache audit verify FILE [--key KEY]   (KEY: auditHmacKey; or CACHE_AUDIT_HMAC_KEY)
              Exit 0 when every record verifies; 1 with the first edited, inserted or deleted one.

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
  if (command === 'replay') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { size: { type: 'string', multiple: true }, policy: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const file = positionals[0];
    const sizes = (values.size ?? []).map(Number);
    const policyName = values.policy ?? DEFAULT_POLICY;
    if (file === undefined || !existsSync(file)) {
      process.stderr.write(`replay: trace file ${file === undefined ? 'missing' : `"${file}" not found`}\n`);
      return 2;
    }
    if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      process.stderr.write('replay: give at least one --size N (a positive integer)\n');
      return 2;
    }
    const policy = POLICIES[policyName];
    if (policy === undefined) {
      process.stderr.write(`replay: unknown policy "${policyName}"; known: ${Object.keys(POLICIES).join(', ')}\n`);
      return 2;
    }
    const trace = readTrace(file);
    process.stdout.write(`${trace.name}: ${trace.ids.length} requests, ${trace.keys.length} distinct keys, policy ${policyName}\n`);
    for (const size of sizes) process.stdout.write(`size ${String(size).padStart(8)}  hit ratio ${replay(trace, size, policy).toFixed(2)}%\n`);
    return 0;
  }
  if (command === 'audit') {
    const { values, positionals } = parseArgs({ args: rest, options: { key: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help || positionals[0] !== 'verify') {
      process.stdout.write(HELP);
      return values.help ? 0 : 2;
    }
    const file = positionals[1];
    if (file === undefined || !existsSync(file)) {
      process.stderr.write(`audit verify: file ${file === undefined ? 'missing' : `"${file}" not found`}\n`);
      return 2;
    }
    const key = values.key ?? process.env.CACHE_AUDIT_HMAC_KEY;
    const r = verifyAuditFile(file, key === undefined ? null : Buffer.from(key));
    if (r.ok) {
      process.stdout.write(`${file}: ${r.records} records, chain intact\n`);
      return 0;
    }
    const bad = r.firstBad as NonNullable<typeof r.firstBad>;
    process.stdout.write(`${file}: first bad record at line ${bad.line}${bad.seq === null ? '' : ` (seq ${bad.seq})`}: ${bad.problem}; ${r.records} records before it verify\n`);
    return 1;
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
