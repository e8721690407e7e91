import type { RedisBackend } from './redis_backend.js';

/** One round trip's share of a write batch. */
export interface LaneChunk {
  /** Indices into the batch. */
  items: number[];
  /** The write lane of every item's key. */
  lane: number;
}

/**
 * Splits a batch of writes (indices 0 … fullKeys.length-1) into round trips: one write lane
 * each, at most `maxBatch` keys each, in the batch's order within a lane (so writes to one key
 * keep their order).
 */
export function laneChunks(redis: RedisBackend, fullKeys: readonly string[], maxBatch: number): LaneChunk[] {
  const n = fullKeys.length;
  const lanes = redis.writeLanes ?? 1;
  const chunks: LaneChunk[] = [];
  if (lanes === 1 || redis.laneOf === undefined) {
    for (let start = 0; start < n; start += maxBatch) {
      const end = Math.min(n, start + maxBatch);
      const items = new Array<number>(end - start);
      for (let i = start; i < end; i++) items[i - start] = i;
      chunks.push({ items, lane: 0 });
    }
    return chunks;
  }
  const open: (LaneChunk | undefined)[] = new Array(lanes);
  for (let i = 0; i < n; i++) {
    const lane = redis.laneOf(fullKeys[i]);
    let c = open[lane];
    if (c === undefined || c.items.length === maxBatch) {
      c = { items: [], lane };
      open[lane] = c;
      chunks.push(c);
    }
    c.items.push(i);
  }
  return chunks;
}
