/**
 * Test-only helpers for the vendored upstream (grafana/alloy) syntax test data under
 * `collector/src/syntax/<stage>/testdata/upstream/`: where it lives, and the adapters between
 * upstream's positions (byte offsets) and ours (UTF-16 offsets). Imported by `*.test.ts` only.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const syntaxRoot = dirname(fileURLToPath(import.meta.url));

/** `collector/src/syntax/<stage>/testdata/upstream`. */
export function upstreamDir(stage: 'parser' | 'printer' | 'scanner' | 'vm'): string {
  return join(syntaxRoot, stage, 'testdata', 'upstream');
}

/**
 * The UTF-8 byte offset of UTF-16 offset `off` in `src`, counting a lone surrogate (an invalid
 * byte kept by `decodeSource`) as the one byte it stands for.
 */
export function byteOffset(src: string, off: number): number {
  let bytes = 0;
  for (let i = 0; i < off; i++) {
    const c = src.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < src.length && (src.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else if (c >= 0xd800 && c < 0xe000) bytes += 1;
    else bytes += 3;
  }
  return bytes;
}
