import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { isStaleNaN, type Labels, type MetricsReceiver, type SampleBatch } from '../../../prom/types.js';
import { labelsToRecord } from '../../../prom/labels/labels.js';
import { startNodeExporter } from '../../../prom/textparse/node-exporter.test-support.js';
import { argumentsSchema, ScrapeComponent, type Arguments, type Exports } from './scrape.js';
import { ScrapeHttpClient } from './http-client.js';
import { ScrapeLoop, type LoopConfig, type ScrapeCounters } from './scrape-loop.js';
import { jest } from '@jest/globals';

// Waits for scrapes are bounded at ~10 s so a loaded CI machine does not flake.
jest.setTimeout(30_000);
import { populateTarget, scrapeOffset } from './target.js';
import { compileRules, withDefaults } from '../../../prom/relabel/relabel.js';
import { eventually } from '../../../clock/eventually.test-support.js';

interface Sample {
  labels: Record<string, string>;
  series: Labels;
  ts: number;
  value: number;
}

class CollectingReceiver implements MetricsReceiver {
  batches: SampleBatch[] = [];
  async append(batch: SampleBatch): Promise<void> {
    this.batches.push(batch);
  }
  samples(batchIndex: number): Sample[] {
    const b = this.batches[batchIndex]!;
    const out: Sample[] = [];
    for (let i = 0; i < b.length; i++) out.push({ labels: labelsToRecord(b.series[i]!), series: b.series[i]!, ts: b.timestamps[i]!, value: b.values[i]! });
    return out;
  }
  get(batchIndex: number, name: string, extra: Record<string, string> = {}): Sample | undefined {
    return this.samples(batchIndex).find((s) => s.labels['__name__'] === name && Object.entries(extra).every(([k, v]) => s.labels[k] === v));
  }
}

/** A loopback exposition server whose response each test controls. */
class FakeExporter {
  body = '';
  contentType = 'text/plain; version=0.0.4';
  status = 200;
  delayMs = 0;
  gzip = false;
  requests: http.IncomingHttpHeaders[] = [];
  urls: string[] = [];
  #server = http.createServer((req, res) => {
    this.requests.push(req.headers);
    this.urls.push(req.url ?? '');
    const send = () => {
      const headers: Record<string, string> = { 'content-type': this.contentType };
      let payload: Buffer = Buffer.from(this.body);
      if (this.gzip) {
        headers['content-encoding'] = 'gzip';
        payload = gzipSync(payload);
      }
      res.writeHead(this.status, headers);
      res.end(payload);
    };
    if (this.delayMs > 0) setTimeout(send, this.delayMs);
    else send();
  });
  address = '';
  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.address = `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

const logger = winston.createLogger({ silent: true });
const require_ = createRequire(import.meta.url);

function opts(id = 'prometheus.scrape.test'): ComponentOptions<Exports> & { health: Array<[string, string]> } {
  const health: Array<[string, string]> = [];
  return {
    id,
    logger,
    registry: new Registry(),
    dataPath: '/tmp/unused',
    onStateChange: () => undefined,
    setHealth: (s, m) => health.push([s, m]),
    getService: () => {
      throw new Error('no services in this test');
    },
    health,
  };
}

function parseArgs(a: Record<string, unknown>): Arguments {
  return argumentsSchema.parse(a);
}

function loopFor(exp: FakeExporter, args: Record<string, unknown>, recv: MetricsReceiver, target: Record<string, string> = {}, counters?: ScrapeCounters, extra: Partial<LoopConfig> = {}) {
  const a = parseArgs({ targets: [], forward_to: [recv], scrape_interval: '1s', scrape_timeout: '500ms', ...args });
  const res = populateTarget({ __address__: exp.address, ...target }, { jobName: a.job_name ?? 'prometheus.scrape.test', scheme: a.scheme, metricsPath: a.metrics_path, intervalMs: a.scrape_interval, timeoutMs: a.scrape_timeout, params: a.params });
  if (!res.ok) throw new Error(res.error);
  const client = new ScrapeHttpClient({ ...a, follow_redirects: a.follow_redirects });
  const cfg: LoopConfig = {
    jobName: a.job_name ?? 'prometheus.scrape.test',
    honorLabels: a.honor_labels,
    honorTimestamps: a.honor_timestamps,
    trackTimestampsStaleness: a.track_timestamps_staleness,
    sampleLimit: a.sample_limit,
    labelLimit: a.label_limit,
    labelNameLengthLimit: a.label_name_length_limit,
    labelValueLengthLimit: a.label_value_length_limit,
    bodySizeLimit: a.body_size_limit,
    enableCompression: a.enable_compression,
    extraMetrics: a.extra_metrics,
    accept: 'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,text/plain;version=0.0.4;q=0.4,*/*;q=0.3',
    fallbackFormat: 'prometheus',
    userAgent: 'test-agent',
    failureLogFile: a.scrape_failure_log_file,
    ...extra,
  };
  let now = 1_700_000_000_000;
  const loop = new ScrapeLoop(res.target, cfg, { client: () => client, receivers: () => [recv], logger, now: () => now, counters });
  return { loop, client, tick: (ms: number) => (now += ms), now: () => now };
}

describe('prometheus.scrape loop against a local server', () => {
  let exp: FakeExporter;
  beforeEach(async () => {
    exp = await new FakeExporter().start();
  });
  afterEach(async () => {
    await exp.stop();
  });

  it('a changed interval applies at once: the loop does not wait out the old interval (reload 60s → 100ms)', async () => {
    exp.body = 'steady 1\n';
    const recv = new CollectingReceiver();
    const { loop } = loopFor(exp, { scrape_interval: '60s', scrape_timeout: '10s' }, recv);
    loop.start(59_000);
    const fast = populateTarget({ __address__: exp.address }, { jobName: 'prometheus.scrape.test', scheme: 'http', metricsPath: '/metrics', intervalMs: 100, timeoutMs: 50, params: {} });
    if (!fast.ok) throw new Error(fast.error);
    expect(fast.target.key).toBe(loop.target.key);
    loop.retarget(fast.target, 10);
    for (let i = 0; i < 500 && recv.batches.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await loop.stop(false);
    expect(recv.batches.length).toBeGreaterThanOrEqual(3);
    expect(exp.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('applies metric relabel rules to scraped series only (Prometheus metric_relabel_configs)', async () => {
    const recv = new CollectingReceiver();
    const metricRelabel = compileRules([
      withDefaults({ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }),
      withDefaults({ source_labels: ['code'], target_label: 'status', action: 'replace' }),
      withDefaults({ regex: 'code', action: 'labeldrop' }),
    ]);
    const { loop, tick } = loopFor(exp, {}, recv, {}, undefined, { metricRelabel });
    exp.body = 'go_goroutines 12\nreq_total{code="200"} 5\nreq_total{code="500"} 1\n';
    await loop.scrapeOnce();
    expect(recv.samples(0).filter((s) => s.labels['__name__'] === 'go_goroutines')).toEqual([]);
    expect(recv.get(0, 'req_total', { status: '500' })).toMatchObject({ value: 1, labels: { __name__: 'req_total', status: '500', job: 'prometheus.scrape.test', instance: exp.address } });
    expect(recv.get(0, 'up')!.labels).toEqual({ __name__: 'up', job: 'prometheus.scrape.test', instance: exp.address });
    expect(recv.get(0, 'scrape_samples_scraped')!.value).toBe(3);
    expect(recv.get(0, 'scrape_samples_post_metric_relabeling')!.value).toBe(2);
    tick(1000);
    exp.body = 'go_goroutines 13\nreq_total{code="200"} 6\n';
    await loop.scrapeOnce();
    // Only the kept series that vanished is marked stale; the dropped one never existed downstream.
    const stale = recv.samples(1).filter((s) => Number.isNaN(s.value)).map((s) => s.labels['status'] ?? s.labels['__name__']);
    expect(stale).toEqual(['500']);
    await loop.stop(false);
  });

  it('scrapes, adds target labels and synthetic series, reuses Labels objects, marks vanished series stale', async () => {
    const recv = new CollectingReceiver();
    const { loop, client, tick, now } = loopFor(exp, { extra_metrics: true }, recv, { env: 'prod', __meta_x: 'dropped' });
    exp.body = '# TYPE a counter\na_total{x="1"} 5\na_total{x="2"} 6\nb 1.5\n';
    await loop.scrapeOnce();
    const t0 = now();
    expect(recv.get(0, 'a_total', { x: '1' })).toMatchObject({ labels: { __name__: 'a_total', x: '1', job: 'prometheus.scrape.test', instance: exp.address, env: 'prod' }, ts: t0, value: 5 });
    expect(recv.get(0, 'up')!.value).toBe(1);
    expect(recv.get(0, 'up')!.labels).toEqual({ __name__: 'up', job: 'prometheus.scrape.test', instance: exp.address, env: 'prod' });
    expect(recv.get(0, 'scrape_samples_scraped')!.value).toBe(3);
    expect(recv.get(0, 'scrape_samples_post_metric_relabeling')!.value).toBe(3);
    expect(recv.get(0, 'scrape_series_added')!.value).toBe(3);
    expect(recv.get(0, 'scrape_timeout_seconds')!.value).toBe(0.5);
    expect(recv.get(0, 'scrape_body_size_bytes')!.value).toBe(exp.body.length);
    expect(recv.get(0, 'scrape_duration_seconds')).toBeDefined();
    expect(recv.samples(0).some((s) => s.labels['__meta_x'] !== undefined)).toBe(false);

    tick(1000);
    exp.body = 'a_total{x="1"} 7\nb 2\n';
    await loop.scrapeOnce();
    const a1 = recv.get(1, 'a_total', { x: '1' })!;
    expect(a1.value).toBe(7);
    expect(a1.series).toBe(recv.get(0, 'a_total', { x: '1' })!.series); // same Labels object across scrapes
    const gone = recv.get(1, 'a_total', { x: '2' })!;
    expect(isStaleNaN(gone.value)).toBe(true);
    expect(gone.ts).toBe(now());
    expect(recv.get(1, 'scrape_series_added')!.value).toBe(0);

    // Scrape failure: up=0, every previously exposed series goes stale.
    tick(1000);
    exp.status = 500;
    await loop.scrapeOnce();
    expect(recv.get(2, 'up')!.value).toBe(0);
    expect(isStaleNaN(recv.get(2, 'a_total', { x: '1' })!.value)).toBe(true);
    expect(isStaleNaN(recv.get(2, 'b')!.value)).toBe(true);
    expect(loop.status()).toMatchObject({ health: 'down', last_error: 'server returned HTTP status 500 Internal Server Error' });

    // Recovery, then stop: staleness markers for series and report series.
    exp.status = 200;
    tick(1000);
    await loop.scrapeOnce();
    expect(recv.get(3, 'up')!.value).toBe(1);
    expect(recv.get(3, 'scrape_series_added')!.value).toBe(0);
    await loop.stop(true);
    const last = recv.samples(4);
    expect(last.map((s) => s.labels['__name__']).sort()).toEqual(['a_total', 'b', 'scrape_body_size_bytes', 'scrape_duration_seconds', 'scrape_sample_limit', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'scrape_timeout_seconds', 'up']);
    expect(last.every((s) => isStaleNaN(s.value))).toBe(true);
    client.close();
  });

  it('attaches the scrape context (metadata by family, discovered labels, scheme) to its batches', async () => {
    const recv = new CollectingReceiver();
    const { loop, client } = loopFor(exp, {}, recv, { __meta_kubernetes_pod_name: 'p1' });
    exp.body = '# HELP a Things.\n# TYPE a counter\na_total 5\n# TYPE t untyped\nt 1\n';
    await loop.scrapeOnce();
    const ctx = recv.batches[0]!.context!;
    expect([...ctx.metadata]).toEqual([
      ['a', { type: 'counter', help: 'Things.', unit: '' }],
      ['t', { type: 'unknown', help: '', unit: '' }],
    ]);
    expect(ctx.discoveredLabels['__meta_kubernetes_pod_name']).toBe('p1');
    expect(ctx.scheme).toBe('http');
    exp.body = 'a_total 6\n';
    await loop.scrapeOnce();
    expect(recv.batches[1]!.context!.metadata.size).toBe(0);
    await loop.stop(false);
    client.close();
  });

  it('reuses series when the exposition order changes or series are inserted', async () => {
    const recv = new CollectingReceiver();
    const { loop, client, tick } = loopFor(exp, {}, recv);
    exp.body = 'a 1\nb 2\nc 3\n';
    await loop.scrapeOnce();
    tick(1000);
    exp.body = 'c 3\nnew 4\na 1\nb 2\n';
    await loop.scrapeOnce();
    for (const n of ['a', 'b', 'c']) expect(recv.get(1, n)!.series).toBe(recv.get(0, n)!.series);
    expect(recv.get(1, 'scrape_series_added')!.value).toBe(1);
    expect(recv.samples(1).filter((x) => isStaleNaN(x.value))).toEqual([]);
    tick(1000);
    exp.body = 'a 1\nb 2\n';
    await loop.scrapeOnce();
    expect(recv.samples(2).filter((x) => isStaleNaN(x.value)).map((x) => x.labels['__name__']).sort()).toEqual(['c', 'new']);
    client.close();
  });

  it('sends negotiation, timeout and auth headers', async () => {
    const recv = new CollectingReceiver();
    exp.body = 'm 1\n';
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ bearer_token: 'tok' }, 'Bearer tok'],
      [{ basic_auth: { username: 'u', password: 'p' } }, 'Basic ' + Buffer.from('u:p').toString('base64')],
      [{ authorization: { type: 'Token', credentials: 'c' } }, 'Token c'],
    ];
    for (const [args, want] of cases) {
      const { loop, client } = loopFor(exp, args, recv);
      await loop.scrapeOnce();
      const h = exp.requests.at(-1)!;
      expect(h['authorization']).toBe(want);
      expect(h['accept']).toContain('application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6');
      expect(h['x-prometheus-scrape-timeout-seconds']).toBe('0.5');
      expect(h['accept-encoding']).toBe('gzip');
      expect(h['user-agent']).toBe('test-agent');
      client.close();
    }
  });

  it('fetches OAuth2 client-credentials tokens (Basic first, body on 401), caches them, sends them as Bearer', async () => {
    const tokenRequests: Array<{ auth: string | undefined; body: string }> = [];
    const tokenServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        tokenRequests.push({ auth: req.headers.authorization, body });
        const form = new URLSearchParams(body);
        if (form.get('client_id') !== 'cid' || form.get('client_secret') !== 'csecret') {
          res.writeHead(401).end('{"error":"invalid_client"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `tok${tokenRequests.length}`, token_type: 'bearer', expires_in: 3600 }));
      });
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    const tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
    const recv = new CollectingReceiver();
    exp.body = 'm 1\n';
    const { loop, client } = loopFor(exp, { oauth2: { client_id: 'cid', client_secret: 'csecret', token_url: tokenUrl, scopes: ['a', 'b'], endpoint_params: { audience: 'x' } } }, recv);
    await loop.scrapeOnce();
    await loop.scrapeOnce();
    expect(recv.get(0, 'up')!.value).toBe(1);
    expect(exp.requests.at(-1)!['authorization']).toBe('Bearer tok2');
    expect(exp.requests.at(-2)!['authorization']).toBe('Bearer tok2');
    expect(tokenRequests).toHaveLength(2); // Basic rejected once, then body credentials; then cached
    expect(tokenRequests[0]!.auth).toBe('Basic ' + Buffer.from('cid:csecret').toString('base64'));
    const form = new URLSearchParams(tokenRequests[1]!.body);
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', scope: 'a b', audience: 'x', client_id: 'cid', client_secret: 'csecret' });
    client.close();
    tokenServer.close();
  });

  it('goes through proxy_url (absolute-form request) unless no_proxy matches', async () => {
    const proxied: string[] = [];
    const proxy = http.createServer((req, res) => {
      proxied.push(req.url ?? '');
      const target = new URL(req.url ?? '');
      const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.end();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const recv = new CollectingReceiver();
    exp.body = 'via_proxy 1\n';
    let l = loopFor(exp, { proxy_url: proxyUrl }, recv);
    await l.loop.scrapeOnce();
    expect(recv.get(0, 'via_proxy')!.value).toBe(1);
    expect(proxied).toEqual([`http://${exp.address}/metrics`]);
    l.client.close();
    l = loopFor(exp, { proxy_url: proxyUrl, no_proxy: '127.0.0.1' }, recv);
    await l.loop.scrapeOnce();
    expect(recv.get(1, 'via_proxy')!.value).toBe(1);
    expect(proxied).toHaveLength(1);
    l.client.close();
    proxy.closeAllConnections();
    proxy.close();
  });

  it('follows redirects unless follow_redirects is false; sends http_headers', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const srv = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/metrics') {
        res.writeHead(302, { location: '/real' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('redirected 1\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const fake = { address: `127.0.0.1:${(srv.address() as AddressInfo).port}` } as FakeExporter;
    const recv = new CollectingReceiver();
    let l = loopFor(fake, { http_headers: { 'X-Tenant': ['t1'] } }, recv);
    await l.loop.scrapeOnce();
    expect(recv.get(0, 'redirected')!.value).toBe(1);
    expect(seen.map((h) => h['x-tenant'])).toEqual(['t1', 't1']);
    l.client.close();
    l = loopFor(fake, { follow_redirects: false }, recv);
    await l.loop.scrapeOnce();
    expect(l.loop.status().last_error).toBe('server returned HTTP status 302 Found');
    l.client.close();
    srv.closeAllConnections();
    srv.close();
  });

  it('reads bearer_token_file and params into the URL', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/scrape-test-');
    writeFileSync(`${dir}/token`, 'from-file\n');
    const recv = new CollectingReceiver();
    exp.body = 'm 1\n';
    const { loop, client } = loopFor(exp, { bearer_token_file: `${dir}/token`, params: { module: ['http_2xx'], target: ['a', 'b'] } }, recv, { __param_target: 'override' });
    await loop.scrapeOnce();
    expect(exp.requests.at(-1)!['authorization']).toBe('Bearer from-file');
    expect(exp.urls.at(-1)).toBe('/metrics?module=http_2xx&target=override');
    client.close();
  });

  it('a scrape slower than scrape_timeout reports up=0 with a timeout error', async () => {
    const recv = new CollectingReceiver();
    exp.body = 'm 1\n';
    exp.delayMs = 400;
    const { loop, client } = loopFor(exp, { scrape_timeout: '100ms' }, recv);
    await loop.scrapeOnce();
    expect(recv.get(0, 'up')!.value).toBe(0);
    expect(loop.status().last_error).toMatch(/timed out after 100ms/);
    client.close();
  });

  it('handles honor_labels conflicts, honor_timestamps, gzip and OpenMetrics exemplars', async () => {
    const recv = new CollectingReceiver();
    exp.gzip = true;
    exp.contentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
    exp.body = '# TYPE c counter\nc_total{job="exposed",instance="i"} 3 1700000000.5 # {trace_id="abc"} 1\n# EOF\n';
    let l = loopFor(exp, {}, recv);
    await l.loop.scrapeOnce();
    const s = recv.get(0, 'c_total')!;
    expect(s.labels).toMatchObject({ job: 'prometheus.scrape.test', exported_job: 'exposed', instance: exp.address, exported_instance: 'i' });
    expect(s.ts).toBe(1700000000500);
    expect(recv.batches[0]!.exemplars?.get(0)).toEqual({ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 0 });
    l.client.close();

    l = loopFor(exp, { honor_labels: true, honor_timestamps: false }, recv);
    await l.loop.scrapeOnce();
    const h = recv.get(1, 'c_total')!;
    expect(h.labels).toMatchObject({ job: 'exposed', instance: 'i' });
    expect(h.labels['exported_job']).toBeUndefined();
    expect(h.ts).toBe(l.now());
    l.client.close();
  });

  it('enforces sample_limit, body_size_limit and label limits as failed scrapes', async () => {
    const recv = new CollectingReceiver();
    exp.body = 'a 1\nb 2\nc{l="long-value"} 3\n';
    const checks: Array<[Record<string, unknown>, RegExp]> = [
      [{ sample_limit: 2 }, /sample limit exceeded/],
      [{ body_size_limit: '10B' }, /body size limit exceeded/],
      [{ label_limit: 3 }, /label_limit exceeded/],
      [{ label_value_length_limit: 5 }, /label_value_length_limit exceeded/],
    ];
    for (const [args, re] of checks) {
      const before = recv.batches.length;
      const { loop, client } = loopFor(exp, args, recv);
      await loop.scrapeOnce();
      expect(recv.get(before, 'up')!.value).toBe(0);
      expect(recv.samples(before).filter((x) => !x.labels['__name__']!.startsWith('scrape_') && x.labels['__name__'] !== 'up')).toEqual([]);
      expect(loop.status().last_error).toMatch(re);
      client.close();
    }
  });

  it('counts limit hits and duplicate series in the Prometheus scrape counters', async () => {
    const recv = new CollectingReceiver();
    const seen = { sample: 0, body: 0, dup: 0 };
    const counters: ScrapeCounters = { exceededSampleLimit: () => seen.sample++, exceededBodySizeLimit: () => seen.body++, duplicateTimestamp: (n) => (seen.dup += n) };
    exp.body = 'a 1\na 2\nb 3\n';
    let l = loopFor(exp, {}, recv, {}, counters);
    await l.loop.scrapeOnce();
    expect(recv.get(0, 'a')!.value).toBe(1); // first sample of a duplicated series wins
    l.client.close();
    l = loopFor(exp, { sample_limit: 1 }, recv, {}, counters);
    await l.loop.scrapeOnce();
    l.client.close();
    l = loopFor(exp, { body_size_limit: '4B' }, recv, {}, counters);
    await l.loop.scrapeOnce();
    l.client.close();
    expect(seen).toEqual({ sample: 1, body: 1, dup: 2 });
  });

  it('appends failed scrapes to scrape_failure_log_file as JSON lines', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const file = `${mkdtempSync('/tmp/scrape-faillog-')}/failures.log`;
    const recv = new CollectingReceiver();
    exp.status = 503;
    const { loop, client } = loopFor(exp, { scrape_failure_log_file: file }, recv);
    await loop.scrapeOnce();
    exp.status = 200;
    exp.body = 'm 1\n';
    await loop.scrapeOnce();
    const logged = (): string => { try { return readFileSync(file, 'utf8'); } catch { return ''; } };
    await eventually(() => logged().includes('\n'), 5_000, 'the failure line in scrape_failure_log_file');
    const lines = logged().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'server returned HTTP status 503 Service Unavailable', job: 'prometheus.scrape.test' });
    client.close();
  });

  it('does not track staleness of series with explicit timestamps unless track_timestamps_staleness', async () => {
    for (const track of [false, true]) {
      const recv = new CollectingReceiver();
      const { loop, client, tick } = loopFor(exp, { track_timestamps_staleness: track }, recv);
      exp.body = 'ts_metric 1 1700000000000\n';
      await loop.scrapeOnce();
      tick(1000);
      exp.body = '';
      await loop.scrapeOnce();
      expect(recv.get(1, 'ts_metric') !== undefined).toBe(track);
      client.close();
    }
  });
});

function makeCerts(): string | null {
  const { execFileSync } = require_('node:child_process') as typeof import('node:child_process');
  const { mkdtempSync, writeFileSync, existsSync } = require_('node:fs') as typeof import('node:fs');
  if (!existsSync('/usr/bin/openssl')) {
    if (process.env['CI'] === 'true') throw new Error('/usr/bin/openssl is required for the TLS scrape test');
    console.warn('skipping TLS scrape test: /usr/bin/openssl not found');
    return null;
  }
  const dir = mkdtempSync('/tmp/scrape-tls-');
  const ossl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-ca', '-days', '1');
  for (const [name, ext] of [['srv', 'subjectAltName=DNS:scrape.test'], ['cli', 'extendedKeyUsage=clientAuth']] as const) {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(`${dir}/${name}.ext`, ext + '\n');
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  return dir;
}

describe('prometheus.scrape over TLS', () => {
  it('verifies the server with ca_file/server_name, presents a client certificate, and fails without the CA', async () => {
    const dir = makeCerts();
    if (!dir) return;
    const https = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const seenClientCN: string[] = [];
    const server = https.createServer(
      { key: readFileSync(`${dir}/srv.key`), cert: readFileSync(`${dir}/srv.crt`), ca: readFileSync(`${dir}/ca.crt`), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        seenClientCN.push(String(peer.subject?.CN));
        res.writeHead(200, { 'content-type': 'text/plain' }).end('secure 1\n');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fake = { address } as FakeExporter;
    const recv = new CollectingReceiver();
    const tlsArgs = { ca_file: `${dir}/ca.crt`, server_name: 'scrape.test', cert_file: `${dir}/cli.crt`, key_file: `${dir}/cli.key` };
    let l = loopFor(fake, { scheme: 'https', tls_config: tlsArgs }, recv);
    await l.loop.scrapeOnce();
    expect(l.loop.status().last_error).toBe('');
    expect(recv.get(0, 'secure')!.value).toBe(1);
    expect(seenClientCN).toEqual(['cli']);
    l.client.close();

    l = loopFor(fake, { scheme: 'https', tls_config: { cert_file: `${dir}/cli.crt`, key_file: `${dir}/cli.key` } }, recv);
    await l.loop.scrapeOnce();
    expect(recv.get(1, 'up')!.value).toBe(0);
    expect(l.loop.status().last_error).toMatch(/certificate/i);
    l.client.close();

    l = loopFor(fake, { scheme: 'https', tls_config: { insecure_skip_verify: true, cert_file: `${dir}/cli.crt`, key_file: `${dir}/cli.key` } }, recv);
    await l.loop.scrapeOnce();
    expect(recv.get(2, 'up')!.value).toBe(1);
    l.client.close();

    // Through an HTTP proxy: CONNECT tunnel, TLS (with server_name) end to end.
    const net = await import('node:net');
    const tunnels: string[] = [];
    const proxy = http.createServer();
    proxy.on('connect', (req: http.IncomingMessage, clientSocket: import('node:stream').Duplex, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(clientSocket);
        clientSocket.pipe(upstream);
      });
      upstream.on('error', () => clientSocket.destroy());
      clientSocket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    l = loopFor(fake, { scheme: 'https', proxy_url: proxyUrl, tls_config: tlsArgs }, recv);
    await l.loop.scrapeOnce();
    expect(l.loop.status().last_error).toBe('');
    expect(recv.get(3, 'secure')!.value).toBe(1);
    expect(tunnels).toEqual([address]);
    l.client.close();
    proxy.close();
    server.closeAllConnections();
    server.close();
  });
});

describe('prometheus.scrape component', () => {
  it('validates arguments like Alloy', () => {
    const bad = (a: Record<string, unknown>) => argumentsSchema.safeParse({ targets: [], forward_to: [], ...a });
    expect(bad({ scrape_interval: '10s', scrape_timeout: '20s', job_name: 'j' }).error!.issues[0]!.message).toContain('scrape_timeout (20s) greater than scrape_interval (10s) for scrape config with job name "j"');
    expect(bad({ enable_protobuf_negotiation: true, scrape_protocols: ['PrometheusText0.0.4'] }).error!.issues[0]!.message).toContain('only one can be set');
    expect(bad({ scrape_protocols: ['PrometheusText0.0.4', 'PrometheusText0.0.4'] }).error!.issues[0]!.message).toContain('duplicate scrape protocol');
    expect(bad({ scrape_native_histograms: true, scrape_protocols: ['PrometheusText0.0.4'] }).error!.issues[0]!.message).toContain('PrometheusProto is not in scrape_protocols');
    expect(bad({ metric_name_escaping_scheme: 'allow-utf-8' }).error!.issues[0]!.message).toContain("cannot be set to 'allow-utf-8'");
    expect(bad({ bearer_token: 'x', basic_auth: { username: 'u' } }).error!.issues[0]!.message).toContain('at most one of basic_auth, authorization, oauth2, bearer_token');
    expect(bad({ scrape_interval: 'soon' }).error!.issues[0]!.message).toContain('invalid duration "soon"');
    expect(bad({ scrape_protocols: ['Text'] }).error!.issues[0]!.message).toContain('unknown scrape protocol "Text"');
    const ok = argumentsSchema.parse({ targets: [], forward_to: [] });
    expect(ok).toMatchObject({ scrape_interval: 60_000, scrape_timeout: 10_000, metrics_path: '/metrics', scheme: 'http', honor_timestamps: true, enable_compression: true, follow_redirects: true, clustering: { enabled: false } });
  });

  it('keeps loops of unchanged targets across updates, marks removed targets and stopped components stale', async () => {
    const e1 = await new FakeExporter().start();
    const e2 = await new FakeExporter().start();
    e1.body = 'one 1\n';
    e2.body = 'two 2\n';
    const recv = new CollectingReceiver();
    const o = opts();
    const args = (targets: string[]) => parseArgs({ targets: targets.map((a) => ({ __address__: a })), forward_to: [recv], scrape_interval: '100ms', scrape_timeout: '50ms' });
    const comp = new ScrapeComponent(o, args([e1.address, e2.address]));
    const ac = new AbortController();
    const running = comp.run(ac.signal);
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(pred()).toBe(true);
    };
    const all = () => recv.batches.flatMap((_b, i) => recv.samples(i));
    await waitFor(() => all().some((s) => s.labels['__name__'] === 'one') && all().some((s) => s.labels['__name__'] === 'two'));
    const oneSeries = all().find((s) => s.labels['__name__'] === 'one')!.series;
    const info = comp.debugInfo();
    expect(info.target).toHaveLength(2);
    expect(info.target.every((t) => t.health === 'up')).toBe(true);

    comp.update(args([e1.address]));
    await waitFor(() => all().some((s) => s.labels['__name__'] === 'two' && isStaleNaN(s.value)));
    const mark = recv.batches.length;
    await waitFor(() => recv.batches.length > mark + 1);
    const later = recv.batches.slice(mark).flatMap((_b, i) => recv.samples(mark + i)).filter((s) => s.labels['__name__'] === 'one');
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((s) => s.series === oneSeries)).toBe(true); // same loop, same series cache
    expect(comp.debugInfo().target).toHaveLength(1);

    ac.abort();
    await running;
    const final = recv.samples(recv.batches.length - 1);
    expect(final.find((s) => s.labels['__name__'] === 'one' && isStaleNaN(s.value))).toBeDefined();
    expect(final.find((s) => s.labels['__name__'] === 'up' && isStaleNaN(s.value))).toBeDefined();
    await e1.stop();
    await e2.stop();
  });

  it('keeps the loop (no staleness, same Labels) when only scrape_interval changes', async () => {
    const e1 = await new FakeExporter().start();
    e1.body = 'steady 1\n';
    const recv = new CollectingReceiver();
    const mk = (interval: string) => parseArgs({ targets: [{ __address__: e1.address }], forward_to: [recv], scrape_interval: interval, scrape_timeout: '50ms' });
    const comp = new ScrapeComponent(opts(), mk('100ms'));
    const ac = new AbortController();
    const running = comp.run(ac.signal);
    for (let i = 0; i < 500 && recv.batches.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const first = recv.get(0, 'steady')!.series;
    comp.update(mk('150ms'));
    const mark = recv.batches.length;
    for (let i = 0; i < 500 && recv.batches.length < mark + 2; i++) await new Promise((r) => setTimeout(r, 20));
    const after = recv.batches.slice(0, mark + 2).flatMap((_b, i) => recv.samples(i));
    expect(after.filter((x) => isStaleNaN(x.value))).toEqual([]);
    expect(recv.get(mark + 1, 'steady')!.series).toBe(first);
    ac.abort();
    await running;
    await e1.stop();
  });

  it('dials alloy.internal through the http service and scrapes only owned targets when clustering is enabled', async () => {
    const e1 = await new FakeExporter().start();
    e1.body = 'self_metric 1\n';
    const recv = new CollectingReceiver();
    const o = opts();
    const services: Record<string, unknown> = {
      http: { dialAddress: (a: string) => (a === 'alloy.internal:12345' ? e1.address : a) },
      cluster: { enabled: true, owns: (key: string) => !key.includes('not-mine') },
    };
    const withServices = { ...o, getService: <T,>(name: string) => services[name] as T };
    const comp = new ScrapeComponent(
      withServices,
      parseArgs({ targets: [{ __address__: 'alloy.internal:12345' }, { __address__: '127.0.0.1:1', shard: 'not-mine' }], forward_to: [recv], scrape_interval: '100ms', scrape_timeout: '50ms', clustering: { enabled: true } }),
    );
    const ac = new AbortController();
    const running = comp.run(ac.signal);
    for (let i = 0; i < 500 && recv.batches.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(recv.get(0, 'self_metric')!.labels['instance']).toBe('alloy.internal:12345');
    expect(e1.requests[0]!['host']).toBe('alloy.internal:12345');
    expect(e1.requests[0]!['accept']).toBe(
      'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    );
    expect(e1.requests[0]!['user-agent']).toMatch(/^Alloy\//);
    expect(comp.debugInfo().target.map((t) => t.url)).toEqual(['http://alloy.internal:12345/metrics']);
    ac.abort();
    await running;
    await e1.stop();
  });

  it('target_limit: too many targets → no loops, unhealthy with the fix named; dropped targets listed', async () => {
    const o = opts();
    const comp = new ScrapeComponent(o, parseArgs({ targets: [{ __address__: 'a:1' }, { __address__: 'b:1' }, { job: 'no-address' }], forward_to: [], target_limit: 1 }));
    const ac = new AbortController();
    const running = comp.run(ac.signal);
    for (let i = 0; i < 100 && o.health.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(o.health.at(-1)).toEqual(['unhealthy', 'target_limit exceeded (number of targets: 2, limit: 1); raise target_limit or filter targets']);
    const info = comp.debugInfo();
    expect(info.target).toEqual([]);
    expect(info.dropped_targets.map((d) => d.error)).toEqual(expect.arrayContaining(['no address: the target has no __address__ label']));
    ac.abort();
    await running;
  });

  it('spreads targets over the interval with a stable offset', () => {
    const t = populateTarget({ __address__: 'a:1' }, { jobName: 'j', scheme: 'http', metricsPath: '/metrics', intervalMs: 60_000, timeoutMs: 10_000, params: {} });
    if (!t.ok) throw new Error(t.error);
    const o1 = scrapeOffset(t.target, 60_000, 7, 1_000_000);
    expect(o1).toBeGreaterThanOrEqual(0);
    expect(o1).toBeLessThanOrEqual(60_000);
    expect(scrapeOffset(t.target, 60_000, 7, 1_000_000 + 60_000)).toBe(o1); // pinned to absolute time
  });

  it('populates target labels like Prometheus', () => {
    const res = populateTarget({ __address__: 'h:9', __meta_k: 'v', __scheme__: 'https', job: 'custom', __scrape_interval__: '30s' }, { jobName: 'j', scheme: 'http', metricsPath: '/m', intervalMs: 60_000, timeoutMs: 10_000, params: {} });
    if (!res.ok) throw new Error(res.error);
    expect(labelsToRecord(res.target.labels)).toEqual({ instance: 'h:9', job: 'custom' });
    expect(res.target.url.href).toBe('https://h:9/m');
    expect(res.target.intervalMs).toBe(30_000);
    expect(labelsToRecord(res.target.allLabels)).toMatchObject({ __scrape_timeout__: '10s', __metrics_path__: '/m' });
    expect(populateTarget({}, { jobName: 'j', scheme: 'http', metricsPath: '/m', intervalMs: 1, timeoutMs: 1, params: {} })).toEqual({ ok: false, error: 'no address: the target has no __address__ label' });
  });

  it('applies relabel rules after the defaults and before the checks (Prometheus relabel_configs)', () => {
    const d = { jobName: 'j', scheme: 'http', metricsPath: '/m', intervalMs: 60_000, timeoutMs: 10_000, params: { module: ['a'] } };
    const relabel = compileRules([
      withDefaults({ source_labels: ['job'], target_label: '__tmp_job' }),
      withDefaults({ source_labels: ['__meta_keep'], regex: 'yes', action: 'keep' }),
      withDefaults({ source_labels: ['__address__'], target_label: '__param_target' }),
      withDefaults({ target_label: '__address__', replacement: 'prober:9115' }),
      withDefaults({ source_labels: ['__tmp_job', '__param_module'], separator: '-', target_label: 'job' }),
    ]);
    const res = populateTarget({ __address__: 'site:443', __meta_keep: 'yes' }, { ...d, relabel });
    if (!res.ok) throw new Error(res.error);
    expect(labelsToRecord(res.target.labels)).toEqual({ instance: 'prober:9115', job: 'j-a' });
    expect(res.target.url.href).toBe('http://prober:9115/m?module=a&target=site%3A443');
    expect(populateTarget({ __address__: 'site:443', __meta_keep: 'no' }, { ...d, relabel })).toEqual({ ok: false, error: 'dropped by relabeling', dropped: true });
  });
});

describe('prometheus.scrape against a real node_exporter', () => {
  it('scrapes node_exporter with up=1 and hundreds of series', async () => {
    const ne = await startNodeExporter();
    if (!ne) return;
    const recv = new CollectingReceiver();
    const o = opts('prometheus.scrape.node');
    const comp = new ScrapeComponent(o, parseArgs({ targets: [{ __address__: ne.address }], forward_to: [recv], scrape_interval: '1s', scrape_timeout: '900ms' }));
    const ac = new AbortController();
    const running = comp.run(ac.signal);
    try {
      for (let i = 0; i < 500 && recv.batches.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(recv.batches.length).toBeGreaterThan(0);
      expect(recv.get(0, 'up')!.value).toBe(1);
      expect(recv.get(0, 'scrape_samples_scraped')!.value).toBeGreaterThan(100);
      const load = recv.get(0, 'node_load1')!;
      expect(load.labels).toEqual({ __name__: 'node_load1', job: 'prometheus.scrape.node', instance: ne.address });
    } finally {
      ac.abort();
      await running;
      await ne.stop();
    }
  }, 20_000);
});
