/**
 * Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/): the one
 * hand-written codec layer under every protobuf message this collector encodes or decodes by hand
 * (remote-write `WriteRequest`, Loki `PushRequest`, pprof checks) and under the WAL record format.
 *
 * Contracts:
 * - Readers work on `[c.pos, end)` of a buffer and never use a byte at or beyond `end`: a varint,
 *   fixed field or length-delimited field that does not fit throws `ProtoError` naming the
 *   problem, so truncated or hostile input fails cleanly instead of taking neighbouring bytes.
 * - Varints are decoded into doubles: exact up to 2^53, rounded above (fields that need the exact
 *   two's complement of negative int64 use `readInt64`). A varint of more than 10 bytes, or whose
 *   10th byte carries bits beyond 64, is an error.
 * - `skipField` skips varint, fixed64, length-delimited and fixed32 fields; groups (wire types 3
 *   and 4, deprecated) and unknown wire types are errors.
 * - `ProtoWriter` grows its buffer; the unchecked primitives (`varint`, `double`, `fixed32`) need
 *   room reserved with `ensure` first (at most 10 bytes for a varint), so hot loops reserve once.
 *
 * Depends on the platform only; anyone may import it.
 */

export class ProtoError extends Error {
  override readonly name = 'ProtoError';
}

/** Wire types. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** The tag of a field: `(field << 3) | wire`. */
export function tag(field: number, wire: number): number {
  return field * 8 + wire;
}

/** A read position, advanced by the readers. */
export interface Cursor {
  pos: number;
}

/** 2^63: int64 values at or above it (and below -2^63) are clamped when encoded. */
const TWO_63 = 2 ** 63;

/** Bytes of the varint of an unsigned 32-bit `v`. */
export function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes the varint of an unsigned 32-bit `v` at `p`; returns the position after it. */
export function putVarint32(buf: Uint8Array, p: number, v: number): number {
  while (v >= 128) {
    buf[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/**
 * Writes the varint of `hi · 2^32 + lo` at `p` (`hi` > 0 and both unsigned 32-bit, e.g. a
 * millisecond timestamp split with `lo = v >>> 0`, `hi = (v - lo) / 2^32`); returns the position
 * after it. Integer operations only: no floating-point division or modulo per 7 bits.
 */
export function putVarint64(buf: Uint8Array, p: number, lo: number, hi: number): number {
  // Four 7-bit groups come from `lo` alone; the fifth takes its top 4 bits and 3 of `hi`.
  for (let i = 0; i < 4; i++) {
    buf[p++] = (lo & 127) | 128;
    lo >>>= 7;
  }
  const v = (lo | (hi << 4)) & 127;
  hi >>>= 3;
  if (hi === 0) {
    buf[p++] = v;
    return p;
  }
  buf[p++] = v | 128;
  return putVarint32(buf, p, hi);
}

/** Bytes of the varint of `hi · 2^32 + lo` (both unsigned 32-bit), the halves `putVarint64` takes. */
export function varintSizeOfHalves(lo: number, hi: number): number {
  return hi === 0 ? varint32Size(lo) : Math.ceil((64 - Math.clz32(hi)) / 7);
}

/** Bytes `ProtoWriter.varint(v)` writes for `v`. */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 4294967296) return varint32Size(v);
  if (v <= Number.MAX_SAFE_INTEGER) {
    const lo = v >>> 0;
    return varintSizeOfHalves(lo, (v - lo) / 4294967296);
  }
  if (v >= TWO_63) return 9;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes of a length-delimited field of `len` payload bytes with a one-byte tag. */
export function lenFieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Zigzag mapping of a signed integer (exact for |v| < 2^52). */
export function zigzagEncode(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function zigzagDecode(v: number): number {
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Reads an unsigned varint. @throws ProtoError when it is truncated or longer than 64 bits. */
export function readVarint(buf: Uint8Array, c: Cursor, end: number): number {
  let p = c.pos;
  // Fast path for one-byte varints; a byte at or past `end` is looked at but never used.
  let b = buf[p++]!;
  if (b < 128 && p <= end) {
    c.pos = p;
    return b;
  }
  if (p > end) throw new ProtoError('protobuf: truncated varint');
  let result = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    if (p >= end) throw new ProtoError('protobuf: truncated varint');
    b = buf[p++]!;
    if (i === 9 && b > 1) throw new ProtoError('protobuf: varint overflows 64 bits');
    result += (b & 0x7f) * mul;
    if (b < 128) {
      c.pos = p;
      return result;
    }
    mul *= 128;
  }
  throw new ProtoError('protobuf: varint longer than 10 bytes');
}

/** Reads an int64 varint; negative values (10-byte two's complement) are converted exactly. */
export function readInt64(buf: Uint8Array, c: Cursor, end: number): number {
  const start = c.pos;
  const v = readVarint(buf, c, end);
  if (c.pos - start < 10) return v;
  let big = 0n;
  for (let i = c.pos - 1; i >= start; i--) big = (big << 7n) | BigInt(buf[i]! & 0x7f);
  return Number(BigInt.asIntN(64, big));
}

/** Reads a little-endian double (fixed64). */
export function readDouble(view: DataView, c: Cursor, end: number): number {
  if (c.pos + 8 > end) throw new ProtoError('protobuf: truncated double');
  const v = view.getFloat64(c.pos, true);
  c.pos += 8;
  return v;
}

/**
 * Reads the length prefix of a length-delimited field and returns where its payload ends; the
 * cursor is left at the payload's start.
 */
export function readLen(buf: Uint8Array, c: Cursor, end: number): number {
  const len = readVarint(buf, c, end);
  const stop = c.pos + len;
  if (stop > end) throw new ProtoError('protobuf: length-delimited field runs past the end of its message');
  return stop;
}

/** Skips the payload of a field of wire type `wire` whose tag was just read. */
export function skipField(buf: Uint8Array, c: Cursor, end: number, wire: number): void {
  switch (wire) {
    case WIRE_VARINT:
      readVarint(buf, c, end);
      return;
    case WIRE_I64:
      if (c.pos + 8 > end) throw new ProtoError('protobuf: field runs past the end of its message');
      c.pos += 8;
      return;
    case WIRE_LEN:
      c.pos = readLen(buf, c, end);
      return;
    case WIRE_I32:
      if (c.pos + 4 > end) throw new ProtoError('protobuf: field runs past the end of its message');
      c.pos += 4;
      return;
    default:
      throw new ProtoError(`protobuf: unsupported wire type ${wire}`);
  }
}

/**
 * An object cursor over `[pos, end)` for code that walks nested messages by creating a reader per
 * message (e.g. the pprof check); the same checks as the functions above.
 */
export class ProtoReader implements Cursor {
  pos: number;
  readonly end: number;
  readonly buf: Uint8Array;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    if (end > buf.length || pos < 0 || pos > end) throw new ProtoError(`protobuf: range [${pos}, ${end}) outside a buffer of ${buf.length} bytes`);
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    return readVarint(this.buf, this, this.end);
  }

  /** Reads a length prefix; returns where the field's payload ends. */
  len(): number {
    return readLen(this.buf, this, this.end);
  }

  skip(wire: number): void {
    skipField(this.buf, this, this.end, wire);
  }

  /** Reads one occurrence of a repeated integer field, packed (`LEN`) or not (`VARINT`). */
  repeatedVarint(wire: number, out: (v: number) => void): void {
    if (wire === WIRE_VARINT) {
      out(this.varint());
      return;
    }
    if (wire !== WIRE_LEN) throw new ProtoError(`protobuf: wire type ${wire} for a repeated integer (want 0 or 2)`);
    const e = this.len();
    while (this.pos < e) out(readVarint(this.buf, this, e));
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/** Growable output buffer with protobuf primitives. Reuse one per sender to avoid allocation. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initial));
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `extra` more bytes. */
  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * Unchecked: `ensure` room first (at most 10 bytes). int64 fields hold numbers: a double at or
   * above 2^63 (e.g. the decoded INT64_MAX, which rounds up to 2^63) is written as INT64_MAX and
   * one below -2^63 as INT64_MIN, never wrapped to the other sign.
   */
  varint(v: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (v >= TWO_63) {
      for (let i = 0; i < 8; i++) buf[p++] = 0xff;
      buf[p++] = 0x7f;
      this.pos = p;
      return;
    }
    if (v < 0) {
      let big = BigInt.asUintN(64, BigInt(v < -TWO_63 ? -TWO_63 : v));
      while (big >= 128n) {
        buf[p++] = Number(big & 127n) | 128;
        big >>= 7n;
      }
      buf[p++] = Number(big);
      this.pos = p;
      return;
    }
    if (v < 4294967296) {
      this.pos = putVarint32(buf, p, v);
      return;
    }
    if (v <= Number.MAX_SAFE_INTEGER) {
      const lo = v >>> 0;
      this.pos = putVarint64(buf, p, lo, (v - lo) / 4294967296);
      return;
    }
    while (v >= 128) {
      buf[p++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** Unchecked: `ensure` room first (at most 10 bytes). */
  zigzag(v: number): void {
    this.varint(zigzagEncode(v));
  }

  /** Unchecked little-endian double: `ensure` 8 bytes first. */
  double(v: number): void {
    f64[0] = v;
    this.buf.set(f64Bytes, this.pos);
    this.pos += 8;
  }

  /** Raw bytes (checked). */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A length-prefixed UTF-8 string without a tag (checked). */
  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(len + 10);
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** The bytes written so far: a view into the reused buffer, valid until the next `reset`. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
