/**
 * Issue 17 item 6: the README's options table is generated from the documented options interface
 * and the CACHE_* variables; it must not drift from them, and every option documents its default.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { README, optionDocs, optionsTable, withTable } from '../scripts/options_table.js';
import { integratedCacheConfigSchema } from '../src/config/config_schema.js';

it("README.md's options table is what scripts/options_table.ts generates (run it with --write after changing an option)", () => {
  const readme = readFileSync(README, 'utf8');
  expect(withTable(readme, optionsTable())).toBe(readme);
});

it('every option in the table has a default and a meaning, and the table lists every option the schema accepts', () => {
  const docs = optionDocs();
  for (const o of docs) {
    expect(o.defaultText, `${o.name} has no @default`).toBeTruthy();
    expect(o.meaning, `${o.name} has no description`).toBeTruthy();
  }
  const schemaKeys = Object.keys((integratedCacheConfigSchema as unknown as { shape?: Record<string, unknown>; innerType?: () => { shape: Record<string, unknown> } }).shape ?? {});
  if (schemaKeys.length > 0) expect(docs.map((o) => o.name).sort()).toEqual(schemaKeys.sort());
});
