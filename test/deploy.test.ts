import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { configFromEnv, ENV_VARIABLES } from '../src/config/env_config.js';
import { resolveConfig } from '../src/config/integrated_cache_config.js';

const DEPLOY = join(import.meta.dirname, '..', 'deploy');

function load(file: string): unknown[] {
  // merge: compose files use YAML 1.1 merge keys (<<: *anchor), which docker compose honours.
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  for (const d of docs) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
}

/** Every CACHE_* name=value pair anywhere in a parsed document (compose lists and k8s env entries). */
function cacheEnv(doc: unknown, out: Record<string, string> = {}): Record<string, string> {
  if (Array.isArray(doc)) {
    for (const item of doc) {
      if (typeof item === 'string' && item.startsWith('CACHE_')) {
        const i = item.indexOf('=');
        out[item.slice(0, i)] = item.slice(i + 1);
      } else cacheEnv(item, out);
    }
  } else if (doc !== null && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    if (typeof o.name === 'string' && o.name.startsWith('CACHE_') && 'value' in o) out[o.name] = String(o.value);
    for (const v of Object.values(o)) cacheEnv(v, out);
  }
  return out;
}

describe('deployment files', () => {
  it('docker-compose.yml: valid YAML, a 6-node cluster, and the app’s CACHE_* variables are ones tiercache reads', () => {
    const [compose] = load(join(DEPLOY, 'docker-compose.yml')) as [{ services: Record<string, { command?: string[] }> }];
    const nodes = Object.keys(compose.services).filter((s) => /^redis-\d$/.test(s));
    expect(nodes).toHaveLength(6);
    for (const n of nodes) expect(compose.services[n].command).toContain('--cluster-enabled');
    const env = cacheEnv(compose.services.app);
    expect(Object.keys(env).length).toBeGreaterThan(3);
    for (const name of Object.keys(env)) expect(ENV_VARIABLES, name).toHaveProperty(name);
    const config = resolveConfig(configFromEnv(env));
    expect(config.redisClusterNodes).toEqual(['redis-1:6379', 'redis-2:6379', 'redis-3:6379']);
  });

  it('k8s/: valid YAML; StatefulSet of 6 with its config; the app’s env parses into a valid config', () => {
    const dir = join(DEPLOY, 'k8s');
    const docs = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => load(join(dir, f))) as { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> }[];
    const byKind = (k: string) => docs.filter((d) => d.kind === k);
    const sts = byKind('StatefulSet')[0];
    expect(sts.spec?.replicas).toBe(6);
    const config = byKind('ConfigMap').find((c) => c.metadata.name === 'redis-cluster-config');
    expect(config?.data?.['redis.conf']).toMatch(/cluster-enabled yes/);
    expect(JSON.stringify(sts)).toContain('redis-cluster-config');
    expect(byKind('Service')[0].spec?.clusterIP).toBe('None');
    expect(byKind('Job')).toHaveLength(1);
    const app = byKind('Deployment')[0];
    const env = cacheEnv(app);
    for (const name of Object.keys(env)) expect(ENV_VARIABLES, name).toHaveProperty(name);
    const resolved = resolveConfig(configFromEnv(env));
    expect(resolved.redisClusterNodes).toHaveLength(3);
    expect(resolved.enableCoherence).toBe(true);
  });
});
