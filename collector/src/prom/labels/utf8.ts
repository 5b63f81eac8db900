/**
 * UTF-8 byte length and in-place writing of label strings for the binary encoders (remote-write
 * protobuf, WAL records). Label names and most values are short ASCII: those are counted and
 * copied in JS, which costs far less than a call into the runtime's UTF-8 codec per string;
 * anything else (non-ASCII, longer than 64 code units) goes through `Buffer`.
 */

/** Strings longer than this are always measured and written by `Buffer`. */
const SHORT = 64;

/** UTF-8 byte length of `s` (lone surrogates count as U+FFFD, as `Buffer` writes them). */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/**
 * Writes `s`, whose UTF-8 length `len` came from `utf8Length`, at `p`; returns the position after
 * it. The caller has made room for `len` bytes. A UTF-8 length equal to the string's length means
 * every code unit is ASCII (anything else takes two bytes or more).
 */
export function writeUtf8(buf: Buffer, p: number, s: string, len: number): number {
  if (len === s.length && len <= SHORT) {
    for (let i = 0; i < len; i++) buf[p + i] = s.charCodeAt(i);
    return p + len;
  }
  return p + buf.write(s, p, len, 'utf8');
}
