/**
 * Byte-exact encoders for `otelcol.exporter.loki` log lines, matching the OpenTelemetry Collector's
 * `pkg/translator/loki` (which Alloy uses) and the Go libraries behind it:
 * - `json`: `encoding/json` of the record (field order body, traceid, spanid, severity, flags,
 *   attributes, resources, instrumentation_scope; empty fields omitted; map keys sorted; `<`, `>`,
 *   `&`, U+2028/U+2029 escaped; bytes as base64; NaN/Inf are an error);
 * - `logfmt`: `go-logfmt` of the body's key/values (a string body parsed as logfmt, first line
 *   only, falling back to `msg=<body>`), then traceID, spanID, severity, flags, `attribute_*`,
 *   `resource_*` and the scope; values quoted when they hold a space, `=`, `"` or a control char;
 * - `asString`: pdata's `Value.AsString` (label values).
 * Attribute order is the wire order (pdata keeps insertion order); duplicate keys: the first wins
 * for lookups, the last for JSON maps, as pdata does.
 */
import Long from 'long';
import type { AnyValue, Int64, KeyValue } from '../../../../otlp/types.js';

const has = (v: object, k: string): boolean => Object.prototype.hasOwnProperty.call(v, k);

export type ValueKind = 'empty' | 'str' | 'bool' | 'int' | 'double' | 'bytes' | 'array' | 'map';

/** The type of an OTLP AnyValue (decoded messages expose defaults on the prototype, so own keys decide). */
export function kindOf(v: AnyValue | null | undefined): ValueKind {
  if (!v) return 'empty';
  if (has(v, 'stringValue') && v.stringValue !== undefined && v.stringValue !== null) return 'str';
  if (has(v, 'boolValue') && v.boolValue !== undefined && v.boolValue !== null) return 'bool';
  if (has(v, 'intValue') && v.intValue !== undefined && v.intValue !== null) return 'int';
  if (has(v, 'doubleValue') && v.doubleValue !== undefined && v.doubleValue !== null) return 'double';
  if (has(v, 'bytesValue') && v.bytesValue) return 'bytes';
  if (has(v, 'arrayValue') && v.arrayValue) return 'array';
  if (has(v, 'kvlistValue') && v.kvlistValue) return 'map';
  return 'empty';
}

/** An int64 as its exact decimal text. */
export function int64Text(v: Int64 | null | undefined): string {
  if (v === undefined || v === null) return '0';
  if (Long.isLong(v)) return (v as Long).toString();
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : BigInt(Math.trunc(v)).toString();
  return String(v);
}

/** Go `encoding/json` string encoding (HTML-safe). */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go `encoding/json` of an AnyValue's raw form (`Value.AsRaw`); throws on NaN/Inf as Go does. */
export function goJsonValue(v: AnyValue | null | undefined): string {
  switch (kindOf(v)) {
    case 'empty':
      return 'null';
    case 'str':
      return goJsonString(v!.stringValue!);
    case 'bool':
      return v!.boolValue ? 'true' : 'false';
    case 'int':
      return int64Text(v!.intValue);
    case 'double': {
      const d = Number(v!.doubleValue);
      if (!Number.isFinite(d)) throw new Error(`json: unsupported value: ${goFormatG(d)}`);
      return Object.is(d, -0) ? '-0' : JSON.stringify(d);
    }
    case 'bytes':
      return goJsonString(Buffer.from(v!.bytesValue!).toString('base64'));
    case 'array':
      return `[${v!.arrayValue!.values.map(goJsonValue).join(',')}]`;
    case 'map':
      return goJsonMap(v!.kvlistValue!.values);
  }
}

/** Go `encoding/json` of a pdata map (keys sorted, last duplicate wins). */
export function goJsonMap(kvs: readonly KeyValue[]): string {
  const m = new Map<string, AnyValue | null | undefined>();
  for (const kv of kvs) m.set(kv.key, kv.value);
  const keys = [...m.keys()].sort(compareBytes);
  return `{${keys.map((k) => `${goJsonString(k)}:${goJsonValue(m.get(k))}`).join(',')}}`;
}

/** Byte-wise (UTF-8) order, as Go sorts map keys. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** pdata `Value.AsString`. */
export function asString(v: AnyValue | null | undefined): string {
  switch (kindOf(v)) {
    case 'empty':
      return '';
    case 'str':
      return v!.stringValue!;
    case 'bool':
      return v!.boolValue ? 'true' : 'false';
    case 'int':
      return int64Text(v!.intValue);
    case 'double': {
      const d = Number(v!.doubleValue);
      if (!Number.isFinite(d)) return `json: unsupported value: ${goFormatG(d)}`;
      return Object.is(d, -0) ? '-0' : String(d);
    }
    case 'bytes':
      return Buffer.from(v!.bytesValue!).toString('base64');
    case 'array':
    case 'map':
      return goJsonValue(v);
  }
}

/** Go `fmt.Sprint(float64)` (`%v`: shortest digits, exponent form below 1e-4 or from 1e6 on). */
export function goFormatG(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const [mant, e] = d.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(d);
}

// ---- logfmt (go-logfmt semantics) ----

/** One logfmt pair. `raw` values (bytes, formatted numbers) skip the `"null"` quoting rule. */
export interface KeyVal {
  readonly key: string;
  /** Keys parsed from a string body are bytes in Go and never equal a string key when replacing. */
  readonly keyIsBytes: boolean;
  value: string;
  raw: boolean;
}

/** go-logfmt's decoder on the first line of `line`; undefined where go-logfmt reports an error. */
export function parseLogfmt(line: string): KeyVal[] | undefined {
  const nl = line.indexOf('\n');
  let s = nl >= 0 ? line.slice(0, nl) : line;
  if (s.endsWith('\r')) s = s.slice(0, -1);
  const out: KeyVal[] = [];
  const n = s.length;
  let pos = 0;
  const space = (i: number): boolean => s.charCodeAt(i) <= 32;
  for (;;) {
    while (pos < n && space(pos)) pos++;
    if (pos >= n) return out;
    const start = pos;
    for (; pos < n && !space(pos); pos++) {
      const c = s[pos];
      if (c === '"') return undefined;
      if (c === '=') {
        if (pos === start) return undefined;
        break;
      }
    }
    const key = s.slice(start, pos);
    if (pos >= n || space(pos)) {
      out.push({ key, keyIsBytes: true, value: '', raw: true });
      continue;
    }
    pos++; // '='
    if (pos >= n || space(pos)) {
      out.push({ key, keyIsBytes: true, value: '', raw: true });
      continue;
    }
    if (s[pos] === '"') {
      let i = pos + 1;
      for (; i < n; i++) {
        if (s[i] === '\\') i++;
        else if (s[i] === '"') break;
      }
      if (i >= n) return undefined;
      let value: string;
      try {
        value = JSON.parse(s.slice(pos, i + 1)) as string;
      } catch {
        return undefined;
      }
      out.push({ key, keyIsBytes: true, value, raw: true });
      pos = i + 1;
      continue;
    }
    const vs = pos;
    for (; pos < n && !space(pos); pos++) if (s[pos] === '=' || s[pos] === '"') return undefined;
    out.push({ key, keyIsBytes: true, value: s.slice(vs, pos), raw: true });
  }
}

const needsQuote = (s: string): boolean => /[\x00-\x20="\uFFFD]/.test(s);

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20) out += `\\u00${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * go-logfmt `MarshalKeyvals`.
 * @throws Error for an empty key or one holding a space, `=` or `"` (go-logfmt's ErrInvalidKey).
 */
export function marshalLogfmt(kvs: readonly KeyVal[]): string {
  const parts: string[] = [];
  for (const kv of kvs) {
    if (kv.key === '' || needsQuote(kv.key)) throw new Error(`invalid logfmt key ${JSON.stringify(kv.key)}`);
    const v = !kv.raw && kv.value === 'null' ? '"null"' : needsQuote(kv.value) ? quote(kv.value) : kv.value;
    parts.push(`${kv.key}=${v}`);
  }
  return parts.join(' ');
}

const str = (key: string, value: string): KeyVal => ({ key, keyIsBytes: false, value, raw: false });
const raw = (key: string, value: string): KeyVal => ({ key, keyIsBytes: false, value, raw: true });

/** The translator's `valueToKeyvals`: maps flattened with `_`, slices indexed, empty values skipped. */
export function valueToKeyvals(key: string, v: AnyValue | null | undefined): KeyVal[] {
  switch (kindOf(v)) {
    case 'empty':
      return [];
    case 'str':
      return [str(key, v!.stringValue!)];
    case 'bool':
      return [raw(key, v!.boolValue ? 'true' : 'false')];
    case 'int':
      return [raw(key, int64Text(v!.intValue))];
    case 'double':
      return [raw(key, goFormatG(Number(v!.doubleValue)))];
    case 'bytes':
      return [raw(key, Buffer.from(v!.bytesValue!).toString('utf8'))];
    case 'map': {
      const prefix = key ? `${key}_` : '';
      return v!.kvlistValue!.values.flatMap((kv) => valueToKeyvals(prefix + kv.key, kv.value));
    }
    case 'array': {
      const prefix = key ? `${key}_` : '';
      return v!.arrayValue!.values.flatMap((x, i) => valueToKeyvals(`${prefix}${i}`, x));
    }
  }
}

/** The translator's `bodyToKeyvals`. */
export function bodyToKeyvals(body: AnyValue | null | undefined): KeyVal[] {
  switch (kindOf(body)) {
    case 'empty':
      return [];
    case 'str':
      return parseLogfmt(body!.stringValue!) ?? [str('msg', body!.stringValue!)];
    case 'map':
      return valueToKeyvals('', body);
    case 'array':
      return valueToKeyvals('body', body);
    default:
      return valueToKeyvals('msg', body);
  }
}

/** Replaces the value of string key `key` or appends the pair (bytes keys never match, as in Go). */
export function replaceOrAppend(kvs: KeyVal[], kv: KeyVal): void {
  const i = kvs.findIndex((x) => !x.keyIsBytes && x.key === kv.key);
  if (i >= 0) kvs[i] = kv;
  else kvs.push(kv);
}
