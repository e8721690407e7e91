import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CorruptValueError, SerializationError, ValueTooLargeError } from '../errors.js';
import {
  FLAG_COMPRESSED,
  FLAG_ENCRYPTED,
  FLAG_SERIALIZER_MASK,
  HEADER_BYTES,
  KNOWN_FLAGS,
  MAGIC,
  WIRE_VERSION,
} from './envelope_header.js';
import { createSerializerRegistry, type Serializer, type SerializerName } from './serializers/index.js';
import type { ValueCipher } from './value_cipher.js';

export interface EnvelopeCodecOptions {
  serializer: SerializerName;
  /** Compress bodies larger than this many bytes; `false` disables compression. */
  compressAbove: number | false;
  /** Largest encoded value accepted on write and on read (also caps decompression output). */
  maxValueBytes: number;
  cipher?: ValueCipher;
}

export interface DecodedEnvelope {
  value: unknown;
  expiresAt: number;
}

/**
 * value ⇄ bytes for L2: serialize → compress → encrypt → prepend header, and the reverse.
 * Decoding trusts nothing it reads: any inconsistency is a `CorruptValueError`, which the read path
 * turns into a counted miss.
 */
export class EnvelopeCodec {
  readonly #serializer: Serializer;
  readonly #byId: Serializer[];
  readonly #compressAbove: number | false;
  readonly #maxValueBytes: number;
  readonly #cipher: ValueCipher | undefined;

  constructor(options: EnvelopeCodecOptions) {
    const registry = createSerializerRegistry();
    this.#serializer = registry.byName[options.serializer];
    this.#byId = registry.byId;
    this.#compressAbove = options.compressAbove;
    this.#maxValueBytes = options.maxValueBytes;
    this.#cipher = options.cipher;
  }

  get serializerName(): SerializerName {
    return this.#serializer.name;
  }

  /** Serialized body only (no header, no compression): what L1-only mode needs to size and vet a value. */
  serialize(value: unknown, key: string): Buffer {
    if (value === undefined) throw new SerializationError('Cannot store undefined; delete the key instead', { key });
    const body = this.#serializer.serialize(value, key);
    if (body.length > this.#maxValueBytes) throw new ValueTooLargeError(key, body.length, this.#maxValueBytes);
    return body;
  }

  /** Wraps a serialized body into the L2 envelope. `aad` is the namespaced key (for encryption). */
  seal(body: Buffer, expiresAt: number, aad: string): Buffer {
    let flags = this.#serializer.id;
    let payload = body;
    if (this.#compressAbove !== false && body.length > this.#compressAbove) {
      const z = deflateRawSync(body);
      if (z.length < body.length) {
        payload = z;
        flags |= FLAG_COMPRESSED;
      }
    }
    if (this.#cipher !== undefined) {
      payload = this.#cipher.seal(payload, aad);
      flags |= FLAG_ENCRYPTED;
    }
    const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
    out[0] = MAGIC;
    out[1] = WIRE_VERSION;
    out[2] = flags;
    out[3] = 0;
    out.writeDoubleLE(expiresAt, 4);
    payload.copy(out, HEADER_BYTES);
    return out;
  }

  /** Reads the logical expiry without decoding the body; -1 for bytes that are not an envelope. */
  peekExpiry(bytes: Buffer): number {
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC || bytes[1] !== WIRE_VERSION) return -1;
    const exp = bytes.readDoubleLE(4);
    return Number.isFinite(exp) && exp >= 0 ? exp : -1;
  }

  decode(bytes: Buffer, aad: string): DecodedEnvelope {
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) throw new CorruptValueError('Not a tiercache value (bad magic)');
    if (bytes[1] !== WIRE_VERSION) throw new CorruptValueError(`Unsupported wire version ${bytes[1]}`);
    const flags = bytes[2];
    if ((flags & ~KNOWN_FLAGS) !== 0 || bytes[3] !== 0) throw new CorruptValueError('Unknown header flags');
    const serializer = this.#byId[flags & FLAG_SERIALIZER_MASK];
    if (serializer === undefined) throw new CorruptValueError('Unknown serializer id');
    const expiresAt = bytes.readDoubleLE(4);
    if (!Number.isFinite(expiresAt) || expiresAt < 0) throw new CorruptValueError('Bad expiry in header');
    let payload = bytes.subarray(HEADER_BYTES);
    try {
      if ((flags & FLAG_ENCRYPTED) !== 0) {
        if (this.#cipher === undefined) throw new CorruptValueError('Value is encrypted but no key is configured');
        payload = this.#cipher.open(payload, aad);
      }
      if ((flags & FLAG_COMPRESSED) !== 0) {
        payload = inflateRawSync(payload, { maxOutputLength: this.#maxValueBytes });
      }
      return { value: serializer.deserialize(payload), expiresAt };
    } catch (err) {
      if (err instanceof CorruptValueError) throw err;
      throw new CorruptValueError(`Value body does not decode: ${(err as Error).message}`, { cause: err });
    }
  }
}
