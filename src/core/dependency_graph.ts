import type { RedisBackend } from '../tiers/redis/redis_backend.js';
import { withDeadline } from '../tiers/redis/deadline.js';

export interface DependencyGraphOptions {
  /** `${namespace}:` */
  namespacePrefix: string;
  backend: RedisBackend | null;
  commandTimeoutMs: number;
  /** Deletes keys (un-prefixed) from every tier; resolves to how many existed. */
  deleteKeys: (keys: string[]) => Promise<number>;
}

// SADD, then make the set live at least as long as its newest member (never shorten it).
// KEYS[1] = the set; ARGV[1] = member, ARGV[2] = member TTL in ms.
const ADD_MEMBER = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
local cur = redis.call('PTTL', KEYS[1])
if cur == -1 or cur < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

// Takes a set: its members, and the set removed, in one step (KEYS[1] = the set). Returns
// {pttl, member...}. A member added after this is in a new set, which a later invalidation reads.
const TAKE = `
local m = redis.call('SMEMBERS', KEYS[1])
if #m == 0 then return {-2} end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('UNLINK', KEYS[1])
table.insert(m, 1, ttl)
return m`;

// Puts taken members back after their removal failed (so a retry finds them): SADD, and a TTL no
// shorter than the one taken (ARGV[1] <= 0: none). KEYS[1] = the set; ARGV[2..] = members.
const RESTORE = `
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
local ttl = tonumber(ARGV[1])
local cur = redis.call('PTTL', KEYS[1])
if ttl > 0 and cur ~= -1 and cur < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

/** Most keys one cascade may remove (a guard against a runaway dependency graph). */
const MAX_CASCADE = 100_000;

/**
 * The tag and dependency graph below the guards (events and the public invalidation calls are in
 * patterns/invalidation_manager.ts, over the guarded operations). Only tier operations hold it:
 *
 * - **tags**: `set(k, v, { tags })` adds k to a set per tag; `invalidateTags` removes every member.
 * - **dependencies**: `set(k, v, { dependsOn: ['B'] })` records k as a dependent of B; removing B
 *   (delete, a tag, another cascade) removes k, transitively, cycles included.
 *
 * With Redis, tag and dependency sets live there (`<ns>:tag:<tag>`, `<ns>:dep:<key>`), so every
 * instance sees the same graph, and the removals reach other instances' L1 through coherence.
 * Each set is one key (one slot); its members may live anywhere, and are deleted slot-grouped.
 * Without Redis the same sets live in memory.
 */
export class DependencyGraph {
  readonly #o: DependencyGraphOptions;
  readonly #local = new Map<string, Set<string>>();
  /** Keys removed by cascades and tags so far. */
  cascaded = 0;

  constructor(options: DependencyGraphOptions) {
    this.#o = options;
  }

  #tagKey(tag: string): string {
    return `${this.#o.namespacePrefix}tag:${tag}`;
  }

  #depKey(key: string): string {
    return `${this.#o.namespacePrefix}dep:${key}`;
  }

  /** The set of keys that have dependents: bulk invalidations ask it which removed keys need a cascade. */
  get #rootsKey(): string {
    return `${this.#o.namespacePrefix}dep-roots`;
  }

  /** Records `key`'s tags and what it depends on, for `ttlMs` (sets live as long as their newest member). */
  async record(key: string, tags: readonly string[], dependsOn: readonly string[], ttlMs: number): Promise<void> {
    const sets = [...tags.map((t) => this.#tagKey(t)), ...dependsOn.map((d) => this.#depKey(d))];
    const backend = this.#o.backend;
    if (backend === null) {
      for (const s of sets) {
        let m = this.#local.get(s);
        if (m === undefined) this.#local.set(s, (m = new Set()));
        m.add(key);
      }
      return;
    }
    await Promise.all(sets.map((s) => withDeadline(backend.eval(ADD_MEMBER, [s], [key, String(Math.ceil(ttlMs))]), this.#o.commandTimeoutMs, 'tag')));
    // After the dependency sets: a cascade removes the root first and takes the set after, so
    // either it takes this record, or the root is there for the next bulk invalidation.
    if (dependsOn.length > 0) await withDeadline(backend.send(this.#rootsKey, ['SADD', this.#rootsKey, ...dependsOn]), this.#o.commandTimeoutMs, 'tag');
  }

  /**
   * After a bulk removal (invalidatePattern), cascades from the removed keys that have
   * dependents: one SMISMEMBER per page of removed keys, then a cascade from those.
   */
  async cascadeFromRoots(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const backend = this.#o.backend;
    let roots: string[];
    if (backend === null) {
      roots = keys.filter((k) => this.#local.has(this.#depKey(k)));
    } else {
      const flags = (await withDeadline(backend.send(this.#rootsKey, ['SMISMEMBER', this.#rootsKey, ...keys]), this.#o.commandTimeoutMs, 'tag')) as number[];
      roots = keys.filter((_, i) => Number(flags[i]) === 1);
    }
    return roots.length === 0 ? 0 : this.cascade(roots);
  }

  async #members(set: string): Promise<string[]> {
    const backend = this.#o.backend;
    if (backend === null) return [...(this.#local.get(set) ?? [])];
    const r = await withDeadline(backend.send(set, ['SMEMBERS', set]), this.#o.commandTimeoutMs, 'tag');
    return Array.isArray(r) ? r.map(String) : r instanceof Set ? [...r].map(String) : [];
  }

  /**
   * Each set's members, the set removed in the same step. Reading the members and dropping the
   * set in two steps lost every member recorded in between (a write of a member key landing
   * after the removal of its value, its record before the drop): a later invalidation then
   * missed it. A member recorded after the take goes into a new set.
   */
  async #take(sets: readonly string[]): Promise<{ set: string; ttl: number; members: string[] }[]> {
    const backend = this.#o.backend;
    if (backend === null) {
      return sets.map((set) => {
        const m = [...(this.#local.get(set) ?? [])];
        this.#local.delete(set);
        return { set, ttl: -1, members: m };
      });
    }
    const replies = await Promise.all(sets.map((s) => withDeadline(backend.eval(TAKE, [s], []), this.#o.commandTimeoutMs, 'tag')));
    return replies.map((r, i) => {
      const a = Array.isArray(r) ? r : [];
      return { set: sets[i], ttl: Number(a[0] ?? -2), members: a.slice(1).map(String) };
    });
  }

  /** Puts taken members back (their removal failed), best effort: the caller's error is what matters. */
  async #restore(taken: readonly { set: string; ttl: number; members: string[] }[]): Promise<void> {
    const backend = this.#o.backend;
    await Promise.all(
      taken.map(async ({ set, ttl, members }) => {
        if (members.length === 0) return;
        if (backend === null) {
          let m = this.#local.get(set);
          if (m === undefined) this.#local.set(set, (m = new Set()));
          for (const k of members) m.add(k);
          return;
        }
        await withDeadline(backend.eval(RESTORE, [set], [String(ttl), ...members]), this.#o.commandTimeoutMs, 'tag').catch(() => undefined);
      }),
    );
  }

  /** Deletes the taken members; on a failure puts them back in their sets, then throws. */
  async #deleteTaken(taken: { set: string; ttl: number; members: string[] }[], keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    try {
      return await this.#o.deleteKeys(keys);
    } catch (err) {
      await this.#restore(taken);
      throw err;
    }
  }

  /** Removes every key carrying any of `tags`, and their dependents; resolves to how many keys were removed. */
  async invalidateTags(tags: readonly string[]): Promise<number> {
    const taken = await this.#take(tags.map((t) => this.#tagKey(t)));
    const members = new Set<string>();
    for (const t of taken) for (const m of t.members) members.add(m);
    const removed = await this.#deleteTaken(taken, [...members]);
    this.cascaded += removed;
    return removed + (await this.cascade([...members]));
  }

  /**
   * Removes everything that depends on `roots` (they themselves are already gone), breadth-first,
   * each key once. Resolves to how many dependents were removed.
   */
  async cascade(roots: readonly string[]): Promise<number> {
    const seen = new Set<string>(roots);
    let frontier = [...roots];
    let removed = 0;
    while (frontier.length > 0 && seen.size < MAX_CASCADE) {
      const next: string[] = [];
      const backend = this.#o.backend;
      // The roots first, then the sets (record() adds in the other order): a dependent recorded
      // meanwhile is either taken here or leaves its root for the next bulk invalidation.
      // One server: both go out on one connection, in this order, in one round trip.
      let unrooted: Promise<unknown> | null = null;
      if (backend !== null) {
        unrooted = withDeadline(backend.send(this.#rootsKey, ['SREM', this.#rootsKey, ...frontier]), this.#o.commandTimeoutMs, 'tag');
        unrooted.catch(() => undefined); // awaited below
        if (backend.topology !== 'standalone') await unrooted;
      }
      const taken = await this.#take(frontier.map((k) => this.#depKey(k)));
      if (unrooted !== null) await unrooted;
      for (const t of taken) {
        for (const k of t.members) {
          if (!seen.has(k)) {
            seen.add(k);
            next.push(k);
          }
        }
      }
      try {
        removed += await this.#deleteTaken(taken, next);
      } catch (err) {
        if (backend !== null) {
          const back = frontier.filter((_, i) => taken[i].members.length > 0);
          if (back.length > 0) await withDeadline(backend.send(this.#rootsKey, ['SADD', this.#rootsKey, ...back]), this.#o.commandTimeoutMs, 'tag').catch(() => undefined);
        }
        throw err;
      }
      frontier = next;
    }
    this.cascaded += removed;
    return removed;
  }

  /**
   * Every key a cascade from `roots` would remove (roots excluded), without removing anything:
   * what access control checks before a delete, a tag or a pattern invalidation may proceed.
   */
  async collectCascade(roots: readonly string[]): Promise<string[]> {
    const seen = new Set<string>(roots);
    const out: string[] = [];
    let frontier = [...roots];
    while (frontier.length > 0 && seen.size < MAX_CASCADE) {
      const lists = await Promise.all(frontier.map((k) => this.#members(this.#depKey(k))));
      const next: string[] = [];
      for (const list of lists) {
        for (const k of list) {
          if (!seen.has(k)) {
            seen.add(k);
            next.push(k);
            out.push(k);
          }
        }
      }
      frontier = next;
    }
    return out;
  }

  /** Members of the given tags (what `invalidateTags` would remove before cascading). */
  async tagMembers(tags: readonly string[]): Promise<string[]> {
    const members = new Set<string>();
    for (const t of tags) for (const m of await this.#members(this.#tagKey(t))) members.add(m);
    return [...members];
  }
}
