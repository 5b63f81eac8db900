import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { z, type ZodType } from 'zod';
import type { ComponentInfo } from '../runtime/controller.js';
import { asCapsule, blocks, capsule, duration, encodeBodyJSON, secret } from '../syntax/index.js';
import type { ClusterView } from './pages.js';
import { WebUi, type UiRuntime } from './web-ui.js';

function info(id: string, state: ComponentInfo['health']['state'], refs: string[] = [], args: unknown = {}, schema: ZodType = z.object({}), exports: object = {}): ComponentInfo {
  const [ns, name, label] = [id.split('.').slice(0, -1).join('.'), id.split('.').slice(0, -1).join('.'), id.split('.').pop()];
  void ns;
  return {
    id,
    name: name!,
    label,
    health: { state, message: state === 'healthy' ? 'started' : 'connect ECONNREFUSED <x>', updatedAt: new Date('2026-01-02T03:04:05Z') },
    arguments: args,
    argumentsSchema: schema,
    exports,
    referencesTo: refs,
    referencedBy: [],
    debugInfo: undefined,
    // The fixture marks the scrape as publishing live-debugging data, the remote_write as not.
    liveDebugging: name === 'prometheus.scrape',
    dataPath: `/data/${id}`,
    registry: new Registry(),
    instance: { run: async () => undefined, update: () => undefined },
  };
}

const RemoteWrite = z.object({
  endpoint: blocks(z.object({ url: z.string(), remote_timeout: duration().default(30_000), basic_auth: z.object({ username: z.string(), password: secret() }).optional() })),
});
const Scrape = z.object({
  targets: z.array(z.record(z.string(), z.string())),
  forward_to: z.array(capsule('MetricsReceiver')),
  scrape_interval: duration().default(60_000),
});
const receiver = asCapsule({ append: () => undefined }, 'MetricsReceiver');
const rt: UiRuntime = {
  components: () => [
    info(
      'prometheus.remote_write.cloud',
      'unhealthy',
      [],
      RemoteWrite.parse({ endpoint: [{ url: 'http://x', remote_timeout: '1m30s', basic_auth: { username: 'u', password: 'hunter2' } }] }),
      RemoteWrite,
      { receiver },
    ),
    info(
      'prometheus.scrape.default',
      'healthy',
      ['prometheus.remote_write.cloud'],
      Scrape.parse({ targets: [{ __address__: 'a:9100', job: 'node' }, { __address__: 'b:9100', job: 'node' }], forward_to: [receiver], scrape_interval: '30s' }),
      Scrape,
    ),
  ],
  encodeBody: (v, schema) => encodeBodyJSON(v, schema),
  runningConfig: () => ({ sources: new Map([['/etc/alloy/config.alloy', 'prometheus.scrape "default" {\n  targets = []\n}\n<x>\n']]), hash: 'ab12' }),
};
const cluster = (): ClusterView => ({
  enabled: true,
  status: 'clustered: 2 node(s)',
  peers: [
    { name: 'a', addr: '10.0.0.1:12345', isSelf: true, state: 'participant' },
    { name: 'b', addr: '10.0.0.2:12345', isSelf: false, state: 'terminating', suspect: true, lastSeenAgoMs: 2500 },
  ],
});

let server: http.Server;
let base = '';

beforeAll(async () => {
  const ui = new WebUi('/ui');
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (!ui.handle(req, res, url, rt, cluster)) res.writeHead(418).end('not ui');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(base + path, { headers });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

describe('WebUi', () => {
  it('lists components with health under the prefix, with and without a trailing slash', async () => {
    for (const p of ['/ui', '/ui/']) {
      const r = await get(p);
      expect(r.status).toBe(200);
      expect(r.body).toContain('<a href="/ui/component/prometheus.scrape.default">prometheus.scrape.default</a>');
      expect(r.body).toContain('<span class="badge unhealthy">unhealthy</span>');
      expect(r.body).toContain('connect ECONNREFUSED &#60;x&#62;');
      expect(r.body).toContain('<a href="/ui/graph"');
      expect(r.body).toContain('aria-current="page">Components');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
  });

  it('filters server-side with ?q= and ?health= (works without scripts)', async () => {
    const r = await get('/ui/?q=scrape');
    expect(r.body).toContain('<tr data-id="prometheus.scrape.default" data-health="healthy"><td');
    expect(r.body).toContain('<tr data-id="prometheus.remote_write.cloud" data-health="unhealthy" hidden><td');
    expect(r.body).toContain('<div class="empty" data-empty hidden>');
    const h = await get('/ui/?health=unhealthy');
    expect(h.body).toContain('<tr data-id="prometheus.scrape.default" data-health="healthy" hidden><td');
    expect(h.body).toContain('<a class="card card-unhealthy selected" href="/ui/" aria-current="true"><b>1</b>');
    const none = await get('/ui/?q=nothing-matches');
    expect(none.body).toContain('<div class="empty" data-empty>No component matches the filter.</div>');
  });

  it('shows a component with secrets redacted, dependencies and dependants', async () => {
    const r = await get('/ui/component/prometheus.remote_write.cloud');
    expect(r.body).toContain('<span class="val-secret">(secret)</span>');
    expect(r.body).toContain('<span class="val-str">&#34;http://x&#34;</span>');
    expect(r.body).toContain('References no other component.');
    expect(r.body).not.toContain('Live debugging');
    const s = await get('/ui/component/prometheus.scrape.default');
    expect(s.body).toContain('<a href="/ui/debug/prometheus.scrape.default">Live debugging</a>');
    expect(s.body).toMatch(/Dependencies<\/h2><div class="panel"><ul class="refs pad"><li class="mono"><a href="\/ui\/component\/prometheus.remote_write.cloud">/);
  });

  it('shows values as Alloy does: durations in Alloy syntax, receivers as capsules, targets as a table', async () => {
    const s = await get('/ui/component/prometheus.scrape.default');
    expect(s.body).toContain('<th scope="row">scrape_interval</th><td><span class="val-str">&#34;30s&#34;</span></td>');
    expect(s.body).not.toContain('30000');
    expect(s.body).toContain('<th scope="row">forward_to</th><td><span class="val-list">[<span class="val-capsule">capsule(&#34;MetricsReceiver&#34;)</span>]</span>');
    expect(s.body).not.toContain('append');
    expect(s.body).toContain('<thead><tr><th scope="col">__address__</th><th scope="col">job</th></tr></thead>');
    const w = await get('/ui/component/prometheus.remote_write.cloud');
    expect(w.body).toContain('<span class="block-name">endpoint</span>');
    expect(w.body).toContain('<th scope="row">remote_timeout</th><td><span class="val-str">&#34;1m30s&#34;</span></td>');
    expect(w.body).not.toContain('hunter2');
    expect(w.body).toContain('<th scope="row">receiver</th><td><span class="val-capsule">capsule(&#34;MetricsReceiver&#34;)</span></td>');
  });

  it('shows the running config with its hash and a Reload button that posts /-/reload', async () => {
    const r = await get('/ui/config');
    expect(r.status).toBe(200);
    expect(r.body).toContain('SHA-256 <code id="config-hash">ab12</code>');
    expect(r.body).toContain('<h2 class="mono">/etc/alloy/config.alloy</h2>');
    expect(r.body).toContain('<span>prometheus.scrape &#34;default&#34; {</span><span>  targets = []</span><span>}</span><span>&#60;x&#62;</span></pre>');
    expect(r.body).toContain('<form class="toolbar" id="reload-form" method="post" action="/-/reload"><button class="btn" type="submit" id="reload">');
    expect(r.body).toContain('<a href="/ui/config" aria-current="page">Config</a>');
  });

  it('answers unknown UI paths with a styled 404 page', async () => {
    const r = await get('/ui/no/such/page');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('<link rel="stylesheet" href="/ui/assets/app.css">');
    expect(r.body).toContain('Nothing lives at <code>/ui/no/such/page</code>.');
  });

  it('answers 404 for an unknown component and leaves non-UI paths alone', async () => {
    const r = await get('/ui/component/nope.nope');
    expect(r.status).toBe(404);
    expect(r.body).toContain('No component with id <code>nope.nope</code>');
    expect((await get('/metrics')).status).toBe(418);
    expect((await get('/ui/assets/missing.js')).status).toBe(418);
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) expect((await get(`/ui/assets/${name}`)).status).toBe(418);
  });

  it('renders the graph with one link per component and one edge per reference', async () => {
    const r = await get('/ui/graph');
    expect(r.body.match(/<a href="\/ui\/component\//g)).toHaveLength(2);
    expect(r.body.match(/class="edge"/g)).toHaveLength(1);
    // Data flow: the scrape forwards to the remote_write's receiver.
    expect(r.body).toContain('prometheus.scrape.default → prometheus.remote_write.cloud');
  });

  it('lists cluster peers with state, suspicion and which one is this node', async () => {
    const r = await get('/ui/clustering');
    expect(r.body).toContain('clustered: 2 node(s)');
    expect(r.body).toMatch(/<tr aria-current="true"><td class="mono">a<\/td><td class="mono">10\.0\.0\.1:12345<\/td>.*This node/);
    expect(r.body).toContain('<span class="badge terminating">terminating</span> <span class="badge unhealthy">suspect</span>');
    expect(r.body).toContain('2.5s ago');
  });

  it('serves only <main> content for live-refresh fragments', async () => {
    const r = await get('/ui/clustering', { 'x-alloy-ui': 'fragment' });
    expect(r.body.startsWith('<h1>Clustering</h1>')).toBe(true);
    expect(r.body).not.toContain('<html');
  });

  it('serves the script and stylesheet with ETags (304 when unchanged); the script is valid JavaScript', async () => {
    const js = await get('/ui/assets/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(() => new Function(js.body)).not.toThrow();
    expect(js.body).toContain('x-alloy-ui');
    const etag = js.headers.get('etag')!;
    expect((await get('/ui/assets/app.js', { 'if-none-match': etag })).status).toBe(304);
    const css = await get('/ui/assets/app.css');
    expect(css.body).toContain('.badge');
  });

  it('rejects a prefix without a leading slash, naming the flag', () => {
    expect(() => new WebUi('ui')).toThrow('--server.http.ui-path-prefix "ui" must start with "/"');
  });
});
