// The public surface of every class the package exports, found by reflection on the classes
// themselves, against an explicit allow-list (issue 17 item 10): a method made public later
// (an internal hook, an on* callback, a check or a setter for the cache's own components) fails
// here until it is either moved behind its module's internals accessor (l1Internals,
// monitorInternals, writeBehindInternals, BreakerCore, AccessControl, deriveCipherKey) or
// deliberately added to the list below, with the API docs.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import * as keyv from '../src/adapters/keyv_store.js';
import * as api from '../src/index.js';

/** Built-in bases: what they define is not this package's surface. */
const BASES = new Set<object>([Object.prototype, Error.prototype, EventEmitter.prototype, Function.prototype]);

const label = (k: string | symbol): string => (typeof k === 'symbol' ? `[${k.description ?? ''}]` : k);

/** Prototype members (methods and accessors) up to a built-in base, then own static members as `static x`. */
function surfaceOf(cls: { prototype: object }): string[] {
  const names = new Set<string>();
  for (let p: object | null = cls.prototype; p !== null && !BASES.has(p); p = Object.getPrototypeOf(p) as object | null) {
    for (const k of Reflect.ownKeys(p)) if (k !== 'constructor') names.add(label(k));
  }
  for (const k of Reflect.ownKeys(cls)) if (k !== 'length' && k !== 'name' && k !== 'prototype') names.add(`static ${label(k)}`);
  return [...names].sort();
}

const isClass = (v: unknown): v is { prototype: object } => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));

/**
 * Every exported class and its public methods and accessors. Reasons for names that look like
 * hooks: the policies' on* methods are the EvictionPolicy contract a custom policy implements;
 * AdaptiveTtl's onRead/onWrite are how a standalone user feeds it; the clocks' coarseNow/liveNow
 * are the Clock contract; EnvelopeCodec is the wire format's own API (peekExpiry reads a header).
 */
const ALLOWED: Record<string, string[]> = {
  AccessPolicy: ['allowsKey', 'allowsPattern'],
  AdaptiveTinyLfuPolicy: ['size', 'windowSize', 'onAccess', 'onInsert', 'onUpdate', 'onRemove', 'victim', 'reset'],
  AdaptiveTtl: ['onRead', 'onWrite', 'ttlFor'],
  AesGcmCipher: ['currentKeyId', 'seal', 'open', 'static keyIdOf'],
  AuditLog: ['record', 'flush', 'close'],
  CacheWarmer: ['warmKeys'],
  CircuitBreaker: ['name', 'state', 'opens', 'rejected', 'run', 'snapshot'],
  ConsistencySession: ['observe', 'lastSeen', 'token', 'static fromToken'],
  EnvelopeCodec: ['serializerName', 'serializedSize', 'encode', 'peekExpiry', 'decode'],
  FrequencySketch: ['frequency', 'increment', 'clear'],
  IntegratedCacheManager: [
    'on', 'once', 'off', 'hasL2', 'initialize', 'get', 'getSync', 'set', 'delete', 'has', 'getMany', 'setMany', 'getOrSet',
    'invalidatePattern', 'invalidateTags', 'clear', 'benchmark', 'getStats', 'getStatsSync', 'healthCheck', 'metrics', 'metricsHandler',
    'getMemoryMonitor', 'resizeL1', 'securityManager', 'createSession', 'patternManager', 'warmer', 'close',
  ],
  InvalidationManager: ['invalidateTags', 'invalidatePattern', 'addEventHandler', 'emit'],
  LruPolicy: ['size', 'onAccess', 'onInsert', 'onUpdate', 'onRemove', 'victim', 'reset'],
  ManualClock: ['now', 'coarseNow', 'liveNow', 'advance'],
  MemoryMonitor: ['setThresholdMb', 'getCurrentMetrics'],
  MemoryTier: ['size', 'bytes', 'policyName', 'get', 'peek', 'expiresAt', 'set', 'delete', 'deleteWhere', 'clear', 'keys', 'stats'],
  PatternManager: ['configurePrefix', 'configFor', 'ttlFor', 'getOrSet', 'getMany', 'setWithPattern', 'setManyWithPattern', 'writeBehindQueue', 'inspectWriteBehindQueue', 'close'],
  PrometheusMetrics: ['metrics'],
  RateLimiter: ['take'],
  SecurityManager: ['addCustomRole', 'removeRole', 'getRole', 'createSession', 'revokeSession', 'denied'],
  SystemClock: ['now', 'liveNow', 'coarseNow'],
  WriteBehindQueue: ['deadLetters', 'replayDeadLetters', 'backlog'],
};

/** The error classes (errors.ts): a stable `code`, nothing else of their own. */
const ERROR_SURFACE = ['static code'];

describe('public surface (issue 17 item 10)', () => {
  const classes = (Object.entries(api) as [string, unknown][]).filter((e): e is [string, { prototype: object }] => isClass(e[1]));

  it('every exported class is listed, and its public methods and accessors are exactly the allowed ones', () => {
    expect(classes.length).toBeGreaterThan(40);
    const found: Record<string, string[]> = {};
    const expected: Record<string, string[]> = {};
    for (const [name, cls] of classes) {
      found[name] = surfaceOf(cls);
      const errorClass = cls.prototype instanceof Error;
      expect(errorClass || name in ALLOWED, `${name} is exported but has no allow-list entry`).toBe(true);
      expected[name] = [...(errorClass ? ERROR_SURFACE : (ALLOWED[name] ?? []))].sort();
    }
    expect(found).toEqual(expected);
    // No stale entries: each listed class is still exported.
    expect(Object.keys(ALLOWED).filter((n) => !classes.some(([c]) => c === n))).toEqual([]);
  });

  it("the 'tiercache/keyv' entry: KeyvTiercache is Keyv's store contract and nothing else", () => {
    const classes = (Object.entries(keyv) as [string, unknown][]).filter((e): e is [string, { prototype: object }] => isClass(e[1]));
    expect(Object.fromEntries(classes.map(([n, c]) => [n, surfaceOf(c)]))).toEqual({
      KeyvTiercache: ['cache', 'clear', 'delete', 'deleteMany', 'disconnect', 'get', 'getMany', 'has', 'hasMany', 'set', 'setMany'],
    });
  });

  it('the internal hooks and implementations are not reachable from the package entry', () => {
    for (const name of ['BreakerCore', 'AccessControl', 'SecurityAdmin', 'l1Internals', 'monitorInternals', 'writeBehindInternals', 'deriveCipherKey', 'internalsOf', 'registerInternals']) {
      expect(name in api, name).toBe(false);
    }
  });

  it('the hooks moved off the classes are gone from their instances too', () => {
    const breaker = new api.CircuitBreaker({ name: 'x' });
    for (const m of ['allow', 'now', 'onSuccess', 'onFailure', 'onTimeout', 'probeSucceeded', 'probeFailed']) expect(m in breaker, m).toBe(false);
    const tier = new api.MemoryTier({ maxEntries: 4 });
    for (const m of ['setServableUntil', 'setFillTtlCap', 'servable', 'peekUngated', 'peekStale', 'entryLimit', 'setEntryLimit', 'setAccessSampler', 'setFillObserver', 'resized', 'policySize']) expect(m in tier, m).toBe(false);
    const monitor = new api.MemoryMonitor();
    for (const m of ['register', 'check', 'stop']) expect(m in monitor, m).toBe(false);
    const proto = api.SecurityManager.prototype;
    for (const m of ['authorize', 'refuseInvalid', 'auditRateLimited', 'denyInside', 'audit', 'sessions']) expect(m in proto, m).toBe(false);
    for (const m of ['enqueue', 'pendingValue', 'start', 'stop', 'drainAndStop']) expect(m in api.WriteBehindQueue.prototype, m).toBe(false);
    expect('deriveKey' in api.AesGcmCipher.prototype).toBe(false);
  });

  it('objects a cache hands out carry no function-valued own properties (a public method in disguise)', async () => {
    const cache = api.createIntegratedCache({ logLevel: 'silent', enableMemoryMonitoring: false });
    await cache.initialize();
    try {
      const objects: Record<string, object> = {
        manager: cache,
        patternManager: cache.patternManager,
        invalidationManager: cache.patternManager.invalidationManager,
        warmer: cache.warmer,
        memoryMonitor: cache.getMemoryMonitor(),
        breaker: new api.CircuitBreaker({ name: 'x' }),
        tier: new api.MemoryTier({ maxEntries: 4 }),
      };
      for (const [name, o] of Object.entries(objects)) {
        const fns = Object.keys(o).filter((k) => typeof (o as Record<string, unknown>)[k] === 'function');
        expect(fns, name).toEqual([]);
      }
    } finally {
      await cache.close();
    }
  });
});
