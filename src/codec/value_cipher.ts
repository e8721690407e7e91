/**
 * The encryption stage of the codec (the security work plugs an AES-256-GCM keyring in here).
 * `aad` binds a ciphertext to its namespace and key: a value copied to another key must fail
 * `open`, which then throws and the read counts as a corrupt value, never a wrong one.
 */
export interface ValueCipher {
  seal(plain: Buffer, aad: string): Buffer;
  open(sealed: Buffer, aad: string): Buffer;
}
