/**
 * Prometheus samples → OTLP metrics, as Alloy's `otelcol.receiver.prometheus` (its fork of the
 * OpenTelemetry Collector's prometheusreceiver transaction) translates a scrape:
 * - one ResourceMetrics per target (`job`, `instance`): `service.name` = job,
 *   `service.instance.id` = instance, `host.name`/`server.address` = the instance host unless it is
 *   loopback, unspecified or `localhost`, `server.port`, `http.scheme`, and `k8s.*` attributes
 *   from Kubernetes discovery labels; `target_info` samples add their labels to the resource and
 *   `otel_scope_info` samples to their scope's attributes (neither becomes a metric);
 * - metric families from the scrape's metadata (`# TYPE`): counters → monotonic cumulative sums,
 *   gauges and untyped → gauges, histograms (`_bucket{le}`/`_sum`/`_count`) → explicit-bucket
 *   histograms (bounds without +Inf, per-bucket counts), summaries → summaries, info/stateset →
 *   non-monotonic sums; without metadata every name is its own gauge; `up` and `scrape_*` are
 *   gauges. Name = the family name (counters keep `_total`), description = HELP, unit from UNIT,
 *   `prometheus.type` in the metric metadata;
 * - points: time from the sample; staleness markers → the NO_RECORDED_VALUE flag; attributes =
 *   labels except `__name__`, `instance`, `__scheme__`, `__metrics_path__` (and `job`, `le` or
 *   `quantile` for histograms and summaries; gauges and sums keep `job`), empty values dropped;
 *   exemplars with `trace_id`/`span_id` labels;
 * - scope: `otel_scope_name`/`otel_scope_version` labels, else `otelcol/prometheusreceiver` and
 *   this collector's version;
 * - start times (the initial point adjuster): a cumulative series starts at its first point; a
 *   later point gets that start time; a decrease (reset) starts it again at the point's time.
 * Samples without `job` or `instance` cannot be given a resource and are dropped (counted).
 */
import type { Exemplar as PromExemplar, Labels, MetricMetadata, SampleBatch, ScrapeContext } from '../../../../prom/types.js';
import { isStaleNaN } from '../../../../prom/types.js';
import type { HistogramDataPoint, KeyValue, Metric, MetricsRequest, NumberDataPoint, ResourceMetrics, ScopeMetrics, SummaryDataPoint } from '../../../../otlp/types.js';
import { AggregationTemporality } from '../../../../otlp/types.js';
import { PER, UNITS } from '../../exporter/prometheus/prometheus.js';

const NO_RECORDED_VALUE = 1;
export const RECEIVER_SCOPE = 'otelcol/prometheusreceiver';
const TRIMMABLE = ['_bucket', '_count', '_sum', '_total', '_info', '_created'];

type MType = 'gauge' | 'sum' | 'histogram' | 'summary' | 'empty';

const INTERNAL: Record<string, MetricMetadata> = {
  up: { type: 'gauge', help: 'The scraping was successful', unit: '' },
  scrape_duration_seconds: { type: 'gauge', help: 'Duration of the scrape', unit: 'seconds' },
  scrape_samples_scraped: { type: 'gauge', help: 'The number of samples the target exposed', unit: '' },
  scrape_series_added: { type: 'gauge', help: 'The approximate number of new series in this scrape', unit: '' },
  scrape_samples_post_metric_relabeling: { type: 'gauge', help: 'The number of samples remaining after metric relabeling was applied', unit: '' },
};
const UNKNOWN: MetricMetadata = { type: 'unknown', help: '', unit: '' };

const NOT_USEFUL: Record<MType, ReadonlySet<string>> = {
  histogram: new Set(['__name__', 'instance', '__scheme__', '__metrics_path__', 'job', 'le']),
  summary: new Set(['__name__', 'instance', '__scheme__', '__metrics_path__', 'job', 'quantile']),
  gauge: new Set(['__name__', 'instance', '__scheme__', '__metrics_path__']),
  sum: new Set(['__name__', 'instance', '__scheme__', '__metrics_path__']),
  empty: new Set(['__name__', 'instance', '__scheme__', '__metrics_path__']),
};

const K8S: ReadonlyArray<readonly [string, string]> = [
  ['__meta_kubernetes_pod_name', 'k8s.pod.name'],
  ['__meta_kubernetes_pod_uid', 'k8s.pod.uid'],
  ['__meta_kubernetes_pod_container_name', 'k8s.container.name'],
  ['__meta_kubernetes_namespace', 'k8s.namespace.name'],
  ['__meta_kubernetes_pod_node_name', 'k8s.node.name'],
  ['__meta_kubernetes_node_name', 'k8s.node.name'],
  ['__meta_kubernetes_endpoint_node_name', 'k8s.node.name'],
];
const CONTROLLERS: Record<string, string> = { ReplicaSet: 'k8s.replicaset.name', DaemonSet: 'k8s.daemonset.name', StatefulSet: 'k8s.statefulset.name', Job: 'k8s.job.name', CronJob: 'k8s.cronjob.name' };

export function normalizeMetricName(name: string): string {
  for (const s of TRIMMABLE) if (name.endsWith(s) && name !== s) return name.slice(0, -s.length);
  return name;
}

function toMType(t: MetricMetadata['type']): { mtype: MType; monotonic: boolean } {
  switch (t) {
    case 'counter':
      return { mtype: 'sum', monotonic: true };
    case 'gauge':
    case 'unknown':
      return { mtype: 'gauge', monotonic: false };
    case 'histogram':
      return { mtype: 'histogram', monotonic: true };
    case 'summary':
      return { mtype: 'summary', monotonic: true };
    case 'info':
    case 'stateset':
      return { mtype: 'sum', monotonic: false };
    default:
      return { mtype: 'empty', monotonic: false };
  }
}

const WORD_TO_UCUM = new Map(Object.entries(UNITS).map(([k, v]) => [v, k]));
const PER_TO_UCUM = new Map(Object.entries(PER).map(([k, v]) => [v, k]));

/** The translator's `UnitWordToUCUM` (`seconds` → `s`, `bytes_per_second` → `By/s`). */
export function unitWordToUCUM(unit: string): string {
  const i = unit.indexOf('_per_');
  const [num, per] = i >= 0 ? [unit.slice(0, i), unit.slice(i + 5)] : [unit, ''];
  let out = WORD_TO_UCUM.get(num) ?? num;
  if (per) out += `/${PER_TO_UCUM.get(per) ?? per}`;
  return out;
}

function isDiscernibleHost(host: string): boolean {
  if (host === 'localhost') return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return !host.startsWith('127.') && host !== '0.0.0.0';
  if (host.includes(':')) {
    const h = host.toLowerCase().replace(/^0*:/, ':');
    return !/^(::1|0:0:0:0:0:0:0:1|::|0:0:0:0:0:0:0:0|::ffff:127\.\d+\.\d+\.\d+|::ffff:0\.0\.0\.0)$/.test(h);
  }
  return true;
}

/** Go `net.SplitHostPort`; undefined when `instance` has no port. */
function splitHostPort(instance: string): { host: string; port: string } | undefined {
  if (instance.startsWith('[')) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(instance);
    return m ? { host: m[1]!, port: m[2]! } : undefined;
  }
  const i = instance.lastIndexOf(':');
  if (i < 0 || instance.indexOf(':') !== i) return undefined;
  return { host: instance.slice(0, i), port: instance.slice(i + 1) };
}

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });

function put(attrs: KeyValue[], key: string, value: string): void {
  const i = attrs.findIndex((a) => a.key === key);
  if (i >= 0) attrs[i] = str(key, value);
  else attrs.push(str(key, value));
}

/** The resource of one target (upstream's `CreateResource`). */
export function createResource(job: string, instance: string, ctx: ScrapeContext | undefined): KeyValue[] {
  const hp = splitHostPort(instance);
  const host = hp ? hp.host : instance;
  const attrs: KeyValue[] = [str('service.name', job)];
  if (isDiscernibleHost(host)) attrs.push(str('host.name', host), str('server.address', host));
  attrs.push(str('service.instance.id', instance), str('server.port', hp?.port ?? ''), str('http.scheme', ctx?.scheme ?? ''));
  const d = ctx?.discoveredLabels ?? {};
  for (const [sd, attr] of K8S) if (d[sd]) put(attrs, attr, d[sd]);
  const kind = d['__meta_kubernetes_pod_controller_kind'];
  const name = d['__meta_kubernetes_pod_controller_name'];
  if (kind && name && CONTROLLERS[kind]) put(attrs, CONTROLLERS[kind], name);
  return attrs;
}

/** An OTLP exemplar (the decoded-message shape of `otlp/schema.ts`). */
interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano: string;
  asDouble: number;
  traceId?: Uint8Array;
  spanId?: Uint8Array;
}

interface Group {
  readonly ls: Labels;
  ts: number;
  value: number;
  count: number;
  hasCount: boolean;
  sum: number;
  hasSum: boolean;
  created: number;
  readonly points: Array<{ boundary: number; value: number }>;
  readonly exemplars: Exemplar[];
}

interface Family {
  readonly name: string;
  readonly meta: MetricMetadata;
  readonly mtype: MType;
  readonly monotonic: boolean;
  readonly groups: Map<string, Group>;
}

interface Scope {
  readonly name: string;
  readonly version: string;
  readonly families: Map<string, Family>;
}

function labelValue(ls: Labels, name: string): string {
  for (const l of ls) if (l.name === name) return l.value;
  return '';
}

function groupKey(ls: Labels, mtype: MType): string {
  const skip = NOT_USEFUL[mtype];
  let k = '';
  for (const l of ls) if (!skip.has(l.name)) k += `${l.name}\xff${l.value}\xff`;
  return k;
}

function attributes(ls: Labels, mtype: MType): KeyValue[] {
  const skip = NOT_USEFUL[mtype === 'sum' || mtype === 'empty' ? 'gauge' : mtype];
  const out: KeyValue[] = [];
  for (const l of ls) if (!skip.has(l.name) && l.value !== '') out.push(str(l.name, l.value));
  return out;
}

const nanos = (ms: number): string => (BigInt(Math.trunc(ms)) * 1_000_000n).toString();
const secondsToNanos = (s: number): string => {
  const secs = Math.trunc(s);
  return (BigInt(secs) * 1_000_000_000n + BigInt(Math.trunc((s - secs) * 1e9))).toString();
};

function exemplarOf(e: PromExemplar): Exemplar {
  const out: Exemplar = { filteredAttributes: [], timeUnixNano: nanos(e.timestamp), asDouble: e.value };
  for (const l of e.labels) {
    const key = l.name.toLowerCase();
    const len = key === 'trace_id' ? 16 : key === 'span_id' ? 8 : 0;
    if (len > 0 && /^[0-9a-fA-F]*$/.test(l.value) && l.value.length % 2 === 0) {
      const raw = Buffer.from(l.value.slice(0, len * 2), 'hex');
      const id = Buffer.alloc(len);
      raw.copy(id, len - raw.length);
      if (key === 'trace_id') out.traceId = id;
      else out.spanId = id;
    } else out.filteredAttributes.push(str(l.name, l.value));
  }
  return out;
}

/** One target's samples of a batch, accumulated like upstream's transaction. */
class Transaction {
  readonly resource: KeyValue[];
  readonly #scopes = new Map<string, Scope>();
  readonly #scopeAttrs = new Map<string, KeyValue[]>();
  readonly #meta: ReadonlyMap<string, MetricMetadata>;
  errors = 0;

  constructor(job: string, instance: string, ctx: ScrapeContext | undefined) {
    this.resource = createResource(job, instance, ctx);
    this.#meta = ctx?.metadata ?? new Map();
  }

  #metadataFor(name: string): { meta: MetricMetadata; family: string } {
    const internal = INTERNAL[name];
    if (internal) return { meta: internal, family: name };
    const direct = this.#meta.get(name);
    if (direct) return { meta: direct, family: name };
    const norm = normalizeMetricName(name);
    const m = this.#meta.get(norm);
    if (m) return { meta: m, family: m.type === 'counter' ? name : norm };
    return { meta: UNKNOWN, family: name };
  }

  #family(scope: Scope, name: string): Family {
    const hit = scope.families.get(name);
    if (hit) return hit;
    const fn = this.#meta.has(name) ? name : normalizeMetricName(name);
    const cand = scope.families.get(fn);
    if (cand && (cand.mtype !== 'gauge' ? normalizeMetricName(name) === cand.name : name === cand.name)) return cand;
    const { meta, family } = this.#metadataFor(name);
    const { mtype, monotonic } = toMType(meta.type);
    const f: Family = { name: family, meta, mtype, monotonic, groups: new Map() };
    scope.families.set(family, f);
    return f;
  }

  add(ls: Labels, ts: number, v: number, exemplar: PromExemplar | undefined): void {
    const name = labelValue(ls, '__name__');
    if (name === '') return;
    if (name === 'target_info') {
      for (const l of ls) if (l.name !== 'job' && l.name !== 'instance' && l.name !== '__name__') put(this.resource, l.name, l.value);
      return;
    }
    const sname = labelValue(ls, 'otel_scope_name');
    const sversion = labelValue(ls, 'otel_scope_version');
    if (name === 'otel_scope_info') {
      const attrs: KeyValue[] = [];
      for (const l of ls) if (!['job', 'instance', '__name__', 'otel_scope_name', 'otel_scope_version'].includes(l.name)) put(attrs, l.name, l.value);
      this.#scopeAttrs.set(`${sname}\xff${sversion}`, attrs);
      return;
    }
    const skey = `${sname}\xff${sversion}`;
    let scope = this.#scopes.get(skey);
    if (!scope) this.#scopes.set(skey, (scope = { name: sname, version: sversion, families: new Map() }));
    const f = this.#family(scope, name);
    const key = groupKey(ls, f.mtype);
    let g = f.groups.get(key);
    if (!g) f.groups.set(key, (g = { ls, ts, value: 0, count: 0, hasCount: false, sum: 0, hasSum: false, created: 0, points: [], exemplars: [] }));
    if (g.ts !== ts) {
      this.errors++; // upstream: "inconsistent timestamps on metric points"
      return;
    }
    const created = name === `${f.name}_created` || (f.meta !== UNKNOWN && name === `${normalizeMetricName(f.name)}_created`);
    if (f.mtype === 'histogram' || f.mtype === 'summary') {
      if (name.endsWith('_sum')) {
        g.sum = v;
        g.hasSum = true;
      } else if (name.endsWith('_count')) {
        g.count = v;
        g.hasCount = true;
      } else if (created) g.created = v;
      else {
        const b = labelValue(ls, f.mtype === 'histogram' ? 'le' : 'quantile');
        const boundary = b === '' ? NaN : parseGoFloat(b);
        if (Number.isNaN(boundary) && b.toLowerCase() !== 'nan') {
          this.errors++;
          return;
        }
        g.points.push({ boundary, value: v });
      }
    } else if (f.mtype === 'sum' && created) g.created = v;
    else g.value = v;
    if (exemplar) g.exemplars.push(exemplarOf(exemplar));
  }

  /** The scope metrics of this target. */
  build(version: string): ScopeMetrics[] {
    const out: ScopeMetrics[] = [];
    for (const [key, scope] of this.#scopes) {
      const metrics: Metric[] = [];
      for (const f of scope.families.values()) {
        const m = familyMetric(f);
        if (m) metrics.push(m);
      }
      if (metrics.length === 0) continue;
      const empty = scope.name === '' && scope.version === '';
      out.push({ scope: empty ? { name: RECEIVER_SCOPE, version } : { name: scope.name, version: scope.version, attributes: this.#scopeAttrs.get(key) ?? [] }, metrics });
    }
    return out;
  }
}

/** Go `strconv.ParseFloat` for label values (`+Inf`, `Inf`, `-inf`, `NaN`, decimals, hex floats aside). */
function parseGoFloat(s: string): number {
  const t = s.toLowerCase();
  if (t === '+inf' || t === 'inf' || t === '+infinity' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s.replace(/_/g, ''))) return NaN;
  return Number(s.replace(/_/g, ''));
}

function numberPoint(g: Group, mtype: MType): NumberDataPoint {
  const ts = nanos(g.ts);
  const p: NumberDataPoint = { attributes: attributes(g.ls, mtype), timeUnixNano: ts };
  if (mtype === 'sum') p.startTimeUnixNano = g.created !== 0 ? secondsToNanos(g.created) : ts;
  if (isStaleNaN(g.value)) p.flags = NO_RECORDED_VALUE;
  else p.asDouble = g.value;
  if (g.exemplars.length > 0) p.exemplars = g.exemplars;
  return p;
}

function histogramPoint(g: Group): HistogramDataPoint | undefined {
  if (!g.hasCount) return undefined;
  const pts = g.points.slice().sort((a, b) => a.boundary - b.boundary);
  let n = pts.length + 1;
  if (n > 1 && pts[n - 2]!.boundary === Infinity) n--;
  const stale = isStaleNaN(g.sum) || isStaleNaN(g.count);
  const bounds: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    bounds.push(pts[i]!.boundary);
    counts.push(stale ? 0 : Math.max(0, Math.trunc(i === 0 ? pts[i]!.value : pts[i]!.value - pts[i - 1]!.value)));
  }
  counts.push(stale ? 0 : Math.max(0, Math.trunc(n > 1 ? g.count - pts[n - 2]!.value : g.count)));
  const ts = nanos(g.ts);
  const p: HistogramDataPoint = { attributes: attributes(g.ls, 'histogram'), timeUnixNano: ts, startTimeUnixNano: g.created !== 0 ? secondsToNanos(g.created) : ts, explicitBounds: bounds, bucketCounts: counts, count: 0 };
  if (stale) p.flags = NO_RECORDED_VALUE;
  else {
    p.count = Math.trunc(g.count);
    if (g.hasSum) p.sum = g.sum;
  }
  if (g.exemplars.length > 0) p.exemplars = g.exemplars;
  return p;
}

function summaryPoint(g: Group): SummaryDataPoint | undefined {
  if (!g.hasCount) return undefined;
  const pts = g.points.slice().sort((a, b) => a.boundary - b.boundary);
  const stale = isStaleNaN(g.sum) || isStaleNaN(g.count);
  const ts = nanos(g.ts);
  const p: SummaryDataPoint = { attributes: attributes(g.ls, 'summary'), timeUnixNano: ts, startTimeUnixNano: g.created !== 0 ? secondsToNanos(g.created) : ts, count: 0, sum: 0, quantileValues: pts.map((q) => ({ quantile: q.boundary, value: stale ? 0 : q.value })) };
  if (stale) p.flags = NO_RECORDED_VALUE;
  else {
    if (g.hasSum) p.sum = g.sum;
    p.count = Math.trunc(g.count);
  }
  return p;
}

function familyMetric(f: Family): Metric | undefined {
  // proto3 leaves empty strings off the wire; protobufjs writes set fields, so only set non-empty ones.
  const m: Metric = { name: f.name, metadata: [str('prometheus.type', f.meta.type)] };
  if (f.meta.help) m.description = f.meta.help;
  const unit = unitWordToUCUM(f.meta.unit);
  if (unit) m.unit = unit;
  const groups = [...f.groups.values()];
  if (f.mtype === 'histogram') {
    const dataPoints = groups.map(histogramPoint).filter((p): p is HistogramDataPoint => p !== undefined);
    if (dataPoints.length === 0) return undefined;
    m.histogram = { aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints };
  } else if (f.mtype === 'summary') {
    const dataPoints = groups.map(summaryPoint).filter((p): p is SummaryDataPoint => p !== undefined);
    if (dataPoints.length === 0) return undefined;
    m.summary = { dataPoints };
  } else if (f.mtype === 'sum') {
    if (groups.length === 0) return undefined;
    m.sum = { aggregationTemporality: AggregationTemporality.CUMULATIVE, isMonotonic: f.monotonic, dataPoints: groups.map((g) => numberPoint(g, 'sum')) };
  } else {
    if (groups.length === 0) return undefined;
    m.gauge = { dataPoints: groups.map((g) => numberPoint(g, 'gauge')) };
  }
  return m;
}

interface StartState {
  start: string;
  prevValue: number;
  prevCount: number;
  prevSum: number;
  seen: number;
}

const toNum = (v: unknown): number => Number(v ?? 0);

/**
 * Upstream's initial point adjuster: per target, per series (metric name, type, attributes), the
 * start time of the first point is kept and given to later points until a reset. Series not seen
 * for `gcIntervalMs` are forgotten.
 */
export class StartTimeAdjuster {
  readonly #targets = new Map<string, Map<string, StartState>>();
  readonly #gcIntervalMs: number;
  #lastGc: number;

  constructor(gcIntervalMs = 5 * 60_000, now = Date.now()) {
    this.#gcIntervalMs = gcIntervalMs;
    this.#lastGc = now;
  }

  get size(): number {
    let n = 0;
    for (const t of this.#targets.values()) n += t.size;
    return n;
  }

  adjust(rm: ResourceMetrics, now = Date.now()): void {
    const attr = (k: string): string => rm.resource?.attributes.find((a) => a.key === k)?.value?.stringValue ?? '';
    const tkey = `${attr('service.name')}\xff${attr('service.instance.id')}`;
    let series = this.#targets.get(tkey);
    if (!series) this.#targets.set(tkey, (series = new Map()));
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        const kind = m.histogram ? 'h' : m.summary ? 'S' : m.sum ? 's' : '';
        if (!kind) continue;
        const points = (m.histogram?.dataPoints ?? m.summary?.dataPoints ?? m.sum?.dataPoints ?? []) as Array<NumberDataPoint & { count?: unknown; sum?: number }>;
        for (const p of points) {
          const noValue = ((p.flags ?? 0) & NO_RECORDED_VALUE) !== 0;
          if (!noValue && BigInt(String(p.startTimeUnixNano ?? 0)) < BigInt(String(p.timeUnixNano ?? 0))) continue; // start from _created
          const key = `${kind}\xff${m.name}\xff${p.attributes.map((a) => `${a.key}\xff${a.value?.stringValue ?? ''}`).join('\xff')}`;
          const st = series.get(key);
          const value = p.asDouble ?? 0;
          const count = toNum(p.count);
          const sum = p.sum ?? 0;
          if (!st) {
            series.set(key, { start: String(p.startTimeUnixNano ?? p.timeUnixNano), prevValue: value, prevCount: count, prevSum: sum, seen: now });
            continue;
          }
          st.seen = now;
          if (noValue) {
            p.startTimeUnixNano = st.start;
            continue;
          }
          const reset = kind === 's' ? value < st.prevValue : kind === 'h' ? count < st.prevCount || sum < st.prevSum : (count !== 0 && st.prevCount !== 0 && count < st.prevCount) || (sum !== 0 && st.prevSum !== 0 && sum < st.prevSum);
          if (reset) st.start = String(p.startTimeUnixNano ?? p.timeUnixNano);
          else p.startTimeUnixNano = st.start;
          st.prevValue = value;
          st.prevCount = count;
          st.prevSum = sum;
        }
      }
    if (now - this.#lastGc > this.#gcIntervalMs) {
      for (const [t, s] of this.#targets) {
        for (const [k, st] of s) if (st.seen < this.#lastGc) s.delete(k);
        if (s.size === 0) this.#targets.delete(t);
      }
      this.#lastGc = now;
    }
  }
}

export interface Translated {
  readonly request: MetricsRequest;
  /** Samples without `job`/`instance`, or inconsistent with their group (dropped). */
  readonly dropped: number;
}

/** Translates one batch (see the header); `adjuster` carries start times across batches. */
export function translate(batch: SampleBatch, adjuster: StartTimeAdjuster, version: string, now = Date.now()): Translated {
  const txs = new Map<string, Transaction>();
  let dropped = 0;
  for (let i = 0; i < batch.length; i++) {
    const ls = batch.series[i]!;
    const job = labelValue(ls, 'job');
    const instance = labelValue(ls, 'instance');
    if (job === '' || instance === '') {
      dropped++;
      continue;
    }
    const key = `${job}\xff${instance}`;
    let tx = txs.get(key);
    if (!tx) txs.set(key, (tx = new Transaction(job, instance, batch.context)));
    tx.add(ls, batch.timestamps[i]!, batch.values[i]!, batch.exemplars?.get(i));
  }
  const resourceMetrics: ResourceMetrics[] = [];
  for (const tx of txs.values()) {
    dropped += tx.errors;
    const scopeMetrics = tx.build(version);
    if (scopeMetrics.length === 0) continue;
    const rm: ResourceMetrics = { resource: { attributes: tx.resource }, scopeMetrics };
    adjuster.adjust(rm, now);
    resourceMetrics.push(rm);
  }
  return { request: { resourceMetrics }, dropped };
}
