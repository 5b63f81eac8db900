/**
 * Snappy block format (the raw format remote-write uses, not the framed stream format).
 *
 * Two interchangeable implementations: pure-JS `snappyjs` and the napi-rs `snappy` package
 * (prebuilt native binary shipped inside the npm package). `bench/remote-write-codec.ts` measures
 * both on remote-write bodies; on 2000-sample WriteRequests snappyjs compressed ~1.3x and
 * decompressed ~1.4x faster than the napi binding (call + copy overhead dominates), so snappyjs is
 * the default. `ALLOY_TS_SNAPPY=native` selects the native one when it loads (falling back to
 * snappyjs when it does not). Nothing here depends on other project folders.
 */
import { createRequire } from 'node:module';
// Imported statically so bundles (the standalone executable) carry it; the native binding stays
// optional and is loaded only where it can be.
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

const nativeLib = loadNative();
const native = process.env['ALLOY_TS_SNAPPY'] === 'native' ? nativeLib : undefined;

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
  const out = snappyjs.compress(input);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
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

/** Strict pure-JS block decoder (snappyjs does not bound-check its output). */
function decodeBlock(src: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
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
      if (len < 16) for (let i = 0; i < len; i++) out[o + i] = src[p + i]!;
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
    if (offset >= len) out.copyWithin(o, o - offset, o - offset + len);
    else for (let i = 0; i < len; i++) out[o + i] = out[o - offset + i]!;
    o += len;
  }
  if (o !== length) throw corrupt(`decoded ${o} bytes, preamble declared ${length}`);
  return out;
}

/** Both implementations, for tests and benchmarks that compare them. */
export const implementations = {
  native: nativeLib
    ? {
        compress: (b: Uint8Array): Uint8Array => nativeLib.compressSync(b),
        uncompress: (b: Uint8Array): Uint8Array => nativeLib.uncompressSync(b, { asBuffer: true }),
      }
    : undefined,
  js: {
    compress: (b: Uint8Array): Uint8Array => snappyjs.compress(b),
    uncompress: (b: Uint8Array): Uint8Array => decodeBlock(b, uncompressedLength(b)),
  },
  snappyjs: {
    compress: (b: Uint8Array): Uint8Array => snappyjs.compress(b),
    uncompress: (b: Uint8Array): Uint8Array => snappyjs.uncompress(b),
  },
} as const;
