/**
 * `otelcol.exporter.prometheus`: converts OTLP metrics into Prometheus samples for `forward_to`
 * (`prometheus.*` receivers), with the upstream OTLP→Prometheus translation:
 * - names: invalid characters become `_`; with `add_metric_suffixes`, the unit is appended
 *   (`ms` → `_milliseconds`, `s` → `_seconds`, `By` → `_bytes`, `1` on gauges → `_ratio`,
 *   `a/b` → `_a_per_b`, `{annotations}` dropped) and monotonic sums get `_total`;
 * - labels: data point attributes (sanitized), `job` = `service.namespace/service.name`,
 *   `instance` = `service.instance.id`, `otel_scope_name`/`otel_scope_version` with
 *   `include_scope_labels`, all resource attributes with `resource_to_telemetry_conversion`;
 * - `target_info` (value 1) carries the other resource attributes when `include_target_info`;
 * - gauges and non-monotonic sums become gauges; cumulative monotonic sums counters; cumulative
 *   histograms `_bucket{le}`/`_sum`/`_count`; summaries `{quantile}`/`_sum`/`_count`.
 *   Delta sums and histograms and exponential histograms are dropped (counted), as upstream.
 * `consume` resolves when every `forward_to` receiver appended the samples and rejects
 * retryably otherwise.
 */
import { Counter } from 'prom-client';
import { z } from 'zod';
import Long from 'long';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { capsule, duration } from '../../../../syntax/vm/schema.js';
import { labelsFromRecord } from '../../../../prom/labels/labels.js';
import type { Labels, MetricsReceiver } from '../../../../prom/types.js';
import type { Telemetry } from '../../../../otlp/data.js';
import { AggregationTemporality, type KeyValue, type Metric, type MetricsRequest } from '../../../../otlp/types.js';
import { ConsumerError, consumerComponent, debugMetricsBlock, unsupported, type Consumer } from '../../consumer.js';
import { anyToString } from '../../processor/attributes/attributes.js';

export const argumentsSchema = z.object({
  include_target_info: z.boolean().default(true),
  include_scope_info: z.boolean().default(false),
  include_scope_labels: z.boolean().default(true),
  gc_frequency: duration().default(300_000),
  add_metric_suffixes: z.boolean().default(true),
  resource_to_telemetry_conversion: z.boolean().default(false),
  forward_to: z.array(capsule<MetricsReceiver>('MetricsReceiver', (v) => typeof (v as MetricsReceiver).append === 'function')),
  debug_metrics: debugMetricsBlock,
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

/** UCUM unit → Prometheus unit word (the translator's table). */
export const UNITS: Record<string, string> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', TiBy: 'tibibytes', KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', TBy: 'terabytes',
  m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams', Cel: 'celsius', Hz: 'hertz', '%': 'percent',
};
/** UCUM "per" unit → Prometheus word. */
export const PER: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/** A valid Prometheus label name: invalid characters → `_`, a leading digit prefixed with `key_`. */
export function labelName(s: string): string {
  const out = s.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(out) ? `key_${out}` : out;
}

/** The Prometheus name of an OTLP metric (see the header). */
export function metricName(m: Metric, suffixes: boolean): string {
  let name = m.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  if (/^[0-9]/.test(name)) name = `_${name}`;
  if (suffixes) {
    const unit = (m.unit ?? '').replace(/\{[^}]*\}/g, '').trim();
    if (unit) {
      const [num, per] = unit.split('/', 2) as [string, string | undefined];
      const parts: string[] = [];
      if (num) parts.push(UNITS[num] ?? num);
      if (per) parts.push(`per_${PER[per] ?? UNITS[per] ?? per}`);
      const suffix = parts.join('_').replace(/[^a-zA-Z0-9_]/g, '_');
      if (num === '1' && !per) {
        if (m.gauge) name = name.endsWith('_ratio') ? name : `${name}_ratio`;
      } else if (suffix && !name.endsWith(`_${suffix}`)) name = `${name}_${suffix}`;
    }
    if (m.sum?.isMonotonic && !name.endsWith('_total')) name = `${name}_total`;
  }
  return name;
}

const ms = (v: unknown): number => (Long.isLong(v) ? (v as Long).toNumber() : Number(v ?? 0)) / 1e6;
const num = (v: unknown): number => (Long.isLong(v) ? (v as Long).toNumber() : Number(v ?? 0));
const PROMOTED = new Set(['service.name', 'service.namespace', 'service.instance.id']);

interface Out {
  series: Labels[];
  timestamps: number[];
  values: number[];
}

/** The samples of one OTLP metrics request, and how many data points were dropped. */
export function convert(args: Arguments, req: MetricsRequest, nowMs = Date.now()): { out: Out; dropped: number } {
  const out: Out = { series: [], timestamps: [], values: [] };
  let dropped = 0;
  const push = (labels: Record<string, string>, t: number, v: number): void => {
    out.series.push(labelsFromRecord(labels));
    out.timestamps.push(t);
    out.values.push(v);
  };
  for (const rm of req.resourceMetrics) {
    const res = rm.resource?.attributes ?? [];
    const get = (k: string): string => anyToString(res.find((kv) => kv.key === k)?.value);
    const ns = get('service.namespace');
    const job = ns ? `${ns}/${get('service.name')}` : get('service.name');
    const instance = get('service.instance.id');
    const base: Record<string, string> = {};
    if (args.resource_to_telemetry_conversion) for (const kv of res) base[labelName(kv.key)] = anyToString(kv.value);
    if (job) base['job'] = job;
    if (instance) base['instance'] = instance;
    if (args.include_target_info && res.some((kv) => !PROMOTED.has(kv.key))) {
      const info: Record<string, string> = { __name__: 'target_info', ...(job ? { job } : {}), ...(instance ? { instance } : {}) };
      for (const kv of res) if (!PROMOTED.has(kv.key)) info[labelName(kv.key)] = anyToString(kv.value);
      push(info, nowMs, 1);
    }
    for (const sm of rm.scopeMetrics) {
      const scope: Record<string, string> = args.include_scope_labels && sm.scope?.name ? { otel_scope_name: sm.scope.name, ...(sm.scope.version ? { otel_scope_version: sm.scope.version } : {}) } : {};
      for (const m of sm.metrics) {
        const name = metricName(m, args.add_metric_suffixes);
        const labels = (attrs: readonly KeyValue[], extra: Record<string, string> = {}): Record<string, string> => {
          const l: Record<string, string> = { ...base, ...scope };
          for (const kv of attrs) l[labelName(kv.key)] = anyToString(kv.value);
          return { ...l, ...extra };
        };
        if (m.gauge || m.sum) {
          const body = (m.gauge ?? m.sum)!;
          if (m.sum && m.sum.isMonotonic && m.sum.aggregationTemporality !== AggregationTemporality.CUMULATIVE) {
            dropped += body.dataPoints.length;
            continue;
          }
          for (const p of body.dataPoints) push(labels(p.attributes, { __name__: name }), ms(p.timeUnixNano), Object.prototype.hasOwnProperty.call(p, 'asInt') ? num(p.asInt) : (p.asDouble ?? 0));
        } else if (m.histogram) {
          if (m.histogram.aggregationTemporality !== AggregationTemporality.CUMULATIVE) {
            dropped += m.histogram.dataPoints.length;
            continue;
          }
          for (const p of m.histogram.dataPoints) {
            const t = ms(p.timeUnixNano);
            let cum = 0;
            p.bucketCounts.forEach((c, i) => {
              cum += num(c);
              const le = i < p.explicitBounds.length ? String(p.explicitBounds[i]) : '+Inf';
              push(labels(p.attributes, { __name__: `${name}_bucket`, le }), t, cum);
            });
            if (p.bucketCounts.length === 0) push(labels(p.attributes, { __name__: `${name}_bucket`, le: '+Inf' }), t, num(p.count));
            if (p.sum !== undefined) push(labels(p.attributes, { __name__: `${name}_sum` }), t, p.sum);
            push(labels(p.attributes, { __name__: `${name}_count` }), t, num(p.count));
          }
        } else if (m.summary) {
          for (const p of m.summary.dataPoints) {
            const t = ms(p.timeUnixNano);
            for (const q of p.quantileValues) push(labels(p.attributes, { __name__: name, quantile: String(q.quantile) }), t, q.value);
            push(labels(p.attributes, { __name__: `${name}_sum` }), t, p.sum);
            push(labels(p.attributes, { __name__: `${name}_count` }), t, num(p.count));
          }
        } else if (m.exponentialHistogram) dropped += m.exponentialHistogram.dataPoints.length;
      }
    }
  }
  return { out, dropped };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.exporter.prometheus',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => {
    const droppedCounter = new Counter({ name: 'otelcol_exporter_prometheus_dropped_data_points_total', help: 'Data points that have no Prometheus equivalent (delta sums and histograms, exponential histograms).', registers: [opts.registry] });
    return consumerComponent(opts, args, async (current, data: Telemetry) => {
      if (data.signal !== 'metrics') throw unsupported(opts.id, data.signal);
      const { out, dropped } = convert(current, data.request as MetricsRequest);
      if (dropped > 0) droppedCounter.inc(dropped);
      if (out.series.length === 0) return;
      const batch = { series: out.series, timestamps: Float64Array.from(out.timestamps), values: Float64Array.from(out.values), length: out.series.length };
      try {
        await Promise.all(current.forward_to.map((r) => r.append(batch)));
      } catch (err: unknown) {
        throw new ConsumerError(`${opts.id}: ${err instanceof Error ? err.message : String(err)}`, true);
      }
    });
  },
};
