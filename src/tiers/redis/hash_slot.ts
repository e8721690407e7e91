import calculateSlot from 'cluster-key-slot';

/** Redis Cluster hash slot of `key` (CRC16 of its hash tag, or of the whole key, mod 16384). */
export function keySlot(key: string): number {
  return calculateSlot(key);
}

let tags: string[] | null = null;

/**
 * A short string whose hash slot is `slot`. Wrapping it in braces (`{tag}`) puts any key into that
 * slot, which is how a companion key (a lock, a fence) joins the slot of a value key whose own name
 * cannot be reused as a hash tag (it may contain braces). Built once: ~16k CRC16s, a few ms.
 */
export function slotTag(slot: number): string {
  if (tags === null) {
    const table = new Array<string>(16384);
    let missing = 16384;
    for (let i = 0; missing > 0; i++) {
      const candidate = i.toString(36);
      const s = calculateSlot(candidate);
      if (table[s] === undefined) {
        table[s] = candidate;
        missing--;
      }
    }
    tags = table;
  }
  return tags[slot];
}

/** Groups indexes of `keys` by hash slot, in first-seen order. */
export function groupBySlot(keys: readonly string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = calculateSlot(keys[i]);
    const g = groups.get(slot);
    if (g === undefined) groups.set(slot, [i]);
    else g.push(i);
  }
  return groups;
}
