/** The history checker itself, on small hand-made histories (test/support/history_checker.ts). */
import { describe, expect, it } from 'vitest';
import { checkHistory, PRESENT, type HistoryOp } from './support/history_checker.js';

let seq = 0;
function op(process: string, kind: HistoryOp['op'], key: string, value: string | null, invoke: number, complete: number, extra: Partial<HistoryOp> = {}): HistoryOp {
  return { process, op: kind, key, value, invoke, complete, seq: seq++, ...extra };
}

const bound = { boundMs: 100 };

describe('history checker: staleness (a)', () => {
  it('a read of the latest completed write is not stale', () => {
    const r = checkHistory([op('p1', 'set', 'k', 'p1-1', 0, 5), op('p2', 'get', 'k', 'p1-1', 10, 11)], [], bound);
    expect(r.readsChecked).toBe(1);
    expect(r.maxStalenessMs).toBe(0);
    expect(r.staleCount).toBe(0);
  });

  it('concurrent writes may be ordered either way: reading either one afterwards is not flagged', () => {
    // p1 and p2 write at the same instant; their intervals overlap, so either may be last.
    const h = [
      op('p1', 'set', 'k', 'p1-1', 0, 10),
      op('p2', 'set', 'k', 'p2-1', 2, 8),
      op('p1', 'get', 'k', 'p2-1', 500, 501),
      op('p2', 'get', 'k', 'p1-1', 500, 501),
    ];
    const r = checkHistory(h, [], bound);
    expect(r.maxStalenessMs).toBe(0);
    expect(r.staleCount).toBe(0);
  });

  it('a read of a value overwritten more than the bound before it began is flagged, with its staleness', () => {
    const h = [
      op('p1', 'set', 'k', 'p1-1', 0, 5),
      op('p2', 'set', 'k', 'p2-1', 10, 20), // definitely after p1-1 (invoked after it completed)
      op('p3', 'get', 'k', 'p1-1', 50, 51), // 30 ms stale: inside the bound
      op('p3', 'get', 'k', 'p1-1', 320, 321), // 300 ms stale
    ];
    const r = checkHistory(h, [], bound);
    expect(r.maxStalenessMs).toBe(300);
    expect(r.staleCount).toBe(1);
    expect(r.staleReads[0].stalenessMs).toBe(300);
    expect(r.staleReads[0].supersededBy?.value).toBe('p2-1');
  });

  it('staleness counts from the earliest superseding write that completed', () => {
    const h = [
      op('p1', 'set', 'k', 'a', 0, 5),
      op('p2', 'set', 'k', 'b', 10, 400), // slow
      op('p3', 'set', 'k', 'c', 20, 30), // completes first
      op('p1', 'get', 'k', 'a', 230, 231),
    ];
    expect(checkHistory(h, [], bound).maxStalenessMs).toBe(200);
  });

  it('a read of "absent" after a delete is fine; after a later completed set it is stale', () => {
    const h = [
      op('p1', 'set', 'k', 'a', 0, 5),
      op('p1', 'delete', 'k', null, 10, 15),
      op('p2', 'get', 'k', null, 20, 21),
      op('p2', 'set', 'k', 'b', 30, 40),
      op('p3', 'get', 'k', null, 500, 501),
    ];
    const r = checkHistory(h, [], bound);
    expect(r.staleCount).toBe(1);
    expect(r.maxStalenessMs).toBe(460);
  });

  it('a read of "absent" concurrent with a delete may take that delete as its source', () => {
    const h = [
      op('p1', 'set', 'k', 'a', 0, 5),
      op('p2', 'set', 'k', 'b', 10, 20),
      op('p1', 'delete', 'k', null, 490, 510), // concurrent with the read below
      op('p3', 'get', 'k', null, 500, 501),
    ];
    expect(checkHistory(h, [], bound).staleCount).toBe(0);
  });

  it('issue order within a process: an un-awaited set then delete; the value surviving the delete is stale', () => {
    // The set completes after the delete was issued (they overlap in real time), but the same
    // process issued the delete after it: the set's value must not outlive the delete.
    const set = op('p1', 'set', 'k', 'p1-1', 0, 12);
    const del = op('p1', 'delete', 'k', null, 1, 10);
    const read = op('p2', 'get', 'k', 'p1-1', 400, 401);
    expect(checkHistory([set, del, read], [], bound).maxStalenessMs).toBe(390);
    // Without the process-order rule the two overlap and nothing is flagged.
    expect(checkHistory([set, del, read], [], { ...bound, processOrder: false }).staleCount).toBe(0);
  });

  it('a failed write supersedes nothing, but its value may be read', () => {
    const h = [
      op('p1', 'set', 'k', 'a', 0, 5),
      op('p2', 'set', 'k', 'b', 10, 20, { failed: true }),
      op('p3', 'get', 'k', 'a', 500, 501),
      op('p3', 'get', 'k', 'b', 600, 601),
    ];
    const r = checkHistory(h, [], bound);
    expect(r.staleCount).toBe(0);
    expect(r.impossibleReads).toHaveLength(0);
  });

  it('a getOrSet that loaded is a write; one that found a value is a read', () => {
    const h = [
      op('p1', 'getOrSet', 'k', 'p1-l1', 0, 10, { loaded: 'p1-l1' }),
      op('p2', 'getOrSet', 'k', 'p1-l1', 20, 21),
      op('p2', 'set', 'k', 'p2-1', 30, 40),
      op('p3', 'getOrSet', 'k', 'p1-l1', 300, 301),
    ];
    const r = checkHistory(h, [], bound);
    expect(r.writesChecked).toBe(2);
    expect(r.readsChecked).toBe(2);
    expect(r.maxStalenessMs).toBe(260);
  });

  it('a getOrSet that loaded supersedes nothing: the cache may return a loaded value without keeping it', () => {
    const h = [
      op('p1', 'set', 'k', 'a', 0, 5),
      op('p1', 'delete', 'k', null, 10, 15),
      op('p3', 'getOrSet', 'k', 'p3-l1', 20, 30, { loaded: 'p3-l1' }), // fenced: not cached
      op('p2', 'get', 'k', null, 400, 401), // a miss, not a wrong value
      op('p2', 'get', 'k', 'p3-l1', 500, 501), // or it was cached: readable too
    ];
    const r = checkHistory(h, [], bound);
    expect(r.staleCount).toBe(0);
    expect(r.impossibleReads).toHaveLength(0);
    // But a set after the load does supersede the loaded value.
    expect(checkHistory([...h, op('p1', 'set', 'k', 'b', 600, 610), op('p2', 'get', 'k', 'p3-l1', 900, 901)], [], bound).maxStalenessMs).toBe(290);
  });

  it('a value nobody wrote, or read before its write was invoked, is an impossible read', () => {
    const h = [op('p1', 'get', 'k', 'ghost', 0, 1), op('p2', 'get', 'k', 'p3-1', 5, 6), op('p3', 'set', 'k', 'p3-1', 10, 20)];
    expect(checkHistory(h, [], bound).impossibleReads).toHaveLength(2);
  });
});

describe('history checker: the other entry points', () => {
  it('a bulk delete is ordered after its process\'s earlier writes, not before its later ones', () => {
    // p1: set, then (un-awaited) invalidatePattern, then set again while it runs.
    const before = op('p1', 'set', 'k', 'a', 0, 12);
    const bulk = op('p1', 'delete', 'k', null, 1, 30, { bulk: true, call: 'invalidatePattern(k*)' });
    const after = op('p1', 'set', 'k', 'b', 2, 10);
    // 'a' must not outlive the invalidation: reading it 400 ms later is stale.
    expect(checkHistory([before, bulk, after, op('p2', 'get', 'k', 'a', 400, 401)], [], bound).staleCount).toBe(1);
    // The invalidation may have removed 'b' (written while it ran): absent later is fine.
    expect(checkHistory([before, bulk, after, op('p2', 'get', 'k', null, 400, 401)], [], bound).staleCount).toBe(0);
    // A plain delete issued before the set would be superseded by it.
    const del = op('p1', 'delete', 'k', null, 1, 30, { seq: bulk.seq });
    expect(checkHistory([before, del, after, op('p2', 'get', 'k', null, 400, 401)], [], bound).staleCount).toBe(1);
  });

  it('has: true may come from any value written, false from the initial state or a delete', () => {
    const h = [op('p1', 'set', 'k', 'a', 0, 5), op('p2', 'has', 'k', PRESENT, 10, 11), op('p1', 'delete', 'k', null, 20, 25), op('p2', 'has', 'k', PRESENT, 400, 401)];
    const r = checkHistory(h, [], bound);
    expect(r.readsChecked).toBe(2);
    expect(r.staleCount).toBe(1);
    expect(r.maxStalenessMs).toBe(375);
  });

  it('sessions: read-your-writes across processes, and monotonic reads', () => {
    const s = { session: 's' };
    const ok = [op('p1', 'set', 'k', 'a', 0, 5, s), op('p2', 'get', 'k', 'a', 6, 7, s)];
    expect(checkHistory(ok, [], bound).sessionViolations).toEqual([]);
    // The session wrote 'b' after 'a' completed; reading 'a' (within the bound) is not its write.
    const ryw = [op('p1', 'set', 'k', 'a', 0, 5), op('p1', 'set', 'k', 'b', 10, 15, s), op('p2', 'get', 'k', 'a', 16, 17, s)];
    const r1 = checkHistory(ryw, [], bound);
    expect(r1.staleCount).toBe(0);
    expect(r1.sessionViolations.map((v) => v.rule)).toEqual(['read-your-writes']);
    // The session read 'b'; a later read of 'a' (older than 'b') goes back in time.
    const mono = [op('p1', 'set', 'k', 'a', 0, 5), op('p3', 'set', 'k', 'b', 10, 15), op('p1', 'get', 'k', 'b', 20, 21, s), op('p2', 'get', 'k', 'a', 22, 23, s)];
    expect(checkHistory(mono, [], bound).sessionViolations.map((v) => v.rule)).toEqual(['monotonic-reads']);
    // A value concurrent with the session's write may be read (either may be last).
    const conc = [op('p3', 'set', 'k', 'c', 9, 20), op('p1', 'set', 'k', 'b', 10, 15, s), op('p2', 'get', 'k', 'c', 21, 22, s)];
    expect(checkHistory(conc, [], bound).sessionViolations).toEqual([]);
  });
});

describe('history checker: quiet periods (b)', () => {
  it('counts a period as divergent when any process reads something other than L2', () => {
    const r = checkHistory(
      [],
      [
        { l2: { a: 'x', b: null }, reads: [{ process: 'p1', key: 'a', value: 'x' }, { process: 'p2', key: 'b', value: null }] },
        { l2: { a: 'y' }, reads: [{ process: 'p1', key: 'a', value: 'y' }, { process: 'p2', key: 'a', value: 'x' }] },
        { l2: {}, reads: [{ process: 'p1', key: 'a', value: 'z' }] }, // L2 unreadable: not judged
      ],
      bound,
    );
    expect(r.quietPeriods).toBe(3);
    expect(r.divergentPeriods).toBe(1);
    expect(r.divergences).toEqual([{ period: 1, process: 'p2', key: 'a', read: 'x', l2: 'y' }]);
  });
});
