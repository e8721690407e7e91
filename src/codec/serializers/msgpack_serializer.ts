import { Packr } from 'msgpackr';
import { SerializationError } from '../../errors.js';
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
  readonly #packr = new Packr({ useRecords: false, moreTypes: true, largeBigIntToFloat: false });

  serialize(value: unknown, key: string): Buffer {
    rejectUnsupportedValues(value, key);
    if (value === undefined) throw new SerializationError('Cannot store undefined', { key });
    try {
      // pack() returns a view into msgpackr's reusable buffer: copy before the next pack() overwrites it.
      return Buffer.from(this.#packr.pack(value));
    } catch (err) {
      throw new SerializationError(`Cannot serialize value as msgpack: ${(err as Error).message}`, { key, cause: err });
    }
  }

  deserialize(bytes: Buffer, offset: number): unknown {
    return this.#packr.unpack(offset === 0 ? bytes : bytes.subarray(offset));
  }
}
