/**
 * The fixed 12-byte header in front of every value tiercache writes to L2:
 *
 *   offset 0  u8   MAGIC (0xC7): a value tiercache wrote (garbage rarely starts with it)
 *   offset 1  u8   WIRE_VERSION: bumped on any incompatible layout change
 *   offset 2  u8   flags: bits 0-1 serializer id, bit 2 deflate-raw compressed, bit 3 encrypted
 *   offset 3  u8   reserved, 0
 *   offset 4  f64  logical expiry, ms since epoch, little-endian; 0 = none
 *   offset 12 …    body: the serialized value, then compressed, then encrypted (each if flagged)
 *
 * The expiry travels with the value so an L2 hit fills L1 with the remaining TTL without a second
 * round trip (PTTL), and so grace periods can outlive the logical expiry later.
 */
export const MAGIC = 0xc7;
export const WIRE_VERSION = 1;
export const HEADER_BYTES = 12;
export const FLAG_SERIALIZER_MASK = 0b0011;
export const FLAG_COMPRESSED = 0b0100;
export const FLAG_ENCRYPTED = 0b1000;
export const KNOWN_FLAGS = FLAG_SERIALIZER_MASK | FLAG_COMPRESSED | FLAG_ENCRYPTED;
