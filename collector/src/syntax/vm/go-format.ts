/**
 * Go `fmt.Sprintf` semantics for the `format` / `string.format` standard-library function:
 * verbs %v %+v %s %q %d %f %F %e %E %g %G %x %X %o %O %b %t %c %U %T %%, flags `+ - # 0 space`,
 * width and precision (`*` reads them from the arguments), explicit indexes `%[2]d`, and Go's
 * error forms (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=1)`).
 * Alloy numbers that are integral print as Go ints; others as float64.
 */
import { quoteString } from '../scanner/scanner.js';
import { Secret, capsuleTypeName, isPlainObject } from './value.js';

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width?: number;
  prec?: number;
}

function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (isPlainObject(v)) return 'map[string]interface {}';
  if (typeof v === 'function') return 'func';
  return capsuleTypeName(v as object);
}

/** Shortest float formatting as Go's %v (strconv 'g' with shortest precision, exponent < -4 || >= 21). */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) {
    const [m, e] = n.toExponential().split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '');
    return `${m}e${sign}${digits.padStart(2, '0')}`;
  }
  return String(n);
}

function formatValue(v: unknown, plus: boolean): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, plus)).join(' ')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${formatValue(v[k], plus)}`).join(' ')}]`;
  }
  if (v instanceof Secret) return '(secret)';
  if (typeof v === 'function') return 'func';
  return `capsule(${capsuleTypeName(v as object)})`;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  if (spec.width === undefined || s.length >= spec.width) return s;
  const n = spec.width - s.length;
  if (spec.minus) return s + ' '.repeat(n);
  if (spec.zero && numeric) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

function signed(s: string, neg: boolean, spec: Spec): string {
  if (neg) return '-' + s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function fmtInt(n: number, base: number, spec: Spec, upper = false, prefix = ''): string {
  const neg = n < 0;
  let digits = Math.abs(n).toString(base);
  if (upper) digits = digits.toUpperCase();
  if (spec.prec !== undefined && digits.length < spec.prec) digits = '0'.repeat(spec.prec - digits.length) + digits;
  return pad(signed(prefix + digits, neg, spec), spec, spec.prec === undefined);
}

function fmtExp(n: number, prec: number, upper: boolean): string {
  const [m, e] = n.toExponential(prec).split('e') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  const s = `${m}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
  return upper ? s.toUpperCase() : s;
}

function fmtG(n: number, prec: number | undefined, upper: boolean, sharp: boolean): string {
  if (prec === undefined) {
    const s = goFloat(n);
    return upper ? s.toUpperCase() : s;
  }
  const p = prec === 0 ? 1 : prec;
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(n.toPrecision(p)))));
  let s: string;
  if (exp < -4 || exp >= p) {
    s = fmtExp(n, p - 1, upper);
    if (!sharp) s = s.replace(/\.?0+(e|E)/, '$1');
  } else {
    s = n.toFixed(Math.max(0, p - 1 - exp));
    if (!sharp && s.includes('.')) s = s.replace(/\.?0+$/, '');
  }
  return s;
}

function fmtFloatVerb(v: number, verb: string, spec: Spec): string {
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  let s: string;
  if (!Number.isFinite(a)) s = Number.isNaN(a) ? 'NaN' : 'Inf';
  else {
    switch (verb) {
      case 'e':
      case 'E':
        s = fmtExp(a, spec.prec ?? 6, verb === 'E');
        break;
      case 'f':
      case 'F':
        s = a.toFixed(spec.prec ?? 6);
        break;
      default:
        s = fmtG(a, spec.prec, verb === 'G', spec.sharp);
    }
  }
  if (Number.isNaN(v)) return pad(spec.plus ? '+NaN' : 'NaN', spec, false);
  return pad(signed(s, neg, spec), spec, Number.isFinite(v));
}

function hexString(s: string, upper: boolean, spec: Spec): string {
  const hex = Buffer.from(s, 'utf8').toString('hex');
  let out = upper ? hex.toUpperCase() : hex;
  if (spec.space) out = out.replace(/(..)(?!$)/g, '$1 ');
  if (spec.sharp) out = (upper ? '0X' : '0x') + out;
  return out;
}

function bad(verb: string, v: unknown): string {
  return `%!${verb}(${goTypeName(v)}=${formatValue(v, false)})`;
}

function formatOne(verb: string, v: unknown, spec: Spec): string {
  if (verb === 'T') return pad(goTypeName(v), spec, false);
  if (verb === 'v') {
    if (spec.sharp && typeof v === 'string') return pad(quoteString(v), spec, false);
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return fmtInt(v, 10, spec);
      return fmtFloatVerb(v, 'g', { ...spec, prec: spec.prec });
    }
    return pad(formatValue(v, spec.plus), spec, false);
  }
  if (typeof v === 'boolean') {
    if (verb === 't') return pad(v ? 'true' : 'false', spec, false);
    return bad(verb, v);
  }
  if (typeof v === 'number') {
    const isInt = Number.isInteger(v);
    switch (verb) {
      case 'd':
        return isInt ? fmtInt(v, 10, spec) : bad(verb, v);
      case 'b':
        return isInt ? fmtInt(v, 2, spec) : bad(verb, v);
      case 'o':
        return isInt ? fmtInt(v, 8, spec, false, spec.sharp ? '0' : '') : bad(verb, v);
      case 'O':
        return isInt ? fmtInt(v, 8, spec, false, '0o') : bad(verb, v);
      case 'x':
      case 'X':
        if (isInt) return fmtInt(v, 16, spec, verb === 'X', spec.sharp ? (verb === 'X' ? '0X' : '0x') : '');
        return bad(verb, v);
      case 'c':
        return isInt ? pad(String.fromCodePoint(v), spec, false) : bad(verb, v);
      case 'q':
        return isInt ? pad(`'${String.fromCodePoint(v)}'`, spec, false) : bad(verb, v);
      case 'U':
        return isInt ? pad(`U+${v.toString(16).toUpperCase().padStart(4, '0')}`, spec, false) : bad(verb, v);
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        return isInt ? bad(verb, v) : fmtFloatVerb(v, verb, spec);
      default:
        return bad(verb, v);
    }
  }
  if (typeof v === 'string' || v instanceof Secret) {
    const s = v instanceof Secret ? '(secret)' : v;
    switch (verb) {
      case 's': {
        const t = spec.prec !== undefined ? [...s].slice(0, spec.prec).join('') : s;
        return pad(t, spec, false);
      }
      case 'q':
        return pad(spec.sharp && !s.includes('`') ? '`' + s + '`' : quoteString(s), spec, false);
      case 'x':
      case 'X':
        return pad(hexString(s, verb === 'X', spec), spec, false);
      default:
        return bad(verb, v);
    }
  }
  if (Array.isArray(v) && (verb === 's' || verb === 'q' || verb === 'd' || verb === 'x' || verb === 'f' || verb === 'g' || verb === 't')) {
    return `[${v.map((x) => formatOne(verb, x, { ...spec, width: undefined })).join(' ')}]`;
  }
  if (isPlainObject(v) && verb === 's') return formatValue(v, false);
  if (v === null && verb === 's') return '%!s(<nil>)';
  return bad(verb, v);
}

/** Go's `fmt.Sprintf(format, args...)`. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  let reordered = false;
  const n = format.length;
  let i = 0;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const spec: Spec = { plus: false, minus: false, sharp: false, zero: false, space: false };
    for (; i < n; i++) {
      const c = format[i];
      if (c === '+') spec.plus = true;
      else if (c === '-') spec.minus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === '0') spec.zero = !spec.minus;
      else if (c === ' ') spec.space = true;
      else break;
    }
    const readIndex = (): void => {
      if (format[i] === '[') {
        const close = format.indexOf(']', i);
        const k = Number(format.slice(i + 1, close));
        if (close > 0 && Number.isInteger(k) && k >= 1) {
          argi = k - 1;
          reordered = true;
          i = close + 1;
        }
      }
    };
    const readNum = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'number' ? Math.trunc(a) : undefined;
      }
      const s = i;
      while (i < n && format.charCodeAt(i) >= 48 && format.charCodeAt(i) <= 57) i++;
      return i > s ? Number(format.slice(s, i)) : undefined;
    };
    readIndex();
    const w = readNum();
    if (w !== undefined) {
      if (w < 0) {
        spec.minus = true;
        spec.width = -w;
      } else spec.width = w;
    }
    if (format[i] === '.') {
      i++;
      readIndex();
      spec.prec = readNum() ?? 0;
    }
    readIndex();
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const cp = format.codePointAt(i)!;
    const verb = String.fromCodePoint(cp);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++], spec);
  }
  if (!reordered && argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${formatValue(a, false)}`)
      .join(', ')})`;
  }
  return out;
}
