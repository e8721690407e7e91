import { JsonSerializer } from './json_serializer.js';
import { MsgpackSerializer } from './msgpack_serializer.js';
import type { Serializer, SerializerName } from './serializer.js';
import { V8Serializer } from './v8_serializer.js';

export type { Serializer, SerializerName } from './serializer.js';

/** One instance of each serializer, indexed by wire id (decode) and by name (config). */
export function createSerializerRegistry(): { byId: Serializer[]; byName: Record<SerializerName, Serializer> } {
  const json = new JsonSerializer();
  const msgpack = new MsgpackSerializer();
  const v8 = new V8Serializer();
  return { byId: [json, msgpack, v8], byName: { json, msgpack, v8 } };
}
