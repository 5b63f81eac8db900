/**
 * Snappy block format (the raw format remote-write uses, not the framed stream format).
 *
 * Uses the napi-rs `snappy` package (prebuilt native binary shipped inside the npm package) when
 * it loads on this platform, and falls back to the pure-JS `snappyjs` otherwise; both produce
 * standard block-format output, so either side can decode the other's bytes. `bench/remote-write-codec.ts`
 * measures both. Nothing here depends on other project folders.
 */
import { createRequire } from 'node:module';

export type SnappyImpl = 'native' | 'js';

interface NativeSnappy {
  compressSync(input: Buffer | Uint8Array): Buffer;
  uncompressSync(input: Buffer | Uint8Array, opts: { asBuffer: true }): Buffer;
}
interface JsSnappy {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}

const require = createRequire(import.meta.url);

function loadNative(): NativeSnappy | undefined {
  if (process.env['ALLOY_TS_SNAPPY'] === 'js') return undefined;
  try {
    return require('snappy') as NativeSnappy;
  } catch {
    return undefined;
  }
}

const native = loadNative();
const js = require('snappyjs') as JsSnappy;

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
  const out = js.compress(input);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Decodes one block. Throws `SnappyError` when the block is corrupt or would decode to more than
 * `maxLength` bytes.
 */
export function uncompress(input: Uint8Array, maxLength = Number.MAX_SAFE_INTEGER): Buffer {
  const len = uncompressedLength(input);
  if (len > maxLength) throw new SnappyError(`snappy: decoded length ${len} exceeds limit ${maxLength}`);
  try {
    if (native) return native.uncompressSync(input, { asBuffer: true });
    const out = js.uncompress(input, maxLength);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } catch (err: unknown) {
    throw new SnappyError(`snappy: corrupt block: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Both implementations, for tests and benchmarks that compare them. */
export const implementations = {
  native: native
    ? {
        compress: (b: Uint8Array): Uint8Array => native.compressSync(b),
        uncompress: (b: Uint8Array): Uint8Array => native.uncompressSync(b, { asBuffer: true }),
      }
    : undefined,
  js: {
    compress: (b: Uint8Array): Uint8Array => js.compress(b),
    uncompress: (b: Uint8Array): Uint8Array => js.uncompress(b),
  },
} as const;
