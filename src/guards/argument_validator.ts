import { InvalidArgumentError, LimitExceededError } from '../errors.js';
import type { KeyValidator } from './key_validator.js';

/** Bounds on the size of one call (config: maxTagsPerKey, maxDependencies, maxBatchSize). */
export interface ArgumentLimits {
  /** Most tags one `set`/`getOrSet` may carry, and most tags one `invalidateTags` may name. */
  maxTags: number;
  /** Most `dependsOn` keys one write may declare. */
  maxDependencies: number;
  /** Most keys or entries in one bulk call (getMany, setMany, warmKeys, check). */
  maxBatch: number;
}

/** What argument validation needs from the cache's configuration. */
export interface ArgumentContext {
  keys: KeyValidator;
  limits: ArgumentLimits;
  /** The permission names `check` accepts. */
  permissions?: ReadonlySet<string>;
}

const REFUSED = Symbol('tiercache.refused');

/** What a refusal of validateArgs was about (the offending key, list or option), for the audit record. */
export function refusedSubject(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { [REFUSED]?: unknown })[REFUSED] : undefined;
}

function refuse(err: unknown, subject: unknown): never {
  if (typeof err === 'object' && err !== null) Object.defineProperty(err, REFUSED, { value: subject, enumerable: false });
  throw err;
}

/** No bounds (components built without a config). */
export const UNBOUNDED: ArgumentLimits = { maxTags: Infinity, maxDependencies: Infinity, maxBatch: Infinity };

type Check = (args: readonly unknown[], ctx: ArgumentContext, op: string) => void;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Options: absent, or a plain object (`null`, a number, an array are refused, not read). */
function options(i: number): Check {
  return (args, _ctx, op) => {
    const o = args[i];
    if (o !== undefined && !isObject(o)) throw new InvalidArgumentError(`${op}: options must be an object, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`);
  };
}

function list(op: string, name: string, v: unknown, limit: number): readonly unknown[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${op}: ${name} must be an array`);
  // Checked before the elements are looked at: a 1e6-element argument costs nothing to refuse.
  if (v.length > limit) throw new LimitExceededError(`${op}: ${v.length} ${name}, above the limit of ${limit}`, v.length, limit);
  return v;
}

function tagList(op: string, v: unknown, ctx: ArgumentContext): void {
  for (const t of list(op, 'tags', v, ctx.limits.maxTags)) ctx.keys.validateTag(t);
}

/** Tags and dependencies of a write (set, getOrSet), before anything is written. */
function writeOptions(i: number): Check {
  const base = options(i);
  return (args, ctx, op) => {
    base(args, ctx, op);
    const o = args[i] as Record<string, unknown> | undefined;
    if (o === undefined) return;
    if (o.tags !== undefined) tagList(op, o.tags, ctx);
    if (o.dependsOn !== undefined) list(op, 'dependsOn', o.dependsOn, ctx.limits.maxDependencies);
  };
}

const key: Check = () => undefined; // keys are validated from the request's key list

const SPECS: Record<string, Check[]> = {
  get: [key, options(1)],
  has: [key, options(1)],
  delete: [key, options(1)],
  getEntry: [key, options(1)],
  set: [key, writeOptions(2)],
  getOrSet: [
    key,
    (args, _ctx, op) => {
      const l = args[1];
      if (typeof l !== 'function' && !(typeof l === 'object' && l !== null && typeof (l as { load?: unknown }).load === 'function')) {
        throw new InvalidArgumentError(`${op}: loader must be a function or a DataLoader`);
      }
    },
    writeOptions(2),
  ],
  getMany: [(args, ctx, op) => void list(op, 'keys', args[0], ctx.limits.maxBatch), options(1)],
  setMany: [
    (args, ctx, op) => {
      for (const e of list(op, 'entries', args[0], ctx.limits.maxBatch)) {
        if (!isObject(e)) throw new InvalidArgumentError(`${op}: each entry must be an object { key, value, ttl? }`);
      }
    },
    options(1),
  ],
  invalidateTags: [(args, ctx, op) => tagList(op, args[0], ctx), options(1)],
  invalidatePattern: [(args, ctx) => ctx.keys.validatePattern(args[0]), options(1)],
  clear: [options(0)],
  check: [
    (args, ctx, op) => {
      const known = ctx.permissions;
      for (const p of list(op, 'permissions', args[0], Infinity)) if (typeof p !== 'string' || (known !== undefined && !known.has(p))) throw new InvalidArgumentError(`${op}: unknown permission`);
    },
    (args, ctx, op) => void list(op, 'keys', args[1], ctx.limits.maxBatch),
    options(2),
  ],
  admin: [options(0)],
};

/**
 * Step 1 of the guard chain (security/secure_operations.ts): the arguments of public call `op`,
 * checked before anything else happens (no rate-limit token, no session lookup, no side effect).
 * Throws only CacheError subclasses: InvalidArgumentError (wrong shape), LimitExceededError
 * (a list above its configured bound), InvalidKeyError (a key). The chain audits the refusal
 * when security is on.
 *
 * `args` is the call's arguments in order; `keys` every key the call names (its key, its
 * dependencies, a bulk call's keys), or a function gathering them, called once the shapes passed
 * (so a list is measured before it is copied); `pattern` its bulk pattern. Returns the keys, validated.
 */
export function validateArgs(op: string, args: readonly unknown[], ctx: ArgumentContext, keys: readonly unknown[] | (() => readonly unknown[]) = [], pattern?: unknown): string[] {
  if (typeof op !== 'string' || !Array.isArray(args)) throw new InvalidArgumentError('validateArgs: op and args are required');
  const spec = SPECS[op];
  if (spec !== undefined) {
    for (let i = 0; i < spec.length; i++) {
      try {
        spec[i](args, ctx, op);
      } catch (err) {
        refuse(err, args[i]);
      }
    }
  }
  const named = typeof keys === 'function' ? keys() : keys;
  for (const k of named) {
    try {
      ctx.keys.validate(k);
    } catch (err) {
      refuse(err, k);
    }
  }
  if (pattern !== undefined) {
    try {
      ctx.keys.validatePattern(pattern);
    } catch (err) {
      refuse(err, pattern);
    }
  }
  return named as string[];
}

/** `first` and the elements of `rest` when it is an array (its shape was checked by validateArgs). */
export function keysWith(first: unknown, rest: unknown): unknown[] {
  return Array.isArray(rest) ? [first, ...(rest as unknown[])] : [first];
}

/** The keys of setMany entries (shapes checked by validateArgs). */
export function entryKeys(entries: unknown): unknown[] {
  return Array.isArray(entries) ? entries.map((e: unknown) => (typeof e === 'object' && e !== null ? (e as { key?: unknown }).key : e)) : [];
}

/**
 * Shape checks for entry points that read their arguments before the door sees them (the
 * pattern manager, the warmer): run first, so a `null` options object or a non-array list is a
 * typed refusal rather than a TypeError from dereferencing it. The door then validates the rest.
 */
export const requireShape = {
  options(op: string, v: unknown): void {
    options(0)([v], { keys: null as unknown as KeyValidator, limits: UNBOUNDED }, op);
  },
  list(op: string, name: string, v: unknown): void {
    list(op, name, v, Infinity);
  },
  loader(op: string, l: unknown): void {
    if (typeof l !== 'function' && !(typeof l === 'object' && l !== null && (typeof (l as { load?: unknown }).load === 'function' || typeof (l as { loadBatch?: unknown }).loadBatch === 'function'))) {
      throw new InvalidArgumentError(`${op}: loader must be a function or a DataLoader`);
    }
  },
};
