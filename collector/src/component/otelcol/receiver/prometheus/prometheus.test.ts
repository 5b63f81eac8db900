import { labelsFromRecord } from '../../../../prom/labels/labels.js';
import { STALE_NAN, type Exemplar, type Labels, type MetricMetadata, type SampleBatch, type ScrapeContext } from '../../../../prom/types.js';
import { Telemetry } from '../../../../otlp/data.js';
import type { MetricsRequest } from '../../../../otlp/types.js';
import { formatDiagnostics } from '../../../../syntax/index.js';
import { validateConfig } from '../../../../runtime/validate.js';
import { defaultRegistry } from '../../../registry.js';
import { convert as toPrometheus, argumentsSchema as exporterArgs } from '../../exporter/prometheus/prometheus.js';
import { CaptureConsumer, officialDecode, runComponent } from '../../otelcol.test-support.js';
import { component, type Exports } from './prometheus.js';
import { StartTimeAdjuster, translate, unitWordToUCUM } from './translate.js';

const target = { job: 'node', instance: '10.0.0.1:9100' };
const meta = new Map<string, MetricMetadata>([
  ['http_requests_total', { type: 'counter', help: 'Requests.', unit: '' }],
  ['rpc_duration_seconds', { type: 'histogram', help: 'RPC latency.', unit: '' }],
  ['rpc_quantiles', { type: 'summary', help: 'Quantiles.', unit: '' }],
  ['temp_celsius', { type: 'gauge', help: 'Temperature.', unit: 'celsius' }],
]);
const ctx: ScrapeContext = {
  metadata: meta,
  discoveredLabels: { __address__: '10.0.0.1:9100', __meta_kubernetes_pod_name: 'node-exporter-x', __meta_kubernetes_namespace: 'monitoring', __meta_kubernetes_pod_controller_kind: 'DaemonSet', __meta_kubernetes_pod_controller_name: 'node-exporter' },
  scheme: 'http',
};

function batch(rows: Array<[Record<string, string>, number]>, ts: number, c: ScrapeContext | undefined = ctx, exemplars?: Map<number, Exemplar>): SampleBatch {
  const series: Labels[] = rows.map(([l]) => labelsFromRecord({ ...target, ...l }));
  // Element-wise stores keep the staleness NaN's bit pattern (Float64Array.from canonicalizes NaNs).
  const values = new Float64Array(rows.length);
  rows.forEach(([, v], i) => (values[i] = v));
  return { series, timestamps: Float64Array.from(rows.map(() => ts)), values, length: rows.length, ...(c ? { context: c } : {}), ...(exemplars ? { exemplars } : {}) };
}

const T = 1_700_000_000_000;
const scrape = (counter: number, ts: number): SampleBatch =>
  batch(
    [
      [{ __name__: 'http_requests_total', code: '200' }, counter],
      [{ __name__: 'rpc_duration_seconds_bucket', le: '0.1' }, 2],
      [{ __name__: 'rpc_duration_seconds_bucket', le: '1' }, 5],
      [{ __name__: 'rpc_duration_seconds_bucket', le: '+Inf' }, 7],
      [{ __name__: 'rpc_duration_seconds_sum' }, 3.5],
      [{ __name__: 'rpc_duration_seconds_count' }, 7],
      [{ __name__: 'rpc_quantiles', quantile: '0.9' }, 0.8],
      [{ __name__: 'rpc_quantiles', quantile: '0.5' }, 0.2],
      [{ __name__: 'rpc_quantiles_sum' }, 10],
      [{ __name__: 'rpc_quantiles_count' }, 20],
      [{ __name__: 'temp_celsius', sensor: 'a' }, 21.5],
      [{ __name__: 'temp_celsius', sensor: 'b' }, STALE_NAN],
      [{ __name__: 'foo_bar' }, 3],
      [{ __name__: 'target_info', env: 'prod' }, 1],
      [{ __name__: 'up' }, 1],
    ],
    ts,
  );

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

describe('otelcol.receiver.prometheus translation', () => {
  it('builds the resource, families, points and scope as upstream', () => {
    const { request, dropped } = translate(scrape(10, T), new StartTimeAdjuster(), 'v1.2.3');
    expect(dropped).toBe(0);
    const bytes = Telemetry.of('metrics', request).encode();
    // The official generated code predates Metric.metadata (field 12): read that field with ours.
    const ours = Telemetry.decode('metrics', bytes).request.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    expect(ours.map((x) => x.metadata)).toEqual(['counter', 'histogram', 'summary', 'gauge', 'unknown', 'gauge'].map((t) => [str('prometheus.type', t)]));
    const wire = officialDecode('metrics', bytes);
    const rm = (wire['resourceMetrics'] as Array<Record<string, unknown>>)[0]!;
    expect(rm['resource']).toEqual({
      attributes: [
        str('service.name', 'node'),
        str('host.name', '10.0.0.1'),
        str('server.address', '10.0.0.1'),
        str('service.instance.id', '10.0.0.1:9100'),
        str('server.port', '9100'),
        str('http.scheme', 'http'),
        str('k8s.pod.name', 'node-exporter-x'),
        str('k8s.namespace.name', 'monitoring'),
        str('k8s.daemonset.name', 'node-exporter'),
        str('env', 'prod'),
      ],
    });
    const sm = (rm['scopeMetrics'] as Array<Record<string, unknown>>)[0]!;
    expect(sm['scope']).toEqual({ name: 'otelcol/prometheusreceiver', version: 'v1.2.3' });
    const ns = String(BigInt(T) * 1_000_000n);
    const m = sm['metrics'] as Array<Record<string, unknown>>;
    expect(m.map((x) => x['name'])).toEqual(['http_requests_total', 'rpc_duration_seconds', 'rpc_quantiles', 'temp_celsius', 'foo_bar', 'up']);
    expect(m[0]).toEqual({ name: 'http_requests_total', description: 'Requests.', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ attributes: [str('code', '200'), str('job', 'node')], startTimeUnixNano: ns, timeUnixNano: ns, asDouble: 10 }] } });
    expect(m[1]).toEqual({ name: 'rpc_duration_seconds', description: 'RPC latency.', histogram: { aggregationTemporality: 2, dataPoints: [{ startTimeUnixNano: ns, timeUnixNano: ns, count: '7', sum: 3.5, bucketCounts: ['2', '3', '2'], explicitBounds: [0.1, 1] }] } });
    expect(m[2]).toEqual({ name: 'rpc_quantiles', description: 'Quantiles.', summary: { dataPoints: [{ startTimeUnixNano: ns, timeUnixNano: ns, count: '20', sum: 10, quantileValues: [{ quantile: 0.5, value: 0.2 }, { quantile: 0.9, value: 0.8 }] }] } });
    expect(m[3]).toEqual({ name: 'temp_celsius', description: 'Temperature.', unit: 'Cel', gauge: { dataPoints: [{ attributes: [str('job', 'node'), str('sensor', 'a')], timeUnixNano: ns, asDouble: 21.5 }, { attributes: [str('job', 'node'), str('sensor', 'b')], timeUnixNano: ns, flags: 1 }] } });
    expect(m[4]).toEqual({ name: 'foo_bar', gauge: { dataPoints: [{ attributes: [str('job', 'node')], timeUnixNano: ns, asDouble: 3 }] } });
    expect(m[5]).toMatchObject({ name: 'up', description: 'The scraping was successful' });
  });

  it('keeps the first start time of cumulative series and restarts it on a reset', () => {
    const adj = new StartTimeAdjuster();
    const start = (b: SampleBatch): string => String((translate(b, adj, 'v').request.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.sum!.dataPoints[0]!.startTimeUnixNano));
    expect(start(scrape(10, T))).toBe(String(BigInt(T) * 1_000_000n));
    expect(start(scrape(15, T + 15_000))).toBe(String(BigInt(T) * 1_000_000n));
    expect(start(scrape(3, T + 30_000))).toBe(String(BigInt(T + 30_000) * 1_000_000n));
    expect(start(scrape(4, T + 45_000))).toBe(String(BigInt(T + 30_000) * 1_000_000n));
  });

  it('treats samples without metadata as gauges, drops samples without job or instance, and reads OpenMetrics units and scopes', () => {
    const noCtx = translate(batch([[{ __name__: 'x_total' }, 1]], T, undefined), new StartTimeAdjuster(), 'v').request;
    expect(noCtx.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.gauge).toBeDefined();
    const b: SampleBatch = { series: [labelsFromRecord({ __name__: 'x', job: 'j' })], timestamps: Float64Array.of(T), values: Float64Array.of(1), length: 1 };
    expect(translate(b, new StartTimeAdjuster(), 'v')).toEqual({ request: { resourceMetrics: [] }, dropped: 1 });
    const scoped = translate(batch([[{ __name__: 'g', otel_scope_name: 'lib', otel_scope_version: '2' }, 1], [{ __name__: 'otel_scope_info', otel_scope_name: 'lib', otel_scope_version: '2', team: 'a' }, 1]], T), new StartTimeAdjuster(), 'v').request;
    expect(scoped.resourceMetrics[0]!.scopeMetrics[0]!.scope).toEqual({ name: 'lib', version: '2', attributes: [str('team', 'a')] });
    expect(['seconds', 'bytes_per_second', 'widgets'].map(unitWordToUCUM)).toEqual(['s', 'By/s', 'widgets']);
  });

  it('carries exemplars with their trace and span IDs', () => {
    const ex = new Map<number, Exemplar>([[0, { labels: labelsFromRecord({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', user: 'u1' }), value: 0.25, timestamp: T - 5 }]]);
    const req = translate(batch([[{ __name__: 'http_requests_total', code: '200' }, 4]], T, ctx, ex), new StartTimeAdjuster(), 'v').request;
    const wire = officialDecode('metrics', Telemetry.of('metrics', req).encode()) as { resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<{ sum: { dataPoints: Array<{ exemplars: unknown[] }> } }> }> }> };
    expect(wire.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.sum.dataPoints[0]!.exemplars).toEqual([{ filteredAttributes: [str('user', 'u1')], timeUnixNano: String(BigInt(T - 5) * 1_000_000n), asDouble: 0.25, traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }]);
  });

  it('round-trips through otelcol.exporter.prometheus to the same Prometheus series', () => {
    const { request } = translate(scrape(10, T), new StartTimeAdjuster(), 'v');
    const { out } = toPrometheus(exporterArgs.parse({ forward_to: [], include_scope_labels: false, include_target_info: false, add_metric_suffixes: false }), request as MetricsRequest);
    const got = out.series.map((s, i) => `${s.map((l) => `${l.name}=${l.value}`).join(',')} ${out.values[i]}`).filter((x) => !x.includes('__name__=up'));
    expect(got).toEqual(expect.arrayContaining(['__name__=http_requests_total,code=200,instance=10.0.0.1:9100,job=node 10', '__name__=rpc_duration_seconds_bucket,instance=10.0.0.1:9100,job=node,le=1 5', '__name__=rpc_quantiles,instance=10.0.0.1:9100,job=node,quantile=0.9 0.8', '__name__=foo_bar,instance=10.0.0.1:9100,job=node 3']));
  });
});

describe('otelcol.receiver.prometheus component', () => {
  it('sends translated metrics to output.metrics and surfaces a refusing consumer to the sender', async () => {
    const sink = new CaptureConsumer();
    const r = await runComponent<unknown, Exports>(component as never, { output: { metrics: [sink] } });
    try {
      await r.exports().receiver.append(scrape(10, T));
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0]!.count).toBeGreaterThan(5);
      sink.fail = { retryable: true, message: 'memory limit' };
      await expect(r.exports().receiver.append(scrape(11, T + 1000))).rejects.toThrow('memory limit');
    } finally {
      await r.stop();
    }
  });

  it("validates the reference page's example", async () => {
    const src = `prometheus.scrape "default" {
  // Collect metrics from the default HTTP listen address.
  targets = [{"__address__"   = "127.0.0.1:12345"}]

  forward_to = [otelcol.receiver.prometheus.default.receiver]
}

otelcol.receiver.prometheus "default" {
  output {
    metrics = [otelcol.exporter.otlp.default.input]
  }
}

otelcol.exporter.otlp "default" {
  client {
    endpoint = "my-otlp-grpc-server:4317"
  }
}
`;
    const sources = new Map([['example.alloy', src]]);
    expect(formatDiagnostics((await validateConfig(sources, { registry: defaultRegistry() })), sources)).toBe('');
  });
});
