import type { Packr } from 'msgpackr';
import { SerializationError } from '../../errors.js';
import { tryLoadPeer } from '../../util/optional_peer.js';
import type { Serializer } from './serializer.js';
import { rejectUnsupportedValues } from './unsupported_values.js';

/**
 * MessagePack via msgpackr: smaller and faster than JSON, keeps Date, BigInt and binary.
 * `useRecords: false` keeps the bytes self-describing, so any instance (or another language's
 * msgpack reader) decodes them without shared record definitions.
 */
export class MsgpackSerializer implements Serializer {
  readonly id = 1;
  readonly name = 'msgpack' as const;
  // Created on first use: msgpackr is an optional peer, loaded only by a cache that writes or
  // reads msgpack (the registry holds every serializer so any instance can decode any value).
  #packr: Packr | null = null;

  #codec(key: string): Packr {
    if (this.#packr !== null) return this.#packr;
    const mod = tryLoadPeer<typeof import('msgpackr')>('msgpackr');
    if (mod === undefined) throw new SerializationError("The msgpack serializer needs the optional package 'msgpackr' (npm install msgpackr)", { key });
    this.#packr = new mod.Packr({ useRecords: false, moreTypes: true, largeBigIntToFloat: false });
    return this.#packr;
  }

  serialize(value: unknown, key: string): Buffer {
    rejectUnsupportedValues(value, key);
    if (value === undefined) throw new SerializationError('Cannot store undefined', { key });
    const packr = this.#codec(key);
    try {
      // pack() returns a view into msgpackr's reusable buffer: copy before the next pack() overwrites it.
      return Buffer.from(packr.pack(value));
    } catch (err) {
      throw new SerializationError(`Cannot serialize value as msgpack: ${(err as Error).message}`, { key, cause: err });
    }
  }

  deserialize(bytes: Buffer, offset: number): unknown {
    return this.#codec('').unpack(offset === 0 ? bytes : bytes.subarray(offset));
  }
}
