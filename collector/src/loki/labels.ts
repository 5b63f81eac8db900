/**
 * Loki stream selectors in Prometheus label syntax: `{job="varlogs", filename="/var/log/a.log"}`.
 *
 * `StreamLabelsCache.parse` returns the same frozen `Labels` object for the same string while it
 * stays in the cache (two generations), so streams decoded from successive push requests keep
 * their identity downstream (see the `LogEntry` contract).
 */
import type { Label, Labels } from '../prom/types.js';
import { labelsToString } from '../prom/labels/labels.js';

export class LabelParseError extends Error {
  override readonly name = 'LabelParseError';
}

const NAME_START = /[a-zA-Z_]/;
const NAME_CHAR = /[a-zA-Z0-9_]/;

function unquote(s: string, i: number, quote: string): { value: string; end: number } {
  let out = '';
  for (let p = i + 1; p < s.length; p++) {
    const c = s[p]!;
    if (c === quote) return { value: out, end: p + 1 };
    if (quote === '`') {
      out += c;
      continue;
    }
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++p];
    switch (n) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
      case '"':
      case "'":
        out += n;
        break;
      case 'x': {
        const hex = s.slice(p + 1, p + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new LabelParseError(`invalid \\x escape at offset ${p - 1}`);
        out += String.fromCharCode(parseInt(hex, 16));
        p += 2;
        break;
      }
      case 'u': {
        const hex = s.slice(p + 1, p + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new LabelParseError(`invalid \\u escape at offset ${p - 1}`);
        out += String.fromCharCode(parseInt(hex, 16));
        p += 4;
        break;
      }
      default:
        throw new LabelParseError(`invalid escape \\${n ?? ''} at offset ${p - 1}`);
    }
  }
  throw new LabelParseError('unterminated quoted label value');
}

/**
 * Parses `{name="value", ...}` (Go-quoted or backtick values, whitespace allowed) into sorted
 * labels. Empty values are dropped; a repeated name is an error.
 */
export function parseStreamLabels(s: string): Labels {
  let i = 0;
  const ws = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  ws();
  if (s[i] !== '{') throw new LabelParseError(`stream labels ${JSON.stringify(s.slice(0, 80))} must start with "{"`);
  i++;
  const out: Label[] = [];
  ws();
  if (s[i] === '}') {
    i++;
  } else {
    for (;;) {
      ws();
      const start = i;
      if (!NAME_START.test(s[i] ?? '')) throw new LabelParseError(`expected a label name at offset ${i} in ${JSON.stringify(s.slice(0, 80))}`);
      while (i < s.length && NAME_CHAR.test(s[i]!)) i++;
      const name = s.slice(start, i);
      ws();
      if (s[i] !== '=') throw new LabelParseError(`expected "=" after label ${name} in ${JSON.stringify(s.slice(0, 80))}`);
      i++;
      ws();
      const q = s[i];
      if (q !== '"' && q !== '`') throw new LabelParseError(`expected a quoted value for label ${name} in ${JSON.stringify(s.slice(0, 80))}`);
      const { value, end } = unquote(s, i, q);
      i = end;
      if (value !== '') out.push({ name, value });
      ws();
      if (s[i] === ',') {
        i++;
        ws();
        if (s[i] === '}') {
          i++;
          break;
        }
        continue;
      }
      if (s[i] === '}') {
        i++;
        break;
      }
      throw new LabelParseError(`expected "," or "}" at offset ${i} in ${JSON.stringify(s.slice(0, 80))}`);
    }
  }
  ws();
  if (i !== s.length) throw new LabelParseError(`unexpected text after "}" in ${JSON.stringify(s.slice(0, 80))}`);
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let k = 1; k < out.length; k++) {
    if (out[k]!.name === out[k - 1]!.name) throw new LabelParseError(`duplicate label name ${out[k]!.name} in ${JSON.stringify(s.slice(0, 80))}`);
  }
  return Object.freeze(out);
}

/** Formats labels as Loki/Prometheus do: `{a="1", b="2"}`. */
export const formatStreamLabels: (ls: Labels) => string = labelsToString;

/** Two-generation cache of parsed stream strings (bounded memory, stable identity for hot streams). */
export class StreamLabelsCache {
  readonly #size: number;
  #cur = new Map<string, Labels>();
  #old = new Map<string, Labels>();

  constructor(size = 10_000) {
    this.#size = size;
  }

  parse(s: string): Labels {
    let v = this.#cur.get(s);
    if (v !== undefined) return v;
    v = this.#old.get(s) ?? parseStreamLabels(s);
    if (this.#cur.size >= this.#size) {
      this.#old = this.#cur;
      this.#cur = new Map();
    }
    this.#cur.set(s, v);
    return v;
  }

  /** Sorted labels from a JSON `stream` object, cached by its canonical string. */
  fromRecord(rec: Readonly<Record<string, unknown>>): Labels {
    const out: Label[] = [];
    for (const name of Object.keys(rec)) {
      const value = rec[name];
      if (typeof value !== 'string') throw new LabelParseError(`stream label ${name} must be a string, got ${value === null ? 'null' : typeof value}`);
      if (!NAME_START.test(name[0] ?? '') || ![...name].every((c) => NAME_CHAR.test(c))) {
        throw new LabelParseError(`invalid label name ${JSON.stringify(name)}: must match [a-zA-Z_][a-zA-Z0-9_]*`);
      }
      if (value !== '') out.push({ name, value });
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = labelsToString(out);
    let v = this.#cur.get(key) ?? this.#old.get(key);
    if (v === undefined) v = Object.freeze(out);
    if (!this.#cur.has(key)) {
      if (this.#cur.size >= this.#size) {
        this.#old = this.#cur;
        this.#cur = new Map();
      }
      this.#cur.set(key, v);
    }
    return v;
  }
}
