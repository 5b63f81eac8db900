/**
 * Parsers for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text, plus scrape
 * content negotiation. The parser is a pull iterator over one decoded body (`next()` yields one
 * entry at a time) that exposes the raw series text (`seriesKey`) before parsing labels, so the
 * scrape loop can map a series it has seen before to its existing `Labels` object without
 * re-parsing (`labels()` is lazy). Histograms and summaries come out as their plain series
 * (`_bucket`, `_sum`, `_count`, quantiles). Errors are `ParseError`s carrying the 1-based line.
 * Depends on `prom/types.ts` and `prom/labels`; used by `prometheus.scrape`.
 */
import type { Exemplar, Label, Labels } from '../types.js';
import { METRIC_NAME, sortLabels } from '../labels/labels.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';
export type EntryKind = 'series' | 'help' | 'type' | 'unit' | 'comment' | 'eof';
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'untyped' | 'unknown';

const PROM_TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

export class ParseError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`parse error at line ${line}: ${detail}`);
    this.name = 'ParseError';
  }
}

/** Scrape protocols Alloy lets users list in `scrape_protocols`, with Prometheus's Accept values. */
export const SCRAPE_PROTOCOL_HEADERS = {
  PrometheusProto: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  PrometheusText0_0_4: 'text/plain;version=0.0.4',
  PrometheusText1_0_0: 'text/plain;version=1.0.0',
  OpenMetricsText0_0_1: 'application/openmetrics-text;version=0.0.1',
  OpenMetricsText1_0_0: 'application/openmetrics-text;version=1.0.0',
} as const;
export type ScrapeProtocol = keyof typeof SCRAPE_PROTOCOL_HEADERS;
export const SCRAPE_PROTOCOLS = Object.keys(SCRAPE_PROTOCOL_HEADERS) as ScrapeProtocol[];
/** Prometheus 3 / Alloy default `scrape_protocols` (without native histograms). */
export const DEFAULT_SCRAPE_PROTOCOLS: readonly ScrapeProtocol[] = ['OpenMetricsText1_0_0', 'OpenMetricsText0_0_1', 'PrometheusText1_0_0', 'PrometheusText0_0_4'];

/** UTF-8 name escaping schemes negotiated with `escaping=` (Alloy's `metric_name_escaping_scheme`). */
export type EscapingScheme = 'underscores' | 'dots' | 'values' | 'allow-utf-8';

/**
 * Prometheus's Accept header: listed protocols with decreasing q weights, then `*∕*`; the 1.0.0
 * text formats carry the name escaping scheme.
 */
export function acceptHeader(protocols: readonly ScrapeProtocol[], escaping: EscapingScheme = 'underscores'): string {
  let weight = SCRAPE_PROTOCOLS.length + 1;
  const vals: string[] = [];
  for (const p of protocols) {
    const esc = p === 'PrometheusText1_0_0' || p === 'OpenMetricsText1_0_0' ? `;escaping=${escaping}` : '';
    vals.push(`${SCRAPE_PROTOCOL_HEADERS[p]}${esc};q=0.${weight}`);
    weight--;
  }
  vals.push(`*/*;q=0.${weight}`);
  return vals.join(',');
}

/**
 * Chooses the parser for a response Content-Type as Prometheus does; unknown or missing types use
 * the fallback (Alloy's `scrape_fallback_protocol`, default Prometheus text).
 * @throws Error for the protobuf format, which this collector does not negotiate.
 */
export function formatForContentType(contentType: string | undefined, fallback: ExpositionFormat = 'prometheus'): ExpositionFormat {
  const mt = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mt === 'application/openmetrics-text') return 'openmetrics';
  if (mt === 'text/plain') return 'prometheus';
  if (mt === 'application/vnd.google.protobuf') {
    throw new Error('received protobuf exposition (application/vnd.google.protobuf), which is not supported; remove PrometheusProto from scrape_protocols');
  }
  return fallback;
}

/** 1 for `[a-zA-Z0-9_:]`, by char code below 128. */
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) NAME_CHAR[c] = /[a-zA-Z0-9_:]/.test(String.fromCharCode(c)) ? 1 : 0;

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

const SPECIAL_FLOATS: Record<string, number> = {
  nan: NaN, '+nan': NaN, '-nan': NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity,
};

/** Go `strconv.ParseFloat` for exposition values: decimal with exponent, and Inf/NaN spellings. */
export function parseFloatGo(s: string): number | undefined {
  let c = s.charCodeAt(0);
  if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b) {
    const n = Number(s);
    if (n === n) {
      // Number() also takes 0x/0b/0o integers, which Go rejects without a p exponent.
      let j = c === 0x2d || c === 0x2b ? 1 : 0;
      c = s.charCodeAt(j);
      if (c !== 0x30 || s.length < j + 2) return n;
      j = s.charCodeAt(j + 1) | 0x20;
      if (j !== 0x78 && j !== 0x62 && j !== 0x6f) return n;
      return undefined;
    }
  }
  const k = s.toLowerCase();
  // Own keys only: a scraped value such as `constructor` is not a number.
  return Object.hasOwn(SPECIAL_FLOATS, k) ? SPECIAL_FLOATS[k] : undefined;
}

function unescapeLabelValue(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += n === 'n' ? '\n' : n === '\\' ? '\\' : n === '"' ? '"' : '\\' + n;
    } else out += ch;
  }
  return out;
}

function unescapeHelp(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  return raw.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === '\\' ? '\\' : '\\' + c));
}

export interface ParserOptions {
  /** OpenMetrics: drop `<name>_created` series of counters/histograms/summaries and expose them as `createdTimestamp` instead. */
  readonly skipCreatedSeries?: boolean;
}

/**
 * Pull parser over one exposition body. Usage: `while ((k = p.next()) !== 'eof') { ... }`.
 * Accessors describe the entry `next()` returned last.
 */
export class TextParser {
  readonly #s: string;
  readonly #om: boolean;
  readonly #skipCreated: boolean;
  #pos = 0;
  #line = 0;
  #sawEOF = false;
  // Current entry.
  #keyStart = 0;
  #keyEnd = 0;
  #value = 0;
  #ts: number | undefined;
  #exStart = -1;
  #exEnd = -1;
  #exemplar: Exemplar | undefined;
  #metaName = '';
  #metaText = '';
  #types = new Map<string, MetricType>();
  #created = new Map<string, number>();

  constructor(body: string, format: ExpositionFormat, options: ParserOptions = {}) {
    this.#s = body;
    this.#om = format === 'openmetrics';
    this.#skipCreated = options.skipCreatedSeries ?? false;
  }

  get format(): ExpositionFormat {
    return this.#om ? 'openmetrics' : 'prometheus';
  }
  /** 1-based line of the current entry. */
  get line(): number {
    return this.#line;
  }
  /**
   * Raw series text `name{labels}` as exposed; a stable cache key for the series. It is a slice of
   * the body: pass it through `detach` before keeping it beyond the scrape.
   */
  get seriesKey(): string {
    return this.#s.slice(this.#keyStart, this.#keyEnd);
  }
  get value(): number {
    return this.#value;
  }
  /** Exposed timestamp in milliseconds, if any. */
  get timestamp(): number | undefined {
    return this.#ts;
  }
  /** For help/type/unit entries: the metric family name. */
  get metricName(): string {
    return this.#metaName;
  }
  /** For help/unit entries: the text; for type entries: the type. */
  get text(): string {
    return this.#metaText;
  }
  /** Declared type of a family (`# TYPE`), if seen. */
  typeOf(family: string): MetricType | undefined {
    return this.#types.get(family);
  }
  /** OpenMetrics `_created` values (ms) per series key of the base series, when skipped. */
  get createdTimestamps(): ReadonlyMap<string, number> {
    return this.#created;
  }

  #fail(detail: string): never {
    throw new ParseError(this.#line, detail);
  }

  next(): EntryKind {
    const s = this.#s;
    for (;;) {
      if (this.#pos >= s.length) {
        if (this.#om && !this.#sawEOF) {
          this.#line++;
          this.#fail('OpenMetrics exposition must end with "# EOF"');
        }
        return 'eof';
      }
      if (this.#sawEOF) {
        this.#line++;
        this.#fail('unexpected content after "# EOF"');
      }
      let end = s.indexOf('\n', this.#pos);
      if (end < 0) end = s.length;
      const start = this.#pos;
      this.#pos = end + 1;
      this.#line++;
      let lineEnd = end;
      if (lineEnd > start && s.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
      if (lineEnd === start) {
        if (this.#om) this.#fail('empty line is not allowed in OpenMetrics');
        continue;
      }
      const c = s.charCodeAt(start);
      if (c === 0x23 /* # */) {
        const kind = this.#comment(start, lineEnd);
        if (kind === null) continue;
        return kind;
      }
      if (!this.#om && (c === 0x20 || c === 0x09)) {
        let i = start;
        while (i < lineEnd && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
        if (i === lineEnd) continue;
        this.#fail('unexpected leading whitespace');
      }
      this.#sample(start, lineEnd);
      if (this.#skipCreated && this.#om && this.#maybeCreated()) continue;
      return 'series';
    }
  }

  #comment(start: number, end: number): EntryKind | null {
    const line = this.#s.slice(start, end);
    const m = /^#[ \t]+(HELP|TYPE|UNIT)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line) ?? /^#[ \t]+(HELP|TYPE|UNIT)[ \t]+(\S+)$/.exec(line);
    if (line === '# EOF' && this.#om) {
      this.#sawEOF = true;
      this.#metaName = '';
      this.#metaText = '';
      return null;
    }
    if (!m) {
      if (this.#om) this.#fail(`invalid comment ${JSON.stringify(line)}: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF`);
      return null;
    }
    const kw = m[1]!;
    let name = m[2]!;
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = unescapeLabelValue(name.slice(1, -1));
    this.#metaName = name;
    const rest = m[3] ?? '';
    if (kw === 'HELP') {
      this.#metaText = this.#om ? unescapeLabelValue(rest) : unescapeHelp(rest);
      return 'help';
    }
    if (kw === 'UNIT') {
      if (!this.#om) return null;
      this.#metaText = rest;
      return 'unit';
    }
    const t = rest.trim() as MetricType;
    if (!(this.#om ? OM_TYPES : PROM_TYPES).has(t)) this.#fail(`invalid metric type ${JSON.stringify(rest)} for ${name}`);
    this.#types.set(name, t);
    this.#metaText = t;
    return 'type';
  }

  #sample(start: number, end: number): void {
    const s = this.#s;
    let i = start;
    const c = s.charCodeAt(i);
    if (c === 0x7b /* { */) {
      // `{"utf8.name", a="b"}` form: name comes inside the braces.
    } else {
      if (!isNameStart(c)) this.#fail(`invalid metric name start ${JSON.stringify(s[i])}`);
      i++;
      while (i < end) {
        const d = s.charCodeAt(i);
        if (d < 128 && NAME_CHAR[d] === 1) i++;
        else break;
      }
    }
    if (i < end && s.charCodeAt(i) === 0x7b) i = this.#skipLabels(i + 1, end);
    this.#keyStart = start;
    this.#keyEnd = i;
    // Value.
    const sp = i;
    while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    if (i === sp) this.#fail(i >= end ? 'expected value after metric' : `unexpected character ${JSON.stringify(s[i])} after metric name`);
    let vEnd = i;
    while (vEnd < end && s.charCodeAt(vEnd) !== 0x20 && s.charCodeAt(vEnd) !== 0x09) vEnd++;
    if (vEnd === i) this.#fail('expected value after metric');
    const vs = s.slice(i, vEnd);
    const v = parseFloatGo(vs);
    if (v === undefined) this.#fail(`invalid value ${JSON.stringify(vs)}`);
    this.#value = v;
    i = vEnd;
    while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    this.#ts = undefined;
    this.#exStart = -1;
    this.#exemplar = undefined;
    if (i < end && s.charCodeAt(i) !== 0x23) {
      let tEnd = i;
      while (tEnd < end && s.charCodeAt(tEnd) !== 0x20 && s.charCodeAt(tEnd) !== 0x09) tEnd++;
      const ts = s.slice(i, tEnd);
      if (this.#om) {
        const f = parseFloatGo(ts);
        if (f === undefined || !Number.isFinite(f)) this.#fail(`invalid timestamp ${JSON.stringify(ts)}`);
        this.#ts = Math.trunc(f * 1000);
      } else {
        if (!/^-?\d+$/.test(ts)) this.#fail(`invalid timestamp ${JSON.stringify(ts)} (want integer milliseconds)`);
        this.#ts = Number(ts);
      }
      i = tEnd;
      while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    }
    if (i < end) {
      if (this.#om && s.charCodeAt(i) === 0x23 && s.charCodeAt(i + 1) === 0x20) {
        this.#exStart = i + 2;
        this.#exEnd = end;
        this.#exemplar = this.#parseExemplar();
      } else {
        this.#fail(`unexpected ${JSON.stringify(s.slice(i, end))} after sample`);
      }
    }
  }

  /**
   * Finds the end of a label set starting after `{`; returns the index after `}`. Only quoting is
   * honoured here (hot path); `parseSeries` validates the structure when a series is first seen.
   */
  #skipLabels(i: number, end: number): number {
    const s = this.#s;
    for (;;) {
      let q = s.indexOf('"', i);
      if (q < 0 || q >= end) q = end;
      const b = s.indexOf('}', i);
      if (b >= 0 && b < q) return b + 1;
      if (q >= end) this.#fail('unterminated label set: missing }');
      i = this.#skipQuoted(q, end);
    }
  }

  #skipQuoted(i: number, end: number): number {
    const s = this.#s;
    for (;;) {
      const q = s.indexOf('"', i + 1);
      if (q < 0 || q >= end) return this.#fail('unterminated quoted string');
      let bs = 0;
      while (s.charCodeAt(q - 1 - bs) === 0x5c) bs++;
      if ((bs & 1) === 0) return q + 1;
      i = q;
    }
  }

  /** When the current series is `<family>_created` of a counter/histogram/summary, records it and returns true. */
  #maybeCreated(): boolean {
    const key = this.seriesKey;
    const brace = key.indexOf('{');
    const name = brace < 0 ? key : key.slice(0, brace);
    if (!name.endsWith('_created')) return false;
    const family = name.slice(0, -'_created'.length);
    const t = this.#types.get(family);
    if (t !== 'counter' && t !== 'histogram' && t !== 'summary' && t !== 'gaugehistogram') return false;
    this.#created.set(family + (brace < 0 ? '' : key.slice(brace)), this.#value * 1000);
    return true;
  }

  /** Labels of the current series, sorted, including `__name__`. Throws on duplicate names. */
  labels(): Labels {
    return parseSeries(this.#s, this.#keyStart, this.#keyEnd, this.#line);
  }

  /** The current sample's exemplar (OpenMetrics), if any. */
  exemplar(): Exemplar | undefined {
    return this.#exemplar;
  }

  #parseExemplar(): Exemplar {
    const s = this.#s;
    let i = this.#exStart;
    const end = this.#exEnd;
    if (s.charCodeAt(i) !== 0x7b) this.#fail('exemplar must start with a label set {...}');
    const close = this.#skipLabels(i + 1, end);
    const labels = parseLabelSet(s, i + 1, close - 1, this.#line);
    i = close;
    const parts = s.slice(i, end).trim().split(/[ \t]+/);
    const value = parseFloatGo(parts[0] ?? '');
    if (value === undefined) this.#fail(`invalid exemplar value ${JSON.stringify(parts[0] ?? '')}`);
    let ts = 0;
    if (parts[1] !== undefined) {
      const f = parseFloatGo(parts[1]);
      if (f === undefined || !Number.isFinite(f)) this.#fail(`invalid exemplar timestamp ${JSON.stringify(parts[1])}`);
      ts = Math.trunc(f * 1000);
    }
    let runes = 0;
    for (const l of labels) runes += [...l.name].length + [...l.value].length;
    if (runes > 128) this.#fail('exemplar labels exceed 128 UTF-8 characters');
    return { labels, value, timestamp: ts };
  }
}

/**
 * A copy of `s` that does not reference the string it was sliced from. V8 substrings of 13+
 * characters point into their parent, so a label value kept in a long-lived `Labels` object would
 * otherwise keep a whole scrape body alive. Shorter strings are already copies.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

const names = new Map<string, string>();
/** Detached, shared copies of label and metric names (bounded; cleared when it grows past 100k). */
export function internName(s: string): string {
  const hit = names.get(s);
  if (hit !== undefined) return hit;
  if (names.size >= 100_000) names.clear();
  const own = detach(s);
  names.set(own, own);
  return own;
}

const nameLabels = new Map<string, Label>();
/**
 * The shared `{ __name__: name }` label of a metric name, so the series of one family hold one
 * object rather than one each (bounded as `internName`; `Label`s are immutable).
 */
function metricNameLabel(name: string): Label {
  const hit = nameLabels.get(name);
  if (hit !== undefined) return hit;
  if (nameLabels.size >= 100_000) nameLabels.clear();
  const l: Label = { name: METRIC_NAME, value: internName(name) };
  nameLabels.set(l.value, l);
  return l;
}

/** Parses `name{a="b",...}` (or `{"name",a="b"}`) between `start` and `end` into sorted labels. */
export function parseSeries(s: string, start: number, end: number, line = 0): Labels {
  let i = start;
  let name = '';
  if (s.charCodeAt(i) !== 0x7b) {
    while (i < end && s.charCodeAt(i) !== 0x7b) i++;
    name = internName(s.slice(start, i));
  }
  let out: Label[] = [];
  if (i < end) {
    const ls = parseLabelSet(s, i + 1, end - 1, line, name === '');
    for (const l of ls) {
      if (l.name === METRIC_NAME) {
        if (name !== '') throw new ParseError(line, `metric name given twice in ${JSON.stringify(s.slice(start, end))}`);
        name = l.value;
      } else out.push(l);
    }
  }
  if (name === '') throw new ParseError(line, `missing metric name in ${JSON.stringify(s.slice(start, end))}`);
  let sorted = true;
  for (let k = 1; k < out.length; k++) {
    if (out[k - 1]!.name >= out[k]!.name) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    sortLabels(out);
    for (let k = 1; k < out.length; k++) {
      if (out[k - 1]!.name === out[k]!.name) throw new ParseError(line, `label name ${JSON.stringify(out[k]!.name)} is not unique: invalid sample`);
    }
  }
  // Insert __name__ at its sorted position (after any upper-case names).
  let at = 0;
  while (at < out.length && out[at]!.name < METRIC_NAME) at++;
  const nameLabel = metricNameLabel(name);
  if (at === 0) out.unshift(nameLabel);
  else if (at === out.length) out.push(nameLabel);
  else out = [...out.slice(0, at), nameLabel, ...out.slice(at)];
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses and validates label pairs between `start` (after `{`) and `end` (the `}`): names are
 * `[a-zA-Z_][a-zA-Z0-9_]*` or quoted, values quoted, pairs separated by commas (one trailing
 * comma allowed). Empty values are dropped as Prometheus does. With `allowBareName`, a quoted
 * string without `=` is the metric name and is returned as `__name__`.
 */
function parseLabelSet(s: string, start: number, end: number, line: number, allowBareName = false): Label[] {
  const out: Label[] = [];
  let i = start;
  const fail = (msg: string): never => {
    throw new ParseError(line, msg);
  };
  const where = (k: number) => (k >= end ? 'end of label set' : JSON.stringify(s[k]));
  for (;;) {
    while (i < end && isSpace(s.charCodeAt(i))) i++;
    if (i >= end) break;
    let name: string;
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const q = quotedEnd(s, i, end);
      if (q < 0) fail('unterminated quoted label name');
      name = internName(unescapeLabelValue(s.slice(i + 1, q - 1)));
      i = q;
    } else {
      if (!isNameStart(c) || c === 0x3a) fail(`invalid label name start ${where(i)}`);
      const ns = i;
      while (i < end && isNameChar(s.charCodeAt(i)) && s.charCodeAt(i) !== 0x3a) i++;
      name = internName(s.slice(ns, i));
    }
    while (i < end && isSpace(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x3d || i >= end) {
      if (allowBareName && c === 0x22 && (i >= end || s.charCodeAt(i) === 0x2c)) {
        out.push({ name: METRIC_NAME, value: name });
        if (i < end) i++;
        continue;
      }
      fail(`expected = after label name ${JSON.stringify(name)}, got ${where(i)}`);
    }
    i++;
    while (i < end && isSpace(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x22 || i >= end) fail(`expected quoted label value after ${name}=, got ${where(i)}`);
    const q = quotedEnd(s, i, end);
    if (q < 0) fail(`unterminated label value for ${name}`);
    const value = detach(unescapeLabelValue(s.slice(i + 1, q - 1)));
    i = q;
    if (value !== '') out.push({ name, value });
    while (i < end && isSpace(s.charCodeAt(i))) i++;
    if (i >= end) break;
    if (s.charCodeAt(i) !== 0x2c) fail(`expected , or } in label set, got ${where(i)}`);
    i++;
  }
  return out;
}

function quotedEnd(s: string, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  return -1;
}
