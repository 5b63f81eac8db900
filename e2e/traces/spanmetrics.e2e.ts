// Span metrics into a real Prometheus 2.42: JS SDK spans (OTLP/gRPC) → otelcol.receiver.otlp →
// otelcol.connector.spanmetrics → otelcol.exporter.prometheus → prometheus.remote_write →
// Prometheus (remote-write receiver). The spans have known durations, so the calls counter and
// the duration histogram buckets queried from Prometheus are checked against hand-computed values.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { freePort, requireTool, startAlloy, startPrometheus, stopAll, until } from '../metrics/harness.js';

const config = (otlpPort: number, promPort: number): string => `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:${otlpPort}"
  }
  output {
    traces = [otelcol.connector.spanmetrics.default.input]
  }
}

otelcol.connector.spanmetrics "default" {
  metrics_flush_interval = "1s"
  histogram {
    explicit {}
  }
  output {
    metrics = [otelcol.exporter.prometheus.default.input]
  }
}

otelcol.exporter.prometheus "default" {
  forward_to = [prometheus.remote_write.default.receiver]
}

prometheus.remote_write "default" {
  endpoint {
    url = "http://127.0.0.1:${promPort}/api/v1/write"
  }
}
`;

const run = requireTool('/usr/bin/prometheus', 'the span metrics journey') ? it : it.skip;

describe('span metrics to Prometheus', () => {
  let dir: string;
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  run('calls and duration buckets in Prometheus match the spans sent', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-spanmetrics-'));
    const prom = await startPrometheus(dir, 'prom', 'global:\n  scrape_interval: 15s\n', 'server');
    const promPort = Number(new URL(prom.base).port);
    const otlpPort = await freePort();
    await startAlloy(dir, 'alloy', config(otlpPort, promPort));

    const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop' }), spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${otlpPort}` }) })] });
    const tracer = provider.getTracer('e2e');
    const t0 = Date.now() - 60_000;
    for (const ms of [1, 3, 60]) tracer.startSpan('GET /a', { kind: 1, startTime: t0 }).end(t0 + ms);
    const db = tracer.startSpan('db', { kind: 2, startTime: t0 });
    db.setStatus({ code: 2 });
    db.end(t0 + 5);
    await provider.forceFlush();

    const query = async (q: string): Promise<number | undefined> => {
      const res = (await (await fetch(`${prom.base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { value: [number, string] }[] } };
      const v = res.data.result[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    };
    const want: [string, number][] = [
      ['traces_span_metrics_calls_total{job="shop",span_name="GET /a",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}', 3],
      ['traces_span_metrics_calls_total{job="shop",span_name="db",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR"}', 1],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="GET /a",le="2"}', 1],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="GET /a",le="4"}', 2],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="GET /a",le="50"}', 2],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="GET /a",le="100"}', 3],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="GET /a",le="+Inf"}', 3],
      ['traces_span_metrics_duration_milliseconds_count{span_name="GET /a"}', 3],
      ['traces_span_metrics_duration_milliseconds_sum{span_name="GET /a"}', 64],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="db",le="6"}', 1],
      ['traces_span_metrics_duration_milliseconds_bucket{span_name="db",le="4"}', 0],
    ];
    for (const [q, v] of want) await until(`${q} = ${v} in Prometheus`, async () => (await query(q)) === v, 60_000, 500);
    await provider.shutdown();
  }, 120_000);
});
