import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { CorruptValueError, InvalidOptionsError } from '../errors.js';
import type { ValueCipher } from '../codec/value_cipher.js';
import { redactWith } from '../util/redaction.js';

/** One key of the keyring: an id (1-255, written in every sealed value) and 32 bytes. */
export interface EncryptionKey {
  id: number;
  /** 32 bytes, or their base64 / hex (64 hex digits) text. */
  key: Buffer | string;
}

const NONCE = 12;
const TAG = 16;

/** 32 key bytes from base64 or hex text (or a Buffer); the error never contains the key. */
export function parseKeyMaterial(key: Buffer | string, where: string): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(key)) bytes = key;
  else if (/^[0-9a-fA-F]{64}$/.test(key)) bytes = Buffer.from(key, 'hex');
  else bytes = Buffer.from(key, 'base64');
  if (bytes.length !== 32) throw new InvalidOptionsError(where, 'must be 32 bytes (AES-256), as base64 or 64 hex digits');
  return bytes;
}

let derive: (cipher: AesGcmCipher, info: string) => Buffer;

/**
 * A key for another purpose (`info` names it), derived from the cipher's current key with
 * HKDF-SHA256: one configured secret serves both, and neither use reveals the other's key. The
 * cache derives its session-record HMAC key this way. Not a method of the cipher (and not
 * exported from the package): key material stays out of the public surface.
 */
export function deriveCipherKey(cipher: AesGcmCipher, info: string): Buffer {
  return derive(cipher, info);
}

/**
 * AES-256-GCM with a keyring (node:crypto). Sealed layout: key id (1 byte) ‖ nonce (12 random
 * bytes, fresh per value) ‖ ciphertext ‖ tag (16). The additional authenticated data is the
 * envelope header plus the namespaced key, so a ciphertext moved to another key or namespace, or
 * a header byte changed (expiry, flags, security level), fails authentication. Values are sealed
 * with the current key and opened with whichever keyring key their id names, so keys rotate
 * without rewriting data. Key bytes are held in Buffers that never reach a log or an error.
 *
 * Random 96-bit nonces: NIST's limit for one key is 2^32 messages (collision risk 2^-32); rotate
 * the key before ~4 billion writes.
 */
export class AesGcmCipher implements ValueCipher {
  readonly #keys = new Map<number, Buffer>();
  readonly #current: number;

  static {
    derive = (cipher, info) => Buffer.from(hkdfSync('sha256', cipher.#keys.get(cipher.#current) as Buffer, Buffer.alloc(0), info, 32));
  }

  constructor(keys: EncryptionKey[], currentId?: number) {
    if (keys.length === 0) throw new InvalidOptionsError('encryptionKeys', 'needs at least one key');
    for (const k of keys) {
      if (!Number.isInteger(k.id) || k.id < 1 || k.id > 255) throw new InvalidOptionsError('encryptionKeys', 'key ids must be integers 1-255');
      if (this.#keys.has(k.id)) throw new InvalidOptionsError('encryptionKeys', `key id ${k.id} appears twice`);
      this.#keys.set(k.id, parseKeyMaterial(k.key, `encryptionKeys[${k.id}]`));
    }
    this.#current = currentId ?? Math.max(...this.#keys.keys());
    if (!this.#keys.has(this.#current)) throw new InvalidOptionsError('encryptionKeyId', `no key with id ${this.#current} in the keyring`);
    redactWith(this, () => ({ cipher: 'aes-256-gcm', currentKeyId: this.#current, keyIds: [...this.#keys.keys()] }));
  }

  /** The id new values are sealed with. */
  get currentKeyId(): number {
    return this.#current;
  }

  seal(plain: Buffer, aad: string): Buffer {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#current) as Buffer, nonce);
    cipher.setAAD(Buffer.from(aad));
    const body = cipher.update(plain);
    const final = cipher.final();
    const out = Buffer.allocUnsafe(1 + NONCE + body.length + final.length + TAG);
    out[0] = this.#current;
    nonce.copy(out, 1);
    body.copy(out, 1 + NONCE);
    final.copy(out, 1 + NONCE + body.length);
    cipher.getAuthTag().copy(out, out.length - TAG);
    return out;
  }

  open(sealed: Buffer, aad: string): Buffer {
    if (sealed.length < 1 + NONCE + TAG) throw new CorruptValueError('Encrypted value too short');
    const key = this.#keys.get(sealed[0]);
    if (key === undefined) throw new CorruptValueError(`Encrypted with key id ${sealed[0]}, which is not in the keyring`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE, sealed.length - TAG)), decipher.final()]);
    } catch {
      throw new CorruptValueError('Encrypted value failed authentication (tampered, moved to another key, or wrong key)');
    }
  }

  /** The key id a sealed value names (for rotation reports). */
  static keyIdOf(sealed: Buffer): number {
    return sealed[0];
  }
}
