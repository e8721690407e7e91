/**
 * A serializer turns a JS value into bytes and back. Its `id` is written in every L2 envelope
 * header, so a reader always decodes with the serializer the writer used, whatever its own config.
 * Ids are part of the wire format: never renumber them.
 */
export interface Serializer {
  readonly id: number;
  readonly name: SerializerName;
  /**
   * Throws a `SerializationError` for values this format cannot represent faithfully. Text formats
   * return a string so the codec writes it straight into the envelope (one allocation, no copy).
   */
  serialize(value: unknown, key: string): Buffer | string;
  /** Decodes `bytes` from `offset` to the end. */
  deserialize(bytes: Buffer, offset: number): unknown;
}

export type SerializerName = 'json' | 'msgpack' | 'v8';
