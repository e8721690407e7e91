// Builds dist/*.js: the package's entry points bundled by esbuild (tsc emits only the .d.ts).
// Why (docs/decisions.md, "One bundle"): a bare `import 'tiercache'` resolved and parsed ~170
// ES modules (plus zod's ~95), which dominated import time; the runtime dependencies stay
// external (npm dedupes and audits them), only zod (the config validator, no I/O) is inlined,
// so it is not an install dependency. Lazy parts (the L2 modules) become their own chunks.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
// What may be inlined from node_modules: anything else must be a declared dependency.
const INLINED = ['zod'];

const result = await build({
  entryPoints: ['src/index.ts', 'src/adapters/keyv_store.ts', 'src/cli/main.ts'],
  outbase: 'src',
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Error and class names are API (`err.name`, logs): bundling must not rename them.
  keepNames: true,
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
});

const strays = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m && !INLINED.includes(m[1])) strays.add(m[1]);
}
if (strays.size > 0) {
  console.error(`bundle inlined undeclared packages: ${[...strays].join(', ')} (declare them as dependencies, or add to INLINED with a reason)`);
  process.exit(1);
}
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`dist: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} kB of JavaScript`);
