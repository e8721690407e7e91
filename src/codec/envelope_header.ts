/**
 * The fixed 16-byte header in front of every value tiercache writes to L2. Every header byte is
 * below 0x80, so a JSON envelope can be handed to node-redis as a JS string (ASCII header + JSON
 * text) and written straight into the socket buffer, with no Buffer built and copied on our side
 * (docs/decisions.md: ~0.7 µs per set). Binary bodies carry the same bytes in a Buffer.
 *
 *   offset 0  u8   MAGIC (0x1C): a value tiercache wrote (garbage rarely starts with it)
 *   offset 1  u8   WIRE_VERSION: bumped on any incompatible layout change
 *   offset 2  u8   flags: bits 0-1 serializer id, bit 2 deflate-raw compressed, bit 3 encrypted
 *   offset 3  u8   security level of the value: 0 PUBLIC, 1 INTERNAL, 2 CONFIDENTIAL, 3 RESTRICTED
 *   offset 4  12 × ASCII lowercase hex digits: logical expiry, ms since epoch; all zeros = none
 *   offset 16 …    body: the serialized value, then compressed, then encrypted (each if flagged)
 *
 * The expiry travels with the value so an L2 hit fills L1 with the remaining TTL without a second
 * round trip (PTTL), and so grace periods can outlive the logical expiry later.
 */
export const MAGIC = 0x1c;
export const WIRE_VERSION = 2;
export const HEADER_BYTES = 16;
export const EXPIRY_OFFSET = 4;
export const EXPIRY_DIGITS = 12;
export const FLAG_SERIALIZER_MASK = 0b0011;
export const FLAG_COMPRESSED = 0b0100;
export const FLAG_ENCRYPTED = 0b1000;
export const KNOWN_FLAGS = FLAG_SERIALIZER_MASK | FLAG_COMPRESSED | FLAG_ENCRYPTED;
/** Largest expiry the 12 hex digits hold (year 10889). */
export const MAX_EXPIRY = 16 ** EXPIRY_DIGITS - 1;
