// The docs' "Configure proxy instances for metrics" config, verbatim except the backend URL, in one
// `alloy run` whose main HTTP server has the port the config names: prometheus.receive_http is
// served by the main server (no second listener, no EADDRINUSE), remote-write sent to that port
// reaches the backend, the UI/API keep working on it, and a reload to another port moves the
// receiver to its own listener.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeLabels, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress } from '../../collector/src/prom/snappy/snappy.js';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';
import { alloyBin, ensureBuilt, freePort, httpOk, metricValue, Sink, spawnProc, stopAll, until } from './harness.js';

/** The docs snippet as published; only `<MIMIR_ENDPOINT>` and the port are substituted. */
function docsProxyConfig(port: number, backend: string): string {
  return `prometheus.receive_http "ingest" {
  http {
    listen_address = "0.0.0.0"
    listen_port    = ${port}
  }
  forward_to = [prometheus.remote_write.to_backend.receiver]
}

prometheus.remote_write "to_backend" {
  endpoint {
    url = "${backend}/api/v1/push"
  }
}
`;
}

function writeRequest(series: number, t: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let i = 0; i < series; i++) enc.addSample(encodeLabels([{ name: '__name__', value: 'docs_proxy_gauge' }, { name: 'idx', value: String(i) }]), t, i);
  return compress(enc.finish());
}

async function remoteWrite(url: string, payload: Buffer): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
    body: payload,
  });
}

interface ComponentJSON {
  readonly id: string;
  readonly health: { readonly state: string; readonly message: string };
  readonly debugInfo?: AlloyJSONStatement[];
}

describe('docs proxy config on the collector port', () => {
  let dir: string;
  let sink: Sink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-receive-main-'));
    sink = new Sink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves remote-write on the main server port, keeps the UI/API there, and moves on reload', async () => {
    ensureBuilt();
    // The docs use 12345 for both the collector (its default --server.http.listen-addr port) and
    // receive_http. A fixed 12345 could collide with other tests or a local Alloy, so a free port
    // is chosen and substituted in both places: the point is that they are the same port.
    const port = await freePort();
    const cfg = path.join(dir, 'proxy.alloy');
    writeFileSync(cfg, docsProxyConfig(port, `http://127.0.0.1:${sink.port}`));
    const proc = spawnProc('proxy', process.execPath, [alloyBin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, 'data')}`, cfg]);
    const base = `http://127.0.0.1:${port}`;
    await until(() => `proxy to be ready:\n${proc.output()}`, async () => {
      if (proc.proc.exitCode !== null) throw new Error(`alloy exited:\n${proc.output()}`);
      return httpOk(`${base}/-/ready`);
    });
    expect(proc.output()).not.toMatch(/EADDRINUSE/);

    // Remote-write to the collector's port reaches the backend, sample by sample.
    const t0 = Date.now();
    for (let k = 0; k < 5; k++) {
      const r = await remoteWrite(`${base}/api/v1/metrics/write`, writeRequest(20, t0 + k * 1000));
      expect(r.status).toBe(204);
    }
    await until('100 samples at the backend', () => sink.distinct >= 100, 20_000);
    expect(sink.distinct).toBe(100);
    expect(sink.samples.get('__name__=docs_proxy_gauge,idx=7')).toStrictEqual(new Map([0, 1, 2, 3, 4].map((k) => [t0 + k * 1000, 7])));
    // Bad bodies get the same answers as on an own listener.
    expect((await remoteWrite(`${base}/api/v1/metrics/write`, Buffer.from('not snappy'))).status).toBe(400);

    // The UI and API still answer on the same port.
    expect((await fetch(`${base}/-/healthy`)).status).toBe(200);
    const ui = await fetch(`${base}/`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    expect(await ui.text()).toContain('prometheus.receive_http.ingest');
    const comp = (await (await fetch(`${base}/api/v0/web/components/prometheus.receive_http.ingest`)).json()) as ComponentJSON;
    // listen_address "0.0.0.0" but the main server is on loopback: served, with the fix named.
    const fix = `--server.http.listen-addr=0.0.0.0:${port}`;
    expect(comp.health.state).toBe('healthy');
    expect(comp.health.message).toContain(fix);
    const debug = plainOfBody(comp.debugInfo ?? []);
    expect(debug.listener).toBe('main-server');
    expect(debug.warning).toContain(fix);
    expect(proc.output()).toContain(fix);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metricValue(metrics, /^prometheus_receive_http_samples_received_total\{/)).toBe(100);

    // Reload onto another port: the receiver gets its own listener and leaves the main server.
    const other = await freePort();
    writeFileSync(cfg, docsProxyConfig(other, `http://127.0.0.1:${sink.port}`));
    const reload = await fetch(`${base}/-/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);
    expect((await remoteWrite(`http://127.0.0.1:${other}/api/v1/metrics/write`, writeRequest(20, t0 + 10_000))).status).toBe(204);
    expect((await remoteWrite(`${base}/api/v1/metrics/write`, writeRequest(20, t0 + 11_000))).status).toBe(404);
    await until('120 samples at the backend', () => sink.distinct >= 120, 20_000);
    const moved = (await (await fetch(`${base}/api/v0/web/components/prometheus.receive_http.ingest`)).json()) as ComponentJSON;
    expect(plainOfBody(moved.debugInfo ?? []).listener).toBe('own');
  }, 60_000);
});
