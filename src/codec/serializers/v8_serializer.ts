import v8 from 'node:v8';
import { SerializationError } from '../../errors.js';
import type { Serializer } from './serializer.js';

/**
 * V8 structured clone: Map, Set, Date, BigInt, RegExp, typed arrays, cycles and shared references
 * round-trip exactly. The JS counterpart of the seed's pickle; readable only by Node processes.
 * Functions and symbols throw (DataCloneError), which becomes a `SerializationError`.
 */
export class V8Serializer implements Serializer {
  readonly id = 2;
  readonly name = 'v8' as const;

  serialize(value: unknown, key: string): Buffer {
    if (value === undefined) throw new SerializationError('Cannot store undefined', { key });
    try {
      return v8.serialize(value);
    } catch (err) {
      throw new SerializationError(`Cannot serialize value with v8: ${(err as Error).message}`, { key, cause: err });
    }
  }

  deserialize(bytes: Buffer, offset: number): unknown {
    return v8.deserialize(offset === 0 ? bytes : bytes.subarray(offset));
  }
}
