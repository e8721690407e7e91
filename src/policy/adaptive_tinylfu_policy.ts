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
/** Moves larger than Δ are judged on this many periods of evidence. */
const JUMP_PERIODS = 4;

/**
 * Hit counts by region, cumulative. The hit path bumps two fields here and nothing else; a stretch
 * of evidence is the difference of two snapshots (`Evidence`).
 */
class HitTotals {
  hits = 0;
  misses = 0;
  windowLow = 0;
  windowUpper = 0;
  probation = 0;
  protected = 0;
}

/** Hits and would-be hits counted over one stretch of requests (see `#bestMove`). */
class Evidence {
  hits = 0;
  misses = 0;
  windowLowHits = 0;
  windowUpperHits = 0;
  probationHits = 0;
  protectedHits = 0;
  readonly #start = new HitTotals();
  /** [j]: ghost hits within depth Δ·2^j (refused ghost: the window's gains; evicted ghost: main's). */
  readonly windowGains: Float64Array;
  readonly mainGains: Float64Array;

  constructor(moves: number) {
    this.windowGains = new Float64Array(moves);
    this.mainGains = new Float64Array(moves);
  }

  /** Fills the hit fields with what `t` counted since the last reset. */
  measure(t: HitTotals): this {
    const s = this.#start;
    this.hits = t.hits - s.hits;
    this.misses = t.misses - s.misses;
    this.windowLowHits = t.windowLow - s.windowLow;
    this.windowUpperHits = t.windowUpper - s.windowUpper;
    this.probationHits = t.probation - s.probation;
    this.protectedHits = t.protected - s.protected;
    return this;
  }

  reset(t: HitTotals): void {
    Object.assign(this.#start, t);
    this.windowGains.fill(0);
    this.mainGains.fill(0);
  }
}

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
  /** A move larger than Δ needs a net gain above this share of the period's requests. @default 0.3 */
  jumpThreshold?: number;
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
 * Adaptation, by estimated net gain, from what the policy observes (no trace-specific constant:
 * Δ, the period and the ghost sizes are fractions of the cache size):
 * - gains: the *refused* ghost remembers candidates that lost admission, stamped with the
 *   window-spill count; a miss on one that left at most d spills ago would have been a hit with a
 *   window d larger. The *evicted* ghost does the same for victims evicted from main (main d larger);
 * - losses: a hit in the window's lowest Δ entries (a separate segment, so this is exact) would
 *   have been lost with a window Δ smaller; main's losses are taken from hits in probation (its
 *   eviction frontier) then protected, in proportion to the part a move would remove.
 * Every period (half the cache size in misses) the moves ±Δ are scored on that period's evidence;
 * every 4 periods the moves ±2Δ, ±4Δ, … up to the whole cache are scored on the 4 periods'
 * evidence and need a net gain above 30% of those requests. So the window walks in Δ steps and
 * jumps only on strong, sustained evidence (a recency workload whose reuse lies beyond Δ, where a
 * ±Δ rule or a hill climber is stuck: test/policy.test.ts).
 * Unlike ARC's per-ghost-hit steps, a loop or a scan cannot drag it toward LRU: every move is
 * weighed against what it would cost.
 *
 * Everything is slot-indexed typed arrays: no per-entry objects, O(1) per operation (ghost lists
 * are typed-array rings with an open-addressing index, touched on misses only).
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
  readonly #jumpThreshold: number;
  readonly #step: number;
  readonly #period: number;
  #rng: number;
  readonly #seed: number;
  readonly #candidates: Int32Array;
  #candHead = 0;
  #candCount = 0;
  #spills = 0;
  #mainEvictions = 0;
  /** This period's evidence, and the evidence of the last JUMP_PERIODS periods (for moves > Δ). */
  readonly #short: Evidence;
  readonly #long: Evidence;
  readonly #totals = new HitTotals();
  #periodMisses = 0;
  #periods = 0;
  readonly #moves: number;
  readonly #ghostShift: number;
  readonly #ghostMask: number;
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
    // Spills waiting for judgement are few (one per insert, Δ·2^j after a window shrink); when more
    // pile up, the oldest become ordinary probation entries.
    this.#candidates = new Int32Array(Math.min(slots, 1024));
    this.#sketch = new FrequencySketch(maximum);
    this.#step = Math.max(1, Math.round(maximum * (options.step ?? 0.0625)));
    this.#period = Math.max(16, Math.round(maximum * (options.period ?? 0.5)));
    // Moves of Δ, 2Δ, 4Δ, … up to the whole cache are evaluated; ghosts reach that far.
    let moves = 1;
    while (this.#step * 2 ** (moves - 1) < maximum) moves++;
    this.#moves = moves;
    this.#short = new Evidence(moves);
    this.#long = new Evidence(moves);
    // Large caches remember a spatial sample of ghost hashes (SHARDS-style: 1 in 2^k, about 8K
    // sampled entries per ghost) and count each ghost hit 2^k times, so ghost memory stays a few
    // hundred KiB whatever the cache size.
    let shift = 0;
    while (shift < 10 && maximum >> (shift + 1) >= 8192) shift++;
    this.#ghostShift = shift;
    this.#ghostMask = (1 << this.#ghostShift) - 1;
    this.#refused = new GhostList(Math.ceil(maximum / (1 << this.#ghostShift)));
    this.#evicted = new GhostList(Math.ceil(maximum / (1 << this.#ghostShift)));
    this.#minWindow = Math.max(1, Math.round(maximum * 0.01));
    this.#initialWindow = Math.max(this.#minWindow, Math.round(maximum * (options.initialWindow ?? 0.01)));
    this.#window = this.#initialWindow;
    this.#adaptive = options.adaptive ?? true;
    this.#jumpThreshold = options.jumpThreshold ?? 0.3;
    this.#seed = (options.seed ?? 0x2545f491) | 0 || 1;
    this.#rng = this.#seed;
    this.reset();
  }

  get size(): number {
    return this.#sizes[WINDOW] + this.#sizes[WINDOW_LOW] + this.#sizes[PROBATION] + this.#sizes[PROTECTED];
  }

  /** Current window target in entries (observability, tests). */
  get windowSize(): number {
    return this.#window;
  }

  onAccess(slot: number): void {
    const h = this.#hash[slot];
    this.#sketch.increment(h);
    const totals = this.#totals;
    totals.hits++;
    const q = this.#queue[slot];
    if (q === PROTECTED) {
      totals.protected++;
      this.#moveToTail(q, slot);
    } else if (q === WINDOW) {
      totals.windowUpper++;
      this.#moveToTail(q, slot);
    } else if (q === WINDOW_LOW) {
      totals.windowLow++;
      if (this.#window <= this.#step) {
        // The whole window is its lower segment: an LRU touch within it.
        this.#moveToTail(WINDOW_LOW, slot);
      } else {
        this.#unlink(WINDOW_LOW, slot);
        this.#append(WINDOW, slot);
        this.#balanceWindow();
      }
    } else {
      totals.probation++;
      this.#candidate[slot] = 0;
      this.#unlink(PROBATION, slot);
      this.#append(PROTECTED, slot);
      this.#balanceProtected();
    }
  }

  onInsert(slot: number, keyHash: number): void {
    const h = keyHash | 0;
    this.#totals.misses++;
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
      const h = this.#hash[candidate];
      if ((mixSample(h) & this.#ghostMask) === 0) this.#refused.push(h, this.#spills, this.#requests());
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
    Object.assign(this.#totals, new HitTotals());
    this.#short.reset(this.#totals);
    this.#long.reset(this.#totals);
    this.#periodMisses = 0;
    this.#periods = 0;
    this.#rng = this.#seed;
  }

  /** Requests seen so far (hits + misses), the clock of the ghosts' request stamps. */
  #requests(): number {
    return this.#totals.hits + this.#totals.misses;
  }

  #evictFromMain(victim: number): number {
    const h = this.#hash[victim];
    ++this.#mainEvictions;
    if ((mixSample(h) & this.#ghostMask) === 0) this.#evicted.push(h, this.#mainEvictions, this.#requests());
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

  /**
   * A miss of `hash`: had the window (or main) been d larger, for which d would it have been kept?
   * Every period, apply the move with the best estimated net gain.
   */
  #observeMiss(hash: number): void {
    if ((mixSample(hash) & this.#ghostMask) === 0) {
      const weight = 1 << this.#ghostShift;
      const rw = this.#refused.find(hash);
      if (rw >= 0) {
        this.#refused.forget(hash);
        this.#countGain(this.#short.windowGains, this.#long.windowGains, this.#refused.eventDepth(rw, this.#spills), this.#refused.requestDepth(rw, this.#requests()), this.#window, this.#maximum - 1, weight);
      } else {
        const rm = this.#evicted.find(hash);
        if (rm >= 0) {
          this.#evicted.forget(hash);
          this.#countGain(this.#short.mainGains, this.#long.mainGains, this.#evicted.eventDepth(rm, this.#mainEvictions), this.#evicted.requestDepth(rm, this.#requests()), this.#maximum - this.#window, this.#maximum - this.#minWindow, weight);
        }
      }
    }
    if (++this.#periodMisses < this.#period) return;
    this.#periodMisses = 0;
    // Δ steps on one period's evidence; larger moves only on JUMP_PERIODS periods of it.
    const totals = this.#totals;
    let move = 0;
    if (++this.#periods % JUMP_PERIODS === 0) {
      move = this.#bestMove(this.#long.measure(totals), 1, this.#moves, this.#jumpThreshold);
      this.#long.reset(totals);
    }
    if (move === 0) move = this.#bestMove(this.#short.measure(totals), 0, 1, 0);
    else this.#long.reset(totals);
    this.#window = Math.min(this.#maximum - 1, Math.max(this.#minWindow, this.#window + move));
    this.#short.reset(totals);
  }

  /**
   * A ghost hit on a region now `size` large. For a Δ step (short evidence, j = 0), first order:
   * the key would have stayed had the region been Δ larger if it left at most Δ events ago. For
   * larger moves (long evidence) that breaks down, since the other region shrinking changes the
   * event rate itself (a loop turns every request into a miss); there the test is the key's reuse
   * distance in requests (an over-count of distinct keys, so it errs toward no gain) against the
   * region's new size (it can grow only up to `limit`).
   */
  #countGain(short: Float64Array, long: Float64Array, eventDepth: number, requestDepth: number, size: number, limit: number, weight: number): void {
    if (eventDepth <= this.#step) {
      short[0] += weight;
      long[0] += weight;
    }
    for (let j = 1, d = this.#step * 2; j < this.#moves; j++, d *= 2) {
      if (requestDepth <= Math.min(size + d, limit)) long[j] += weight;
    }
  }

  /**
   * The window change with the best estimated net gain among moves ±Δ·2^j for j in [from, to),
   * from evidence `e`; 0 when none gains more than `threshold` × the requests `e` covers. Gains come
   * from the ghosts (hits a larger region would have had). Losses are the hits the shrunk region
   * would not have had: for the window, its lower Δ segment is exact and deeper moves take a share
   * of the upper part; for main, probation (its eviction frontier) goes first, then protected,
   * each in proportion.
   */
  #bestMove(e: Evidence, from: number, to: number, threshold: number): number {
    const w = this.#window;
    const minNet = threshold * (e.hits + e.misses);
    const prob = Math.max(1, this.#sizes[PROBATION]);
    const prot = Math.max(1, this.#sizes[PROTECTED]);
    const upper = Math.max(1, w - this.#step);
    let best = minNet;
    let bestMove = 0;
    for (let j = from; j < to; j++) {
      const d = this.#step * 2 ** j;
      const grow = Math.min(d, this.#maximum - 1 - w);
      if (grow > 0) {
        const loss = e.probationHits * Math.min(1, grow / prob) + (grow > prob ? e.protectedHits * Math.min(1, (grow - prob) / prot) : 0);
        const net = e.windowGains[j] - loss;
        if (net > best) {
          best = net;
          bestMove = grow;
        }
      }
      const shrink = Math.min(d, w - this.#minWindow);
      if (shrink > 0) {
        const loss =
          e.windowLowHits * Math.min(1, shrink / this.#step) +
          (shrink > this.#step ? e.windowUpperHits * Math.min(1, (shrink - this.#step) / upper) : 0);
        const net = e.mainGains[j] - loss;
        if (net > best) {
          best = net;
          bestMove = -shrink;
        }
      }
    }
    return bestMove;
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
    if (this.#candCount === n) {
      this.#candidate[this.#candidates[this.#candHead]] = 0;
      this.#popCandidate();
    }
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

  /** The hit path's one list operation, spliced directly: the queue and its size do not change. */
  #moveToTail(q: number, slot: number): void {
    const tails = this.#tails;
    const tail = tails[q];
    if (tail === slot) return;
    const prev = this.#prev;
    const next = this.#next;
    const p = prev[slot];
    const n = next[slot]; // not nil: slot is not the tail
    if (p === this.#nil) this.#heads[q] = n;
    else next[p] = n;
    prev[n] = p;
    prev[slot] = tail;
    next[slot] = this.#nil;
    next[tail] = slot;
    tails[q] = slot;
  }
}

/** Picks the ghost sample from bits the sketch and slot hashing do not lean on. */
function mixSample(h: number): number {
  return Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 29;
}

export const adaptiveTinyLfuPolicy = (slots: number): EvictionPolicy => new AdaptiveTinyLfuPolicy(slots);
