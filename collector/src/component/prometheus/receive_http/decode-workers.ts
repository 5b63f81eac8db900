/**
 * The process-wide number of remote-write decode workers of `prometheus.receive_http`, set from
 * the run flag `--prometheus.receive-http.decode-workers` before components are built. Kept apart
 * from the pool so the CLI can parse the flag without loading the decoder.
 */
import os from 'node:os';

export const DECODE_WORKERS_FLAG = 'prometheus.receive-http.decode-workers';

/** `auto`: the CPUs this process may run on beyond the first (none on one CPU), at most 4. */
export function autoDecodeWorkers(): number {
  return Math.max(0, Math.min(4, os.availableParallelism() - 1));
}

/** Parses the flag's value: `auto` or a whole number from 0 to 64; throws naming the fix. */
export function parseDecodeWorkers(v: string): number {
  if (v === 'auto') return autoDecodeWorkers();
  if (!/^\d+$/.test(v) || Number(v) > 64) throw new Error(`invalid value "${v}" for flag --${DECODE_WORKERS_FLAG}: expected auto or a whole number from 0 to 64`);
  return Number(v);
}

let configured: number | undefined;

/** Sets the worker count for pools created from now on. */
export function setDecodeWorkers(n: number): void {
  configured = n;
}

/** The configured count, `auto` when never set. */
export function decodeWorkers(): number {
  return configured ?? autoDecodeWorkers();
}
