/**
 * `otelcol.connector.servicegraph`: pairs client spans (kind CLIENT or PRODUCER) with the server
 * spans (SERVER or CONSUMER) whose parent they are, within one trace, and counts the edges
 * between their services: `traces_service_graph_request_total`,
 * `traces_service_graph_request_failed_total` (either side has status ERROR), and the histograms
 * `traces_service_graph_request_server_seconds` / `..._client_seconds` of each side's duration
 * (`latency_histogram_buckets`), labelled `client`, `server`, `connection_type` (`messaging_system`
 * for PRODUCER/CONSUMER pairs, else empty) and `client_<d>`/`server_<d>` for each of
 * `dimensions` found on the span or its resource. Metrics are cumulative and flushed to
 * `output.metrics` every `metrics_flush_interval`.
 *
 * Contracts:
 * - Half-paired spans wait in a store of at most `store.max_items` edges for `store.ttl`;
 *   expired or evicted halves are counted in `otelcol_connector_servicegraph_dropped_spans_total`
 *   (no virtual nodes are produced).
 * - Traces are acknowledged once recorded.
 */
import { Counter } from 'prom-client';
import Long from 'long';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../../runtime/component.js';
import { block, duration } from '../../../../syntax/vm/schema.js';
import { Telemetry } from '../../../../otlp/data.js';
import { hex } from '../../../../otlp/json.js';
import { AggregationTemporality, type HistogramDataPoint, type KeyValue, type Metric, type NumberDataPoint, type Resource, type Span, type TracesRequest } from '../../../../otlp/types.js';
import { debugMetricsBlock, fanOut, outputBlock, pause, unsupported, type Consumer } from '../../consumer.js';
import { telemetryPublisher, type TelemetryPublisher } from '../../live-debugging.js';
import { anyToString } from '../../processor/attributes/attributes.js';
import { DEFAULT_BUCKETS_MS } from '../spanmetrics/spanmetrics.js';

export const argumentsSchema = z.object({
  latency_histogram_buckets: z.array(duration()).default(DEFAULT_BUCKETS_MS),
  dimensions: z.array(z.string()).default([]),
  cache_loop: duration().default(60_000),
  store_expiration_loop: duration().default(2_000),
  metrics_flush_interval: duration().default(60_000),
  database_name_attribute: z.string().default('db.name'),
  store: block(z.object({ max_items: z.number().int().min(1).default(1000), ttl: duration().default(2_000) })).prefault({}),
  output: outputBlock(),
  debug_metrics: debugMetricsBlock,
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

interface Half {
  readonly service: string;
  readonly failed: boolean;
  readonly seconds: number;
  readonly messaging: boolean;
  readonly dims: Record<string, string>;
}

interface Edge {
  client?: Half;
  server?: Half;
  readonly expires: number;
}

interface Series {
  readonly labels: KeyValue[];
  readonly startNs: string;
  total: number;
  failed: number;
  readonly server: { count: number; sum: number; buckets: number[] };
  readonly client: { count: number; sum: number; buckets: number[] };
}

const seconds = (s: Span): number => {
  const d = BigInt(String(s.endTimeUnixNano)) - BigInt(String(s.startTimeUnixNano));
  return Number(d > 0n ? d : 0n) / 1e9;
};

export class ServiceGraphConnector implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  readonly #publish: TelemetryPublisher;
  #args: Arguments;
  readonly #store = new Map<string, Edge>();
  readonly #series = new Map<string, Series>();
  readonly #dropped: Counter;
  readonly #now: () => number;
  #wake: (() => void) | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments, now: () => number = Date.now) {
    this.#opts = opts;
    this.#publish = telemetryPublisher(opts);
    this.#args = args;
    this.#now = now;
    this.#dropped = new Counter({ name: 'otelcol_connector_servicegraph_dropped_spans_total', help: 'Client or server spans that found no partner before store.ttl or were evicted.', registers: [opts.registry] });
    opts.onStateChange({
      input: {
        consume: (data) => {
          if (data.signal !== 'traces') return Promise.reject(unsupported(opts.id, data.signal));
          this.#record(data.request as TracesRequest);
          return Promise.resolve();
        },
      },
    });
  }

  #half(s: Span, resource: Resource | null | undefined): Half {
    const attr = (k: string): string => anyToString((s.attributes.find((kv) => kv.key === k) ?? resource?.attributes.find((kv) => kv.key === k))?.value);
    const dims: Record<string, string> = {};
    for (const d of this.#args.dimensions) {
      const v = attr(d);
      if (v) dims[d] = v;
    }
    return { service: anyToString(resource?.attributes.find((kv) => kv.key === 'service.name')?.value), failed: s.status?.code === 2, seconds: seconds(s), messaging: s.kind === 4 || s.kind === 5, dims };
  }

  #record(req: TracesRequest): void {
    this.expire();
    for (const rs of req.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const kind = s.kind ?? 0;
          const isClient = kind === 3 || kind === 4;
          const isServer = kind === 2 || kind === 5;
          if (!isClient && !isServer) continue;
          if (isServer && (!s.parentSpanId || s.parentSpanId.length === 0)) continue;
          const key = `${hex(s.traceId)}/${hex(isClient ? s.spanId : s.parentSpanId)}`;
          let edge = this.#store.get(key);
          if (!edge) {
            if (this.#store.size >= this.#args.store.max_items) {
              this.#dropped.inc();
              continue;
            }
            edge = { expires: this.#now() + this.#args.store.ttl };
            this.#store.set(key, edge);
          }
          if (isClient) edge.client = this.#half(s, rs.resource);
          else edge.server = this.#half(s, rs.resource);
          if (edge.client && edge.server) {
            this.#store.delete(key);
            this.#count(edge.client, edge.server);
          }
        }
  }

  /** Drops half-paired edges past `store.ttl`. */
  expire(): void {
    const now = this.#now();
    for (const [k, e] of this.#store) {
      if (e.expires > now) continue;
      this.#store.delete(k);
      this.#dropped.inc();
    }
  }

  #count(client: Half, server: Half): void {
    const labels: Record<string, string> = { client: client.service, server: server.service, connection_type: client.messaging && server.messaging ? 'messaging_system' : '' };
    for (const d of this.#args.dimensions) {
      if (client.dims[d] !== undefined) labels[`client_${d.replace(/\W/g, '_')}`] = client.dims[d]!;
      if (server.dims[d] !== undefined) labels[`server_${d.replace(/\W/g, '_')}`] = server.dims[d]!;
    }
    const key = JSON.stringify(labels);
    let s = this.#series.get(key);
    const nb = this.#args.latency_histogram_buckets.length + 1;
    if (!s) {
      s = {
        labels: Object.entries(labels).map(([k, v]) => ({ key: k, value: { stringValue: v } })),
        startNs: (BigInt(this.#now()) * 1_000_000n).toString(),
        total: 0,
        failed: 0,
        server: { count: 0, sum: 0, buckets: new Array<number>(nb).fill(0) },
        client: { count: 0, sum: 0, buckets: new Array<number>(nb).fill(0) },
      };
      this.#series.set(key, s);
    }
    s.total++;
    if (client.failed || server.failed) s.failed++;
    const bounds = this.#args.latency_histogram_buckets.map((b) => b / 1000);
    for (const [h, v] of [
      [s.server, server.seconds],
      [s.client, client.seconds],
    ] as const) {
      h.count++;
      h.sum += v;
      let i = 0;
      while (i < bounds.length && v > bounds[i]!) i++;
      h.buckets[i]!++;
    }
  }

  /** The metrics so far as an OTLP request (undefined when no edge was seen). */
  snapshot(nowMs = this.#now()): Telemetry<'metrics'> | undefined {
    if (this.#series.size === 0) return undefined;
    const time = Long.fromString((BigInt(nowMs) * 1_000_000n).toString(), true);
    const bounds = this.#args.latency_histogram_buckets.map((b) => b / 1000);
    const counter = (pick: (s: Series) => number): NumberDataPoint[] => [...this.#series.values()].map((s) => ({ attributes: s.labels, startTimeUnixNano: Long.fromString(s.startNs, true), timeUnixNano: time, asInt: Long.fromNumber(pick(s)) }));
    const hist = (side: 'server' | 'client'): HistogramDataPoint[] =>
      [...this.#series.values()].map((s) => ({ attributes: s.labels, startTimeUnixNano: Long.fromString(s.startNs, true), timeUnixNano: time, count: Long.fromNumber(s[side].count, true), sum: s[side].sum, bucketCounts: s[side].buckets.map((b) => Long.fromNumber(b, true)), explicitBounds: bounds }));
    const C = AggregationTemporality.CUMULATIVE;
    const metrics: Metric[] = [
      { name: 'traces_service_graph_request_total', sum: { dataPoints: counter((s) => s.total), aggregationTemporality: C, isMonotonic: true } },
      { name: 'traces_service_graph_request_failed_total', sum: { dataPoints: counter((s) => s.failed), aggregationTemporality: C, isMonotonic: true } },
      { name: 'traces_service_graph_request_server_seconds', unit: 's', histogram: { dataPoints: hist('server'), aggregationTemporality: C } },
      { name: 'traces_service_graph_request_client_seconds', unit: 's', histogram: { dataPoints: hist('client'), aggregationTemporality: C } },
    ];
    return Telemetry.of('metrics', { resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ scope: { name: 'traces_service_graph' }, metrics }] }] });
  }

  async flush(): Promise<void> {
    const data = this.snapshot();
    if (!data) return;
    try {
      this.#publish(data);
      await fanOut(this.#args.output, data);
      this.#opts.setHealth('healthy', 'flushed');
    } catch (err: unknown) {
      this.#opts.setHealth('unhealthy', `flushing service graph metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#opts.setHealth('healthy', 'ready');
    while (!signal.aborted) {
      await pause(Math.min(this.#args.metrics_flush_interval, this.#args.store_expiration_loop), signal, (w) => (this.#wake = w));
      this.expire();
      if (Date.now() - this.#lastFlush >= this.#args.metrics_flush_interval || signal.aborted) {
        this.#lastFlush = Date.now();
        await this.flush();
      }
    }
  }

  #lastFlush = Date.now();

  update(args: Arguments): void {
    this.#args = args;
    this.#wake?.();
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.connector.servicegraph',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new ServiceGraphConnector(opts, args),
};
