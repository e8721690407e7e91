/** One sample of a Prometheus text exposition: its family's TYPE, its full name and its labels. */
export interface PromSample {
  family: string;
  type: string;
  name: string;
  labels: Record<string, string>;
  /** name{labels in order}: identifies the series across two scrapes. */
  series: string;
  value: number;
}

/** Parses the text format (enough of it for prom-client's output: no escapes inside label values). */
export function parseExposition(text: string): PromSample[] {
  const types = new Map<string, string>();
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]] = l[2];
    const name = m[1];
    const family = types.has(name) ? name : (name.replace(/_(bucket|sum|count|total)$/, '') as string);
    const fam = types.has(family) ? family : name;
    out.push({ family: fam, type: types.get(fam) ?? 'untyped', name, labels, series: `${name}{${m[2] ?? ''}}`, value: Number(m[3]) });
  }
  return out;
}
