/**
 * Tiny throughput harness. Every contender runs for a fixed time slice, contenders interleaved,
 * `rounds` times; the median slice is reported, so one noisy slice (GC, the other core busy)
 * does not decide a ratio. Results are ops/s; ratios are taken between contenders of one run only,
 * as the median of per-round ratios (`pairedRatio`): this machine's speed drifts by ±30% over
 * seconds (other tenants), and slices of one round run seconds apart at most, so pairing them
 * cancels most of the drift that a ratio of two medians keeps.
 */
export interface Contender {
  name: string;
  /** Runs as many operations as it can until `deadline` (performance.now()); returns how many. */
  run(deadline: number): Promise<number> | number;
}

export interface Result {
  name: string;
  /** Median over the rounds. */
  opsPerSec: number;
  /** ops/s of each round, in round order. */
  samples: number[];
}

/** Median over rounds of a's ops/s divided by b's in the same round. */
export function pairedRatio(a: Result, b: Result): number {
  const r = a.samples.map((s, i) => s / b.samples[i]).sort((x, y) => x - y);
  const mid = r.length >> 1;
  return r.length % 2 === 1 ? r[mid] : (r[mid - 1] + r[mid]) / 2;
}

export async function compare(contenders: Contender[], opts: { sliceMs: number; rounds: number; warmupMs: number }): Promise<Result[]> {
  // Between slices the event loop runs timers and I/O for a moment, outside the timed part: a
  // synchronous or microtask-only slice blocks the loop for its whole length, and a real server
  // never does that for seconds on end (tiercache's coherence gate rightly stops serving L1 when
  // nothing could be confirmed for coherenceStalenessMs).
  const breathe = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
  for (const c of contenders) {
    await c.run(performance.now() + opts.warmupMs);
    await breathe();
  }
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of contenders) {
      const t0 = performance.now();
      const n = await c.run(t0 + opts.sliceMs);
      const dt = performance.now() - t0;
      samples.get(c.name)!.push((n / dt) * 1000);
      await breathe();
    }
  }
  return contenders.map((c) => {
    const inOrder = samples.get(c.name)!;
    const s = [...inOrder].sort((a, b) => a - b);
    return { name: c.name, opsPerSec: s[Math.floor(s.length / 2)], samples: inOrder };
  });
}

/** A synchronous loop, checked against the clock every 1024 operations. */
export function syncLoop(op: (i: number) => unknown): (deadline: number) => number {
  return (deadline) => {
    let i = 0;
    let sink: unknown;
    while (performance.now() < deadline) {
      for (let j = 0; j < 1024; j++) sink = op(i++);
    }
    if (sink === Symbol.for('never')) console.log(sink);
    return i;
  };
}

/** One coroutine awaiting each operation in turn (the cost of an awaited call). */
export function awaitedLoop(op: (i: number) => Promise<unknown>): (deadline: number) => Promise<number> {
  return async (deadline) => {
    let i = 0;
    while (performance.now() < deadline) {
      for (let j = 0; j < 256; j++) await op(i++);
    }
    return i;
  };
}

/** `concurrency` coroutines, each awaiting one operation at a time, until the deadline. */
export function concurrentLoop(concurrency: number, op: (i: number) => Promise<unknown>): (deadline: number) => Promise<number> {
  return async (deadline) => {
    let i = 0;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) await op(i++);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return i;
  };
}

export function formatOps(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
