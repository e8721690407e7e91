import { SerializationError } from '../../errors.js';

/**
 * JSON drops functions and symbols inside objects, and msgpackr encodes them as `undefined`: both
 * would hand back a different value than was stored. This walk refuses them up front. Cycles are
 * left to the serializer, which throws on them (caught and typed by the caller).
 */
export function rejectUnsupportedValues(value: unknown, key: string, depth = 0): void {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') {
    throw new SerializationError(`Cannot serialize a ${t}`, { key });
  }
  if (t !== 'object' || value === null || depth > 256) return;
  if (ArrayBuffer.isView(value) || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) rejectUnsupportedValues(value[i], key, depth + 1);
    return;
  }
  for (const k in value as Record<string, unknown>) {
    rejectUnsupportedValues((value as Record<string, unknown>)[k], key, depth + 1);
  }
}
