#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { DEFAULT_POLICY, POLICIES } from '../policy/policies.js';
import { replay } from '../sim/replay.js';
import { readTrace } from '../sim/trace.js';
import { runDemo } from './demo.js';
import { verifyAuditFile } from '../security/audit_log.js';
import { BenchmarkType } from '../bench/cache_benchmark.js';
import { configFromEnv } from '../config/env_config.js';
import { createIntegratedCache } from '../core/integrated_cache_manager.js';
import { startDashboard } from '../observability/dashboard.js';

/** Each command's own help (`tiercache <command> --help`); the global help lists them all. */
const COMMANDS: Record<string, string> = {
  demo: `Run the basic example and a short mixed workload, print measured stats.
Starts a private redis-server as L2 when one is installed.
  --redis-url URL   use this Redis instead
  --ops N           workload size (default 20000)`,
  replay: `Replay an access trace (one key per line, .gz or plain) through the L1 and print
its hit ratio.
  tiercache replay TRACE --size N [--size M …] [--policy NAME]
  policies: adaptive-tinylfu (default), lru`,
  bench: `Run the built-in benchmarks on a scratch namespace of the cache the CACHE_* variables
describe (L1 only without CACHE_REDIS_URL): a progress bar, then a table.
  --type latency|throughput|hit_rate|mixed|all (default all)
  --duration S   seconds per type (default 5)      --json   machine-readable`,
  stats: `Print a running application's figures from its Prometheus endpoint.
  tiercache stats --url http://host:port/metrics [--json]`,
  health: `Check the cache the CACHE_* variables describe (Redis, topology, memory, breakers).
Exit 0 healthy, 1 degraded, 2 unhealthy.   --json`,
  dashboard: `Serve a live page (SSE) of a cache's figures on localhost.
  --port N (default 8765)   --demo-load   generate traffic so the page moves`,
  audit: `Check an audit trail written with auditLogPath.
  tiercache audit verify FILE [--key KEY]   (KEY: auditHmacKey; or CACHE_AUDIT_HMAC_KEY)
Exit 0 when every record verifies; 1 with the first edited, inserted or deleted one.`,
  'dead-letters': `List or replay a write-behind queue's dead letters (the CACHE_* variables name
the Redis and namespace; QUEUE is the DataWriter's name).
  tiercache dead-letters list QUEUE [--json]
  tiercache dead-letters replay QUEUE [--key K …]   (all when no --key)
Replayed writes are queued again behind what is queued now; a running flusher
writes them. Exit 0; 1 when a named key had no dead letter to replay.`,
};

const indent = (text: string, first: string, rest: string): string =>
  text
    .split('\n')
    .map((line, i) => (i === 0 ? first : rest) + line)
    .join('\n');

const HELP = `tiercache — multi-level cache for Node.js

Usage: tiercache <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, text]) => indent(text, `  ${name.padEnd(name.length > 10 ? name.length + 2 : 12)}`, ' '.repeat(14)))
  .join('\n')}

Options:
  -h, --help  Show this help (also: tiercache <command> --help, tiercache help <command>)
`;

/** One command's help: what `tiercache <command> --help` prints. */
function commandHelp(command: string): string {
  return `Usage: tiercache ${command} [options]\n\n${COMMANDS[command]}\n\nOptions:\n  -h, --help  Show this help (tiercache --help lists every command)\n`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write(topic !== undefined && Object.hasOwn(COMMANDS, topic) ? commandHelp(topic) : HELP);
    return 0;
  }
  if (command === 'demo') {
    const { values } = parseArgs({ args: rest, options: { 'redis-url': { type: 'string' }, ops: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(commandHelp(command));
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
      process.stdout.write(commandHelp(command));
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
  if (command === 'bench') {
    const { values } = parseArgs({ args: rest, options: { type: { type: 'string' }, duration: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    const all = Object.values(BenchmarkType);
    const types = values.type === undefined || values.type === 'all' ? all : [values.type as BenchmarkType];
    if (types.some((t) => !all.includes(t))) {
      process.stderr.write(`bench: --type must be one of ${all.join(', ')}, all\n`);
      return 2;
    }
    const duration = values.duration === undefined ? 5 : Number(values.duration);
    if (!(duration > 0)) {
      process.stderr.write('bench: --duration must be a positive number of seconds\n');
      return 2;
    }
    const cache = createIntegratedCache({ logLevel: 'silent', ...configFromEnv() });
    await cache.initialize();
    const results = [];
    try {
      for (const type of types) {
        results.push(
          await cache.benchmark(type, {
            durationSeconds: duration,
            onProgress: values.json ? undefined : (f) => process.stderr.write(`\r${type.padEnd(11)} [${'#'.repeat(Math.round(f * 30)).padEnd(30)}] ${(f * 100).toFixed(0).padStart(3)}%`),
          }),
        );
        if (!values.json) process.stderr.write('\n');
      }
    } finally {
      await cache.close();
    }
    if (values.json) {
      process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(`${'type'.padEnd(11)} ${'ops/s'.padStart(12)} ${'avg ms'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'hit rate'.padStart(9)} ${'errors'.padStart(7)}\n`);
    for (const r of results) {
      const p = r.latencyPercentiles;
      process.stdout.write(
        `${r.type.padEnd(11)} ${Math.round(r.operationsPerSecond).toLocaleString('en').padStart(12)} ${r.avgLatencyMs.toFixed(3).padStart(8)} ${p.p50.toFixed(3).padStart(8)} ${p.p95.toFixed(3).padStart(8)} ${p.p99.toFixed(3).padStart(8)} ${`${(r.hitRate * 100).toFixed(1)}%`.padStart(9)} ${String(r.errors).padStart(7)}\n`,
      );
    }
    return 0;
  }
  if (command === 'stats') {
    const { values } = parseArgs({ args: rest, options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help || values.url === undefined) {
      // Asked for: stdout, exit 0. Misused: the same help on stderr, exit 2.
      (values.help ? process.stdout : process.stderr).write(commandHelp(command));
      return values.help ? 0 : 2;
    }
    const text = await (await fetch(values.url)).text();
    const rows = text.split('\n').filter((l) => l.startsWith('tiercache_'));
    if (values.json) {
      process.stdout.write(JSON.stringify(Object.fromEntries(rows.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))])), null, 2) + '\n');
    } else {
      for (const l of rows) process.stdout.write(`${l.slice(0, l.lastIndexOf(' ')).padEnd(90)} ${l.slice(l.lastIndexOf(' ') + 1)}\n`);
    }
    return rows.length > 0 ? 0 : 1;
  }
  if (command === 'health') {
    const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    const cache = createIntegratedCache({ logLevel: 'silent', ...configFromEnv() });
    await cache.initialize();
    const h = await cache.healthCheck();
    await cache.close();
    if (values.json) process.stdout.write(JSON.stringify(h, null, 2) + '\n');
    else {
      process.stdout.write(`overall: ${h.overallHealth}\nredis: ${h.redisConnected === null ? 'not configured (L1 only)' : h.redisConnected ? `connected, ${h.redisLatencyMs?.toFixed(2)} ms` : 'NOT reachable'}${h.topology ? ` (${h.topology})` : ''}\n`);
      if (h.redis) process.stdout.write(`topology: ${JSON.stringify(h.redis)}\n`);
      process.stdout.write(`memory: ${h.memory.pressureLevel} pressure, ${h.memory.processMemoryMb.toFixed(0)} MiB RSS\n`);
      for (const i of h.issues) process.stdout.write(`issue: ${i}\n`);
      for (const r of h.recommendations) process.stdout.write(`recommendation: ${r}\n`);
    }
    return h.overallHealth === 'healthy' ? 0 : h.overallHealth === 'degraded' ? 1 : 2;
  }
  if (command === 'dashboard') {
    const { values } = parseArgs({ args: rest, options: { port: { type: 'string' }, 'demo-load': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    const cache = createIntegratedCache({ logLevel: 'silent', ...configFromEnv() });
    await cache.initialize();
    const dash = await startDashboard(cache, { port: values.port === undefined ? 8765 : Number(values.port) });
    process.stdout.write(`dashboard: ${dash.url}  (Ctrl-C to stop)\n`);
    if (values['demo-load']) {
      void (async () => {
        for (let i = 0; ; i++) {
          const k = Math.floor(5000 * Math.random() ** 3);
          await cache.getOrSet(`demo:${k}`, () => ({ k }));
          if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
        }
      })();
    }
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await dash.close();
    await cache.close();
    return 0;
  }
  if (command === 'audit') {
    const { values, positionals } = parseArgs({ args: rest, options: { key: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help || positionals[0] !== 'verify') {
      // Asked for: stdout, exit 0. Misused: the same help on stderr, exit 2.
      (values.help ? process.stdout : process.stderr).write(commandHelp(command));
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
      process.stdout.write(`${file}: ${r.records} records, chain intact, signed head matches the last record\n`);
      return 0;
    }
    const bad = r.firstBad;
    if (bad === null) {
      process.stdout.write(`${file}: ${r.records} records verify, but the head is ${r.head}: a truncated tail cannot be ruled out\n`);
      return 1;
    }
    process.stdout.write(`${file}: first bad record at line ${bad.line}${bad.seq === null ? '' : ` (seq ${bad.seq})`}: ${bad.problem}; ${r.records} records before it verify\n`);
    return 1;
  }
  if (command === 'dead-letters') {
    const { values, positionals } = parseArgs({ args: rest, options: { key: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    const [action, name] = positionals;
    if (values.help || (action !== 'list' && action !== 'replay') || name === undefined) {
      // Asked for: stdout, exit 0. Misused: the same help on stderr, exit 2.
      (values.help ? process.stdout : process.stderr).write(commandHelp(command));
      return values.help ? 0 : 2;
    }
    const cache = createIntegratedCache({ logLevel: 'silent', ...configFromEnv() });
    await cache.initialize();
    try {
      const queue = cache.patternManager.inspectWriteBehindQueue(name);
      if (action === 'list') {
        const dead = await queue.deadLetters();
        if (values.json) process.stdout.write(JSON.stringify(dead, null, 2) + '\n');
        else {
          process.stdout.write(`${name}: ${dead.length} dead letter(s), backlog ${await queue.backlog()}\n`);
          for (const d of dead) process.stdout.write(`${d.key}  attempts ${d.attempts}  at ${new Date(d.failedAt).toISOString()}  error: ${d.error}\n  value: ${JSON.stringify(d.value)}\n`);
        }
        return 0;
      }
      const r = await queue.replayDeadLetters(values.key);
      if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(`${name}: replayed ${r.replayed.length} (${r.replayed.join(', ')}); skipped ${r.skipped.length}\n`);
      const missing = (values.key ?? []).filter((k) => !r.replayed.includes(k));
      return missing.length > 0 ? 1 : 0;
    } finally {
      await cache.close();
    }
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
