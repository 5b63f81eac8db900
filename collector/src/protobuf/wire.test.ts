import protobuf from 'protobufjs';
import {
  ProtoError,
  ProtoReader,
  ProtoWriter,
  readDouble,
  readInt64,
  readLen,
  readVarint,
  skipField,
  tag,
  varintSize,
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  zigzagDecode,
  zigzagEncode,
  type Cursor,
} from './wire.js';

function written(fn: (w: ProtoWriter) => void): Buffer {
  const w = new ProtoWriter(16);
  fn(w);
  return Buffer.from(w.finish());
}

// Every 7-bit group boundary, either side of the 32-bit split, and millisecond timestamps.
const UNSIGNED = [
  0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1,
  2 ** 35 - 1, 2 ** 35, 2 ** 35 + 7, 2 ** 42 - 1, 2 ** 42, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1, 1_765_000_000_123, 0xffff_ffff * 2 ** 20 + 0xabcdef,
];

describe('varints', () => {
  it.each(UNSIGNED)('%d encodes as protobufjs does, sizes agree and reads back', (v) => {
    const ours = written((w) => {
      w.ensure(10);
      w.varint(v);
    });
    const peer = Buffer.from(protobuf.Writer.create().uint64(v).finish());
    expect(ours).toEqual(peer);
    expect(varintSize(v)).toBe(ours.length);
    const c: Cursor = { pos: 0 };
    expect(readVarint(ours, c, ours.length)).toBe(v);
    expect(c.pos).toBe(ours.length);
  });

  it.each([-1, -2, -300, -(2 ** 40), Number.MIN_SAFE_INTEGER])('negative int64 %d is 10 bytes of two’s complement and reads back exactly', (v) => {
    const ours = written((w) => {
      w.ensure(10);
      w.varint(v);
    });
    expect(ours).toEqual(Buffer.from(protobuf.Writer.create().int64(v).finish()));
    expect(ours.length).toBe(10);
    expect(varintSize(v)).toBe(10);
    expect(readInt64(ours, { pos: 0 }, ours.length)).toBe(v);
  });

  it('clamps int64 beyond the range instead of wrapping the sign', () => {
    const max = written((w) => {
      w.ensure(10);
      w.varint(2 ** 63);
    });
    expect(max).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    expect(varintSize(2 ** 63)).toBe(9);
    const min = written((w) => {
      w.ensure(10);
      w.varint(-(2 ** 70));
    });
    expect(readInt64(min, { pos: 0 }, min.length)).toBe(-(2 ** 63));
  });

  it('zigzag maps signed values both ways', () => {
    for (const v of [0, -1, 1, -2, 2 ** 40, -(2 ** 40), 1_700_000_000_000]) expect(zigzagDecode(zigzagEncode(v))).toBe(v);
    expect([0, -1, 1, -2, 2].map(zigzagEncode)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects a varint cut at every byte, without reading past the end', () => {
    const full = written((w) => {
      w.ensure(10);
      w.varint(2 ** 50 + 3);
    });
    for (let cut = 0; cut < full.length; cut++) {
      // The bytes after `end` are still in the buffer: the reader must not use them.
      const c: Cursor = { pos: 0 };
      expect(() => readVarint(full, c, cut)).toThrow(new ProtoError('protobuf: truncated varint'));
    }
  });

  it('rejects varints longer than 10 bytes or wider than 64 bits', () => {
    const eleven = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(() => readVarint(eleven, { pos: 0 }, eleven.length)).toThrow(ProtoError);
    const wide = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    expect(() => readVarint(wide, { pos: 0 }, wide.length)).toThrow('protobuf: varint overflows 64 bits');
  });
});

describe('fields', () => {
  const message = Buffer.from(
    protobuf.Writer.create()
      .uint32(tag(1, WIRE_VARINT)).uint64(150)
      .uint32(tag(2, WIRE_I64)).double(2.5)
      .uint32(tag(3, WIRE_LEN)).string('héllo')
      .uint32(tag(4, WIRE_I32)).fixed32(7)
      .uint32(tag(5, WIRE_LEN)).bytes(new Uint8Array(0))
      .finish(),
  );

  it('skips every field kind to the end of a message protobufjs wrote', () => {
    const c: Cursor = { pos: 0 };
    const seen: number[] = [];
    while (c.pos < message.length) {
      const t = readVarint(message, c, message.length);
      seen.push(t >>> 3);
      skipField(message, c, message.length, t & 7);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(c.pos).toBe(message.length);
  });

  it('reads doubles and length-delimited payloads', () => {
    const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
    const c: Cursor = { pos: 0 };
    readVarint(message, c, message.length);
    expect(readVarint(message, c, message.length)).toBe(150);
    readVarint(message, c, message.length);
    expect(readDouble(view, c, message.length)).toBe(2.5);
    readVarint(message, c, message.length);
    const stop = readLen(message, c, message.length);
    expect(message.toString('utf8', c.pos, stop)).toBe('héllo');
  });

  it('rejects the message cut at every byte with ProtoError, never another error', () => {
    for (let cut = 1; cut < message.length; cut++) {
      const walk = (): void => {
        const c: Cursor = { pos: 0 };
        while (c.pos < cut) {
          const t = readVarint(message, c, cut);
          skipField(message, c, cut, t & 7);
          expect(c.pos).toBeLessThanOrEqual(cut);
        }
      };
      // Cuts at a field boundary are valid shorter messages; every other cut must fail cleanly.
      try {
        walk();
      } catch (err) {
        expect(err).toBeInstanceOf(ProtoError);
      }
    }
  });

  it('rejects hostile lengths, groups and unknown wire types', () => {
    const huge = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00]);
    const c: Cursor = { pos: 1 };
    expect(() => readLen(huge, c, huge.length)).toThrow('protobuf: length-delimited field runs past the end of its message');
    for (const wire of [3, 4, 6, 7]) expect(() => skipField(Buffer.alloc(16), { pos: 0 }, 16, wire)).toThrow(`protobuf: unsupported wire type ${wire}`);
    expect(() => skipField(Buffer.alloc(16), { pos: 0 }, 7, WIRE_I64)).toThrow(ProtoError);
    expect(() => skipField(Buffer.alloc(16), { pos: 0 }, 3, WIRE_I32)).toThrow(ProtoError);
    const view = new DataView(new ArrayBuffer(16));
    expect(() => readDouble(view, { pos: 9 }, 16)).toThrow('protobuf: truncated double');
  });

  it('random bytes either walk cleanly or fail with ProtoError, and never move past the end', () => {
    let seed = 42;
    const rand = (): number => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 2000; round++) {
      const buf = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
      const end = Math.floor(rand() * buf.length) + 1;
      const c: Cursor = { pos: 0 };
      try {
        while (c.pos < end) {
          const t = readVarint(buf, c, end);
          skipField(buf, c, end, t & 7);
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ProtoError);
      }
      expect(c.pos).toBeLessThanOrEqual(end);
    }
  });
});

describe('ProtoReader', () => {
  it('reads packed and unpacked repeated integers', () => {
    const buf = Buffer.from(protobuf.Writer.create().uint32(tag(1, WIRE_LEN)).fork().uint64(1).uint64(300).uint64(2 ** 40).ldelim().uint32(tag(1, WIRE_VARINT)).uint64(9).finish());
    const r = new ProtoReader(buf);
    const out: number[] = [];
    while (!r.done) r.repeatedVarint(r.varint() & 7, (v) => out.push(v));
    expect(out).toEqual([1, 300, 2 ** 40, 9]);
  });

  it('keeps a nested reader inside its message', () => {
    const buf = Buffer.from([0x0a, 0x02, 0x08, 0x96, 0x01]); // field 1 claims 2 bytes; the varint inside needs 2 more than that
    const r = new ProtoReader(buf);
    r.varint();
    const stop = r.len();
    const m = new ProtoReader(buf, r.pos, stop);
    m.varint();
    expect(() => m.varint()).toThrow('protobuf: truncated varint');
    expect(() => m.repeatedVarint(WIRE_I32, () => undefined)).toThrow(ProtoError);
    expect(() => new ProtoReader(buf, 0, buf.length + 1)).toThrow(ProtoError);
  });
});

describe('ProtoWriter', () => {
  it('grows, writes strings with their length and resets for reuse', () => {
    const w = new ProtoWriter(16);
    w.string('x'.repeat(1000));
    w.ensure(10);
    w.zigzag(-3);
    w.ensure(8);
    w.double(-0.5);
    const out = w.finish();
    const c: Cursor = { pos: 0 };
    const stop = readLen(out, c, out.length);
    expect(stop - c.pos).toBe(1000);
    c.pos = stop;
    expect(zigzagDecode(readVarint(out, c, out.length))).toBe(-3);
    expect(readDouble(new DataView(out.buffer, out.byteOffset, out.byteLength), c, out.length)).toBe(-0.5);
    w.reset();
    expect(w.finish().length).toBe(0);
  });
});
