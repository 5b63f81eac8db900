/**
 * How log entries read on the UI's live-debugging page, in upstream Alloy's words:
 * `loki.process` publishes `[IN]: timestamp: <RFC3339Nano>, entry: <line>, labels: {a="1", b="2"},
 * structured_metadata: {"k":"v"}` for every entry it receives and the same with `[OUT]` for every
 * entry it forwards; `loki.relabel` publishes `entry: <line>, labels: {...} => {...}` (the new
 * label set, `{}` when the entry is dropped).
 */
import { labelsToString } from '../prom/labels/labels.js';
import type { Labels, LogEntry } from './types.js';

/** Go's `time.RFC3339Nano` in UTC: fractional seconds without trailing zeros, `Z`. */
export function rfc3339Nano(timestampMs: number, timestampNanos = 0): string {
  const ms = Math.floor(timestampMs);
  const secMs = ms - (((ms % 1000) + 1000) % 1000);
  const nanos = (ms - secMs) * 1_000_000 + Math.floor(timestampNanos);
  const base = new Date(secMs).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  return `${base}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}Z`;
}

/** Structured metadata as a JSON object with sorted keys (how Loki's `LabelsAdapter` marshals). */
export function structuredMetadataJson(sm: Labels | undefined): string {
  if (!sm || sm.length === 0) return '{}';
  const m = new Map<string, string>();
  for (const l of sm) m.set(l.name, l.value);
  return JSON.stringify(Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** `loki.process`'s live line for an entry entering (`IN`) or leaving (`OUT`) the stages. */
export function processLiveLine(dir: 'IN' | 'OUT', e: LogEntry): string {
  return `[${dir}]: timestamp: ${rfc3339Nano(e.timestampMs, e.timestampNanos)}, entry: ${e.line}, labels: ${labelsToString(e.labels)}, structured_metadata: ${structuredMetadataJson(e.structuredMetadata)}`;
}

/** `loki.relabel`'s live line: the entry's labels before and after (null: dropped). */
export function relabelLiveLine(e: LogEntry, after: Labels | null): string {
  return `entry: ${e.line}, labels: ${labelsToString(e.labels)} => ${labelsToString(after ?? [])}`;
}
