import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CorruptValueError, SerializationError, ValueTooLargeError } from '../errors.js';
import {
  EXPIRY_DIGITS,
  EXPIRY_OFFSET,
  FLAG_COMPRESSED,
  FLAG_ENCRYPTED,
  FLAG_SERIALIZER_MASK,
  HEADER_BYTES,
  KNOWN_FLAGS,
  MAGIC,
  MAX_EXPIRY,
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
  /** The security level written with the value (header byte 3; 0 = PUBLIC). */
  level: number;
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

  /**
   * Serializes `value` and returns its size in bytes without building an envelope: what L1-only
   * mode needs to vet a value (the same typed errors as `encode`) and to weigh it.
   */
  serializedSize(value: unknown, key: string): number {
    const body = this.#body(value, key);
    return typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  }

  /**
   * value → envelope: serialize, compress (above the threshold, when it helps), encrypt, header.
   * `aad` is the namespaced key (binds a ciphertext to its key); `level` the value's security level
   * (0-3, header byte 3). Typed errors, nothing half-built.
   * A text body that is neither compressed nor encrypted comes back as a string (ASCII header +
   * text, written by node-redis without an intermediate Buffer); anything else as a Buffer.
   */
  encode(value: unknown, expiresAt: number, key: string, aad: string, level = 0): Buffer | string {
    const body = this.#body(value, key);
    let flags = this.#serializer.id;
    const isText = typeof body === 'string';
    // Cheap test first: a string's UTF-8 size is at least its length and at most 3 bytes a unit.
    const mayCompress = this.#compressAbove !== false && (isText ? body.length * 3 : body.length) > this.#compressAbove;
    if (isText && !mayCompress && this.#cipher === undefined) return headerText(flags, expiresAt, level) + body;
    const size = isText ? Buffer.byteLength(body) : body.length;
    if (size > this.#maxValueBytes) throw new ValueTooLargeError(key, size, this.#maxValueBytes);
    let payload: Buffer | string = body;
    if (mayCompress && size > (this.#compressAbove as number)) {
      const z = deflateRawSync(body);
      if (z.length < size) {
        payload = z;
        flags |= FLAG_COMPRESSED;
      }
    }
    if (this.#cipher !== undefined) {
      flags |= FLAG_ENCRYPTED;
      // The header is authenticated with the key: no header byte can change undetected.
      payload = this.#cipher.seal(typeof payload === 'string' ? Buffer.from(payload) : payload, headerText(flags, expiresAt, level) + '\0' + aad);
    }
    if (typeof payload === 'string') return headerText(flags, expiresAt, level) + payload;
    const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
    out.write(headerText(flags, expiresAt, level), 0, 'latin1');
    payload.copy(out, HEADER_BYTES);
    return out;
  }

  #body(value: unknown, key: string): Buffer | string {
    if (value === undefined) throw new SerializationError('Cannot store undefined; delete the key instead', { key });
    const body = this.#serializer.serialize(value, key);
    // Cheap bound first: a string's UTF-8 size is at most 3 bytes per UTF-16 unit.
    const upper = typeof body === 'string' ? body.length * 3 : body.length;
    if (upper > this.#maxValueBytes) {
      const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      if (size > this.#maxValueBytes) throw new ValueTooLargeError(key, size, this.#maxValueBytes);
    }
    return body;
  }

  /** Reads the logical expiry without decoding the body; -1 for bytes that are not an envelope. */
  peekExpiry(bytes: Buffer): number {
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC || bytes[1] !== WIRE_VERSION) return -1;
    return readExpiry(bytes);
  }

  decode(bytes: Buffer, aad: string): DecodedEnvelope {
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) throw new CorruptValueError('Not a tiercache value (bad magic)');
    if (bytes[1] !== WIRE_VERSION) throw new CorruptValueError(`Unsupported wire version ${bytes[1]}`);
    const flags = bytes[2];
    const level = bytes[3];
    if ((flags & ~KNOWN_FLAGS) !== 0 || level > 3) throw new CorruptValueError('Unknown header flags');
    // With a key configured, only authenticated values are accepted: a plaintext envelope in an
    // encrypted namespace is either tampering (the flag flipped) or an injected value.
    if (this.#cipher !== undefined && (flags & FLAG_ENCRYPTED) === 0) throw new CorruptValueError('Unencrypted value in an encrypted cache');
    const serializer = this.#byId[flags & FLAG_SERIALIZER_MASK];
    if (serializer === undefined) throw new CorruptValueError('Unknown serializer id');
    const expiresAt = readExpiry(bytes);
    if (expiresAt < 0) throw new CorruptValueError('Bad expiry in header');
    let payload = bytes;
    let offset = HEADER_BYTES;
    try {
      if ((flags & FLAG_ENCRYPTED) !== 0) {
        if (this.#cipher === undefined) throw new CorruptValueError('Value is encrypted but no key is configured');
        payload = this.#cipher.open(payload.subarray(offset), bytes.toString('latin1', 0, HEADER_BYTES) + '\0' + aad);
        offset = 0;
      }
      if ((flags & FLAG_COMPRESSED) !== 0) {
        payload = inflateRawSync(payload.subarray(offset), { maxOutputLength: this.#maxValueBytes });
        offset = 0;
      }
      return { value: serializer.deserialize(payload, offset), expiresAt, level };
    } catch (err) {
      if (err instanceof CorruptValueError) throw err;
      throw new CorruptValueError(`Value body does not decode: ${(err as Error).message}`, { cause: err });
    }
  }
}

const ZEROS = '0'.repeat(EXPIRY_DIGITS);

// Writes of one burst share their millisecond and TTL, hence their header: remember the last one.
let lastFlags = -1;
let lastExpiry = -1;
let lastLevel = -1;
let lastHeader = '';

/** The 16 header bytes as a string (every char < 0x80, so one byte each in UTF-8 and latin1). */
function headerText(flags: number, expiresAt: number, level = 0): string {
  if (flags === lastFlags && expiresAt === lastExpiry && level === lastLevel) return lastHeader;
  const exp = Math.min(Math.max(0, Math.ceil(expiresAt)), MAX_EXPIRY).toString(16);
  lastHeader = String.fromCharCode(MAGIC, WIRE_VERSION, flags, level) + ZEROS.slice(exp.length) + exp;
  lastFlags = flags;
  lastExpiry = expiresAt;
  lastLevel = level;
  return lastHeader;
}

/** The expiry digits, or -1 when any is not a lowercase hex digit. */
function readExpiry(bytes: Buffer): number {
  let v = 0;
  for (let i = EXPIRY_OFFSET; i < EXPIRY_OFFSET + EXPIRY_DIGITS; i++) {
    const c = bytes[i];
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}
