/**
 * Data that flows between `prometheus.*` components: the `receiver` export of
 * `prometheus.relabel` and `prometheus.remote_write` is a `MetricsReceiver`, and `forward_to`
 * arguments are lists of them.
 *
 * Contracts (the hot path depends on them):
 * - A `Labels` array is sorted by name, has unique names, no empty values, and is never mutated
 *   after it is handed to `append`. Producers reuse the same `Labels` object for the same series
 *   across batches (as Prometheus's scrape cache reuses series refs), so consumers may cache
 *   per-series state keyed by object identity (WeakMap) before falling back to a hash.
 * - `append` resolves only after every sample in the batch is durably accepted by every
 *   downstream consumer (for remote_write: written to its WAL). It rejects if any consumer could
 *   not accept; callers decide whether to retry (receive_http answers 5xx) or drop (scrape).
 * - Batches are not retained by consumers after `append` resolves, except the `Labels` objects.
 */
export interface Label {
  readonly name: string;
  readonly value: string;
}

export type Labels = readonly Label[];

export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  readonly timestamp: number;
}

export interface SampleBatch {
  /** Series of each sample; `series[i]` belongs to `timestamps[i]`/`values[i]`. */
  readonly series: readonly Labels[];
  /** Milliseconds since the epoch. */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  /** Optional exemplars, keyed by sample index. */
  readonly exemplars?: ReadonlyMap<number, Exemplar>;
}

export interface MetricsReceiver {
  append(batch: SampleBatch): Promise<void>;
}

/** Prometheus's staleness marker: a NaN with this exact bit pattern. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

const staleBuf = new DataView(new ArrayBuffer(8));
staleBuf.setBigUint64(0, STALE_NAN_BITS);
/** The staleness-marker float; compare with `isStaleNaN`, never with `===`. */
export const STALE_NAN = staleBuf.getFloat64(0);

const checkBuf = new DataView(new ArrayBuffer(8));
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  checkBuf.setFloat64(0, v);
  return checkBuf.getBigUint64(0) === STALE_NAN_BITS;
}
