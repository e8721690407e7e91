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

/** What tryLoadPeer needs of `require` (a parameter so tests can stand in for a package manager). */
export interface PeerRequire {
  (id: string): unknown;
  resolve(id: string): string;
}

/**
 * The module, or `undefined` when it is not installed. "Not installed" is decided by resolving
 * the name alone: each package manager words that failure its own way (Yarn PnP: "tiercache tried
 * to access pino (a peer dependency) but it isn't provided by your application"), but all give it
 * the code MODULE_NOT_FOUND. A peer that resolves and then fails to load is a real error.
 */
export function tryLoadPeer<T>(name: string, req: PeerRequire = requireFromHere): T | undefined {
  if (req === requireFromHere && loaded.has(name)) return loaded.get(name) as T | undefined;
  let resolved: string | undefined;
  try {
    resolved = req.resolve(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
  }
  const mod = resolved === undefined ? undefined : (req(resolved) as T);
  if (req === requireFromHere) loaded.set(name, mod);
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
