/**
 * Snappy block format (the raw format remote-write uses, not the framed stream format).
 *
 * Two interchangeable implementations: our pure-JS block encoder and strict decoder, and the
 * napi-rs `snappy` package (prebuilt native binary shipped inside the npm package).
 * `bench/remote-write-codec.ts` measures them and `snappyjs` on remote-write bodies; on
 * 2000-sample WriteRequests pure JS beat the napi binding (call + copy overhead dominates), so
 * pure JS is the default. `ALLOY_TS_SNAPPY=native` selects the native one when it loads (falling back to
 * pure JS when it does not). Nothing here depends on other project folders.
 */
import { createRequire } from 'node:module';
// snappyjs is only the reference `implementations.snappyjs` that tests and benchmarks compare
// with; the native binding stays optional and is loaded only where it can be.
import * as snappyjs from 'snappyjs';

export type SnappyImpl = 'native' | 'js';

interface NativeSnappy {
  compressSync(input: Buffer | Uint8Array): Buffer;
  uncompressSync(input: Buffer | Uint8Array, opts: { asBuffer: true }): Buffer;
}

const require = createRequire(import.meta.url);

function loadNative(): NativeSnappy | undefined {
  try {
    return require('snappy') as NativeSnappy;
  } catch {
    return undefined;
  }
}

// The binding maps a shared library and costs start-up time, so a process that keeps the default
// pure-JS codec never loads it (tests and benchmarks reach it through `implementations.native`).
let nativeLoaded: { lib: NativeSnappy | undefined } | undefined;
function nativeLib(): NativeSnappy | undefined {
  nativeLoaded ??= { lib: loadNative() };
  return nativeLoaded.lib;
}
const native = process.env['ALLOY_TS_SNAPPY'] === 'native' ? nativeLib() : undefined;

/** Which implementation `compress`/`uncompress` use in this process. */
export const snappyImpl: SnappyImpl = native ? 'native' : 'js';

export class SnappyError extends Error {
  override readonly name = 'SnappyError';
}

/**
 * Reads the uncompressed length stored in a block's varint preamble without decoding it, so callers
 * can refuse oversized bodies before allocating. Throws `SnappyError` on a malformed preamble.
 */
export function uncompressedLength(block: Uint8Array): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new SnappyError('snappy: truncated length preamble');
    const b = block[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
    shift += 7;
  }
  throw new SnappyError('snappy: length preamble longer than 32 bits');
}

export function compress(input: Uint8Array): Buffer {
  if (native) return native.compressSync(input);
  return encodeBlock(input);
}

/**
 * Decodes one block. Throws `SnappyError` when the block is corrupt (every literal, copy offset and
 * the final length are checked against the preamble) or would decode to more than `maxLength` bytes.
 */
export function uncompress(input: Uint8Array, maxLength = Number.MAX_SAFE_INTEGER): Buffer {
  const len = uncompressedLength(input);
  if (len > maxLength) throw new SnappyError(`snappy: decoded length ${len} exceeds limit ${maxLength}`);
  if (native) {
    try {
      return native.uncompressSync(input, { asBuffer: true });
    } catch (err: unknown) {
      throw new SnappyError(`snappy: corrupt block: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return decodeBlock(input, len);
}

const corrupt = (why: string): SnappyError => new SnappyError(`snappy: corrupt block: ${why}`);

/**
 * Copies `src[from, from + len)` to `dst[at, …)` for a short `len` (a literal of up to 64 bytes):
 * 4 bytes at a time through the DataViews `sv` (over `src`) and `dv` (over `dst`), where a view
 * object and a native `set` per element cost more than the bytes they move.
 */
function moveShort(dst: Uint8Array, dv: DataView, at: number, src: Uint8Array, sv: DataView, from: number, len: number): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) dv.setInt32(at + i, sv.getInt32(from + i, true), true);
  for (; i < len; i++) dst[at + i] = src[from + i]!;
}

/** Strict pure-JS block decoder (snappyjs does not bound-check its output). */
function decodeBlock(src: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  // Short literals and copies (most of a remote-write body) move 4 bytes at a time through
  // DataViews: a native `set`/`copyWithin` per element costs more than the bytes it moves.
  const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let p = 0;
  while (src[p]! & 0x80) p++;
  p++;
  let o = 0;
  const n = src.length;
  while (p < n) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (p + bytes > n) throw corrupt('truncated literal length');
        len = 0;
        for (let i = 0; i < bytes; i++) len += src[p + i]! * 2 ** (8 * i);
        p += bytes;
      }
      len += 1;
      if (p + len > n) throw corrupt('literal runs past the input');
      if (o + len > length) throw corrupt('literal runs past the declared length');
      if (len <= 64) moveShort(out, ov, o, src, sv, p, len);
      else out.set(src.subarray(p, p + len), o);
      p += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (p >= n) throw corrupt('truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[p++]!;
    } else if (kind === 2) {
      if (p + 2 > n) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[p]! | (src[p + 1]! << 8);
      p += 2;
    } else {
      if (p + 4 > n) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16)) + src[p + 3]! * 0x1000000;
      p += 4;
    }
    if (offset === 0 || offset > o) throw corrupt(`copy offset ${offset} outside the output`);
    if (o + len > length) throw corrupt('copy runs past the declared length');
    // A copy reads bytes it may itself have written (offset < len): 4-byte moves are exact while
    // each reads only bytes already written, i.e. offset >= 4.
    let i = 0;
    if (offset >= 4) for (; i + 4 <= len; i += 4) ov.setInt32(o + i, ov.getInt32(o - offset + i, true), true);
    for (; i < len; i++) out[o + i] = out[o - offset + i]!;
    o += len;
  }
  if (o !== length) throw corrupt(`decoded ${o} bytes, preamble declared ${length}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoder: the reference algorithm (64 KiB fragments, a hash table of 4-byte prefixes, skip
// heuristic, copies of at most 64 bytes) in 32-bit integer arithmetic. Output is a valid block
// for every decoder; it is not promised to equal another encoder's bytes.
//
// 4-byte loads go through a DataView (`getInt32(p, true)`): V8 compiles each to one unaligned
// load, where assembling four byte reads costs four bounds-checked loads and three shifts; on
// remote-write bodies the encoder runs ~1.7x faster for it (bench/remote-write-codec.ts). Every
// load stays inside the input: probes stop at `end - INPUT_MARGIN`, match extension at `end - 4`.

const FRAGMENT_SIZE = 1 << 16;
const MAX_HASH_BITS = 14;
const INPUT_MARGIN = 15;
const HASH_MUL = 0x1e35a7bd;
const hashTables: Uint16Array[] = [];
let scratch = Buffer.allocUnsafe(0);
let scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);

/** The largest block `n` input bytes can encode to (the reference MaxCompressedLength). */
function maxEncodedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function encodeBlock(input: Uint8Array): Buffer {
  const n = input.length;
  const need = maxEncodedLength(n);
  if (scratch.length < need) {
    scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
    scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
  }
  const out = scratch;
  let op = 0;
  for (let v = n; ; ) {
    if (v < 0x80) {
      out[op++] = v;
      break;
    }
    out[op++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  for (let pos = 0; pos < n; pos += FRAGMENT_SIZE) op = encodeFragment(input, view, pos, Math.min(FRAGMENT_SIZE, n - pos), out, op);
  // An exact-size copy: the scratch buffer is reused, and callers may hold the block for long.
  return Buffer.from(out.subarray(0, op));
}

/** `view` covers `input`; the output is the scratch buffer (`scratchView`). */
function emitLiteral(input: Uint8Array, view: DataView, from: number, len: number, out: Buffer, op: number): number {
  const n1 = len - 1;
  if (n1 < 60) out[op++] = n1 << 2;
  else if (n1 < 256) {
    out[op++] = 60 << 2;
    out[op++] = n1;
  } else {
    out[op++] = 61 << 2;
    out[op++] = n1 & 0xff;
    out[op++] = n1 >>> 8;
  }
  if (len <= 64) moveShort(out, scratchView, op, input, view, from, len);
  else out.set(input.subarray(from, from + len), op);
  return op + len;
}

/** One copy element of 4–64 bytes. */
function emitCopyUpTo64(out: Buffer, op: number, offset: number, len: number): number {
  if (len < 12 && offset < 2048) {
    out[op] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op + 1] = offset & 0xff;
    return op + 2;
  }
  out[op] = 2 | ((len - 1) << 2);
  out[op + 1] = offset & 0xff;
  out[op + 2] = offset >>> 8;
  return op + 3;
}

function emitCopy(out: Buffer, op: number, offset: number, len: number): number {
  while (len >= 68) {
    op = emitCopyUpTo64(out, op, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopyUpTo64(out, op, offset, 60);
    len -= 60;
  }
  return emitCopyUpTo64(out, op, offset, len);
}

/** Encodes `input[base, base + size)` (size ≤ 64 KiB, so offsets fit the 16-bit table); `view` covers `input`. */
function encodeFragment(input: Uint8Array, view: DataView, base: number, size: number, out: Buffer, op: number): number {
  let bits = 1;
  while (1 << bits <= size && bits <= MAX_HASH_BITS) bits++;
  bits--;
  const shift = 32 - bits;
  const table = (hashTables[bits] ??= new Uint16Array(1 << bits));
  table.fill(0);
  const end = base + size;
  let nextEmit = base;
  if (size >= INPUT_MARGIN) {
    const limit = end - INPUT_MARGIN;
    let ip = base + 1;
    let nextVal = view.getInt32(ip, true);
    outer: for (;;) {
      // Find a 4-byte match, looking further apart the longer nothing matches.
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      for (;;) {
        ip = nextIp;
        const cur = nextVal;
        nextIp = ip + (skip >>> 5);
        skip++;
        if (nextIp > limit) break outer;
        nextVal = view.getInt32(nextIp, true);
        const hash = Math.imul(cur, HASH_MUL) >>> shift;
        candidate = base + table[hash]!;
        table[hash] = ip - base;
        if (cur === view.getInt32(candidate, true)) break;
      }
      op = emitLiteral(input, view, nextEmit, ip - nextEmit, out, op);
      // Emit copies while the byte after each one starts another match.
      for (;;) {
        const start = ip;
        let a = ip + 4;
        let b = candidate + 4;
        while (a + 4 <= end && view.getInt32(a, true) === view.getInt32(b, true)) {
          a += 4;
          b += 4;
        }
        while (a < end && input[a] === input[b]) {
          a++;
          b++;
        }
        ip = a;
        op = emitCopy(out, op, start - candidate, a - start);
        nextEmit = ip;
        if (ip >= limit) break outer;
        table[Math.imul(view.getInt32(ip - 1, true), HASH_MUL) >>> shift] = ip - 1 - base;
        const cur = view.getInt32(ip, true);
        const h = Math.imul(cur, HASH_MUL) >>> shift;
        candidate = base + table[h]!;
        table[h] = ip - base;
        if (cur !== view.getInt32(candidate, true)) break;
      }
      ip++;
      nextVal = view.getInt32(ip, true);
    }
  }
  if (nextEmit < end) op = emitLiteral(input, view, nextEmit, end - nextEmit, out, op);
  return op;
}

/** One codec's block compress and uncompress. */
export interface SnappyCodec {
  compress(b: Uint8Array): Uint8Array;
  uncompress(b: Uint8Array): Uint8Array;
}

/** Every implementation, for tests and benchmarks that compare them. */
export const implementations = {
  /** The napi-rs binding, loaded on first access; undefined where it cannot load. */
  get native(): SnappyCodec | undefined {
    const lib = nativeLib();
    return lib
      ? {
          compress: (b: Uint8Array): Uint8Array => lib.compressSync(b),
          uncompress: (b: Uint8Array): Uint8Array => lib.uncompressSync(b, { asBuffer: true }),
        }
      : undefined;
  },
  js: {
    compress: (b: Uint8Array): Uint8Array => encodeBlock(b),
    uncompress: (b: Uint8Array): Uint8Array => decodeBlock(b, uncompressedLength(b)),
  },
  snappyjs: {
    compress: (b: Uint8Array): Uint8Array => snappyjs.compress(b),
    uncompress: (b: Uint8Array): Uint8Array => snappyjs.uncompress(b),
  },
} as const;
