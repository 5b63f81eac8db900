/**
 * The lexer. It works on UTF-16 char codes (no per-character regexes) and tracks line/column as
 * it goes. Like Alloy (and Go) it inserts a `TERMINATOR` at a newline, or at EOF, that follows a
 * token able to end a statement; other newlines are whitespace. Comments are returned as
 * `COMMENT` tokens. Lexical errors are reported through the `onError` callback and scanning goes
 * on, so a file yields every error. Error texts and positions follow Alloy's scanner: every NUL,
 * byte order mark (except a leading one) and invalid UTF-8 byte is reported where it occurs,
 * inside strings, comments and identifiers too. Source text read from disk must be decoded with
 * `decodeSource` so that invalid UTF-8 bytes survive as lone surrogates and can be reported
 * (`illegal UTF-8 encoding`) instead of silently becoming U+FFFD. Depends only on `./token.ts`.
 */
import { isUtf8 } from 'node:buffer';
import type { Token } from './token.js';

export type ScanErrorHandler = (offset: number, line: number, column: number, message: string) => void;

const CH_NL = 10;
const CH_CR = 13;
const CH_TAB = 9;
const CH_SP = 32;
const CH_BOM = 0xfeff;

function isAsciiLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isDecimal(c: number): boolean {
  return c >= 48 && c <= 57;
}
const UNICODE_LETTER = /\p{L}/u;
const UNICODE_DIGIT = /\p{Nd}/u;
function isLetterAt(src: string, i: number): boolean {
  const c = src.charCodeAt(i);
  if (c < 128) return isAsciiLetter(c);
  return UNICODE_LETTER.test(String.fromCodePoint(src.codePointAt(i) ?? c));
}
function isIdentPartAt(src: string, i: number): boolean {
  const c = src.charCodeAt(i);
  if (c < 128) return isAsciiLetter(c) || isDecimal(c);
  const ch = String.fromCodePoint(src.codePointAt(i) ?? c);
  return UNICODE_LETTER.test(ch) || UNICODE_DIGIT.test(ch);
}

/** True if `s` is a valid identifier (a letter or `_` followed by letters, digits, `_`). */
export function isValidIdentifier(s: string): boolean {
  if (s.length === 0 || !isLetterAt(s, 0)) return false;
  for (let i = s.codePointAt(0)! > 0xffff ? 2 : 1; i < s.length; i++) {
    if (!isIdentPartAt(s, i)) return false;
    if (s.charCodeAt(i) >= 0xd800 && s.charCodeAt(i) < 0xdc00) i++;
  }
  return true;
}

function keyword(lit: string): Token {
  switch (lit) {
    case 'true':
    case 'false':
      return 'BOOL';
    case 'null':
      return 'NULL';
    default:
      return 'IDENT';
  }
}

/**
 * Decodes config bytes as UTF-8, keeping each byte of an invalid sequence as the lone surrogate
 * U+DC80+byte (Python's "surrogateescape"), which valid UTF-8 can never produce: the scanner
 * reports those as `illegal UTF-8 encoding`. Valid input decodes exactly as `toString('utf8')`.
 */
export function decodeSource(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  // One pass into UTF-16 code units (never more units than bytes), then one string.
  const n = buf.length;
  const units = new Uint16Array(n);
  let u = 0;
  let i = 0;
  while (i < n) {
    const c = buf[i]!;
    if (c < 0x80) {
      units[u++] = c;
      i++;
      continue;
    }
    const len = utf8SequenceLength(buf, i, c);
    if (len === 0) {
      units[u++] = 0xdc00 + c;
      i++;
      continue;
    }
    let cp: number;
    if (len === 2) cp = ((c & 0x1f) << 6) | (buf[i + 1]! & 0x3f);
    else if (len === 3) cp = ((c & 0x0f) << 12) | ((buf[i + 1]! & 0x3f) << 6) | (buf[i + 2]! & 0x3f);
    else cp = ((c & 0x07) << 18) | ((buf[i + 1]! & 0x3f) << 12) | ((buf[i + 2]! & 0x3f) << 6) | (buf[i + 3]! & 0x3f);
    if (cp > 0xffff) {
      cp -= 0x10000;
      units[u++] = 0xd800 + (cp >> 10);
      units[u++] = 0xdc00 + (cp & 0x3ff);
    } else units[u++] = cp;
    i += len;
  }
  let out = '';
  for (let k = 0; k < u; k += 8192) out += String.fromCharCode(...units.subarray(k, Math.min(u, k + 8192)));
  return out;
}

function isContinuation(b: Buffer, i: number): boolean {
  return i < b.length && (b[i]! & 0xc0) === 0x80;
}

/** Length of the valid UTF-8 sequence starting with byte `c` at `i` (2-4), or 0 when there is none. */
function utf8SequenceLength(b: Buffer, i: number, c: number): number {
  if (c >= 0xc2 && c <= 0xdf) return isContinuation(b, i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!isContinuation(b, i + 1) || !isContinuation(b, i + 2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!isContinuation(b, i + 1) || !isContinuation(b, i + 2) || !isContinuation(b, i + 3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

/** Go's `%#U`: `U+0007` for a non-printable character, `U+2026 '…'` for a printable one. */
export function formatCodePoint(cp: number): string {
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return PRINTABLE.test(String.fromCodePoint(cp)) ? `${u} '${String.fromCodePoint(cp)}'` : u;
}
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c < 0xdc00;
}
function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
}

export class Scanner {
  readonly #src: string;
  readonly #onError: ScanErrorHandler;
  #off = 0;
  #line = 1;
  #lineStart = 0;
  #insertTerm = false;
  /** Characters before this offset were checked for NUL, BOM and invalid UTF-8. */
  #checked = 0;

  // Current token (valid after scan()).
  tok: Token = 'EOF';
  lit = '';
  start = 0;
  startLine = 1;
  startCol = 1;
  end = 0;
  endLine = 1;
  endCol = 1;

  /**
   * `from`: start scanning at a statement boundary inside `src` (its offset, line, and the offset
   * of that line's first character) instead of at its beginning; earlier text is not read.
   */
  constructor(src: string, onError: ScanErrorHandler, from?: { readonly offset: number; readonly line: number; readonly lineStart: number }) {
    this.#src = src;
    this.#onError = onError;
    if (from && from.offset > 0) {
      this.#off = from.offset;
      this.#line = from.line;
      this.#lineStart = from.lineStart;
      this.#checked = from.offset;
    } else if (src.charCodeAt(0) === CH_BOM) {
      this.#off = 1;
      this.#lineStart = 1;
      this.#checked = 1;
    }
  }

  /**
   * Reports NUL, a byte order mark and invalid UTF-8 (lone surrogates) in `[#checked, to)`, as
   * Alloy's scanner does when it reads each character (it reads one character past a token).
   */
  #checkChars(to: number): void {
    const src = this.#src;
    let i = this.#checked;
    if (to <= i) return;
    for (; i < to; i++) {
      const c = src.charCodeAt(i);
      if (c === 0) this.#error(i, 'illegal character NUL');
      else if (c >= 0xd800 && c < 0xe000) {
        if (isHighSurrogate(c) && isLowSurrogate(src.charCodeAt(i + 1))) i++;
        else this.#error(i, 'illegal UTF-8 encoding');
      } else if (c === CH_BOM) this.#error(i, 'illegal byte order mark');
    }
    this.#checked = i;
  }

  #error(offset: number, message: string): void {
    // Offsets reported here are on the current line or an earlier one; find the line by scanning back.
    let line = this.#line;
    let ls = this.#lineStart;
    while (offset < ls && line > 1) {
      line--;
      let p = ls - 2;
      while (p >= 0 && this.#src.charCodeAt(p) !== CH_NL) p--;
      ls = p + 1;
    }
    this.#onError(offset, line, offset - ls + 1, message);
  }

  #newline(at: number): void {
    this.#line++;
    this.#lineStart = at + 1;
  }

  /** Advances to the next token and fills `tok`, `lit` and the position fields. */
  scan(): Token {
    const tok = this.#scanToken();
    this.#checkChars(Math.min(this.#src.length, Math.max(this.end, this.#off) + 1));
    return tok;
  }

  #scanToken(): Token {
    const src = this.#src;
    const n = src.length;
    let i = this.#off;
    for (;;) {
      // Skip whitespace; a newline is whitespace unless a terminator is pending.
      while (i < n) {
        const c = src.charCodeAt(i);
        if (c === CH_SP || c === CH_TAB || c === CH_CR) i++;
        else if (c === CH_NL && !this.#insertTerm) {
          this.#newline(i);
          i++;
        } else break;
      }
      this.start = i;
      this.startLine = this.#line;
      this.startCol = i - this.#lineStart + 1;
      if (i >= n) {
        this.#off = i;
        if (this.#insertTerm) {
          this.#insertTerm = false;
          return this.#finish('TERMINATOR', '\n', i);
        }
        return this.#finish('EOF', '', i);
      }
      const c = src.charCodeAt(i);
      let insert = false;
      let tok: Token;
      let lit = '';
      if (c < 128 ? isAsciiLetter(c) : isLetterAt(src, i)) {
        let j = i + 1;
        while (j < n) {
          const d = src.charCodeAt(j);
          if (d < 128) {
            if (isAsciiLetter(d) || isDecimal(d)) j++;
            else break;
          } else if (isIdentPartAt(src, j)) j += d >= 0xd800 && d < 0xdc00 ? 2 : 1;
          else break;
        }
        lit = src.slice(i, j);
        tok = keyword(lit);
        insert = true;
        i = j;
      } else if (isDecimal(c) || (c === 46 && isDecimal(src.charCodeAt(i + 1)))) {
        const r = this.#scanNumber(i);
        tok = r.tok;
        lit = src.slice(i, r.end);
        i = r.end;
        insert = true;
      } else {
        i++;
        switch (c) {
          case CH_NL:
            // Only reachable when a terminator is pending.
            this.#insertTerm = false;
            this.#newline(i - 1);
            this.#off = i;
            this.endLine = this.startLine;
            this.endCol = this.startCol + 1;
            this.end = i;
            this.tok = 'TERMINATOR';
            this.lit = '\n';
            return 'TERMINATOR';
          case 34: // "
            tok = 'STRING';
            i = this.#scanString(i, 34, true);
            lit = src.slice(this.start, i);
            insert = true;
            break;
          case 96: // `
            tok = 'STRING';
            i = this.#scanString(i, 96, false);
            lit = src.slice(this.start, i);
            insert = true;
            break;
          case 39: // '
            this.#error(this.start, 'illegal single-quoted string; use double quotes');
            tok = 'ILLEGAL';
            i = this.#scanString(i, 39, true);
            lit = src.slice(this.start, i);
            insert = true;
            break;
          case 124: // |
            if (src.charCodeAt(i) === 124) i++;
            else this.#error(i, 'missing second | in ||');
            tok = 'OR';
            break;
          case 38: // &
            if (src.charCodeAt(i) === 38) i++;
            else this.#error(i, 'missing second & in &&');
            tok = 'AND';
            break;
          case 33: // !
            if (src.charCodeAt(i) === 61) {
              i++;
              tok = 'NEQ';
            } else tok = 'NOT';
            break;
          case 61: // =
            if (src.charCodeAt(i) === 61) {
              i++;
              tok = 'EQ';
            } else tok = 'ASSIGN';
            break;
          case 60: // <
            if (src.charCodeAt(i) === 61) {
              i++;
              tok = 'LTE';
            } else tok = 'LT';
            break;
          case 62: // >
            if (src.charCodeAt(i) === 61) {
              i++;
              tok = 'GTE';
            } else tok = 'GT';
            break;
          case 43:
            tok = 'ADD';
            break;
          case 45:
            tok = 'SUB';
            break;
          case 42:
            tok = 'MUL';
            break;
          case 47: {
            // /
            const d = src.charCodeAt(i);
            if (d === 47 || d === 42) {
              // A pending terminator goes before a comment that runs to the end of the line.
              if (this.#insertTerm && this.#commentReachesLineEnd(i - 1)) {
                this.#insertTerm = false;
                this.#off = this.start;
                this.end = this.start;
                this.endLine = this.startLine;
                this.endCol = this.startCol;
                this.tok = 'TERMINATOR';
                this.lit = '\n';
                return 'TERMINATOR';
              }
              i = this.#scanComment(i - 1);
              tok = 'COMMENT';
              lit = src.slice(this.start, i);
              if (lit.indexOf('\r') >= 0) lit = stripCommentCR(lit);
              // A comment preserves the pending-terminator state only if it did not end the line
              // (handled above); otherwise it consumed it.
              this.#insertTerm = false;
              this.#off = i;
              return this.#finish('COMMENT', lit, i, false);
            }
            tok = 'DIV';
            break;
          }
          case 37:
            tok = 'MOD';
            break;
          case 94:
            tok = 'POW';
            break;
          case 123:
            tok = 'LCURLY';
            break;
          case 125:
            tok = 'RCURLY';
            insert = true;
            break;
          case 40:
            tok = 'LPAREN';
            break;
          case 41:
            tok = 'RPAREN';
            insert = true;
            break;
          case 91:
            tok = 'LBRACK';
            break;
          case 93:
            tok = 'RBRACK';
            insert = true;
            break;
          case 44:
            tok = 'COMMA';
            break;
          case 46:
            tok = 'DOT';
            break;
          default: {
            let cp = src.codePointAt(i - 1) ?? c;
            if (cp > 0xffff) i++;
            // Invalid UTF-8 reads as U+FFFD (reported by #checkChars, as NUL and BOMs are).
            else if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
            if (cp !== CH_BOM) this.#error(this.start, `illegal character ${formatCodePoint(cp)}`);
            insert = this.#insertTerm;
            tok = 'ILLEGAL';
            lit = String.fromCodePoint(cp);
          }
        }
      }
      this.#insertTerm = insert;
      this.#off = i;
      return this.#finish(tok, lit, i);
    }
  }

  #finish(tok: Token, lit: string, end: number, singleLine = true): Token {
    this.tok = tok;
    this.lit = lit;
    this.end = end;
    if (singleLine) {
      this.endLine = this.#line;
      this.endCol = end - this.#lineStart + 1;
    } else {
      this.endLine = this.#line;
      this.endCol = end - this.#lineStart + 1;
    }
    return tok;
  }

  #scanNumber(i: number): { tok: Token; end: number } {
    const src = this.#src;
    let tok: Token = 'NUMBER';
    const start = i;
    while (isDecimal(src.charCodeAt(i))) i++;
    if (src.charCodeAt(i) === 46) {
      tok = 'FLOAT';
      i++;
      while (isDecimal(src.charCodeAt(i))) i++;
    }
    const e = src.charCodeAt(i);
    if (e === 101 || e === 69) {
      tok = 'FLOAT';
      i++;
      const s = src.charCodeAt(i);
      if (s === 43 || s === 45) i++;
      const d0 = i;
      while (isDecimal(src.charCodeAt(i))) i++;
      if (i === d0) this.#error(start, 'exponent has no digits');
    }
    return { tok, end: i };
  }

  /** Scans a string body after its opening quote; returns the offset after the closing quote. */
  #scanString(i: number, quote: number, escapes: boolean): number {
    const src = this.#src;
    const n = src.length;
    const open = i - 1;
    for (;;) {
      if (i >= n) {
        this.#error(open, 'string literal not terminated');
        return i;
      }
      const c = src.charCodeAt(i);
      if (c === CH_NL) {
        if (escapes) {
          this.#error(open, 'string literal not terminated');
          return i;
        }
        this.#newline(i);
        i++;
        continue;
      }
      i++;
      if (c === quote) return i;
      if (escapes && c === 92) i = this.#scanEscape(i);
    }
  }

  #scanEscape(i: number): number {
    const src = this.#src;
    const at = i - 1;
    const c = src.charCodeAt(i);
    let digits: number;
    let base: number;
    let max: number;
    switch (c) {
      case 97: case 98: case 102: case 110: case 114: case 116: case 118: case 92: case 34:
        return i + 1;
      case 48: case 49: case 50: case 51: case 52: case 53: case 54: case 55:
        digits = 3; base = 8; max = 255;
        break;
      case 120: // x
        i++; digits = 2; base = 16; max = 255;
        break;
      case 117: // u
        i++; digits = 4; base = 16; max = 0x10ffff;
        break;
      case 85: // U
        i++; digits = 8; base = 16; max = 0x10ffff;
        break;
      default:
        this.#error(at, i >= src.length ? 'escape sequence not terminated' : 'unknown escape sequence');
        return i;
    }
    let x = 0;
    while (digits > 0) {
      const d = digitVal(src.charCodeAt(i));
      if (d >= base) {
        if (i >= src.length) this.#error(at, 'escape sequence not terminated');
        else {
          const cp = src.codePointAt(i) ?? 0;
          this.#error(at, `illegal character ${formatCodePoint(cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp)} in escape sequence`);
        }
        return i;
      }
      x = x * base + d;
      i++;
      digits--;
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) this.#error(at, 'escape sequence is invalid Unicode code point');
    return i;
  }

  /** Scans a comment starting at `i` (the first `/`); returns the offset after it. */
  #scanComment(i: number): number {
    const src = this.#src;
    const n = src.length;
    if (src.charCodeAt(i + 1) === 47) {
      i += 2;
      while (i < n && src.charCodeAt(i) !== CH_NL) i++;
      return i;
    }
    const open = i;
    i += 2;
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 42 && src.charCodeAt(i + 1) === 47) return i + 2;
      if (c === CH_NL) this.#newline(i);
      i++;
    }
    this.#error(open, 'block comment not terminated');
    return i;
  }

  /** True if the comment(s) starting at `i` run to a newline or EOF before any other token. */
  #commentReachesLineEnd(i: number): boolean {
    const src = this.#src;
    const n = src.length;
    while (i < n && src.charCodeAt(i) === 47) {
      const d = src.charCodeAt(i + 1);
      if (d === 47) return true;
      if (d !== 42) return false;
      i += 2;
      let closed = false;
      while (i < n) {
        const c = src.charCodeAt(i);
        if (c === CH_NL) return true;
        if (c === 42 && src.charCodeAt(i + 1) === 47) {
          i += 2;
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) return true;
      while (i < n) {
        const c = src.charCodeAt(i);
        if (c === CH_SP || c === CH_TAB || c === CH_CR) i++;
        else break;
      }
      if (i >= n || src.charCodeAt(i) === CH_NL) return true;
    }
    return false;
  }
}

/**
 * Alloy's comment literal: a final `\r` (of a `\r\n` line end) is dropped, and other carriage
 * returns are removed except one between `*` and `/` inside a block comment (golang/go#11151).
 */
function stripCommentCR(lit: string): string {
  const block = lit.charCodeAt(1) === 42;
  if (lit.endsWith('\r')) lit = lit.slice(0, -1);
  if (lit.indexOf('\r') < 0) return lit;
  let out = '';
  for (let j = 0; j < lit.length; j++) {
    const ch = lit[j]!;
    if (ch !== '\r' || (block && out.length > 2 && out.endsWith('*') && lit[j + 1] === '/')) out += ch;
  }
  return out;
}

function digitVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 97 + 10;
  return 16;
}

/**
 * Decodes a string literal's source text (with its quotes) into its value. Raw (backtick)
 * strings are taken verbatim minus carriage returns. Assumes the scanner validated the escapes;
 * invalid escapes are kept as written.
 */
export function unquoteString(lit: string): string {
  if (lit.length < 2) return '';
  const q = lit.charCodeAt(0);
  const body = lit.slice(1, lit.charCodeAt(lit.length - 1) === q && lit.length >= 2 ? -1 : undefined);
  if (q === 96) return body.indexOf('\r') >= 0 ? body.replace(/\r/g, '') : body;
  if (body.indexOf('\\') < 0) return body;
  let out = '';
  let i = 0;
  const n = body.length;
  while (i < n) {
    const c = body.charCodeAt(i);
    if (c !== 92) {
      const j = body.indexOf('\\', i);
      const stop = j < 0 ? n : j;
      out += body.slice(i, stop);
      i = stop;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case 'x': {
        // Go's \x is a byte; decode runs of \x bytes as UTF-8.
        const bytes: number[] = [parseInt(body.slice(i, i + 2), 16)];
        i += 2;
        while (body.charCodeAt(i) === 92 && (body[i + 1] === 'x' || /[0-7]/.test(body[i + 1] ?? ''))) {
          if (body[i + 1] === 'x') {
            bytes.push(parseInt(body.slice(i + 2, i + 4), 16));
            i += 4;
          } else {
            bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
            i += 4;
          }
        }
        out += Buffer.from(bytes).toString('utf8');
        break;
      }
      case 'u':
        out += String.fromCodePoint(parseInt(body.slice(i, i + 4), 16) || 0);
        i += 4;
        break;
      case 'U':
        out += String.fromCodePoint(Math.min(parseInt(body.slice(i, i + 8), 16) || 0, 0x10ffff));
        i += 8;
        break;
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          const bytes: number[] = [parseInt(body.slice(i - 1, i + 2), 8)];
          i += 2;
          while (body.charCodeAt(i) === 92 && /[0-7]/.test(body[i + 1] ?? '')) {
            bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
            i += 4;
          }
          out += Buffer.from(bytes).toString('utf8');
        } else out += '\\' + (e ?? '');
    }
  }
  return out;
}

/** Quotes a string as an Alloy double-quoted literal (Go `%q` style escapes). */
export function quoteString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 34: out += '\\"'; break;
      case 92: out += '\\\\'; break;
      case 10: out += '\\n'; break;
      case 13: out += '\\r'; break;
      case 9: out += '\\t'; break;
      case 7: out += '\\a'; break;
      case 8: out += '\\b'; break;
      case 12: out += '\\f'; break;
      case 11: out += '\\v'; break;
      default:
        if (c < 32 || c === 127) out += '\\x' + c.toString(16).padStart(2, '0');
        else out += s[i];
    }
  }
  return out + '"';
}
