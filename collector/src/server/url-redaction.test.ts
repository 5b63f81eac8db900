/**
 * Credentials in URLs never leave the process: a real config with a password and tokens in
 * `prometheus.remote_write`, `loki.write` and `prometheus.scrape` URLs, against loopback servers
 * that fail (so retry and failure paths log), must not show a secret in `/metrics`,
 * `/api/v0/web/components`, the UI pages or any log line.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { LogManager } from '../logging/logger.js';
import { Runtime } from '../runtime/runtime.js';
import { defaultRegistry } from '../component/registry.js';
import { syntaxEvaluator } from '../runtime/evaluator.js';
import { SingleNodeCluster } from '../runtime/cluster-service.js';
import type { ServiceName } from '../runtime/component.js';
import { AlloyHttpServer } from './http-server.js';

const SECRETS = ['pw-rw-1', 'tok-rw-2', 'pw-loki-3', 'key-loki-4', 'tok-scrape-5', 'sig-scrape-6'];

async function poll(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('URL credentials are redacted on every surface', () => {
  let dir: string;
  let server: AlloyHttpServer;
  let runtime: Runtime;
  let base: string;
  let failing: http.Server;
  let hits = 0;
  const logs: string[] = [];

  beforeAll(async () => {
    failing = http.createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(503, { 'retry-after': '0' }).end('down'));
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    const port = (failing.address() as AddressInfo).port;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redact-'));
    const cfg = path.join(dir, 'config.alloy');
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => logs.push(c.toString('utf8')));
    const logManager = new LogManager({ stream, level: 'debug' });
    server = new AlloyHttpServer({ listenAddr: '127.0.0.1:0', logger: logManager.root });
    base = `http://${await server.listen()}`;
    const cluster = new SingleNodeCluster({ enabled: false, nodeName: 'n', advertiseAddress: '127.0.0.1:1', joinAddresses: [], discoverPeers: '', rejoinIntervalMs: 1, maxJoinPeers: 1, name: '' });
    server.setCluster(cluster);
    runtime = new Runtime({
      configPath: cfg,
      storagePath: path.join(dir, 'data'),
      stabilityLevel: 'generally-available',
      logs: logManager,
      registry: new Registry(),
      services: new Map<ServiceName, unknown>([
        ['http', server],
        ['cluster', cluster],
      ]),
      components: defaultRegistry(),
      evaluator: syntaxEvaluator(),
      buildInfo: { version: 'v0.0.0-test', revision: 'r', branch: 'b' },
    });
    server.setRuntime(runtime);
    await fs.writeFile(path.join(dir, 'app.log'), 'one line for loki.write to send\n');
    await fs.writeFile(
      cfg,
      `logging {
  level = "debug"
}

prometheus.remote_write "rw" {
  endpoint {
    url = "http://alice:pw-rw-1@127.0.0.1:${port}/api/v1/write?access_token=tok-rw-2&tenant=t1"
    queue_config {
      batch_send_deadline = "100ms"
      min_backoff = "10ms"
      max_backoff = "20ms"
    }
  }
}

loki.write "lw" {
  endpoint {
    url = "http://bob:pw-loki-3@127.0.0.1:${port}/loki/api/v1/push?api_key=key-loki-4"
    batch_wait = "100ms"
    min_backoff_period = "10ms"
    max_backoff_period = "20ms"
  }
}

loki.source.file "in" {
  targets    = [{"__path__" = "${path.join(dir, 'app.log')}"}]
  forward_to = [loki.write.lw.receiver]
}

prometheus.scrape "s" {
  targets = [{"__address__" = "127.0.0.1:${port}", "__param_access_token" = "tok-scrape-5"}]
  params = { "sig" = ["sig-scrape-6"], "job" = ["j1"] }
  scrape_interval = "200ms"
  scrape_timeout = "100ms"
  forward_to = [prometheus.remote_write.rw.receiver]
}
`,
    );
    const r = await runtime.load();
    if (!r.ok) throw new Error(r.message);
  }, 30_000);

  afterAll(async () => {
    await runtime.stop();
    await server.close();
    await new Promise<void>((r) => failing.close(() => r()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  const get = async (p: string): Promise<string> => {
    const r = await fetch(base + p);
    expect(r.status).toBe(200);
    return r.text();
  };

  const expectNoSecret = (surface: string, text: string): void => {
    for (const s of SECRETS) {
      if (text.includes(s)) throw new Error(`${surface} shows the secret ${s}: ${text.slice(Math.max(0, text.indexOf(s) - 200), text.indexOf(s) + 50)}`);
    }
  };

  it('keeps every secret out of /metrics, the API, the UI and logs while sends are retried', async () => {
    await poll('scrapes and remote-write retries against the failing server', async () => hits >= 6);
    await poll('remote_write and loki.write failure log lines', async () => logs.some((l) => l.includes("failed to send batch, retrying")) && logs.some((l) => /loki\.write/.test(l) && /503|retry/i.test(l))).catch(async (e) => { console.log(logs.filter((l) => !l.includes('error sending batch')).join(''), await get('/api/v0/web/components/prometheus.scrape.s'), await get('/api/v0/web/components/prometheus.remote_write.rw')); throw e; });

    const metrics = await get('/metrics');
    expect(metrics).toContain('prometheus_remote_storage_samples_pending{remote_name=');
    expect(metrics).toContain('url="http://alice:xxxxx@127.0.0.1:');
    expect(metrics).toContain('access_token=xxxxx&tenant=t1');
    expectNoSecret('/metrics', metrics);

    // The list carries no bodies (as upstream); the detail endpoints carry the typed arguments.
    expectNoSecret('/api/v0/web/components', await get('/api/v0/web/components'));
    let details = '';
    for (const id of ['prometheus.remote_write.rw', 'loki.write.lw', 'prometheus.scrape.s']) {
      const detail = await get(`/api/v0/web/components/${id}`);
      details += detail;
      expectNoSecret(`/api/v0/web/components/${id}`, detail);
      expectNoSecret(`UI page of ${id}`, await get(`/component/${encodeURIComponent(id)}`));
    }
    expect(details).toContain('alice:xxxxx@');
    expect(details).toContain('api_key=xxxxx');
    const scrape = await get('/api/v0/web/components/prometheus.scrape.s');
    expect(scrape).toContain('access_token=xxxxx');
    expect(scrape).toContain('job=j1');
    expect(scrape).toContain("sig=xxxxx");
    expectNoSecret('UI components page', await get('/'));
    expectNoSecret('log lines', logs.join(''));
    expect(logs.join('')).toContain('xxxxx');
  }, 30_000);
});
