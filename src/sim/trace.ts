import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * An access trace: `ids[i]` indexes `keys`, the distinct keys as strings (what a cache sees).
 * Reading once and interning keeps a 5M-request trace at ~20 MB plus its distinct keys.
 */
export interface Trace {
  name: string;
  ids: Int32Array;
  keys: string[];
}

/** Reads a `.keys.gz` (or plain) file: one key per line, in access order. */
export function readTrace(path: string): Trace {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const text = buf.toString('latin1');
  const ids: number[] = [];
  const intern = new Map<string, number>();
  const keys: string[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text.charCodeAt(i) === 10) {
      let end = i;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      if (end > start) {
        const k = text.slice(start, end);
        let id = intern.get(k);
        if (id === undefined) {
          id = keys.length;
          keys.push(k);
          intern.set(k, id);
        }
        ids.push(id);
      }
      start = i + 1;
    }
  }
  const name = path.split('/').pop()!.replace(/\.keys(\.gz)?$/, '');
  return { name, ids: Int32Array.from(ids), keys };
}
