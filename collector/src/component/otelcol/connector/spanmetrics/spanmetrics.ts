/**
 * `otelcol.connector.spanmetrics`: aggregates spans into `<namespace>.calls` (monotonic sum) and
 * `<namespace>.duration` (explicit-bucket histogram, `ms` or `s`) per resource and per set of
 * dimensions — `service.name`, `span.name`, `span.kind`, `status.code` (minus
 * `exclude_dimensions`) plus each `dimension` (span attribute, else resource attribute, else its
 * `default`, else omitted) — and sends them to `output.metrics` every `metrics_flush_interval`.
 *
 * Contracts:
 * - Traces are acknowledged once aggregated; metrics are flushed on the interval and at shutdown.
 * - CUMULATIVE keeps counting from the first span of a series (its start time); DELTA resets after
 *   every successful flush. A flush the output refuses is kept (cumulative state is simply sent
 *   again next time; delta counts are not reset).
 * - Resources are the span resources' attributes, or only `resource_metrics_key_attributes`.
 * - With `aggregation_cardinality_limit` > 0, new series beyond it aggregate under
 *   `otel.metric.overflow = "true"`.
 * - Not supported yet (config error): `histogram > exponential`, `events { enabled = true }`,
 *   `exemplars { enabled = true }`.
 */
import { z } from 'zod';
import Long from 'long';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../../runtime/component.js';
import { block, blocks, duration } from '../../../../syntax/vm/schema.js';
import { Telemetry } from '../../../../otlp/data.js';
import { AggregationTemporality, type HistogramDataPoint, type KeyValue, type Metric, type NumberDataPoint, type ResourceMetrics, type TracesRequest } from '../../../../otlp/types.js';
import { ConsumerError, debugMetricsBlock, fanOut, outputBlock, pause, unsupported, type Consumer } from '../../consumer.js';
import { telemetryPublisher, type TelemetryPublisher } from '../../live-debugging.js';
import { anyToString } from '../../processor/attributes/attributes.js';

const notYet = (what: string) => (v: { enabled: boolean } | undefined, ctx: z.RefinementCtx) => {
  if (v?.enabled) ctx.addIssue({ code: 'custom', message: `${what} is not supported by this collector yet` });
};

export const DEFAULT_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000];

const dimensionSchema = z.object({ name: z.string().min(1), default: z.string().optional() });

export const argumentsSchema = z.object({
  aggregation_temporality: z.enum(['CUMULATIVE', 'DELTA']).default('CUMULATIVE'),
  dimensions_cache_size: z.number().int().min(0).default(0),
  exclude_dimensions: z.array(z.string()).default([]),
  metric_timestamp_cache_size: z.number().int().min(0).default(1000),
  metrics_expiration: duration().default(0),
  metrics_flush_interval: duration().default(60_000),
  namespace: z.string().default('traces.span.metrics'),
  resource_metrics_cache_size: z.number().int().min(0).default(1000),
  resource_metrics_key_attributes: z.array(z.string()).default([]),
  aggregation_cardinality_limit: z.number().int().min(0).default(0),
  include_instrumentation_scope: z.array(z.string()).default([]),
  histogram: block(
    z
      .object({
        disable: z.boolean().default(false),
        unit: z.enum(['ms', 's']).default('ms'),
        explicit: block(z.object({ buckets: z.array(duration()).default(DEFAULT_BUCKETS_MS) })).optional(),
        exponential: block(z.object({ max_size: z.number().int().default(160) })).optional(),
      })
      .superRefine((h, ctx) => {
        if (h.exponential) ctx.addIssue({ code: 'custom', message: 'histogram > exponential is not supported by this collector yet; use histogram > explicit' });
      }),
  ),
  dimension: blocks(dimensionSchema).default([]),
  events: block(z.object({ enabled: z.boolean().default(false), dimension: blocks(dimensionSchema).default([]) }))
    .optional()
    .superRefine(notYet('events { enabled = true }')),
  exemplars: block(z.object({ enabled: z.boolean().default(false), max_per_data_point: z.number().int().optional() }))
    .optional()
    .superRefine(notYet('exemplars { enabled = true }')),
  output: outputBlock(),
  debug_metrics: debugMetricsBlock,
});

export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

const KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

interface Series {
  readonly attributes: KeyValue[];
  startNs: bigint;
  calls: number;
  count: number;
  sum: number;
  readonly buckets: number[];
  min: number;
  max: number;
}

interface ResourceState {
  readonly attributes: KeyValue[];
  readonly series: Map<string, Series>;
}

const toNs = (v: unknown): bigint => BigInt(Long.isLong(v) ? (v as Long).toString() : String(v ?? 0));
const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });

export class SpanMetricsConnector implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  readonly #publish: TelemetryPublisher;
  #args: Arguments;
  #resources = new Map<string, ResourceState>();
  #seriesCount = 0;
  #lastFlushNs = BigInt(Date.now()) * 1_000_000n;
  #wake: (() => void) | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#publish = telemetryPublisher(opts);
    this.#args = args;
    opts.onStateChange({
      input: {
        consume: (data) => {
          if (data.signal !== 'traces') return Promise.reject(unsupported(opts.id, data.signal));
          this.#aggregate(data.request as TracesRequest);
          return Promise.resolve();
        },
      },
    });
  }

  #bounds(): number[] {
    const ms = this.#args.histogram.explicit?.buckets ?? DEFAULT_BUCKETS_MS;
    return this.#args.histogram.unit === 's' ? ms.map((b) => b / 1000) : ms;
  }

  #aggregate(req: TracesRequest): void {
    const a = this.#args;
    const bounds = this.#bounds();
    const excluded = new Set(a.exclude_dimensions);
    for (const rs of req.resourceSpans) {
      const resAttrs = rs.resource?.attributes ?? [];
      const kept = a.resource_metrics_key_attributes.length > 0 ? resAttrs.filter((kv) => a.resource_metrics_key_attributes.includes(kv.key)) : resAttrs;
      const resKey = kept.map((kv) => `${kv.key}=${anyToString(kv.value)}`).sort().join('\u0000');
      let res = this.#resources.get(resKey);
      if (!res) this.#resources.set(resKey, (res = { attributes: kept, series: new Map() }));
      const service = anyToString(resAttrs.find((kv) => kv.key === 'service.name')?.value);
      for (const ss of rs.scopeSpans) {
        if (a.include_instrumentation_scope.length > 0 && !a.include_instrumentation_scope.includes(ss.scope?.name ?? '')) continue;
        for (const s of ss.spans) {
          const dims: KeyValue[] = [];
          if (!excluded.has('service.name')) dims.push(str('service.name', service));
          if (!excluded.has('span.name')) dims.push(str('span.name', s.name));
          if (!excluded.has('span.kind')) dims.push(str('span.kind', KINDS[s.kind ?? 0] ?? 'SPAN_KIND_UNSPECIFIED'));
          if (!excluded.has('status.code')) dims.push(str('status.code', STATUS[s.status?.code ?? 0] ?? 'STATUS_CODE_UNSET'));
          for (const d of a.dimension) {
            const v = s.attributes.find((kv) => kv.key === d.name)?.value ?? resAttrs.find((kv) => kv.key === d.name)?.value;
            if (v) dims.push({ key: d.name, value: v });
            else if (d.default !== undefined) dims.push(str(d.name, d.default));
          }
          let key = dims.map((kv) => `${kv.key}=${anyToString(kv.value)}`).join('\u0000');
          let series = res.series.get(key);
          if (!series && a.aggregation_cardinality_limit > 0 && this.#seriesCount >= a.aggregation_cardinality_limit) {
            key = 'otel.metric.overflow';
            series = res.series.get(key);
            dims.splice(0, dims.length, str('otel.metric.overflow', 'true'));
          }
          const start = toNs(s.startTimeUnixNano);
          if (!series) {
            series = { attributes: dims, startNs: start, calls: 0, count: 0, sum: 0, buckets: new Array<number>(bounds.length + 1).fill(0), min: Infinity, max: -Infinity };
            res.series.set(key, series);
            this.#seriesCount++;
          }
          const ns = toNs(s.endTimeUnixNano) - start;
          const v = Number(ns > 0n ? ns : 0n) / (a.histogram.unit === 's' ? 1e9 : 1e6);
          series.calls++;
          series.count++;
          series.sum += v;
          series.min = Math.min(series.min, v);
          series.max = Math.max(series.max, v);
          let i = 0;
          while (i < bounds.length && v > bounds[i]!) i++;
          series.buckets[i]!++;
        }
      }
    }
  }

  /** The metrics accumulated so far, as an OTLP request (undefined when there are none). */
  snapshot(nowNs = BigInt(Date.now()) * 1_000_000n): Telemetry<'metrics'> | undefined {
    const a = this.#args;
    const delta = a.aggregation_temporality === 'DELTA';
    const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const prefix = a.namespace ? `${a.namespace}.` : '';
    const time = Long.fromString(nowNs.toString(), true);
    const bounds = this.#bounds();
    const resourceMetrics: ResourceMetrics[] = [];
    for (const res of this.#resources.values()) {
      if (res.series.size === 0) continue;
      const calls: NumberDataPoint[] = [];
      const durations: HistogramDataPoint[] = [];
      for (const s of res.series.values()) {
        const start = Long.fromString((delta ? this.#lastFlushNs : s.startNs).toString(), true);
        calls.push({ attributes: s.attributes, startTimeUnixNano: start, timeUnixNano: time, asInt: Long.fromNumber(s.calls) });
        if (!a.histogram.disable)
          durations.push({ attributes: s.attributes, startTimeUnixNano: start, timeUnixNano: time, count: Long.fromNumber(s.count, true), sum: s.sum, bucketCounts: s.buckets.map((b) => Long.fromNumber(b, true)), explicitBounds: bounds, min: s.min, max: s.max });
      }
      const metrics: Metric[] = [{ name: `${prefix}calls`, sum: { dataPoints: calls, aggregationTemporality: temporality, isMonotonic: true } }];
      if (!a.histogram.disable) metrics.push({ name: `${prefix}duration`, unit: a.histogram.unit, histogram: { dataPoints: durations, aggregationTemporality: temporality } });
      resourceMetrics.push({ resource: { attributes: res.attributes }, scopeMetrics: [{ scope: { name: 'spanmetricsconnector' }, metrics }] });
    }
    return resourceMetrics.length === 0 ? undefined : Telemetry.of('metrics', { resourceMetrics });
  }

  /** Sends the current metrics to `output.metrics`; resets them after success with DELTA. */
  async flush(nowNs = BigInt(Date.now()) * 1_000_000n): Promise<void> {
    const data = this.snapshot(nowNs);
    if (!data) return;
    try {
      this.#publish(data);
      await fanOut(this.#args.output, data);
    } catch (err: unknown) {
      this.#opts.setHealth('unhealthy', `flushing span metrics failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!(err instanceof ConsumerError)) throw err;
      return;
    }
    this.#opts.setHealth('healthy', 'flushed');
    if (this.#args.aggregation_temporality === 'DELTA') {
      this.#resources = new Map();
      this.#seriesCount = 0;
      this.#lastFlushNs = nowNs;
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#opts.setHealth('healthy', 'ready');
    while (!signal.aborted) {
      await pause(this.#args.metrics_flush_interval, signal, (w) => (this.#wake = w));
      await this.flush().catch((err: unknown) => this.#opts.setHealth('unhealthy', String(err)));
    }
  }

  update(args: Arguments): void {
    const reset = JSON.stringify({ ...args, output: undefined }) !== JSON.stringify({ ...this.#args, output: undefined });
    this.#args = args;
    if (reset) {
      this.#resources = new Map();
      this.#seriesCount = 0;
    }
    this.#wake?.();
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.connector.spanmetrics',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new SpanMetricsConnector(opts, args),
};
