/**
 * The mutable entry a `loki.process` pipeline works on, and the helpers stages share.
 *
 * Contracts:
 * - `labels` is the entry's current sorted `Labels`; stages change labels only through
 *   `setLabel`/`deleteLabel`, which record edits; `finalLabels` applies them once at the end and
 *   returns one cached `Labels` object per (input stream, edit set), so downstream per-stream
 *   caches (keyed by object identity) keep working.
 * - `extracted` holds the shared map of extracted values (strings, numbers, booleans, or JSON
 *   values); `extractedString` converts a value as Alloy's `getString` does.
 */
import { goFloat } from '../../../syntax/index.js';
import type { Label, Labels, LogEntry } from '../../../loki/types.js';

export interface PEntry {
  /** Labels as they came in (the key of the final-labels cache). */
  readonly input: Labels;
  /** Label edits since `input`: a value, or `null` for a deletion. */
  edits: Map<string, string | null> | undefined;
  line: string;
  timestampMs: number;
  timestampNanos: number;
  extracted: Record<string, unknown>;
  structuredMetadata: Label[] | undefined;
}

export function toPEntry(e: LogEntry): PEntry {
  return {
    input: e.labels,
    edits: undefined,
    line: e.line,
    timestampMs: e.timestampMs,
    timestampNanos: e.timestampNanos,
    extracted: {},
    structuredMetadata: e.structuredMetadata ? [...e.structuredMetadata] : undefined,
  };
}

export function getLabel(e: PEntry, name: string): string | undefined {
  if (e.edits !== undefined) {
    const v = e.edits.get(name);
    if (v !== undefined) return v === null ? undefined : v;
  }
  for (const l of e.input) if (l.name === name) return l.value;
  return undefined;
}

export function setLabel(e: PEntry, name: string, value: string): void {
  (e.edits ??= new Map()).set(name, value === '' ? null : value);
}

export function deleteLabel(e: PEntry, name: string): void {
  if (getLabel(e, name) !== undefined) (e.edits ??= new Map()).set(name, null);
}

/** Current label names and values (edits applied), unsorted. */
export function currentLabels(e: PEntry): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of e.input) m.set(l.name, l.value);
  if (e.edits !== undefined) for (const [k, v] of e.edits) v === null ? m.delete(k) : m.set(k, v);
  return m;
}

/**
 * Final-labels cache: per input `Labels`, a trie over the edits in insertion order (name, then
 * value or `null`), so a lookup costs one map probe per edit and builds no key string.
 */
interface EditNode {
  labels?: Labels;
  next?: Map<string, Map<string | null, EditNode>>;
}
const finalCache = new WeakMap<Labels, { root: EditNode; size: number }>();
/** Bounds the cached label sets per input stream (label values from log lines are unbounded). */
const MAX_FINAL_PER_INPUT = 1000;
let lastInput: Labels | undefined;
let lastEntry: { root: EditNode; size: number } | undefined;

/** The entry's labels with edits applied, as a shared frozen `Labels` object. */
export function finalLabels(e: PEntry): Labels {
  if (e.edits === undefined || e.edits.size === 0) return e.input;
  let cache = lastInput === e.input ? lastEntry : finalCache.get(e.input);
  if (cache === undefined) finalCache.set(e.input, (cache = { root: {}, size: 0 }));
  lastInput = e.input;
  lastEntry = cache;
  let node = cache.root;
  for (const [k, v] of e.edits) {
    const byName = (node.next ??= new Map());
    let byValue = byName.get(k);
    if (byValue === undefined) byName.set(k, (byValue = new Map()));
    let child = byValue.get(v);
    if (child === undefined) byValue.set(v, (child = {}));
    node = child;
  }
  if (node.labels !== undefined) return node.labels;
  const arr: Label[] = [...currentLabels(e)].map(([name, value]) => ({ name, value }));
  arr.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = Object.freeze(arr);
  if (cache.size >= MAX_FINAL_PER_INPUT) {
    cache.root = {};
    cache.size = 0;
    return out;
  }
  node.labels = out;
  cache.size++;
  return out;
}

export function toLogEntry(e: PEntry): LogEntry {
  const labels = finalLabels(e);
  return e.structuredMetadata !== undefined && e.structuredMetadata.length > 0
    ? { labels, line: e.line, timestampMs: e.timestampMs, timestampNanos: e.timestampNanos, structuredMetadata: e.structuredMetadata }
    : { labels, line: e.line, timestampMs: e.timestampMs, timestampNanos: e.timestampNanos };
}

/**
 * An extracted value as a string (Alloy's `getString`): strings as is, numbers in Go's shortest
 * form, booleans as `true`/`false`, `null` as ""; objects and arrays as compact JSON.
 * `undefined` when the key is absent.
 */
export function extractedString(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : goFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return undefined;
    default:
      return v === null ? '' : JSON.stringify(v);
  }
}

/** `source` of a stage: the named extracted value, or the line when `source` is empty. */
export function sourceValue(e: PEntry, source: string): string | undefined {
  if (source === '') return e.line;
  return extractedString(e.extracted[source]);
}

/** Adds nanoseconds to the entry timestamp keeping the (ms, ns-in-ms) split normalised. */
export function addNanos(ts: { timestampMs: number; timestampNanos: number }, n: number): { timestampMs: number; timestampNanos: number } {
  let ns = ts.timestampNanos + n;
  let ms = ts.timestampMs + Math.floor(ns / 1e6);
  ns = ((ns % 1e6) + 1e6) % 1e6;
  if (ms < 0) ms = 0;
  return { timestampMs: ms, timestampNanos: ns };
}
