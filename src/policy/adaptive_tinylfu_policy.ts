import type { EvictionPolicy } from './eviction_policy.js';
import { uintArrayFor } from './eviction_policy.js';
import { FrequencySketch } from './frequency_sketch.js';
import { GhostList } from './ghost_list.js';

const WINDOW = 1;
const PROBATION = 2;
const PROTECTED = 3;
/** Caffeine's ADMIT_HASHDOS_THRESHOLD: a candidate this warm is let in 1 time in 128 at random. */
const HASHDOS_THRESHOLD = 6;

/**
 * W-TinyLFU (Einziger, Friedman, Manes) with the window sized by ghost lists instead of a hill
 * climber.
 *
 * New entries enter an LRU *window*. The window's LRU entry, when the window is full, moves to the
 * *probation* segment of the main region as a candidate; when the cache must evict, the candidate
 * is compared with probation's LRU entry (the victim) by their TinyLFU frequency estimates and the
 * colder one leaves. A probation hit promotes to *protected* (80% of main).
 *
 * Adaptation (ARC's idea applied to the window/main split): two ghost lists remember hashes of
 * candidates refused at admission and of victims evicted from main. A miss on a refused ghost
 * says recency was undervalued (an LRU would have kept it): the window grows. A miss on an
 * evicted ghost says frequency was undervalued: the window shrinks. Step sizes follow ARC
 * (the ratio of the ghost lists' sizes), so the split tracks the workload from what it observes,
 * with no per-trace constants. With the window at its largest the policy is close to LRU; at its
 * smallest it is close to TinyLFU with a 1-entry window.
 *
 * Everything is slot-indexed typed arrays: no per-entry objects, O(1) per operation (the ghost
 * lists use a Map, touched on misses only).
 */
export class AdaptiveTinyLfuPolicy implements EvictionPolicy {
  readonly name = 'adaptive-tinylfu';
  readonly #maximum: number;
  readonly #nil: number;
  readonly #prev: Uint8Array | Uint16Array | Uint32Array;
  readonly #next: Uint8Array | Uint16Array | Uint32Array;
  readonly #queue: Uint8Array;
  readonly #hash: Int32Array;
  readonly #candidate: Uint8Array;
  readonly #heads = new Int32Array(4);
  readonly #tails = new Int32Array(4);
  readonly #sizes = new Int32Array(4);
  readonly #sketch: FrequencySketch;
  readonly #refused: GhostList;
  readonly #evicted: GhostList;
  /** Window target as a fraction-free entry count in [1, maximum - 1]. A float: ARC steps are fractional. */
  #windowTarget: number;
  readonly #adaptive: boolean;
  /** Admission outcomes (observability, tests). */
  admitted = 0;
  refused = 0;
  #rng: number;
  readonly #candidates: Int32Array;
  #candHead = 0;
  #candCount = 0;

  constructor(slots: number, options: { seed?: number; initialWindow?: number; adaptive?: boolean } = {}) {
    const maximum = Math.max(1, slots - 1);
    this.#maximum = maximum;
    this.#nil = slots;
    this.#prev = uintArrayFor(slots + 1, slots);
    this.#next = uintArrayFor(slots + 1, slots);
    this.#queue = new Uint8Array(slots);
    this.#hash = new Int32Array(slots);
    this.#candidate = new Uint8Array(slots);
    this.#candidates = new Int32Array(slots);
    this.#sketch = new FrequencySketch(maximum);
    this.#refused = new GhostList(maximum);
    this.#evicted = new GhostList(maximum);
    this.#windowTarget = Math.max(1, Math.round(maximum * (options.initialWindow ?? 0.01)));
    this.#rng = (options.seed ?? 0x2545f491) | 0 || 1;
    this.#adaptive = options.adaptive ?? true;
    this.reset();
  }

  /** Current window target in entries (observability, tests). */
  get windowSize(): number {
    return Math.round(this.#windowTarget);
  }

  onAccess(slot: number): void {
    this.#sketch.increment(this.#hash[slot]);
    const q = this.#queue[slot];
    if (q === WINDOW || q === PROTECTED) {
      this.#moveToTail(q, slot);
    } else {
      this.#candidate[slot] = 0;
      this.#unlink(PROBATION, slot);
      this.#append(PROTECTED, slot);
      this.#balanceProtected();
    }
  }

  onInsert(slot: number, keyHash: number): void {
    const h = keyHash | 0;
    this.#hash[slot] = h;
    this.#sketch.increment(h);
    this.#adapt(h);
    this.#append(WINDOW, slot);
    this.#spillWindow();
  }

  onUpdate(slot: number): void {
    this.onAccess(slot);
  }

  onRemove(slot: number): void {
    const q = this.#queue[slot];
    if (q !== 0) this.#unlink(q, slot);
    this.#candidate[slot] = 0;
  }

  victim(): number {
    const total = this.#sizes[WINDOW] + this.#sizes[PROBATION] + this.#sizes[PROTECTED];
    if (total === 0) return -1;
    // Oldest candidate still waiting in probation (entries accessed since are no longer candidates).
    let candidate = -1;
    while (this.#candCount > 0) {
      const c = this.#candidates[this.#candHead];
      if (this.#candidate[c] === 1 && this.#queue[c] === PROBATION) {
        candidate = c;
        break;
      }
      this.#popCandidate();
    }
    let victim = this.#heads[PROBATION];
    if (victim === candidate) victim = this.#next[victim] === this.#nil ? -1 : this.#next[victim];
    if (victim < 0 || victim === this.#nil) victim = this.#heads[PROTECTED];
    if (victim === this.#nil || victim < 0) victim = -1;
    if (candidate >= 0 && victim >= 0) {
      this.#popCandidate();
      this.#candidate[candidate] = 0;
      if (this.#admit(this.#hash[candidate], this.#hash[victim])) {
        this.admitted++;
        this.#evicted.push(this.#hash[victim]);
        return victim;
      }
      this.refused++;
      this.#refused.push(this.#hash[candidate]);
      return candidate;
    }
    if (candidate >= 0) {
      this.#popCandidate();
      this.#candidate[candidate] = 0;
      return candidate;
    }
    if (victim >= 0) {
      this.#evicted.push(this.#hash[victim]);
      return victim;
    }
    return this.#heads[WINDOW];
  }

  reset(): void {
    this.#heads.fill(this.#nil);
    this.#tails.fill(this.#nil);
    this.#sizes.fill(0);
    this.#queue.fill(0);
    this.#candidate.fill(0);
    this.#candHead = 0;
    this.#candCount = 0;
    this.#sketch.clear();
    this.#refused.clear();
    this.#evicted.clear();
  }

  #admit(candidateHash: number, victimHash: number): boolean {
    const cf = this.#sketch.frequency(candidateHash);
    const vf = this.#sketch.frequency(victimHash);
    if (cf > vf) return true;
    if (cf < HASHDOS_THRESHOLD) return false;
    // A warm candidate losing to a victim may be an attacker pinning hot hashes: let it in rarely.
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x;
    return (x & 127) === 0;
  }

  /** ARC's rule on the window/main split, driven by the ghost list a missed key is found in. */
  #adapt(hash: number): void {
    if (!this.#adaptive) return;
    const refused = this.#refused;
    const evicted = this.#evicted;
    if (refused.size > 0 && refused.has(hash)) {
      const step = Math.max(1, evicted.size / refused.size);
      this.#windowTarget = Math.min(this.#maximum - 1, this.#windowTarget + step);
      refused.forget(hash);
    } else if (evicted.size > 0 && evicted.has(hash)) {
      const step = Math.max(1, refused.size / evicted.size);
      this.#windowTarget = Math.max(1, this.#windowTarget - step);
      evicted.forget(hash);
    }
  }

  #spillWindow(): void {
    const target = Math.max(1, Math.round(this.#windowTarget));
    // ARC's bounds: window + refused ghost <= maximum, main + evicted ghost <= maximum.
    this.#refused.limit = this.#maximum - target;
    this.#evicted.limit = target;
    this.#refused.trim();
    this.#evicted.trim();
    // Only entries spilled by this insert are candidates (Caffeine: those moved in this
    // maintenance pass). Earlier spills that met no eviction are ordinary probation entries;
    // keeping them queued would judge them in FIFO order, which is LRU.
    while (this.#candCount > 0) {
      this.#candidate[this.#candidates[this.#candHead]] = 0;
      this.#popCandidate();
    }
    while (this.#sizes[WINDOW] > target) {
      const s = this.#heads[WINDOW];
      this.#unlink(WINDOW, s);
      this.#append(PROBATION, s);
      this.#candidate[s] = 1;
      this.#pushCandidate(s);
    }
  }

  #balanceProtected(): void {
    const main = this.#maximum - Math.round(this.#windowTarget);
    const maxProtected = Math.max(0, Math.floor(main * 0.8));
    while (this.#sizes[PROTECTED] > maxProtected) {
      const s = this.#heads[PROTECTED];
      this.#unlink(PROTECTED, s);
      this.#append(PROBATION, s);
    }
  }

  #pushCandidate(slot: number): void {
    const n = this.#candidates.length;
    if (this.#candCount === n) this.#popCandidate();
    this.#candidates[(this.#candHead + this.#candCount) % n] = slot;
    this.#candCount++;
  }

  #popCandidate(): void {
    this.#candHead = (this.#candHead + 1) % this.#candidates.length;
    this.#candCount--;
  }

  #append(q: number, slot: number): void {
    const nil = this.#nil;
    const tail = this.#tails[q];
    this.#prev[slot] = tail;
    this.#next[slot] = nil;
    if (tail === nil) this.#heads[q] = slot;
    else this.#next[tail] = slot;
    this.#tails[q] = slot;
    this.#queue[slot] = q;
    this.#sizes[q]++;
  }

  #unlink(q: number, slot: number): void {
    const nil = this.#nil;
    const p = this.#prev[slot];
    const n = this.#next[slot];
    if (p === nil) this.#heads[q] = n;
    else this.#next[p] = n;
    if (n === nil) this.#tails[q] = p;
    else this.#prev[n] = p;
    this.#queue[slot] = 0;
    this.#sizes[q]--;
  }

  #moveToTail(q: number, slot: number): void {
    if (this.#tails[q] === slot) return;
    this.#unlink(q, slot);
    this.#append(q, slot);
  }
}

export const adaptiveTinyLfuPolicy = (slots: number): EvictionPolicy => new AdaptiveTinyLfuPolicy(slots);
