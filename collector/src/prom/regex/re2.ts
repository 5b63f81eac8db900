/**
 * RE2 → V8 RegExp translation for Prometheus relabel regexes. Prometheus compiles relabel regexes
 * with Go's RE2-syntax engine, fully anchored (`^(?:re)$`); this module parses that syntax and
 * emits an equivalent JavaScript pattern. Constructs RE2 rejects (backreferences, lookaround,
 * `\C`, nested repetition, repeat counts over 1000) are rejected with an `Re2SyntaxError` naming
 * the construct and its offset. Depends on nothing; used by `prom/relabel` and components.
 *
 * Semantics kept from RE2: `\d \w \s \b` are ASCII-only; `.` excludes `\n` unless `(?s)`; `$`
 * matches only at the end of text unless `(?m)`; `(?U)` swaps greediness; `(?i)` (leading or
 * scoped) folds case per character with simple case folding.
 *
 * Known divergence: a group that can match empty inside a counted repeat (`(a|){1,2}`) may keep
 * its previous capture where RE2 records the empty last iteration (JS rejects empty iterations).
 * Matching is unaffected. Tests compare against re2js (a port of RE2) on generated patterns.
 *
 * Linear time: patterns are emitted without flags whenever possible (the `u` flag only for `\p{..}`
 * classes or characters beyond U+FFFF), and this module turns on V8's fallback to its linear-time
 * engine on excessive backtracking, so catastrophic patterns such as `(a*)*b` finish like in RE2.
 */

import v8 from 'node:v8';

export class Re2SyntaxError extends Error {
  constructor(
    readonly pattern: string,
    readonly offset: number,
    readonly construct: string,
    detail: string,
  ) {
    super(`invalid regex ${JSON.stringify(pattern)} at offset ${offset}: ${construct}: ${detail}`);
    this.name = 'Re2SyntaxError';
  }
}

export interface CompiledRe2 {
  /** The original RE2 source (unanchored), e.g. `(.*)`. */
  readonly source: string;
  /** Anchored JavaScript equivalent: matches only whole strings. */
  readonly regexp: RegExp;
  /** Capture group names by index (index 0 is the whole match); `undefined` for unnamed groups. */
  readonly groupNames: readonly (string | undefined)[];
  /** Number of capture groups, excluding group 0. */
  readonly groupCount: number;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

type Range = [number, number];

const MAX_REPEAT = 1000;
const MAX_CP = 0x10ffff;

const PERL: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const POSIX: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

function normalize(ranges: Range[]): Range[] {
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

function complement(ranges: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

/** Adds simple case variants of every code point in small ranges (RE2 `(?i)` on classes). */
function caseFold(ranges: Range[]): Range[] {
  const out: Range[] = ranges.map((r) => [r[0], r[1]] as Range);
  for (const [lo, hi] of ranges) {
    const end = Math.min(hi, lo + 0x2000);
    for (let cp = lo; cp <= end; cp++) {
      for (const v of caseVariants(cp)) if (v !== cp) out.push([v, v]);
    }
  }
  return normalize(out);
}

function caseVariants(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const res = [cp];
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    const c = v.codePointAt(0)!;
    if (v.length === String.fromCodePoint(c).length && !res.includes(c)) res.push(c);
  }
  return res;
}

const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/'.split('').map((c) => c.charCodeAt(0)));
const CLASS_SPECIAL = new Set('\\]^-['.split('').map((c) => c.charCodeAt(0)));

function litCp(cp: number, inClass: boolean, unicode: boolean): string {
  if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0x2028 || cp === 0x2029 || cp > 0xffff) {
    return unicode ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  }
  if (inClass ? CLASS_SPECIAL.has(cp) : SYNTAX_CHARS.has(cp)) return '\\' + String.fromCodePoint(cp);
  return String.fromCodePoint(cp);
}

/** Class members; without the `u` flag ranges are in UTF-16 code units, so they stop at U+FFFF. */
function classBody(ranges: Range[], unicode: boolean): string {
  let s = '';
  for (const [lo, rawHi] of ranges) {
    const hi = unicode ? rawHi : Math.min(rawHi, 0xffff);
    if (lo > hi) continue;
    if (lo === hi) s += litCp(lo, true, unicode);
    else s += litCp(lo, true, unicode) + '-' + litCp(hi, true, unicode);
  }
  return s;
}

type Atom = string;

/** Thrown when a flag-free translation cannot express a class; the pattern is redone with `u`. */
class NeedsUnicode extends Error {}

const BMP_NON_SURROGATE: Range[] = [[0, 0xd7ff], [0xe000, 0xffff]];
const ASTRAL: Range = [0x10000, MAX_CP];

function intersect(a: Range[], b: Range[]): Range[] {
  const out: Range[] = [];
  for (const [alo, ahi] of a) for (const [blo, bhi] of b) {
    const lo = Math.max(alo, blo);
    const hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi]);
  }
  return normalize(out);
}

function rangesToClass(ranges: Range[], negate: boolean, unicode: boolean): Atom {
  const n = normalize(ranges);
  if (unicode) {
    if (n.length === 0) return negate ? '[\\s\\S]' : '[^\\s\\S]';
    return (negate ? '[^' : '[') + classBody(n, unicode) + ']';
  }
  // Flag-free: make the set explicit, then split BMP characters from astral ones.
  const set = negate ? complement(n) : n;
  const bmp = intersect(set, BMP_NON_SURROGATE);
  const astral = intersect(set, [ASTRAL]);
  const bmpClass = bmp.length === 0 ? '' : '[' + classBody(bmp, false) + ']';
  if (astral.length === 0) return bmpClass === '' ? '[^\\s\\S]' : bmpClass;
  if (astral.length !== 1 || astral[0]![0] !== ASTRAL[0] || astral[0]![1] !== ASTRAL[1]) throw new NeedsUnicode();
  // Astral characters are surrogate pairs without `u`: match them as one unit, as RE2 does.
  // (Measured: as fast as a plain code-unit class on typical label values.)
  const pair = '[\\ud800-\\udbff][\\udc00-\\udfff]';
  return bmpClass === '' ? `(?:${pair})` : `(?:${bmpClass}|${pair})`;
}

/** A piece of translated output: either exact JS source or a set of code-point ranges. */
type Item = { kind: 'src'; src: string } | { kind: 'ranges'; ranges: Range[]; negate: boolean; uprop?: string };

class Translator {
  #p: string;
  #pos = 0;
  #groupNames: (string | undefined)[] = [undefined];
  #names = new Set<string>();
  #globalI = false;
  /** Emit for the `u` flag: needed for `\\p{..}` classes and characters beyond U+FFFF. */
  readonly unicode: boolean;

  constructor(pattern: string, forceUnicode = false) {
    this.#p = pattern;
    this.unicode = forceUnicode || needsUnicode(pattern);
  }

  fail(construct: string, detail: string, at = this.#pos): never {
    throw new Re2SyntaxError(this.#p, at, construct, detail);
  }

  get groupNames(): (string | undefined)[] {
    return this.#groupNames;
  }

  translate(): { src: string; globalI: boolean } {
    const flags: Flags = { i: false, m: false, s: false, U: false };
    // A leading `(?i)` (possibly with other flags) applies to the whole pattern: use the `i` flag.
    const lead = /^\(\?([imsU]+)\)/.exec(this.#p);
    if (this.unicode && lead && lead[1]!.includes('i') && !/\(\?[imsU]*-[imsU]*i/.test(this.#p)) {
      this.#globalI = true;
    }
    const src = this.#alternation(flags, 0);
    if (this.#pos < this.#p.length) this.fail('unmatched )', 'closing parenthesis without an opening one');
    return { src, globalI: this.#globalI };
  }

  #peek(): number {
    return this.#pos < this.#p.length ? this.#p.codePointAt(this.#pos)! : -1;
  }

  #next(): number {
    const cp = this.#p.codePointAt(this.#pos)!;
    this.#pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  #alternation(flags: Flags, depth: number): string {
    const branches: string[] = [this.#concat(flags, depth)];
    while (this.#peek() === 0x7c /* | */) {
      this.#pos++;
      branches.push(this.#concat(flags, depth));
    }
    return branches.join('|');
  }

  /** Parses items until `|`, `)` or end. Flag groups like `(?i)` mutate `flags` for the rest of the group. */
  #concat(flags: Flags, depth: number): string {
    let out = '';
    for (;;) {
      const c = this.#peek();
      if (c === -1 || c === 0x7c) return out;
      if (c === 0x29 /* ) */) {
        if (depth === 0) this.fail('unmatched )', 'closing parenthesis without an opening one');
        return out;
      }
      const start = this.#pos;
      const atom = this.#atom(flags, depth);
      if (atom === null) continue; // a flag-setting group: no output
      out += this.#quantifier(atom, flags, start);
    }
  }

  #quantifier(atom: Atom, flags: Flags, atomStart: number): string {
    const c = this.#peek();
    let q = '';
    const qStart = this.#pos;
    if (c === 0x2a || c === 0x2b || c === 0x3f) {
      this.#pos++;
      q = String.fromCharCode(c);
    } else if (c === 0x7b) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#p.slice(this.#pos));
      if (!m) return atom; // a literal `{` is handled by the caller next round
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT) this.fail('repetition count', `${m[0]} exceeds RE2's maximum of ${MAX_REPEAT}`, qStart);
      if (max !== -1 && max < min) this.fail('repetition range', `${m[0]} has max < min`, qStart);
      this.#pos += m[0].length;
      q = m[0];
    } else {
      return atom;
    }
    if (atom === '') this.fail('missing argument to repetition operator', `${q} has nothing to repeat`, qStart);
    let lazy = false;
    if (this.#peek() === 0x3f) {
      this.#pos++;
      lazy = true;
    }
    const n = this.#peek();
    if (n === 0x2a || n === 0x2b || n === 0x3f || (n === 0x7b && /^\{\d+(,\d*)?\}/.test(this.#p.slice(this.#pos)))) {
      this.fail('invalid nested repetition operator', `${this.#p.slice(atomStart, this.#pos + 1)} (possessive or doubled quantifiers are not RE2)`, this.#pos);
    }
    if (flags.U) lazy = !lazy;
    return atom + q + (lazy ? '?' : '');
  }

  /** One atom; returns null for a bare flag group `(?i)`. */
  #atom(flags: Flags, depth: number): Atom | null {
    const start = this.#pos;
    const c = this.#next();
    switch (c) {
      case 0x28 /* ( */:
        return this.#group(flags, depth, start);
      case 0x5b /* [ */:
        return this.#emitItem(this.#class(flags, start), flags);
      case 0x2e /* . */:
        return rangesToClass(flags.s ? [[0, MAX_CP]] : [[0x0a, 0x0a]], !flags.s, this.unicode);
      case 0x5e /* ^ */:
        return flags.m ? '(?:^|(?<=\\n))' : '(?:^)';
      case 0x24 /* $ */:
        return flags.m ? '(?:$|(?=\\n))' : '(?:$)';
      case 0x5c /* \ */:
        return this.#escape(flags, start);
      case 0x2a:
      case 0x2b:
      case 0x3f:
        this.fail('missing argument to repetition operator', `${String.fromCharCode(c)} has nothing to repeat`, start);
      // eslint-disable-next-line no-fallthrough
      default:
        return this.#literal(c, flags);
    }
  }

  #literal(cp: number, flags: Flags): string {
    if (flags.i && !this.#globalI) {
      const vs = caseVariants(cp);
      if (vs.length > 1) return rangesToClass(vs.map((v) => [v, v] as Range), false, this.unicode);
    }
    return litCp(cp, false, this.unicode);
  }

  #emitItem(item: Item, flags: Flags): Atom {
    if (item.kind === 'src') return item.src;
    if (item.uprop !== undefined) return item.uprop;
    const ranges = flags.i && !this.#globalI ? caseFold(item.ranges) : item.ranges;
    return rangesToClass(ranges, item.negate, this.unicode);
  }

  #group(outer: Flags, depth: number, start: number): string | null {
    const rest = this.#p.slice(this.#pos);
    if (rest.startsWith('?')) {
      if (rest.startsWith('?=') || rest.startsWith('?!')) this.fail('lookahead', '(?= and (?! are not supported by RE2', start);
      if (rest.startsWith('?<=') || rest.startsWith('?<!')) this.fail('lookbehind', '(?<= and (?<! are not supported by RE2', start);
      const named = /^\?P?<([^>]*)>/.exec(rest);
      if (named) {
        const name = named[1]!;
        if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail('invalid named capture', `group name ${JSON.stringify(name)} must be letters, digits, underscores`, start);
        if (this.#names.has(name)) this.fail('duplicate capture group name', JSON.stringify(name), start);
        this.#names.add(name);
        this.#pos += named[0].length;
        this.#groupNames.push(name);
        const body = this.#alternation({ ...outer }, depth + 1);
        this.#expect(')', start);
        // Emitted as a plain group: names resolve through `groupNames` by index.
        return '(' + body + ')';
      }
      if (rest.startsWith('?P=') || rest.startsWith('?P>') || rest.startsWith('?&')) this.fail('backreference', 'named backreferences are not supported by RE2', start);
      const fl = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
      if (!fl || (fl[1] === '' && fl[2] === undefined && fl[3] === ')') || (fl[2] === '' )) {
        this.fail('invalid or unsupported Perl syntax', JSON.stringify('(' + rest.slice(0, 3)), start);
      }
      const f: Flags = fl[3] === ':' ? { ...outer } : outer;
      for (const ch of fl[1]!) f[ch as keyof Flags] = true;
      for (const ch of fl[2] ?? '') f[ch as keyof Flags] = false;
      this.#pos += fl[0].length;
      if (fl[3] === ')') return null;
      const body = this.#alternation(f, depth + 1);
      this.#expect(')', start);
      return '(?:' + body + ')';
    }
    this.#groupNames.push(undefined);
    const body = this.#alternation({ ...outer }, depth + 1);
    this.#expect(')', start);
    return '(' + body + ')';
  }

  #expect(ch: string, openedAt: number): void {
    if (this.#p[this.#pos] !== ch) this.fail('missing closing )', 'group opened here is never closed', openedAt);
    this.#pos++;
  }

  /** Escape outside a class. */
  #escape(flags: Flags, start: number): Atom {
    if (this.#pos >= this.#p.length) this.fail('trailing backslash', 'pattern ends with \\', start);
    const c = this.#p[this.#pos]!;
    switch (c) {
      case 'A':
        this.#pos++;
        return '(?:^)';
      case 'z':
        this.#pos++;
        return '(?:$)';
      case 'b':
        this.#pos++;
        return '(?:\\b)';
      case 'B':
        this.#pos++;
        return '(?:\\B)';
      case 'Q': {
        this.#pos++;
        const end = this.#p.indexOf('\\E', this.#pos);
        const lit = end < 0 ? this.#p.slice(this.#pos) : this.#p.slice(this.#pos, end);
        this.#pos = end < 0 ? this.#p.length : end + 2;
        let out = '';
        for (const ch of lit) out += this.#literal(ch.codePointAt(0)!, flags);
        // Group so a following quantifier applies to the last char only, as in RE2.
        return out;
      }
      case 'E':
        this.#pos++;
        return '';
      case 'C':
        this.fail('\\C', 'matching single bytes is not supported', start);
      // eslint-disable-next-line no-fallthrough
      case 'Z':
        this.fail('\\Z', 'RE2 has no \\Z; use \\z or $', start);
      // eslint-disable-next-line no-fallthrough
      default: {
        const item = this.#classEscape(start);
        return this.#emitItem(item, flags);
      }
    }
  }

  /** Escapes valid both inside and outside classes; returns ranges. `this.#pos` is after `\`. */
  #classEscape(start: number): Item {
    const c = this.#p[this.#pos]!;
    const one = (cp: number): Item => ({ kind: 'ranges', ranges: [[cp, cp]], negate: false });
    const after = this.#p[this.#pos + 1] ?? '';
    if (c >= '1' && c <= '7' && !(after >= '0' && after <= '7')) {
      this.fail('backreference', `\\${c} is a backreference, which RE2 does not support`, start);
    }
    if (c >= '0' && c <= '7') {
      const m = /^[0-7]{1,3}/.exec(this.#p.slice(this.#pos))!;
      this.#pos += m[0].length;
      return one(parseInt(m[0], 8));
    }
    if (c === '8' || c === '9') this.fail('backreference', `\\${c} is a backreference, which RE2 does not support`, start);
    this.#pos++;
    switch (c) {
      case 'a': return one(7);
      case 'f': return one(12);
      case 't': return one(9);
      case 'n': return one(10);
      case 'r': return one(13);
      case 'v': return one(11);
      case 'x': {
        const br = /^\{([0-9A-Fa-f]+)\}/.exec(this.#p.slice(this.#pos));
        if (br) {
          const cp = parseInt(br[1]!, 16);
          if (cp > MAX_CP) this.fail('invalid escape', `\\x{${br[1]}} is beyond U+10FFFF`, start);
          this.#pos += br[0].length;
          return one(cp);
        }
        const two = /^[0-9A-Fa-f]{2}/.exec(this.#p.slice(this.#pos));
        if (!two) this.fail('invalid escape', '\\x needs two hex digits or \\x{...}', start);
        this.#pos += 2;
        return one(parseInt(two[0], 16));
      }
      case 'd': case 's': case 'w':
        return { kind: 'ranges', ranges: PERL[c]!, negate: false };
      case 'D': case 'S': case 'W':
        return { kind: 'ranges', ranges: complement(PERL[c.toLowerCase()]!), negate: false };
      case 'p': case 'P': {
        let name: string;
        const br = /^\{(\^?)([A-Za-z_]+)\}/.exec(this.#p.slice(this.#pos));
        let neg = c === 'P';
        if (br) {
          if (br[1]) neg = !neg;
          name = br[2]!;
          this.#pos += br[0].length;
        } else if (/^[A-Za-z]/.test(this.#p[this.#pos] ?? '')) {
          name = this.#p[this.#pos]!;
          this.#pos++;
        } else {
          this.fail('invalid character class range', `\\${c} needs a class name, e.g. \\pL or \\p{Greek}`, start);
        }
        if (name === 'Any') return { kind: 'ranges', ranges: [[0, MAX_CP]], negate: neg };
        const prop = GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
        try {
          new RegExp(`\\p{${prop}}`, 'u');
        } catch {
          this.fail('invalid character class range', `unknown Unicode class ${JSON.stringify(name)}`, start);
        }
        const body = `\\${neg ? 'P' : 'p'}{${prop}}`;
        return { kind: 'src', src: body };
      }
      default: {
        const cp = c.codePointAt(0)!;
        if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return one(cp);
        return this.fail('invalid escape', `\\${c} is not an RE2 escape`, start);
      }
    }
  }

  /** Character class; `this.#pos` is after `[`. */
  #class(flags: Flags, start: number): Item {
    let negate = false;
    if (this.#p[this.#pos] === '^') {
      negate = true;
      this.#pos++;
    }
    const ranges: Range[] = [];
    const props: string[] = [];
    let first = true;
    for (;;) {
      if (this.#pos >= this.#p.length) this.fail('missing closing ]', 'character class is never closed', start);
      const ch = this.#p[this.#pos]!;
      if (ch === ']' && !first) {
        this.#pos++;
        break;
      }
      first = false;
      if (ch === '[' && this.#p[this.#pos + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.#p.slice(this.#pos));
        if (m) {
          const cls = POSIX[m[2]!];
          if (!cls) this.fail('invalid character class range', `unknown POSIX class [:${m[2]}:]`, this.#pos);
          ranges.push(...(m[1] ? complement(cls) : cls));
          this.#pos += m[0].length;
          continue;
        }
      }
      const lo = this.#classAtom(start, ranges, props);
      if (lo === null) continue;
      if (this.#p[this.#pos] === '-' && this.#p[this.#pos + 1] !== ']' && this.#pos + 1 < this.#p.length) {
        const dashAt = this.#pos;
        this.#pos++;
        const hi = this.#classAtom(start, ranges, props);
        if (hi === null || hi < lo) this.fail('invalid character class range', JSON.stringify(this.#p.slice(dashAt - 1, this.#pos)), dashAt);
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    if (props.length > 0) {
      // Unicode property escapes stay as JS escapes inside the class; fold literal ranges only.
      const folded = flags.i && !this.#globalI ? caseFold(ranges) : normalize(ranges);
      return { kind: 'src', src: (negate ? '[^' : '[') + classBody(folded, this.unicode) + props.join('') + ']' };
    }
    return { kind: 'ranges', ranges, negate };
  }

  /** One class member: a code point, or null when it added ranges/props itself. */
  #classAtom(start: number, ranges: Range[], props: string[]): number | null {
    const ch = this.#next();
    if (ch !== 0x5c) return ch;
    if (this.#pos >= this.#p.length) this.fail('trailing backslash', 'pattern ends with \\', start);
    const at = this.#pos - 1;
    const letter = this.#p[this.#pos]!;
    const item = this.#classEscape(at);
    if (item.kind === 'src') {
      props.push(item.src);
      return null;
    }
    if ('dswDSWpP'.includes(letter)) {
      ranges.push(...(item.negate ? complement(item.ranges) : item.ranges));
      return null;
    }
    return item.ranges[0]![0];
  }
}

/**
 * Whether the pattern needs the `u` flag: Unicode property classes or characters beyond U+FFFF.
 * Other patterns compile without `u` and `i` (case folding is done per character), which V8's
 * linear-time engine accepts, so excessive backtracking falls back to it (see `enableLinearFallback`).
 */
function needsUnicode(p: string): boolean {
  if (/\\[pP]/.test(p)) return true;
  for (const m of p.matchAll(/\\x\{([0-9A-Fa-f]+)\}/g)) if (parseInt(m[1]!, 16) > 0xffff) return true;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) return true;
  }
  return false;
}

let linearFallback = false;
/**
 * Turns on V8's fallback to its linear-time regexp engine after excessive backtracking, giving
 * RE2-like worst-case behaviour for patterns compiled without the `u`/`i` flags. Process-wide;
 * only affects regexps that backtrack excessively (V8's default threshold). Idempotent.
 */
export function enableLinearFallback(): void {
  if (linearFallback) return;
  linearFallback = true;
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}
enableLinearFallback();

const cache = new Map<string, CompiledRe2>();

/**
 * An unanchored search RegExp for a compiled RE2 pattern (RE2's `FindString`/`FindAll`
 * semantics), with extra JS flags such as `g` (all matches) and `d` (match indices).
 */
export function re2Search(c: CompiledRe2, extraFlags = ''): RegExp {
  const src = c.regexp.source;
  return new RegExp(src.slice(4, -2), c.regexp.flags + extraFlags);
}

/**
 * Compiles an RE2 pattern, fully anchored as Prometheus does. Results are memoised per source.
 * @throws Re2SyntaxError naming the offending construct.
 */
export function compileRe2(source: string): CompiledRe2 {
  const hit = cache.get(source);
  if (hit) return hit;
  let t = new Translator(source);
  let out: { src: string; globalI: boolean };
  try {
    out = t.translate();
  } catch (err) {
    if (!(err instanceof NeedsUnicode)) throw err;
    t = new Translator(source, true);
    out = t.translate();
  }
  const { src, globalI } = out;
  let regexp: RegExp;
  try {
    regexp = new RegExp('^(?:' + src + ')$', t.unicode ? (globalI ? 'iu' : 'u') : '');
  } catch (err) {
    throw new Re2SyntaxError(source, 0, 'untranslatable pattern', (err as Error).message);
  }
  const compiled: CompiledRe2 = { source, regexp, groupNames: t.groupNames, groupCount: t.groupNames.length - 1 };
  if (cache.size > 10000) cache.clear();
  cache.set(source, compiled);
  return compiled;
}
