import { describe, expect, it } from 'vitest';
import { EnvelopeCodec } from '../src/codec/envelope_codec.js';
import { HEADER_BYTES, MAGIC, WIRE_VERSION } from '../src/codec/envelope_header.js';
import { CorruptValueError, SerializationError, ValueTooLargeError } from '../src/errors.js';

const codec = (serializer: 'json' | 'msgpack' | 'v8', compressAbove: number | false = 1024, maxValueBytes = 1 << 20) =>
  new EnvelopeCodec({ serializer, compressAbove, maxValueBytes });

/** Envelopes come back as a string (plain JSON) or a Buffer; Redis stores the same bytes. */
const bytes = (e: Buffer | string): Buffer => (typeof e === 'string' ? Buffer.from(e, 'utf8') : e);

function roundTrip(c: EnvelopeCodec, value: unknown, expiresAt = 1234): unknown {
  const sealed = bytes(c.encode(value, expiresAt, 'k', 'ns:k'));
  const out = c.decode(sealed, 'ns:k');
  expect(out.expiresAt).toBe(expiresAt);
  return out.value;
}

const plain = { name: 'John', email: 'john@example.com', n: 42.5, ok: true, nil: null, list: [1, 'two', { three: 3 }], nested: { deep: { deeper: ['x'] } } };

describe('EnvelopeCodec', () => {
  for (const s of ['json', 'msgpack', 'v8'] as const) {
    it(`${s}: plain objects, strings, numbers, null round-trip`, () => {
      const c = codec(s);
      expect(roundTrip(c, plain)).toEqual(plain);
      expect(roundTrip(c, 'just a string')).toBe('just a string');
      expect(roundTrip(c, 0)).toBe(0);
      expect(roundTrip(c, null)).toBe(null);
      expect(roundTrip(c, [])).toEqual([]);
    });

    it(`${s}: refuses undefined and functions with SerializationError`, () => {
      const c = codec(s);
      expect(() => c.serializedSize(undefined, 'k')).toThrow(SerializationError);
      expect(() => c.serializedSize(() => 1, 'k')).toThrow(SerializationError);
      expect(() => c.serializedSize({ f: () => 1 }, 'k')).toThrow(SerializationError);
      expect(() => c.serializedSize({ s: Symbol('x') }, 'k')).toThrow(SerializationError);
    });
  }

  it('json: cycles and BigInt are SerializationErrors', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => codec('json').serializedSize(a, 'k')).toThrow(SerializationError);
    expect(() => codec('json').serializedSize({ n: 1n }, 'k')).toThrow(SerializationError);
  });

  it('msgpack: cycles are SerializationErrors; Date and BigInt round-trip', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => codec('msgpack').serializedSize(a, 'k')).toThrow(SerializationError);
    const v = { d: new Date(86_400_000), b: 2n ** 70n, bytes: new Uint8Array([1, 2, 3]) };
    const out = roundTrip(codec('msgpack'), v) as typeof v;
    expect(out.d).toEqual(v.d);
    expect(out.b).toBe(v.b);
    expect(Array.from(out.bytes)).toEqual([1, 2, 3]);
  });

  it('v8: Map, Set, Date, BigInt, typed arrays, RegExp and cycles round-trip exactly', () => {
    const cyc: Record<string, unknown> = { name: 'c' };
    cyc.self = cyc;
    const v = {
      map: new Map<unknown, unknown>([['a', 1], [2, { b: true }]]),
      set: new Set(['x', 'y']),
      date: new Date('2026-11-27T10:00:00Z'),
      big: 12345678901234567890n,
      f64: new Float64Array([1.5, -2.25]),
      u8: new Uint8Array([255, 0, 7]),
      re: /ab+c/gi,
      cyc,
    };
    const out = roundTrip(codec('v8'), v) as typeof v;
    expect(out.map).toBeInstanceOf(Map);
    expect([...out.map]).toEqual([...v.map]);
    expect(out.set).toBeInstanceOf(Set);
    expect([...out.set]).toEqual(['x', 'y']);
    expect(out.date).toBeInstanceOf(Date);
    expect(out.date.getTime()).toBe(v.date.getTime());
    expect(out.big).toBe(v.big);
    expect(out.f64).toBeInstanceOf(Float64Array);
    expect(Array.from(out.f64)).toEqual([1.5, -2.25]);
    expect(Array.from(out.u8)).toEqual([255, 0, 7]);
    expect(out.re.source).toBe('ab+c');
    expect((out.cyc as Record<string, unknown>).self).toBe(out.cyc);
  });

  it('compresses bodies above the threshold only, and decodes either way', () => {
    const big = { text: 'lorem ipsum dolor sit amet '.repeat(200) };
    const on = codec('json', 1024);
    const off = codec('json', false);
    const sealedOn = bytes(on.encode(big, 0, 'k', 'a'));
    const sealedOff = bytes(off.encode(big, 0, 'k', 'a'));
    expect(sealedOn[2] & 0b100).toBe(0b100);
    expect(sealedOff[2] & 0b100).toBe(0);
    expect(sealedOn.length).toBeLessThan(sealedOff.length / 5);
    // a reader decodes what the header says, whatever its own config
    expect(off.decode(sealedOn, 'a').value).toEqual(big);
    expect(on.decode(sealedOff, 'a').value).toEqual(big);
    const small = bytes(on.encode({ a: 1 }, 0, 'k', 'a'));
    expect(small[2] & 0b100).toBe(0);
  });

  it('plain JSON envelopes are strings of the same bytes a Buffer envelope would hold', () => {
    const c = codec('json');
    const e = c.encode({ a: 'é' }, 1_800_000_000_123, 'k', 'a');
    expect(typeof e).toBe('string');
    const b = bytes(e);
    expect([b[0], b[1], b[2], b[3]]).toEqual([MAGIC, WIRE_VERSION, 0, 0]);
    expect(b.subarray(4, 16).toString('latin1')).toBe((1_800_000_000_123).toString(16).padStart(12, '0'));
    expect(c.decode(b, 'a')).toEqual({ value: { a: 'é' }, expiresAt: 1_800_000_000_123, level: 0 });
    expect(c.peekExpiry(b)).toBe(1_800_000_000_123);
    // binary serializers keep the same header
    const m = bytes(codec('msgpack').encode([1, 2], 0, 'k', 'a'));
    expect(Buffer.isBuffer(m)).toBe(true);
    expect([m[0], m[1], m[2]]).toEqual([MAGIC, WIRE_VERSION, 1]);
    expect(m.subarray(4, 16).toString('latin1')).toBe('000000000000');
  });

  it('a reader decodes with the serializer the writer used', () => {
    const written = bytes(codec('msgpack').encode(plain, 0, 'k', 'a'));
    expect(codec('json').decode(written, 'a').value).toEqual(plain);
  });

  it('refuses values above maxValueBytes with ValueTooLargeError', () => {
    const c = codec('json', false, 100);
    expect(() => c.serializedSize('x'.repeat(200), 'k')).toThrow(ValueTooLargeError);
    expect(() => c.serializedSize('x'.repeat(50), 'k')).not.toThrow();
  });

  it('garbage, truncated, bad-version and bad-body bytes are CorruptValueErrors', () => {
    const c = codec('json');
    const good = bytes(c.encode(plain, 0, 'k', 'a'));
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('hello world, not a tiercache value'),
      good.subarray(0, HEADER_BYTES - 1),
      Buffer.concat([Buffer.from([MAGIC, WIRE_VERSION + 1]), good.subarray(2)]),
      Buffer.concat([good.subarray(0, 2), Buffer.from([0xf0]), good.subarray(3)]),
      Buffer.concat([good.subarray(0, HEADER_BYTES), Buffer.from('{not json')]),
      Buffer.concat([good.subarray(0, 2), Buffer.from([0b100]), good.subarray(3)]), // claims compression
      Buffer.concat([good.subarray(0, 2), Buffer.from([0b1000]), good.subarray(3)]), // claims encryption
    ];
    for (const b of cases) expect(() => c.decode(b, 'a')).toThrow(CorruptValueError);
    const badExpiry = Buffer.from(good);
    badExpiry[6] = 0x47; // 'G' is not a hex digit
    expect(() => c.decode(badExpiry, 'a')).toThrow(CorruptValueError);
  });

  it('caps decompression output at maxValueBytes (no zip bombs)', () => {
    const big = codec('json', 0, 10_000_000);
    const sealed = bytes(big.encode('a'.repeat(5_000_000), 0, 'k', 'a'));
    const reader = codec('json', 0, 1000);
    expect(() => reader.decode(sealed, 'a')).toThrow(CorruptValueError);
  });
});
