import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { lruPolicy } from '../src/policy/lru_policy.js';
import { MemoryTier } from '../src/tiers/memory/memory_tier.js';

describe('MemoryTier', () => {
  it('gets, sets, overwrites and deletes', () => {
    const t = new MemoryTier<string>({ maxEntries: 3 });
    expect(t.get('a')).toBeUndefined();
    expect(t.set('a', 'A', 0, 1)).toBe(true);
    expect(t.get('a')).toBe('A');
    t.set('a', 'A2', 0, 1);
    expect(t.get('a')).toBe('A2');
    expect(t.size).toBe(1);
    expect(t.delete('a')).toBe(true);
    expect(t.delete('a')).toBe(false);
    expect(t.get('a')).toBeUndefined();
    expect(t.stats()).toMatchObject({ hits: 2, misses: 2, size: 0, bytes: 0 });
  });

  it('evicts the least recently used entry at the entry bound (LRU policy)', () => {
    const t = new MemoryTier<number>({ maxEntries: 3, policy: lruPolicy });
    t.set('a', 1, 0, 1);
    t.set('b', 2, 0, 1);
    t.set('c', 3, 0, 1);
    t.get('a'); // a is now most recent; b is the LRU
    t.set('d', 4, 0, 1);
    expect(t.size).toBe(3);
    expect(t.peek('b')).toBeUndefined();
    expect([...t.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(t.stats().evictions).toBe(1);
  });

  it('respects the byte bound and refuses an entry heavier than the bound', () => {
    const t = new MemoryTier<string>({ maxEntries: 100, maxBytes: 100 });
    for (let i = 0; i < 10; i++) t.set(`k${i}`, 'x', 0, 30);
    expect(t.bytes).toBeLessThanOrEqual(100);
    expect(t.size).toBe(3);
    expect(t.set('huge', 'x', 0, 101)).toBe(false);
    expect(t.peek('huge')).toBeUndefined();
    // overwriting with a heavier value re-applies the bound
    t.set('k9', 'y', 0, 90);
    expect(t.bytes).toBeLessThanOrEqual(100);
    expect(t.peek('k9')).toBe('y');
  });

  it('never returns an expired entry', () => {
    const clock = new ManualClock();
    const t = new MemoryTier<string>({ maxEntries: 10, clock });
    t.set('a', 'A', clock.now() + 1000, 1);
    t.set('b', 'B', 0, 1);
    clock.advance(999);
    expect(t.get('a')).toBe('A');
    expect(t.expiresAt('a')).toBe(clock.now() + 1);
    clock.advance(1);
    expect(t.get('a')).toBeUndefined();
    expect(t.expiresAt('a')).toBe(-1);
    expect(t.get('b')).toBe('B');
    expect(t.stats().expirations).toBe(1);
    expect(t.set('c', 'C', clock.now() - 1, 1)).toBe(false);
  });

  it('deleteWhere and clear reset everything, and slots are reused', () => {
    const removed: string[] = [];
    const t = new MemoryTier<number>({ maxEntries: 4, onRemove: (k, cause) => removed.push(`${k}:${cause}`) });
    for (let i = 0; i < 4; i++) t.set(`user:${i}`, i, 0, 1);
    t.set('post:1', 9, 0, 1);
    expect(t.deleteWhere((k) => k.startsWith('user:'))).toBe(3);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.bytes).toBe(0);
    for (let i = 0; i < 20; i++) t.set(`n${i}`, i, 0, 1);
    expect(t.size).toBe(4);
    expect(removed).toContain('post:1:cleared');
  });

  // Bounds, deletes and expiry under random operations: test/policy.test.ts, for every policy.
});

describe('MemoryTier eviction order with TTLs', () => {
  it('evicts expired entries before any live one, whatever the policy prefers', () => {
    const clock = new ManualClock();
    const t = new MemoryTier<number>({ maxEntries: 100, clock });
    // 50 long-lived entries made hot, 50 short-lived ones never read again
    for (let i = 0; i < 50; i++) t.set(`live${i}`, i, 0, 1);
    for (let r = 0; r < 5; r++) for (let i = 0; i < 50; i++) t.get(`live${i}`);
    for (let i = 0; i < 50; i++) t.set(`short${i}`, i, clock.now() + 1000, 1);
    clock.advance(1001);
    // 50 new entries: each needs a slot, and every one must come from an expired entry
    for (let i = 0; i < 50; i++) t.set(`new${i}`, i, 0, 1);
    const s = t.stats();
    expect(s.expirations).toBe(50);
    expect(s.evictions).toBe(0);
    for (let i = 0; i < 50; i++) expect(t.peek(`live${i}`)).toBe(i);
  });

  it('keeps the expiry index small under overwrites (stale entries are compacted)', () => {
    const clock = new ManualClock();
    const t = new MemoryTier<number>({ maxEntries: 10, clock });
    for (let i = 0; i < 100_000; i++) t.set(`k${i % 10}`, i, clock.now() + 1_000_000, 1);
    for (let i = 0; i < 10; i++) expect(t.peek(`k${i}`)).toBe(99_990 + i);
    expect(t.size).toBe(10);
  });
});
