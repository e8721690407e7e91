/**
 * One clock for every process on the machine, in ms: CLOCK_MONOTONIC, which Linux shares across
 * processes. `performance.timeOrigin + performance.now()` is not: each process fixes its
 * timeOrigin at start, and on a loaded machine two processes' origins were seen 12-60 ms apart,
 * enough for a history checker to call a read "impossible" (a value read before its write began).
 */
export const machineNow = (): number => Number(process.hrtime.bigint()) / 1e6;
