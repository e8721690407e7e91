// serializer: 'msgpack' without msgpackr installed is a configuration error, reported by
// createIntegratedCache naming the option, not a SerializationError at the first set.
import { describe, expect, it, vi } from 'vitest';

vi.mock('../src/util/optional_peer.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/util/optional_peer.js')>();
  const { InvalidOptionsError } = await import('../src/errors.js');
  const absent = (name: string): boolean => name === 'msgpackr';
  return {
    ...real,
    tryLoadPeer: (name: string) => (absent(name) ? undefined : real.tryLoadPeer(name)),
    loadPeer: (name: string, option: string) => {
      if (!absent(name)) return real.loadPeer(name, option);
      throw new InvalidOptionsError(option, `needs the optional package '${name}' (npm install ${name})`);
    },
  };
});

describe('msgpack serializer without msgpackr', () => {
  it('createIntegratedCache throws InvalidOptionsError naming serializer', async () => {
    const { createIntegratedCache } = await import('../src/index.js');
    let caught: unknown;
    try {
      createIntegratedCache({ serializer: 'msgpack', enableMonitoring: false, logLevel: 'silent' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'E_INVALID_OPTIONS' });
    expect(String((caught as Error).message)).toMatch(/serializer.*msgpackr/s);
  });
});
