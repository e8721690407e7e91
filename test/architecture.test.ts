import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The import graph of src/, from the files themselves (static `import … from './x.js'`, types included).
const root = resolve('src');
const files: string[] = [];
const walk = (d: string): void => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(root);
const edges = new Map<string, string[]>();
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  edges.set(f, [...src.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => resolve(dirname(f), m[1].replace(/\.js$/, '.ts'))));
}
const rel = (f: string) => relative(root, f);

describe('architecture', () => {
  it('src/ has no import cycle (Tarjan over every file)', () => {
    let next = 0;
    const stack: string[] = [];
    const on = new Set<string>();
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      on.add(v);
      for (const w of edges.get(v) ?? []) {
        if (!edges.has(w)) continue;
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
        } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
      if (low.get(v) === index.get(v)) {
        const c: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          on.delete(w);
          c.push(rel(w));
        } while (w !== v);
        if (c.length > 1) cycles.push(c.sort());
      }
    };
    for (const f of files) if (!index.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('secondary components import nothing from the manager: they hold the guarded operations only', () => {
    const manager = resolve(root, 'core/integrated_cache_manager.ts');
    const secondary = files.filter((f) => /^(patterns|security|bench|types|guards)\//.test(rel(f)));
    expect(secondary.length).toBeGreaterThan(10);
    for (const f of secondary) expect({ file: rel(f), importsManager: (edges.get(f) ?? []).includes(manager) }).toEqual({ file: rel(f), importsManager: false });
    // …and nothing from core at all except the consistency constants (a leaf).
    for (const f of secondary) for (const d of edges.get(f) ?? []) if (rel(d).startsWith('core/')) expect(rel(d)).toBe('core/consistency.ts');
  });
});
