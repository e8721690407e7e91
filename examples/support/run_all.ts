// `npm run examples`: runs every example in examples/ one after another, each in its own process
// (as `npm run example FILE` would), and exits non-zero if any fails. Uses CACHE_REDIS_URL when set;
// the pattern examples also need PostgreSQL (see users_db.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../', import.meta.url));
// tsx reads tsconfig.json from the working directory; nestjs_cache_module.ts needs its
// experimentalDecorators, so run each example from the repository root wherever this is started.
const root = fileURLToPath(new URL('../../', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
const failed: string[] = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ['--conditions=tiercache-source', '--import', 'tsx', `${dir}${file}`], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed.push(file);
}
console.log(`\n${files.length - failed.length} of ${files.length} examples ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
process.exitCode = failed.length ? 1 : 0;
