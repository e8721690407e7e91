import { globMatcher } from '../util/glob.js';

const META = new Set(['*', '?', '[']);

/** The literal text before the first unescaped glob metacharacter, unescaped; and whether the glob is all literal. */
export function literalPrefix(glob: string): { prefix: string; literal: boolean } {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      // A trailing backslash escapes nothing: Redis matches it as a literal backslash (dropping
      // it let a role limited to `doc:1` delete `doc:1\`).
      out += i + 1 < glob.length ? glob[++i] : '\\';
      continue;
    }
    if (META.has(c)) return { prefix: out, literal: false };
    out += c;
  }
  return { prefix: out, literal: true };
}

/**
 * Which keys a role may touch, from its globs, and a *sound* answer to "may this bulk
 * invalidation pattern touch only such keys?": deciding inclusion between arbitrary globs is
 * possible but intricate, and a mistake here is a privilege escalation, so the check accepts only
 * shapes it can prove safe and refuses the rest (fail closed):
 *
 * - a pattern with no metacharacters names one key: allowed if a role glob matches it;
 * - a role glob `*` allows any pattern;
 * - a role glob of the form `L*` (a literal L, then one trailing `*`) allows any pattern whose
 *   literal prefix (the text before its first unescaped `*`, `?` or `[`) starts with L: every key
 *   such a pattern matches starts with that prefix, hence with L.
 *
 * So `user:*` may run `user:*`, `user:42:*`, `user:4?`, but not `*`, `u*`, `user?*`, `user[:x]*`,
 * `*user:*` or `[u]ser:*` (the last is harmless but not provably so by this rule).
 */
export class AccessPolicy {
  readonly #tests: ((key: string) => boolean)[];
  readonly #prefixes: string[] = [];
  readonly #all: boolean;

  constructor(keyPatterns: readonly string[]) {
    this.#tests = keyPatterns.map((p) => globMatcher(p));
    let all = false;
    for (const p of keyPatterns) {
      if (p === '*') all = true;
      if (p.endsWith('*') && !p.endsWith('\\*')) {
        const body = p.slice(0, -1);
        const lp = literalPrefix(body);
        if (lp.literal) this.#prefixes.push(lp.prefix);
      }
    }
    this.#all = all;
  }

  /** Whether `key` is inside the role's patterns. */
  allowsKey(key: string): boolean {
    for (const t of this.#tests) if (t(key)) return true;
    return false;
  }

  /** Whether every key `pattern` could match is provably inside the role's patterns. */
  allowsPattern(pattern: string): boolean {
    if (this.#all) return true;
    const lp = literalPrefix(pattern);
    if (lp.literal) return this.allowsKey(lp.prefix);
    for (const p of this.#prefixes) if (lp.prefix.startsWith(p)) return true;
    return false;
  }
}
