// Prometheus → OTLP → Prometheus with real peers: `prometheus.scrape` of a real node_exporter →
// `otelcol.receiver.prometheus` → `otelcol.exporter.prometheus` → `prometheus.remote_write` →
// Prometheus 2.42, which also scrapes the same node_exporter itself (job "direct").
// Journey: the series Prometheus stores through the OTLP round trip are exactly the series it
// scrapes itself (same names and labels, `job` aside), plus only what the OTLP translation adds
// by design: `target_info` and the `otel_scope_name`/`otel_scope_version` labels. Constant values
// (node_boot_time_seconds, node_exporter_build_info) are equal. The same OTLP also goes to an
// OTLP/HTTP sink here (decoded with the official definitions): counters are monotonic cumulative
// sums whose start time stays put across scrapes, summaries are summaries, gauges gauges, and the
// resource carries service.name/service.instance.id from job/instance.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { officialDecode } from '../../collector/src/component/otelcol/otelcol.test-support.js';
import { freePort, promQuery, requireTool, startAlloy, startNodeExporter, startPrometheus, stopAll, until, type PromSample } from './harness.js';

const config = (target: string, promPort: number, sinkPort: number): string => `prometheus.scrape "node" {
  targets         = [{"__address__" = "${target}"}]
  job_name        = "node"
  scrape_interval = "2s"
  scrape_timeout  = "1s"
  forward_to      = [otelcol.receiver.prometheus.default.receiver]
}

otelcol.receiver.prometheus "default" {
  output {
    metrics = [otelcol.exporter.prometheus.default.input, otelcol.exporter.otlphttp.sink.input]
  }
}

otelcol.exporter.otlphttp "sink" {
  client {
    endpoint = "http://127.0.0.1:${sinkPort}"
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

const run = requireTool('/usr/bin/prometheus', 'the OTLP round-trip journey') && requireTool('/usr/bin/prometheus-node-exporter', 'the OTLP round-trip journey') ? it : it.skip;

type Obj = Record<string, unknown>;

/** An OTLP/HTTP metrics sink: every request decoded with the official definitions. */
async function startSink(port: number): Promise<{ server: Server; requests: Obj[] }> {
  const requests: Obj[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = Buffer.concat(chunks);
        requests.push(officialDecode('metrics', req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } catch (err: unknown) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, requests };
}

/** A series as text without `job` (and the scope labels the OTLP path adds by design). */
function key(m: Record<string, string>): string {
  return Object.entries(m)
    .filter(([k]) => k !== 'job' && k !== 'otel_scope_name' && k !== 'otel_scope_version')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
}

describe('Prometheus → otelcol.receiver.prometheus → otelcol.exporter.prometheus → Prometheus', () => {
  let dir: string;
  let sink: { server: Server; requests: Obj[] } | undefined;
  afterEach(async () => {
    await stopAll();
    if (sink) await new Promise((r) => sink!.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  run('stores the same series as a direct scrape of node_exporter', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-otel-roundtrip-'));
    const node = await startNodeExporter();
    const prom = await startPrometheus(dir, 'prom', `global:\n  scrape_interval: 2s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: direct\n    static_configs:\n      - targets: ['${node.address}']\n`, 'server');
    const sinkPort = await freePort();
    sink = await startSink(sinkPort);
    await startAlloy(dir, 'alloy', config(node.address, Number(new URL(prom.base).port), sinkPort));

    let direct: PromSample[] = [];
    let viaOtel: PromSample[] = [];
    let diff = '';
    await until(
      'the round-tripped series to equal the directly scraped ones',
      async () => {
        [direct, viaOtel] = await Promise.all([promQuery(prom.base, '{job="direct"}'), promQuery(prom.base, '{job="node"}')]);
        const a = new Set(direct.map((s) => key(s.metric)));
        const b = new Set(viaOtel.filter((s) => s.metric['__name__'] !== 'target_info').map((s) => key(s.metric)));
        const onlyDirect = [...a].filter((k) => !b.has(k));
        const onlyOtel = [...b].filter((k) => !a.has(k));
        diff = `only direct (${onlyDirect.length}): ${onlyDirect.slice(0, 5).join(' | ')}\nonly via OTLP (${onlyOtel.length}): ${onlyOtel.slice(0, 5).join(' | ')}`;
        return a.size > 100 && onlyDirect.length === 0 && onlyOtel.length === 0;
      },
      90_000,
      1000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${diff}`);
    });

    // What the OTLP path adds by design: the scope labels on every series and target_info.
    expect(viaOtel.filter((s) => s.metric['__name__'] !== 'target_info').every((s) => s.metric['otel_scope_name'] === 'otelcol/prometheusreceiver')).toBe(true);
    const info = viaOtel.filter((s) => s.metric['__name__'] === 'target_info');
    expect(info).toHaveLength(1);
    expect(info[0]!.metric).toMatchObject({ job: 'node', instance: node.address, http_scheme: 'http', server_port: node.address.split(':')[1] });

    const value = (set: PromSample[], name: string): string | undefined => set.find((s) => s.metric['__name__'] === name)?.value[1];
    for (const name of ['node_boot_time_seconds', 'node_exporter_build_info']) expect(value(viaOtel, name)).toBe(value(direct, name));
    // The OTLP itself: types from the scrape's metadata, resource from job/instance, stable start times.
    const metrics = sink!.requests.flatMap((r) => (r['resourceMetrics'] as Obj[]).map((rm) => ({ resource: rm['resource'] as Obj, metrics: (rm['scopeMetrics'] as Obj[]).flatMap((sm) => sm['metrics'] as Obj[]) })));
    expect(metrics.length).toBeGreaterThan(2);
    expect(metrics[0]!.resource['attributes']).toEqual(expect.arrayContaining([{ key: 'service.name', value: { stringValue: 'node' } }, { key: 'service.instance.id', value: { stringValue: node.address } }]));
    const find = (i: number, name: string): Obj => metrics[i]!.metrics.find((m) => m['name'] === name)!;
    const cpu = find(0, 'node_cpu_seconds_total')['sum'] as { isMonotonic: boolean; aggregationTemporality: number; dataPoints: Obj[] };
    expect([cpu.isMonotonic, cpu.aggregationTemporality]).toEqual([true, 2]);
    const last = find(metrics.length - 1, 'node_cpu_seconds_total')['sum'] as { dataPoints: Obj[] };
    expect(last.dataPoints[0]!['startTimeUnixNano']).toBe(cpu.dataPoints[0]!['startTimeUnixNano']);
    expect(last.dataPoints[0]!['timeUnixNano']).not.toBe(cpu.dataPoints[0]!['timeUnixNano']);
    expect(find(0, 'go_gc_duration_seconds')['summary']).toBeDefined();
    expect(find(0, 'node_boot_time_seconds')['gauge']).toBeDefined();
    expect(find(0, 'go_gc_duration_seconds')['description']).toBe('A summary of the pause duration of garbage collection cycles.');

    // Counters arrive as counters: rate() over them is defined and non-negative.
    const rate = await until('rate(node_cpu_seconds_total) through OTLP', async () => {
      const r = await promQuery(prom.base, 'sum(rate(node_cpu_seconds_total{job="node"}[10s]))');
      return r.length > 0 ? Number(r[0]!.value[1]) : undefined;
    }, 30_000, 1000);
    expect(rate).toBeGreaterThanOrEqual(0);
  }, 180_000);
});
