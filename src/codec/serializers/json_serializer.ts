import { SerializationError } from '../../errors.js';
import type { Serializer } from './serializer.js';
import { rejectUnsupportedValues } from './unsupported_values.js';

/** JSON: readable in redis-cli, interoperable. `undefined` at the top level is refused, BigInt and cycles throw. */
export class JsonSerializer implements Serializer {
  readonly id = 0;
  readonly name = 'json' as const;

  serialize(value: unknown, key: string): string {
    rejectUnsupportedValues(value, key);
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      throw new SerializationError(`Cannot serialize value as JSON: ${(err as Error).message}`, { key, cause: err });
    }
    if (text === undefined) throw new SerializationError('Value has no JSON representation', { key });
    return text;
  }

  deserialize(bytes: Buffer, offset: number): unknown {
    return JSON.parse(bytes.toString('utf8', offset));
  }
}
