// Optional peers (pino, prom-client, msgpackr) are absent when resolving their name fails with
// MODULE_NOT_FOUND, whatever the wording: Yarn PnP words it "tiercache tried to access pino (a
// peer dependency) but it isn't provided by your application", and the old check (the message
// must quote the name, as npm's does) threw that error at every createIntegratedCache() under PnP.
import { describe, expect, it } from 'vitest';
import { tryLoadPeer, type PeerRequire } from '../src/util/optional_peer.js';

function fakeRequire(resolveError: Error & { code?: string; pnpCode?: string }): PeerRequire {
  return Object.assign(
    (id: string): unknown => {
      throw new Error(`loaded ${id}`);
    },
    {
      resolve: (): string => {
        throw resolveError;
      },
    },
  );
}

describe('tryLoadPeer', () => {
  it("Yarn PnP's missing-peer error means absent", () => {
    const pnp = Object.assign(
      new Error("tiercache tried to access pino (a peer dependency) but it isn't provided by your application; this makes the require call ambiguous and unsound.\n\nRequired package: pino"),
      { code: 'MODULE_NOT_FOUND', pnpCode: 'MISSING_PEER_DEPENDENCY' },
    );
    expect(tryLoadPeer('pino', fakeRequire(pnp))).toBeUndefined();
  });

  it("npm's wording means absent too", () => {
    const npm = Object.assign(new Error("Cannot find module 'pino'\nRequire stack:\n- /app/x.js"), { code: 'MODULE_NOT_FOUND' });
    expect(tryLoadPeer('pino', fakeRequire(npm))).toBeUndefined();
  });

  it('a peer that resolves but fails to load is a real error', () => {
    const req: PeerRequire = Object.assign(
      (id: string): unknown => {
        throw Object.assign(new Error(`Cannot find module 'sonic-boom' from ${id}`), { code: 'MODULE_NOT_FOUND' });
      },
      { resolve: (id: string) => `/app/node_modules/${id}/index.js` },
    );
    expect(() => tryLoadPeer('pino', req)).toThrow(/sonic-boom/);
  });

  it('another resolution failure is not swallowed', () => {
    const odd = Object.assign(new Error('No "exports" main defined'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    expect(() => tryLoadPeer('pino', fakeRequire(odd))).toThrow(/exports/);
  });

  it('an installed peer loads (pino is a dev dependency here)', () => {
    expect(typeof tryLoadPeer<(o: object) => unknown>('pino')).toBe('function');
  });
});
