/**
 * The Alloy standard library as a root `Scope` (names and semantics follow grafana/alloy
 * `syntax/internal/stdlib`, including the newer `encoding.to_json`, `encoding.url_encode`,
 * `encoding.url_decode` and the optional pass-through argument of `array.combine_maps`): namespaces `sys`, `constants`, `convert`, `array`, `encoding`,
 * `string`, `file`, the top-level `coalesce` and `json_path`, and the deprecated top-level
 * aliases (`env`, `concat`, `format`, `join`, `json_decode`, ...). String functions follow Go's
 * `strings` package; `format` follows Go's `fmt.Sprintf`.
 */
import { hostname } from 'node:os';
import { posix as pathPosix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { MAX_NESTING_DEPTH } from '../ast/ast.js';
import { ArgError, typeError } from './evaluate.js';
import { sprintf } from './go-format.js';
import { jsonPath } from './json-path.js';
import { Scope } from './scope.js';
import { Secret, isPlainObject, typeOf, valuesEqual, type AlloyFunction, type Value, type ValueObject } from './value.js';

/** Identifiers Alloy marks experimental (they need `--stability.level=experimental`). */
export const EXPERIMENTAL_STDLIB: readonly string[] = ['array.combine_maps'];

/** Deprecated top-level identifiers and their replacements. */
export const DEPRECATED_STDLIB: Readonly<Record<string, string>> = {
  env: 'sys.env',
  nonsensitive: 'convert.nonsensitive',
  concat: 'array.concat',
  json_decode: 'encoding.from_json',
  yaml_decode: 'encoding.from_yaml',
  base64_decode: 'encoding.from_base64',
  format: 'string.format',
  join: 'string.join',
  replace: 'string.replace',
  split: 'string.split',
  to_lower: 'string.to_lower',
  to_upper: 'string.to_upper',
  trim: 'string.trim',
  trim_prefix: 'string.trim_prefix',
  trim_suffix: 'string.trim_suffix',
  trim_space: 'string.trim_space',
};

function arity(args: readonly Value[], n: number): void {
  if (args.length !== n) throw new Error(`expected ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`);
}

/** A string argument; numbers convert as Alloy's decoder converts them. */
function str(args: readonly Value[], i: number): string {
  const v = args[i];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ArgError(i, typeError('string', v));
}

function arr(args: readonly Value[], i: number): Value[] {
  const v = args[i];
  if (Array.isArray(v)) return v as Value[];
  throw new ArgError(i, typeError('array', v));
}

function fn1(f: (s: string) => Value): AlloyFunction {
  return (...args) => {
    arity(args, 1);
    return f(str(args, 0));
  };
}

/** Go `unicode.IsSpace` set. */
const GO_SPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** Go `strings.Trim`/`TrimLeft`/`TrimRight`: removes leading/trailing code points in `cutset`. */
export function trimSet(s: string, cutset: string, left: boolean, right: boolean): string {
  if (cutset === '' || s === '') return s;
  const set = new Set([...cutset]);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  if (left) while (a < b && set.has(chars[a]!)) a++;
  if (right) while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join('');
}

/** Go `strings.Split`: an empty separator splits into characters. */
function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

/** Go `strings.ReplaceAll`: an empty `old` inserts `new` around every character. */
function goReplaceAll(s: string, old: string, repl: string): string {
  if (old === '') {
    const chars = [...s];
    return repl + chars.map((c) => c + repl).join('');
  }
  return s.split(old).join(repl);
}

function fromJSON(s: string): Value {
  let v: Value;
  try {
    v = JSON.parse(s) as Value;
  } catch (err: unknown) {
    throw new Error(err instanceof Error ? err.message : String(err));
  }
  return checkDecodedDepth(v);
}

function fromYAML(s: string): Value {
  let v: Value;
  try {
    const docs = parseAllDocuments(s);
    if (!Array.isArray(docs)) return null; // empty stream
    const doc = docs[0];
    if (!doc) return null;
    if (doc.errors.length > 0) throw new Error(doc.errors[0]!.message);
    v = (doc.toJS({ mapAsMap: false, maxAliasCount: 1000 }) ?? null) as Value;
  } catch (err: unknown) {
    if (err instanceof RangeError) throw new Error(`${TOO_DEEP}: ${err.message}`);
    throw err;
  }
  return checkDecodedDepth(v);
}

const TOO_DEEP = `decoded value nested too deep (max ${MAX_NESTING_DEPTH} levels of arrays and objects)`;

/**
 * Rejects decoded documents nested deeper than `MAX_NESTING_DEPTH`, which the evaluator, decoder
 * and value renderers could not recurse through. Iterative, so any depth is safe to check.
 */
function checkDecodedDepth(v: Value): Value {
  const stack: Array<[unknown, number]> = [[v, 0]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [x, depth] = item;
    if (x === null || typeof x !== 'object') continue;
    if (depth >= MAX_NESTING_DEPTH) throw new Error(`${TOO_DEEP}: flatten the document`);
    for (const child of Array.isArray(x) ? x : Object.values(x)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return v;
}

const STD_B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_B64 = /^[A-Za-z0-9_-]*={0,2}$/;

function b64Decode(s: string, url: boolean): string {
  if ((url ? !URL_B64.test(s) : !STD_B64.test(s)) || s.length % 4 !== 0) {
    throw new Error(`illegal base64 data at input byte ${firstBadB64(s, url)}`);
  }
  return Buffer.from(s, url ? 'base64url' : 'base64').toString('utf8');
}

function firstBadB64(s: string, url: boolean): number {
  const ok = url ? /[A-Za-z0-9_-]/ : /[A-Za-z0-9+/]/;
  for (let i = 0; i < s.length; i++) if (!ok.test(s[i]!)) return i;
  return s.length - (s.length % 4);
}

function b64Encode(s: string, url: boolean): string {
  const out = Buffer.from(s, 'utf8').toString('base64');
  return url ? out.replace(/\+/g, '-').replace(/\//g, '_') : out;
}

const concat: AlloyFunction = (...args) => {
  if (args.length === 0) return [];
  for (let i = 0; i < args.length; i++) arr(args, i);
  if (args.length === 1) return args[0] as Value[];
  const out: Value[] = [];
  for (const a of args) for (const v of a as Value[]) out.push(v);
  return out;
};

const coalesce: AlloyFunction = (...args) => {
  if (args.length === 0) return null;
  for (const v of args) {
    if (v === null || v === undefined) continue;
    if (v === 0 || v === '' || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (isPlainObject(v) && Object.keys(v).length === 0) continue;
    return v;
  }
  return args[args.length - 1] as Value;
};

const combineMaps: AlloyFunction = (...args) => {
  if (args.length !== 3 && args.length !== 4) throw new Error(`combine_maps: expected 3 or 4 arguments, got ${args.length}`);
  const passthrough = args.length === 4 ? args[3] : false;
  if (typeof passthrough !== 'boolean') throw new ArgError(3, typeError('bool', passthrough));
  const left = arr(args, 0);
  const right = arr(args, 1);
  for (const [i, list] of [left, right].entries()) {
    list.forEach((v, j) => {
      if (!isPlainObject(v)) throw new ArgError(i, typeError('object', v), j);
    });
  }
  const conds = arr(args, 2);
  if (conds.length === 0) throw new ArgError(2, 'combine_maps: merge conditions must not be empty');
  const keys = conds.map((c, j) => {
    if (typeof c !== 'string') throw new ArgError(2, typeError('string', c), j);
    return c;
  });
  const out: Value[] = [];
  for (const l of left as ValueObject[]) {
    let matched = false;
    for (const r of right as ValueObject[]) {
      const join = keys.every((k) => Object.prototype.hasOwnProperty.call(l, k) && Object.prototype.hasOwnProperty.call(r, k) && valuesEqual(l[k], r[k]));
      if (join) {
        out.push({ ...l, ...r });
        matched = true;
      }
    }
    // With the optional fourth argument, unmatched items of the first list pass through.
    if (!matched && passthrough) out.push(l);
  }
  return out;
};

/** Go `json.Marshal` of a map: keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped. */
function goJSON(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (x instanceof Secret) return '(secret)';
    if (isPlainObject(x)) {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) o[k] = sortKeys(x[k]);
      return o;
    }
    if (typeof x === 'function' || (x !== null && typeof x === 'object')) throw new Error(`json: unsupported type: ${typeOf(x)}`);
    if (typeof x === 'number' && !Number.isFinite(x)) throw new Error(`json: unsupported value: ${x}`);
    return x;
  };
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const toJSON: AlloyFunction = (...args) => {
  arity(args, 1);
  if (!isPlainObject(args[0])) throw new Error('jsonEncode only supports map');
  return goJSON(args[0]);
};

/** Go `url.QueryEscape`: everything but `A-Z a-z 0-9 - _ . ~` is percent-encoded, spaces become `+`. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go `url.QueryUnescape`: `+` is a space; a malformed escape is an error. */
function queryUnescape(s: string): string {
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(s);
  if (bad) throw new Error(`invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`);
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

const nonsensitive: AlloyFunction = (...args) => {
  arity(args, 1);
  const v = args[0];
  if (v instanceof Secret) return v.reveal();
  if (typeof v === 'string') return v;
  throw new ArgError(0, `should be secret, got ${typeOf(v)}`);
};

const format: AlloyFunction = (...args) => {
  if (args.length === 0) throw new Error('expected at least 1 argument, got 0');
  return sprintf(str(args, 0), args.slice(1));
};

const join: AlloyFunction = (...args) => {
  arity(args, 2);
  const list = arr(args, 0);
  const sep = str(args, 1);
  return list
    .map((v, j) => {
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      if (typeof v !== 'string') throw new ArgError(0, typeError('string', v), j);
      return v;
    })
    .join(sep);
};

const split: AlloyFunction = (...args) => {
  arity(args, 2);
  return goSplit(str(args, 0), str(args, 1));
};

const replace: AlloyFunction = (...args) => {
  arity(args, 3);
  return goReplaceAll(str(args, 0), str(args, 1), str(args, 2));
};

const trim: AlloyFunction = (...args) => {
  arity(args, 2);
  return trimSet(str(args, 0), str(args, 1), true, true);
};

const trimPrefix: AlloyFunction = (...args) => {
  arity(args, 2);
  const s = str(args, 0);
  const p = str(args, 1);
  return p !== '' && s.startsWith(p) ? s.slice(p.length) : s;
};

const trimSuffix: AlloyFunction = (...args) => {
  arity(args, 2);
  const s = str(args, 0);
  const p = str(args, 1);
  return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
};

const trimSpace = fn1((s) => trimSet(s, GO_SPACE, true, true));
const toLower = fn1((s) => s.toLowerCase());
const toUpper = fn1((s) => s.toUpperCase());
const env = fn1((name) => process.env[name] ?? '');

const jsonPathFn: AlloyFunction = (...args) => {
  arity(args, 2);
  const json = str(args, 0);
  checkDecodedDepth(JSON.parse(json) as Value);
  return jsonPath(json, str(args, 1)) as Value;
};

/** Go `filepath.Join` on a POSIX host: empty elements are ignored and the result is cleaned. */
const pathJoin: AlloyFunction = (...args) => {
  const parts = args.map((_, i) => str(args, i)).filter((p) => p !== '');
  if (parts.length === 0) return '';
  return pathPosix.normalize(parts.join('/')).replace(/(.)\/$/, '$1');
};

function goOS(): string {
  switch (process.platform) {
    case 'win32':
      return 'windows';
    case 'sunos':
      return 'solaris';
    default:
      return process.platform;
  }
}

function goArch(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'ppc64':
      return process.platform === 'linux' ? 'ppc64le' : 'ppc64';
    default:
      return process.arch;
  }
}

function stringNamespace(): ValueObject {
  return {
    format,
    join,
    replace,
    split,
    to_lower: toLower,
    to_upper: toUpper,
    trim,
    trim_prefix: trimPrefix,
    trim_suffix: trimSuffix,
    trim_space: trimSpace,
  };
}

/** What the standard library knows about the build running it. */
export interface StdlibOptions {
  /** The collector's version, exposed as `constants.version` (normalised, see `normalizeVersion`). */
  readonly version?: string;
}

/**
 * `constants.version` as Alloy computes it: always with a `v` prefix, missing minor/patch
 * numbers filled with 0 (`1.2` → `v1.2.0`); `v0.0.0` when empty; text that is not a version
 * is returned unchanged.
 */
export function normalizeVersion(version: string): string {
  const v = version.trim();
  if (v === '') return 'v0.0.0';
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) return v;
  const num = (x: string | undefined): string => String(Number(x ?? '0'));
  return `v${num(m[1])}.${num(m[2])}.${num(m[3])}${m[4] ?? ''}${m[5] ?? ''}`;
}

/** All standard-library identifiers, by name. Namespaces are objects of functions. */
export function stdlibIdentifiers(opts: StdlibOptions = {}): ValueObject {
  const fromJSONFn = fn1(fromJSON);
  const fromYAMLFn = fn1(fromYAML);
  const fromB64 = fn1((s) => b64Decode(s, false));
  const ids: ValueObject = {
    constants: { hostname: safeHostname(), os: goOS(), arch: goArch(), version: normalizeVersion(opts.version ?? '') },
    coalesce,
    json_path: jsonPathFn,
    sys: { env },
    convert: { nonsensitive },
    array: { concat, combine_maps: combineMaps },
    encoding: {
      from_json: fromJSONFn,
      from_yaml: fromYAMLFn,
      from_base64: fromB64,
      from_URLbase64: fn1((s) => b64Decode(s, true)),
      to_base64: fn1((s) => b64Encode(s, false)),
      to_URLbase64: fn1((s) => b64Encode(s, true)),
      to_json: toJSON,
      url_encode: fn1(queryEscape),
      url_decode: fn1(queryUnescape),
    },
    string: stringNamespace(),
    file: { path_join: pathJoin },
    // Deprecated aliases.
    env,
    nonsensitive,
    concat,
    json_decode: fromJSONFn,
    yaml_decode: fromYAMLFn,
    base64_decode: fromB64,
    format,
    join,
    replace,
    split,
    to_lower: toLower,
    to_upper: toUpper,
    trim,
    trim_prefix: trimPrefix,
    trim_suffix: trimSuffix,
    trim_space: trimSpace,
  };
  return ids;
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return '';
  }
}

/** A fresh root scope holding the standard library; the runtime layers component exports on top. */
export function stdlibScope(opts: StdlibOptions = {}): Scope {
  return new Scope(stdlibIdentifiers(opts));
}
