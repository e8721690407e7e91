import { createRequire } from 'node:module';
import { InvalidOptionsError } from '../errors.js';

/**
 * Loads an optional peer dependency (pino, prom-client, msgpackr) the first time a feature needs
 * it. Synchronous through `require`, because the features that need them (a default logger in the
 * constructor, a serializer in the codec) are set up synchronously; each of these packages ships a
 * CommonJS entry. Resolved from this file, so it finds the peer wherever the user's package
 * manager put it beside tiercache.
 */
const requireFromHere = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

/** The module, or `undefined` when it is not installed. */
export function tryLoadPeer<T>(name: string): T | undefined {
  if (loaded.has(name)) return loaded.get(name) as T | undefined;
  let mod: T | undefined;
  try {
    mod = requireFromHere(name) as T;
  } catch (err) {
    // Only "not installed" means absent; a peer that is there but fails to load is a real error.
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'MODULE_NOT_FOUND' || !e.message.includes(`'${name}'`)) throw err;
    mod = undefined;
  }
  loaded.set(name, mod);
  return mod;
}

/**
 * The module, or an `InvalidOptionsError` naming the option that asked for the feature and the
 * package to install.
 */
export function loadPeer<T>(name: string, option: string): T {
  const mod = tryLoadPeer<T>(name);
  if (mod === undefined) throw new InvalidOptionsError(option, `needs the optional package '${name}' (npm install ${name})`);
  return mod;
}
