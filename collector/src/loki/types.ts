/**
 * Data that flows between `loki.*` components: the `receiver` export of `loki.write` is a
 * `LogsReceiver`, and `forward_to` arguments are lists of them.
 *
 * Contracts (the hot path depends on them):
 * - `labels` is a sorted, duplicate-free `Labels` array (see `prom/types.ts`), never mutated after
 *   `append`. Producers reuse one `Labels` object per stream (per file, per decoded stream string),
 *   so consumers may cache per-stream state by object identity (WeakMap).
 * - Timestamps are `timestampMs` (integer milliseconds since the epoch) plus `timestampNanos`
 *   (0..999_999 nanoseconds inside that millisecond), so Loki's nanosecond precision round-trips.
 * - `append` resolves once every entry of the batch has been accepted by every downstream consumer
 *   (for `loki.write`: queued in its in-memory batches). It rejects when a consumer cannot accept
 *   (e.g. it is shut down); the producer then keeps the entries (a file source does not advance
 *   its position, an API source answers 5xx so the client retries).
 * - `append` may wait (backpressure) while a consumer's buffer is full.
 * - Batches are not retained by consumers after `append` resolves, except the `Labels` objects
 *   and the entry objects themselves (which producers must not mutate).
 */
import type { Labels } from '../prom/types.js';

export type { Label, Labels } from '../prom/types.js';

export interface LogEntry {
  readonly labels: Labels;
  readonly line: string;
  readonly timestampMs: number;
  readonly timestampNanos: number;
  /** Loki structured metadata (sorted or not; sent as given). */
  readonly structuredMetadata?: Labels;
}

export interface LogsReceiver {
  append(entries: readonly LogEntry[]): Promise<void>;
}

/** A `capsule()` check: does `v` look like a `LogsReceiver`? */
export function isLogsReceiver(v: object): boolean {
  return typeof (v as LogsReceiver).append === 'function';
}

/** `timestampMs`/`timestampNanos` as a decimal nanosecond string (Loki's JSON form). */
export function timestampToNanoString(e: Pick<LogEntry, 'timestampMs' | 'timestampNanos'>): string {
  if (e.timestampMs === 0) return String(e.timestampNanos);
  return String(e.timestampMs) + String(e.timestampNanos).padStart(6, '0');
}

/** Parses a decimal nanosecond string; undefined when it is not a non-negative integer. */
export function parseNanoString(s: string): { timestampMs: number; timestampNanos: number } | undefined {
  if (!/^\d{1,21}$/.test(s)) return undefined;
  if (s.length <= 6) return { timestampMs: 0, timestampNanos: Number(s) };
  return { timestampMs: Number(s.slice(0, -6)), timestampNanos: Number(s.slice(-6)) };
}
