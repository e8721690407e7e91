import type { EvictionPolicy } from './eviction_policy.js';
import { uintArrayFor } from './eviction_policy.js';
import { FrequencySketch } from './frequency_sketch.js';
import { GhostList } from './ghost_list.js';

const WINDOW = 1; // upper part of the window (MRU side)
const WINDOW_LOW = 4; // the window's last Δ entries: a hit here is one a Δ-smaller window would have lost
const PROBATION = 2;
const PROTECTED = 3;
/** Caffeine's ADMIT_HASHDOS_THRESHOLD: a candidate this warm is let in 1 time in 128 at random. */
const HASHDOS_THRESHOLD = 6;

export interface AdaptiveTinyLfuOptions {
  /** Seed of the admission jitter; fixed by default so runs are deterministic. */
  seed?: number;
  /** Initial window as a fraction of the maximum. @default 0.01 */
  initialWindow?: number;
  /** Adapt the window (false: plain W-TinyLFU with a fixed window). @default true */
  adaptive?: boolean;
  /** Step Δ as a fraction of the maximum. @default 0.0625 */
  step?: number;
  /** Misses per adaptation period, as a fraction of the maximum. @default 0.5 */
  period?: number;



}

/**
 * W-TinyLFU (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache Admission Policy")
 * with the window sized from ghost lists instead of Caffeine's hill climber.
 *
 * Regions: new entries enter an LRU *window*; the window's LRU entry, when the window is over its
 * target, moves to the *probation* segment of main as a candidate. When the cache must evict, the
 * candidate is compared with probation's LRU entry (the victim) by TinyLFU frequency estimates
 * (a 4-bit count-min sketch with aging) and the colder one leaves; a warm candidate that loses is
 * still let in 1 time in 128 (Caffeine's defence against hash flooding). A probation hit promotes
 * to *protected* (80% of main).
 *
 * Adaptation, by marginal utility measured from what the policy observes:
 * - the *refused* ghost remembers candidates that lost admission, stamped with the window-spill
 *   count; a miss on one that left at most Δ spills ago would have been a hit with a window Δ
 *   larger;
 * - the *evicted* ghost remembers victims evicted from main, stamped with the main-eviction count;
 *   a miss on one that left at most Δ evictions ago would have been a hit with a main Δ larger.
 * Every period the window moves by Δ toward the side that would have gained more hits. Unlike
 * ARC's per-hit steps (which a loop or scan drags toward LRU) or a hill climber (which must move to
 * learn, and loses hit ratio while it probes), both directions are measured at once. No constant
 * refers to a trace: Δ and the period are fractions of the cache size.
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
  #windowLoss = 0;
  #mainLoss = 0;
  readonly #heads = new Int32Array(5);
  readonly #tails = new Int32Array(5);
  readonly #sizes = new Int32Array(5);
  readonly #sketch: FrequencySketch;
  readonly #refused: GhostList;
  readonly #evicted: GhostList;
  readonly #minWindow: number;
  readonly #initialWindow: number;
  #window: number;
  readonly #adaptive: boolean;
  readonly #step: number;
  readonly #period: number;
  #rng: number;
  readonly #seed: number;
  readonly #candidates: Int32Array;
  #candHead = 0;
  #candCount = 0;
  #spills = 0;
  #mainEvictions = 0;
  #periodMisses = 0;
  #windowGain = 0;
  #mainGain = 0;
  /** Admission outcomes (observability, tests). */
  admitted = 0;
  refused = 0;

  constructor(slots: number, options: AdaptiveTinyLfuOptions = {}) {
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
    this.#step = Math.max(1, Math.round(maximum * (options.step ?? 0.0625)));
    this.#period = Math.max(16, Math.round(maximum * (options.period ?? 0.5)));
    // Ghosts only need to reach depth Δ; a little more keeps `forget` bookkeeping honest.
    this.#refused = new GhostList(2 * this.#step);
    this.#evicted = new GhostList(2 * this.#step);
    this.#minWindow = Math.max(1, Math.round(maximum * 0.01));
    this.#initialWindow = Math.max(this.#minWindow, Math.round(maximum * (options.initialWindow ?? 0.01)));
    this.#window = this.#initialWindow;
    this.#adaptive = options.adaptive ?? true;


    this.#seed = (options.seed ?? 0x2545f491) | 0 || 1;
    this.#rng = this.#seed;
    this.reset();
  }

  /** Current window target in entries (observability, tests). */
  get windowSize(): number {
    return this.#window;
  }

  onAccess(slot: number): void {
    const h = this.#hash[slot];
    this.#sketch.increment(h);
    const q = this.#queue[slot];
    if (q === WINDOW || q === PROTECTED) {
      this.#moveToTail(q, slot);
    } else if (q === WINDOW_LOW) {
      this.#windowLoss++;
      this.#unlink(WINDOW_LOW, slot);
      this.#append(WINDOW, slot);
      this.#balanceWindow();
    } else {
      // Probation is main's eviction frontier: a hit there is within Δ of it with odds Δ/|probation|.
      this.#mainLoss += Math.min(1, this.#step / Math.max(1, this.#sizes[PROBATION]));
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
    if (this.#adaptive) this.#observeMiss(h);
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

  /**
   * The slot to evict now (the store removes it right after, through `onRemove`). Judges the
   * oldest candidate of the last spill against probation's LRU entry.
   */
  victim(): number {
    if (this.#sizes[WINDOW] + this.#sizes[WINDOW_LOW] + this.#sizes[PROBATION] + this.#sizes[PROTECTED] === 0) return -1;
    // Newest spill first, as Caffeine walks candidates from probation's MRU end.
    let candidate = -1;
    while (this.#candCount > 0) {
      const c = this.#candidates[(this.#candHead + this.#candCount - 1) % this.#candidates.length];
      this.#candCount--;
      if (this.#candidate[c] === 1 && this.#queue[c] === PROBATION) {
        candidate = c;
        this.#candidate[c] = 0;
        break;
      }
    }
    let victim = this.#heads[PROBATION];
    if (victim === candidate) victim = this.#next[victim];
    if (victim === this.#nil) victim = this.#heads[PROTECTED];
    if (victim === this.#nil) victim = -1;
    if (candidate >= 0) {
      if (victim >= 0 && this.#admit(this.#hash[candidate], this.#hash[victim])) {
        this.admitted++;
        return this.#evictFromMain(victim);
      }
      this.refused++;
      this.#refused.push(this.#hash[candidate], this.#spills);
      return candidate;
    }
    if (victim >= 0) return this.#evictFromMain(victim);
    return this.#sizes[WINDOW_LOW] > 0 ? this.#heads[WINDOW_LOW] : this.#heads[WINDOW];
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
    this.#window = this.#initialWindow;
    this.#spills = 0;
    this.#mainEvictions = 0;
    this.#periodMisses = 0;
    this.#windowGain = 0;
    this.#mainGain = 0;
    this.#rng = this.#seed;
  }

  #evictFromMain(victim: number): number {
    this.#evicted.push(this.#hash[victim], ++this.#mainEvictions);
    return victim;
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

  /** A miss of `hash`: would a window (or main) Δ larger have kept it? Every period, move the window. */
  #observeMiss(hash: number): void {
    const dw = this.#refused.depthOf(hash, this.#spills);
    if (dw >= 0) {
      if (dw <= this.#step) this.#windowGain++;
      this.#refused.forget(hash);
    } else {
      const dm = this.#evicted.depthOf(hash, this.#mainEvictions);
      if (dm >= 0) {
        if (dm <= this.#step) this.#mainGain++;
        this.#evicted.forget(hash);
      }
    }
    if (++this.#periodMisses < this.#period) return;
    // Net hits from moving Δ entries of capacity into the window, or out of it.
    const grow = this.#windowGain - this.#mainLoss;
    const shrink = this.#mainGain - this.#windowLoss;
    if (grow > 0 && grow >= shrink) this.#window = Math.min(this.#maximum - 1, this.#window + this.#step);
    else if (shrink > 0) this.#window = Math.max(this.#minWindow, this.#window - this.#step);
    this.#periodMisses = 0;
    this.#windowGain = 0;
    this.#mainGain = 0;
    this.#windowLoss = 0;
    this.#mainLoss = 0;
  }

  #spillWindow(): void {
    // Only entries spilled by this insert are candidates (Caffeine: those moved in this
    // maintenance pass). Earlier spills that met no eviction are ordinary probation entries;
    // keeping them queued would judge them in FIFO order, which is LRU.
    while (this.#candCount > 0) {
      this.#candidate[this.#candidates[this.#candHead]] = 0;
      this.#popCandidate();
    }
    this.#balanceWindow();
    while (this.#sizes[WINDOW] + this.#sizes[WINDOW_LOW] > this.#window) {
      const q = this.#sizes[WINDOW_LOW] > 0 ? WINDOW_LOW : WINDOW;
      const s = this.#heads[q];
      this.#unlink(q, s);
      this.#append(PROBATION, s);
      this.#spills++;
      this.#candidate[s] = 1;
      this.#pushCandidate(s);
    }
  }

  /** Keeps the window's lower segment at Δ entries (or the whole window when it is smaller). */
  #balanceWindow(): void {
    const upper = Math.max(0, this.#window - this.#step);
    while (this.#sizes[WINDOW] > upper) {
      const s = this.#heads[WINDOW];
      this.#unlink(WINDOW, s);
      this.#append(WINDOW_LOW, s);
    }
    while (this.#sizes[WINDOW_LOW] > 0 && this.#sizes[WINDOW] < upper) {
      const s = this.#tails[WINDOW_LOW];
      this.#unlink(WINDOW_LOW, s);
      this.#prepend(WINDOW, s);
    }
  }

  #balanceProtected(): void {
    const maxProtected = Math.floor((this.#maximum - this.#window) * 0.8);
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

  #prepend(q: number, slot: number): void {
    const nil = this.#nil;
    const head = this.#heads[q];
    this.#next[slot] = head;
    this.#prev[slot] = nil;
    if (head === nil) this.#tails[q] = slot;
    else this.#prev[head] = slot;
    this.#heads[q] = slot;
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
