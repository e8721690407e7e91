/**
 * A linearizability checker for one register (Wing & Gong's search with memoization, as in
 * Lowe's / Knossos's WGL): is there a total order of the operations, consistent with real time
 * (an operation that responded before another was invoked comes first), in which every read
 * returns the last written value? Exponential in the worst case; fine for a few hundred
 * operations from a handful of processes with one operation outstanding each.
 */
export interface Op {
  process: string;
  kind: 'read' | 'write';
  /** Written value, or the value a read returned (undefined: the key was absent). */
  value: unknown;
  /** ms on the machine-wide monotonic clock (support/machine_clock.ts) at invocation and response. */
  invoke: number;
  response: number;
}

export interface CheckResult {
  linearizable: boolean;
  /** Operations linearized in the longest prefix found (a hint where it broke). */
  longestPrefix: number;
}

export function checkRegister(history: Op[], initial: unknown = undefined): CheckResult {
  const ops = [...history].sort((a, b) => a.invoke - b.invoke);
  const n = ops.length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let longest = 0;
  const key = (value: unknown): string => {
    let bits = '';
    for (let i = 0; i < n; i++) bits += done[i];
    return `${bits}|${JSON.stringify(value) ?? 'u'}`;
  };
  const search = (value: unknown, count: number): boolean => {
    if (count === n) return true;
    if (count > longest) longest = count;
    const k = key(value);
    if (seen.has(k)) return false;
    seen.add(k);
    // Candidates: pending ops invoked before the earliest response among pending ops.
    let minResponse = Infinity;
    for (let i = 0; i < n; i++) if (!done[i] && ops[i].response < minResponse) minResponse = ops[i].response;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const op = ops[i];
      if (op.invoke > minResponse) break; // sorted by invoke: no later op can go first
      let next: unknown;
      if (op.kind === 'write') next = op.value;
      else if (JSON.stringify(op.value) === JSON.stringify(value)) next = value;
      else continue;
      done[i] = 1;
      if (search(next, count + 1)) return true;
      done[i] = 0;
    }
    return false;
  };
  const ok = search(initial, 0);
  return { linearizable: ok, longestPrefix: ok ? n : longest };
}
