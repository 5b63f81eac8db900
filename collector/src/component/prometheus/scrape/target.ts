/**
 * Scrape targets: turning a discovered target (a string map from `targets`) into the label set a
 * scrape uses, as Prometheus's `PopulateLabels` does without relabel rules (Alloy relabels in
 * discovery.relabel before the scrape): defaults for `job`, `__scheme__`, `__metrics_path__`,
 * `__scrape_interval__`, `__scrape_timeout__`, `__param_*`; `__meta_*` dropped; `instance`
 * defaults to `__address__`; the series labels are the non-`__` ones. Also the scrape URL and the
 * stable scrape offset that spreads targets over the interval.
 */
import type { Labels } from '../../../prom/types.js';
import { hashLabels, isValidLabelName, LabelsBuilder, labelsFromRecord } from '../../../prom/labels/labels.js';
import { processBuilder, type CompiledRule } from '../../../prom/relabel/relabel.js';
import { formatPromDuration, parsePromDuration } from './schema-helpers.js';

export interface TargetDefaults {
  readonly jobName: string;
  readonly scheme: string;
  readonly metricsPath: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly params: Readonly<Record<string, readonly string[]>>;
  /**
   * Prometheus `relabel_configs`: applied after the defaults and before the checks, as
   * `PopulateLabels` does (Alloy relabels in discovery.relabel instead; the operator
   * components generate these per monitor endpoint).
   */
  readonly relabel?: readonly CompiledRule[] | undefined;
}

export interface Target {
  /** All labels after defaults, including `__address__`, `__scheme__` etc. (meta removed). */
  readonly allLabels: Labels;
  /** Labels attached to every scraped series: `allLabels` without `__`-prefixed names. */
  readonly labels: Labels;
  /** The discovered labels as given. */
  readonly discovered: Readonly<Record<string, string>>;
  readonly url: URL;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Stable identity: hash of `allLabels`. */
  readonly hash: number;
  /**
   * Loop identity: all labels except `__scrape_interval__`/`__scrape_timeout__`, so changing the
   * interval or timeout keeps the target's loop (and its series cache) instead of restarting it.
   */
  readonly key: string;
}

/** `dropped`: a relabel rule dropped the target (not an error; Prometheus lists it as dropped). */
export type PopulateResult = { ok: true; target: Target } | { ok: false; error: string; dropped?: true };

export function populateTarget(discovered: Readonly<Record<string, string>>, d: TargetDefaults): PopulateResult {
  const lb = new LabelsBuilder(labelsFromRecord(discovered));
  const defaults: Array<[string, string]> = [
    ['job', d.jobName],
    ['__scrape_interval__', formatPromDuration(d.intervalMs)],
    ['__scrape_timeout__', formatPromDuration(d.timeoutMs)],
    ['__metrics_path__', d.metricsPath],
    ['__scheme__', d.scheme],
  ];
  for (const [n, v] of defaults) if (lb.get(n) === '') lb.set(n, v);
  for (const [name, values] of Object.entries(d.params)) {
    const ln = `__param_${name}`;
    if (lb.get(ln) === '' && values.length > 0) lb.set(ln, values[0]!);
  }
  if (d.relabel && d.relabel.length > 0 && !processBuilder(lb, d.relabel)) return { ok: false, error: 'dropped by relabeling', dropped: true };
  const addr = lb.get('__address__');
  if (addr === '') return { ok: false, error: 'no address: the target has no __address__ label' };
  if (addr.includes('/')) return { ok: false, error: `invalid __address__ ${JSON.stringify(addr)}: must be host:port without scheme or path` };
  const intervalMs = parsePromDuration(lb.get('__scrape_interval__'));
  if (intervalMs === undefined || intervalMs === 0) return { ok: false, error: `invalid __scrape_interval__ ${JSON.stringify(lb.get('__scrape_interval__'))}` };
  const timeoutMs = parsePromDuration(lb.get('__scrape_timeout__'));
  if (timeoutMs === undefined || timeoutMs === 0) return { ok: false, error: `invalid __scrape_timeout__ ${JSON.stringify(lb.get('__scrape_timeout__'))}` };
  if (timeoutMs > intervalMs) return { ok: false, error: `scrape timeout ${lb.get('__scrape_timeout__')} greater than scrape interval ${lb.get('__scrape_interval__')}` };
  lb.forEach((name) => {
    if (name.startsWith('__meta_')) lb.del(name);
  });
  if (lb.get('instance') === '') lb.set('instance', addr);
  let bad: string | undefined;
  lb.forEach((name) => {
    if (bad === undefined && !isValidLabelName(name)) bad = name;
  });
  if (bad !== undefined) return { ok: false, error: `${JSON.stringify(bad)} is not a valid label name` };
  const allLabels = lb.labels();
  const labels = allLabels.filter((l) => !l.name.startsWith('__'));
  const scheme = lb.get('__scheme__');
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, error: `invalid __scheme__ ${JSON.stringify(scheme)}: use http or https` };
  let url: URL;
  try {
    url = new URL(`${scheme}://${addr}`);
    url.pathname = lb.get('__metrics_path__');
  } catch {
    return { ok: false, error: `cannot build a scrape URL from __address__ ${JSON.stringify(addr)}` };
  }
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(d.params)) for (const v of values) params.append(name, v);
  for (const l of allLabels) if (l.name.startsWith('__param_')) params.set(l.name.slice('__param_'.length), l.value);
  url.search = params.toString();
  const hash = hashLabels(allLabels);
  const key = allLabels
    .filter((l) => l.name !== '__scrape_interval__' && l.name !== '__scrape_timeout__')
    .map((l) => `${l.name}\u0000${l.value}`)
    .join('\u0001');
  return { ok: true, target: { allLabels, labels, discovered, url, intervalMs, timeoutMs, hash, key } };
}

/**
 * Delay until the target's first scrape: Prometheus's `Target.offset` — a stable per-target slot
 * within the interval, pinned to absolute time so restarts keep the same phase.
 */
export function scrapeOffset(target: Target, intervalMs: number, seed: number, now = Date.now()): number {
  const base = intervalMs - (now % intervalMs);
  const offset = ((target.hash ^ seed) >>> 0) % intervalMs;
  let next = base + offset;
  if (next > intervalMs) next -= intervalMs;
  return next;
}
