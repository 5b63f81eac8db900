/**
 * The chart's gateway with real peers: a Prometheus agent scraping a real node_exporter remote-writes
 * through Debian's nginx, running the nginx.conf the chart renders (basic auth on), to Alloy's
 * `prometheus.receive_http`, which forwards to a real Prometheus server. Debian's nginx (1.22)
 * predates `http2 on`, so the gateway is rendered with `gateway.nginxConfig.http2: false`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helmTemplateOk, parseManifests } from '../../tools/helm-template/helm-template.js';
import { localConf, nginxConf, prepareDir } from '../../charts/tools/gateway-local.js';
import { freePort, httpOk, promQuery, requireTool, spawnProc, startAlloy, startNodeExporter, startPrometheus, stopAll, until } from '../metrics/harness.js';

const prom = requireTool('/usr/bin/prometheus', 'the chart gateway journey');
const nodeExporter = requireTool('/usr/bin/prometheus-node-exporter', 'the chart gateway journey');
const nginx = requireTool('/usr/sbin/nginx', 'the chart gateway journey');
const maybe = prom && nodeExporter && nginx ? describe : describe.skip;

maybe('chart gateway with real peers', () => {
  let dir: string;
  let gatewayDir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-gateway-'));
    gatewayDir = prepareDir();
  });
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    rmSync(gatewayDir, { recursive: true, force: true });
  }, 30_000);

  it('Prometheus agent → gateway nginx (basic auth) → Alloy prometheus.receive_http → Prometheus: node_exporter series arrive', async () => {
    const ne = await startNodeExporter();
    const backend = await startPrometheus(dir, 'backend', 'global: {}\n', 'server');
    const receivePort = await freePort();
    await startAlloy(
      dir,
      'alloy',
      `prometheus.receive_http "gateway" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${receivePort}
  }
  forward_to = [prometheus.remote_write.backend.receiver]
}

prometheus.remote_write "backend" {
  endpoint {
    url = "${backend.base}/api/v1/write"
  }
}
`,
    );

    const gatewayPort = await freePort();
    const sets = [
      'gateway.enabled=true',
      `gateway.port=${gatewayPort}`,
      'gateway.nginxConfig.http2=false',
      'gateway.auth.enabled=true',
      'gateway.auth.existingSecret=alloy-gateway-auth',
      'gateway.upstreams.otlpGrpc.enabled=false',
      'gateway.upstreams.otlpHttp.enabled=false',
      'gateway.upstreams.loki.enabled=false',
      `gateway.upstreams.prometheus.targetPort=${receivePort}`,
    ];
    const rendered = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--set', sets.join(',')]));
    const conf = path.join(gatewayDir, 'nginx.conf');
    writeFileSync(conf, localConf(nginxConf(rendered), gatewayDir));
    const gw = spawnProc('nginx', nginx!, ['-c', conf, '-p', gatewayDir, '-e', path.join(gatewayDir, 'error.log'), '-g', 'daemon off;']);
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    await until(() => `the gateway to answer /health:\n${gw.output()}`, () => httpOk(`${gateway}/health`));
    expect((await fetch(`${gateway}/api/v1/metrics/write`, { method: 'POST', body: '' })).status).toBe(401);

    await startPrometheus(
      dir,
      'agent',
      `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['${ne.address}']
remote_write:
  - url: ${gateway}/api/v1/metrics/write
    basic_auth:
      username: user
      password: secret
`,
      'agent',
    );

    const series = await until(
      `node_exporter series at the backend (gateway error log: ${fs.existsSync(path.join(gatewayDir, 'error.log')) ? fs.readFileSync(path.join(gatewayDir, 'error.log'), 'utf8') : ''})`,
      async () => {
        const r = await promQuery(backend.base, 'count(node_cpu_seconds_total{job="node"})');
        return r.length > 0 && Number(r[0]!.value[1]) > 0 ? Number(r[0]!.value[1]) : undefined;
      },
      45_000,
      500,
    );
    expect(series).toBeGreaterThan(0);
    const direct = await (await fetch(`http://${ne.address}/metrics`)).text();
    expect(series).toBe(direct.split('\n').filter((l) => l.startsWith('node_cpu_seconds_total{')).length);
    // Every write went through nginx with the credentials: the access log names the user.
    const access = fs.readFileSync(path.join(gatewayDir, 'access.log'), 'utf8');
    expect(access).toMatch(/ - user \[[^\]]+\] "POST \/api\/v1\/metrics\/write HTTP\/1\.1" 20[04] /);
  }, 120_000);
});
