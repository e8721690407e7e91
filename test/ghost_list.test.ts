import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GhostList } from '../src/policy/ghost_list.js';

describe('GhostList', () => {
  it('agrees with a Map + FIFO model under random pushes, forgets and lookups', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), h: fc.integer({ min: -40, max: 40 }) }),
      fc.record({ kind: fc.constant('forget' as const), h: fc.integer({ min: -40, max: 40 }) }),
      fc.record({ kind: fc.constant('find' as const), h: fc.integer({ min: -40, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 500 }), (capacity, ops) => {
        const g = new GhostList(capacity);
        const ring: { h: number; seq: number }[] = []; // model: last `capacity` pushes, oldest first
        const live = new Map<number, number>(); // hash -> seq of its newest push, unless forgotten
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            seq++;
            if (ring.length === capacity) {
              const old = ring.shift()!;
              if (live.get(old.h) === old.seq) live.delete(old.h);
            }
            ring.push({ h: o.h, seq });
            live.set(o.h, seq);
            g.push(o.h, seq, seq * 10);
          } else if (o.kind === 'forget') {
            live.delete(o.h);
            g.forget(o.h);
          } else {
            const pos = g.find(o.h);
            const expected = live.get(o.h);
            if (expected === undefined) expect(pos).toBe(-1);
            else {
              expect(pos).toBeGreaterThanOrEqual(0);
              expect(g.eventDepth(pos, seq)).toBe(seq - expected);
              expect(g.requestDepth(pos, seq * 10)).toBe((seq - expected) * 10);
            }
          }
          expect(g.size).toBe(live.size);
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('measures depths across 32-bit wrap-around', () => {
    const g = new GhostList(4);
    g.push(7, 2 ** 32 - 2, 2 ** 32 - 5);
    const pos = g.find(7);
    expect(g.eventDepth(pos, 2 ** 32 + 3)).toBe(5);
    expect(g.requestDepth(pos, 2 ** 32 + 5)).toBe(10);
  });
});
