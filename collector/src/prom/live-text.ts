/**
 * How samples read on the UI's live-debugging page, in upstream Alloy's words (its Prometheus
 * interceptor): `sample: ts=<milliseconds>, labels={a="1", b="2"}, value=<Go %f>`, one line per
 * sample, for `prometheus.scrape` (what it scraped), `prometheus.relabel` (what it forwards) and
 * `prometheus.remote_write` (what it received).
 */
import { goFloatF } from '../runtime/live-debugging.js';
import { labelsToString } from './labels/labels.js';
import type { Labels } from './types.js';

/** The first `length` samples of a batch (series, timestamps and values by index). */
export function sampleLines(b: { readonly series: readonly Labels[]; readonly timestamps: ArrayLike<number>; readonly values: ArrayLike<number>; readonly length: number }): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.length; i++) out.push(`sample: ts=${b.timestamps[i]}, labels=${labelsToString(b.series[i]!)}, value=${goFloatF(b.values[i])}`);
  return out;
}
