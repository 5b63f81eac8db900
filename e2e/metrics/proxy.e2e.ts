// The docs' "Use Grafana Alloy as a proxy" metrics configs, verbatim with URLs filled in:
// edge (prometheus.scrape of a real node_exporter → prometheus.remote_write) → proxy
// (prometheus.receive_http → prometheus.relabel → prometheus.remote_write) → a real Prometheus
// with --web.enable-remote-write-receiver. Also: a real Prometheus in agent mode writing into our
// receive_http, counted sample by sample.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ExpositionServer,
  freePort,
  metricValue,
  promQuery,
  requireTool,
  Sink,
  startAlloy,
  startNodeExporter,
  startPrometheus,
  stopAll,
  until,
} from './harness.js';

const prom = requireTool('/usr/bin/prometheus', 'the remote-write journeys');
const nodeExporter = requireTool('/usr/bin/prometheus-node-exporter', 'the edge → proxy → backend journey');
const maybe = prom && nodeExporter ? describe : describe.skip;

maybe('metrics proxy journeys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-metrics-'));
  });
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('edge → proxy (receive_http + relabel) → real Prometheus, with the docs configs', async () => {
    const ne = await startNodeExporter();
    const backend = await startPrometheus(dir, 'backend', 'global: {}\n', 'server');
    const proxyPort = await freePort();
    // Proxy: the docs snippet, with prometheus.relabel inserted between receiver and remote_write.
    await startAlloy(
      dir,
      'proxy',
      `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${proxyPort}
  }
  forward_to = [prometheus.relabel.tenant.receiver]
}

prometheus.relabel "tenant" {
  rule {
    target_label = "via"
    replacement  = "proxy"
  }
  forward_to = [prometheus.remote_write.to_backend.receiver]
}

prometheus.remote_write "to_backend" {
  endpoint {
    url = "${backend.base}/api/v1/write"
  }
}
`,
    );
    // Edge: the docs snippet; the scrape interval is shortened so the journey takes seconds.
    await startAlloy(
      dir,
      'edge',
      // The docs omit the comma after the target's last field; Alloy rejects that, so it is added.
      `prometheus.scrape "node" {
  targets = [{
    __address__ = "${ne.address}",
  }]
  forward_to = [prometheus.remote_write.to_proxy.receiver]
  scrape_interval = "2s"
  scrape_timeout  = "1s"
}

prometheus.remote_write "to_proxy" {
  endpoint {
    url = "http://127.0.0.1:${proxyPort}/api/v1/metrics/write"
    queue_config {
      batch_send_deadline = "1s"
    }
  }
}
`,
    );
    const up = await until('up{via="proxy"} in the backend', async () => {
      const r = await promQuery(backend.base, 'up{via="proxy"}');
      return r.length > 0 ? r : undefined;
    }, 30_000);
    expect(up[0]!.metric).toStrictEqual({ __name__: 'up', instance: ne.address, job: 'prometheus.scrape.node', via: 'proxy' });
    expect(up[0]!.value[1]).toBe('1');

    // Every node_cpu_seconds_total series of the exporter arrives with the same labels (+ via).
    const text = await (await fetch(`http://${ne.address}/metrics`)).text();
    const expected = text
      .split('\n')
      .filter((l) => l.startsWith('node_cpu_seconds_total{'))
      .map((l) => l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1))
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    const got = await until('node_cpu_seconds_total series', async () => {
      const r = await promQuery(backend.base, 'node_cpu_seconds_total{via="proxy"}');
      return r.length === expected.length ? r : undefined;
    });
    const gotKeys = got
      .map((s) => `{cpu="${s.metric['cpu']}",mode="${s.metric['mode']}"}`)
      .sort();
    expect(gotKeys).toStrictEqual(expected);
    for (const s of got) expect(s.metric).toMatchObject({ instance: ne.address, job: 'prometheus.scrape.node', via: 'proxy' });
    // Values are real counters: the backend's value is at most the exporter's current value.
    const build = await promQuery(backend.base, 'node_exporter_build_info{via="proxy"}');
    expect(build[0]!.value[1]).toBe('1');
  }, 60_000);

  it('a real Prometheus in agent mode remote-writes into receive_http: every sample arrives', async () => {
    const target = new ExpositionServer(50);
    await target.start();
    const sink = new Sink();
    await sink.start();
    const recvPort = await freePort();
    await startAlloy(
      dir,
      'receiver',
      `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${recvPort}
  }
  forward_to = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "http://127.0.0.1:${sink.port}/api/v1/push"
    queue_config {
      batch_send_deadline = "200ms"
    }
  }
}
`,
    );
    const agent = await startPrometheus(
      dir,
      'agent',
      [
        'global: { scrape_interval: 500ms, scrape_timeout: 400ms }',
        'scrape_configs:',
        '  - job_name: static',
        `    static_configs: [{ targets: ["127.0.0.1:${target.port}"] }]`,
        'remote_write:',
        `  - url: http://127.0.0.1:${recvPort}/api/v1/metrics/write`,
        '    queue_config: { batch_send_deadline: 200ms }',
        '',
      ].join('\n'),
      'agent',
    );
    await until('10 scrapes', () => target.scrapes >= 10, 30_000);
    target.failing = true;
    const scrapes = target.scrapes;
    // Every successful scrape of every series reaches the sink through receive_http → remote_write.
    const key = (i: number): string => `__name__=rw_test_gauge,idx=${i},instance=127.0.0.1:${target.port},job=static`;
    await until(`all ${scrapes} samples of 50 series`, () => {
      for (let i = 0; i < 50; i++) {
        const m = sink.samples.get(key(i));
        let real = 0;
        for (const v of m?.values() ?? []) if (!Number.isNaN(v)) real++;
        if (real < scrapes) return false;
      }
      return true;
    });
    for (let i = 0; i < 50; i++) {
      const vals = [...sink.samples.get(key(i))!.values()].filter((v) => !Number.isNaN(v));
      expect(vals).toHaveLength(scrapes);
      expect(new Set(vals)).toStrictEqual(new Set([i]));
    }
    const agentMetrics = await (await fetch(`${agent.base}/metrics`)).text();
    expect(metricValue(agentMetrics, /^prometheus_remote_storage_samples_failed_total\{/)).toBe(0);
    await target.stop();
    await sink.stop();
  }, 60_000);
});
