import { describe, expect, it } from 'vitest';
import { escapeGlob, globMatcher } from '../src/util/glob.js';
import { rawClient, useRedisServer } from './support/redis.js';

const redis = useRedisServer();

const KEYS = ['user:1', 'user:12', 'user:a', 'user:', 'users', 'User:1', 'a*b', 'a?b', 'axb', 'a[b', 'a]b', 'a\\b', 'hallo', 'hello', 'hillo', 'hxllo', 'h-llo', 'h^llo', 'x.y', 'x+y', 'über', 'ñ', 'tab\\t'];
const PATTERNS = ['*', 'user:*', 'user:?', 'user:??', 'h[ae]llo', 'h[^e]llo', 'h[a-i]llo', 'h[-]llo', 'h[\\^]llo', 'a\\*b', 'a\\?b', 'a?b', 'a\\[b', 'a[[]b', 'a\\]b', 'a\\\\b', 'x.y', 'x+y', '*:*', '?', '[u]*', 'user:\\1', '*llo', 'h*o', '[', 'a[b', 'ü*', 'h[]llo', 'h[^]llo', 'a[*', 'h[z-a]llo', 'h[a-]llo', 'x[.]y', '\\', 'a\\', '*\\', 'user:[0-9]*', '**1', '*?*'];

describe('glob matching agrees with Redis SCAN MATCH', () => {
  it('for every pattern and key', async () => {
    const c = await rawClient(redis.url);
    const prefix = 'g[*]?:';
    for (const k of KEYS) await c.set(prefix + k, '1');
    for (const p of PATTERNS) {
      const fromRedis: string[] = [];
      for await (const batch of c.scanIterator({ MATCH: escapeGlob(prefix) + p, COUNT: 1000 })) fromRedis.push(...batch.map((k) => k.slice(prefix.length)));
      const matches = globMatcher(p);
      const fromUs = KEYS.filter((k) => matches(k));
      expect({ p, keys: fromUs.sort() }).toEqual({ p, keys: fromRedis.sort() });
    }
    await c.close();
  });
});
