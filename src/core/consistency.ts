import { InvalidArgumentError } from '../errors.js';

/**
 * What a read may return relative to writes (docs/consistency.md has the precise definitions):
 *
 * - STRONG: linearizable for one key through tiercache: reads go to the Redis master (never L1),
 *   writes return once the master applied them, and an L2 failure is an error, not a degraded answer.
 * - EVENTUAL (default): L1 serves, kept coherent by server-assisted invalidation; while that cannot be
 *   confirmed, nothing older than `coherenceStalenessMs` is served.
 * - WEAK: L1 serves until the entry's TTL; no cross-instance invalidation (per cache), or no
 *   staleness bound (per call).
 * - SESSION: read-your-writes and monotonic reads for one session (a token that travels with the
 *   user's requests between instances); otherwise EVENTUAL.
 */
export const ConsistencyLevel = {
  STRONG: 'strong',
  EVENTUAL: 'eventual',
  WEAK: 'weak',
  SESSION: 'session',
} as const;
export type ConsistencyLevel = (typeof ConsistencyLevel)[keyof typeof ConsistencyLevel];

/** Keys a session remembers (least recently observed dropped first). */
const MAX_KEYS = 1000;

/**
 * A consistency session: when it last wrote or read each key (ms since epoch, the observing
 * instance's clock). An instance may answer a session from L1 only if its coherence was confirmed
 * after that moment (every invalidation for writes before it has been applied); otherwise it
 * reads the Redis master, which has the session's write or a newer one. Pass `token` along with
 * the user's requests and `ConsistencySession.fromToken` on the next instance.
 */
export class ConsistencySession {
  readonly #seen = new Map<string, number>();

  /** Records that the session wrote or read `key` at `at`. */
  observe(key: string, at = Date.now()): void {
    const prev = this.#seen.get(key);
    this.#seen.delete(key);
    this.#seen.set(key, prev === undefined ? at : Math.max(prev, at));
    if (this.#seen.size > MAX_KEYS) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  /** When the session last observed `key`, or undefined. */
  lastSeen(key: string): number | undefined {
    return this.#seen.get(key);
  }

  /** A compact string form (base64url JSON) to carry between instances. */
  get token(): string {
    return Buffer.from(JSON.stringify([...this.#seen])).toString('base64url');
  }

  static fromToken(token: string): ConsistencySession {
    const s = new ConsistencySession();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidArgumentError('not a consistency session token');
    }
    if (!Array.isArray(parsed)) throw new InvalidArgumentError('not a consistency session token');
    for (const e of parsed) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) {
        throw new InvalidArgumentError('not a consistency session token');
      }
      s.observe(e[0], e[1]);
    }
    return s;
  }
}
