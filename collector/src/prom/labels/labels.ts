/**
 * Label sets (`Labels` from `prom/types.ts`): a builder that produces sorted, de-duplicated,
 * empty-value-free arrays, a stable 53-bit hash, equality and Prometheus's string form.
 * Pure functions over data; may be used by any `prom/*` module or component. Depends on nothing
 * but `prom/types.ts`.
 */
import type { Label, Labels } from '../types.js';

export const METRIC_NAME = '__name__';

/** An empty, shared label set. */
export const EMPTY_LABELS: Labels = Object.freeze([]) as Labels;

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Builds a label set from name/value pairs. Setting an empty value deletes the label (as
 * Prometheus's `labels.Builder`). Items stay sorted by name, and unchanged `Label` objects are
 * shared with the base, so `labels()` copies pointers and never sorts. Reuse one builder with
 * `reset` on hot paths.
 */
export class LabelsBuilder {
  #items: Label[] = [];
  #base: Labels = EMPTY_LABELS;
  #modified = false;

  constructor(base?: Labels) {
    if (base) this.reset(base);
  }

  /** Starts over from `base` (sorted, as every `Labels`; not mutated). */
  reset(base: Labels): this {
    this.#base = base;
    this.#modified = false;
    const items = this.#items;
    const n = base.length;
    items.length = n;
    for (let i = 0; i < n; i++) items[i] = base[i]!;
    return this;
  }

  get size(): number {
    return this.#items.length;
  }

  #indexOf(name: string): number {
    const items = this.#items;
    for (let i = 0; i < items.length; i++) if (items[i]!.name === name) return i;
    return -1;
  }

  /** Value of `name`, or `''` when absent. */
  get(name: string): string {
    const items = this.#items;
    for (let i = 0; i < items.length; i++) if (items[i]!.name === name) return items[i]!.value;
    return '';
  }

  has(name: string): boolean {
    return this.#indexOf(name) >= 0;
  }

  set(name: string, value: string): this {
    if (value === '') return this.del(name);
    return this.#put(name, value, undefined);
  }

  /**
   * `set(l.name, l.value)` that stores `l` itself instead of a new object, so label sets built
   * from the same source share its `Label` objects (e.g. a target's labels over all its series).
   */
  setLabel(l: Label): this {
    if (l.value === '') return this.del(l.name);
    return this.#put(l.name, l.value, l);
  }

  #put(name: string, value: string, shared: Label | undefined): this {
    const items = this.#items;
    let i = 0;
    while (i < items.length && items[i]!.name < name) i++;
    if (i < items.length && items[i]!.name === name) {
      if (items[i]!.value !== value) {
        items[i] = shared ?? { name, value };
        this.#modified = true;
      }
    } else {
      items.splice(i, 0, shared ?? { name, value });
      this.#modified = true;
    }
    return this;
  }

  del(name: string): this {
    const i = this.#indexOf(name);
    if (i >= 0) {
      this.#items.splice(i, 1);
      this.#modified = true;
    }
    return this;
  }

  /** Keeps only labels whose name satisfies `keep` (in place, no snapshot). */
  retain(keep: (name: string) => boolean): this {
    const items = this.#items;
    let w = 0;
    for (let r = 0; r < items.length; r++) {
      const l = items[r]!;
      if (keep(l.name)) items[w++] = l;
    }
    if (w !== items.length) {
      items.length = w;
      this.#modified = true;
    }
    return this;
  }

  /** Calls `fn` for a snapshot of the current labels; `fn` may call `set`/`del`. */
  forEach(fn: (name: string, value: string) => void): void {
    const snap = this.#items.slice();
    for (let i = 0; i < snap.length; i++) fn(snap[i]!.name, snap[i]!.value);
  }

  /** The label set: the base object itself when nothing changed, else a new sorted array. */
  labels(): Labels {
    if (!this.#modified) return this.#base;
    return this.#items.slice();
  }
}

/** Builds sorted labels from a record; empty values are dropped. */
export function labelsFromRecord(rec: Readonly<Record<string, string>>): Labels {
  const out: Label[] = [];
  for (const name of Object.keys(rec)) {
    const value = rec[name]!;
    if (value !== '') out.push({ name, value });
  }
  return out.sort(byName);
}

/** `labelsFromStrings('a','1','b','2')`; names must be unique. */
export function labelsFromStrings(...kv: string[]): Labels {
  if (kv.length % 2 !== 0) throw new Error('labelsFromStrings: odd number of arguments (want name, value pairs)');
  const out: Label[] = [];
  for (let i = 0; i < kv.length; i += 2) if (kv[i + 1] !== '') out.push({ name: kv[i]!, value: kv[i + 1]! });
  return out.sort(byName);
}

export function labelsToRecord(ls: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ls) out[l.name] = l.value;
  return out;
}

/** Sorts an array of labels in place by name and returns it. */
export function sortLabels(ls: Label[]): Label[] {
  return ls.sort(byName);
}

export function getLabel(ls: Labels, name: string): string {
  for (let i = 0; i < ls.length; i++) if (ls[i]!.name === name) return ls[i]!.value;
  return '';
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.value !== y.value) return false;
  }
  return true;
}

/**
 * Stable 53-bit hash of a label set: two independent 32-bit multiplicative hashes (cyrb53
 * construction) over names and values with 0xff separators, like Prometheus's `labels.Hash`
 * separates fields. Equal label sets always hash equal across processes and versions.
 */
export function hashLabels(ls: Labels, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    const n = l.name;
    for (let j = 0; j < n.length; j++) {
      const c = n.charCodeAt(j);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ 0xff, 2654435761);
    h2 = Math.imul(h2 ^ 0xff, 1597334677);
    const v = l.value;
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ 0xff, 2654435761);
    h2 = Math.imul(h2 ^ 0xff, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Fast FNV-1a over names and values with 0xff separators, for in-process hash tables that
 * verify equality on hit (collisions are harmless there). Folded to 30 bits, so the result is a V8
 * small integer and a Map keyed by it stores no heap number. Not stable across releases.
 */
export function hashLabels32(ls: Labels): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    const n = l.name;
    for (let j = 0; j < n.length; j++) h = Math.imul(h ^ n.charCodeAt(j), 16777619);
    h = Math.imul(h ^ 0xff, 16777619);
    const v = l.value;
    for (let j = 0; j < v.length; j++) h = Math.imul(h ^ v.charCodeAt(j), 16777619);
    h = Math.imul(h ^ 0xff, 16777619);
  }
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

/** Go's `strconv.Quote` for label values: escapes `\`, `"`, and control characters. */
export function quoteLabelValue(v: string): string {
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += v[i];
  }
  return out + '"';
}

/** Prometheus's `Labels.String()`: `{a="1", b="2"}`. */
export function labelsToString(ls: Labels): string {
  let out = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) out += ', ';
    out += ls[i]!.name + '=' + quoteLabelValue(ls[i]!.value);
  }
  return out + '}';
}

const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Legacy (pre-UTF-8) Prometheus label name rule `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLabelName(name: string): boolean {
  return LEGACY_NAME.test(name);
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}
