import { utf8Length, writeUtf8 } from './utf8.js';

describe('utf8Length and writeUtf8', () => {
  const strings = [
    '',
    'a',
    'job',
    '127.0.0.1:9100',
    'x'.repeat(64),
    'x'.repeat(65),
    'y'.repeat(300),
    'kitchen ☕',
    'ü'.repeat(40),
    '😀',
    '\ud800',
    'a\udc00b',
    '\u007f\u0080',
    'ascii then é',
  ];

  it('agrees with Buffer on length and bytes for ASCII, multi-byte, astral, lone surrogates and long strings', () => {
    for (const s of strings) {
      const len = utf8Length(s);
      expect(len).toBe(Buffer.byteLength(s, 'utf8'));
      const out = Buffer.alloc(len + 4, 0xaa);
      expect(writeUtf8(out, 2, s, len)).toBe(2 + len);
      expect(out.subarray(2, 2 + len)).toStrictEqual(Buffer.from(s, 'utf8'));
      // Nothing written outside [2, 2 + len).
      expect([out[0], out[1], out[len + 2], out[len + 3]]).toStrictEqual([0xaa, 0xaa, 0xaa, 0xaa]);
    }
  });
});
