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

/** A metric family's metadata from an exposition (`# TYPE`, `# HELP`, `# UNIT`). */
export interface MetricMetadata {
  /** OpenMetrics type names; Prometheus text `untyped` is `unknown`. */
  readonly type: 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';
  readonly help: string;
  readonly unit: string;
}

/**
 * What a scrape knows about the samples of one batch, as Prometheus hands it to appenders through
 * the context: the target's metadata by family name and its discovered labels. Consumers that
 * pass a batch on unchanged in shape (relabel) keep it; it is read-only.
 */
export interface ScrapeContext {
  readonly metadata: ReadonlyMap<string, MetricMetadata>;
  /** The target's labels before relabeling (`__meta_*`, `__address__`, ...). */
  readonly discoveredLabels: Readonly<Record<string, string>>;
  /** The target URL's scheme (`http` or `https`). */
  readonly scheme: string;
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
  /** Set by `prometheus.scrape` when every sample comes from one target's scrape. */
  readonly context?: ScrapeContext;
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
