// Profiles journeys with real peers:
// - pyroscope.scrape of the Go pprof endpoints of a real Prometheus 2.42 and node_exporter
//   (CPU with ?seconds=, heap/allocs, goroutine), pushed by pyroscope.write to a Connect sink
//   (served by @connectrpc/connect-node); an unreachable target is `down` in the API.
// - a Node.js process instrumented with @pyroscope/nodejs pushing to pyroscope.receive_http;
//   its /ingest requests reach the sink byte for byte.
// - the docs' profiles proxy layer: edge pyroscope.write → proxy pyroscope.receive_http →
//   pyroscope.write → sink, through a sink outage and a proxy restart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Profile } from 'pprof-format';
import { PusherService } from '../../collector/src/pyroscope/gen/push/v1/push_pb.js';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';
import { makePprof, PyroscopeSink } from '../../collector/src/pyroscope/pyroscope.test-support.js';
import { freePort, metricValue, requireTool, root, spawnProc, startAlloy, startNodeExporter, startPrometheus, stopAll, until, type AlloyProc } from '../metrics/harness.js';

const prom = requireTool('/usr/bin/prometheus', 'the pyroscope.scrape journey');
const nodeExporter = requireTool('/usr/bin/prometheus-node-exporter', 'the pyroscope.scrape journey');
const maybe = prom && nodeExporter ? describe : describe.skip;

function decode(b: Uint8Array): Profile {
  return Profile.decode(b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);
}

function sampleTypes(p: Profile): string[] {
  return p.sampleType.map((t) => `${p.stringTable.strings[Number(t.type)]}/${p.stringTable.strings[Number(t.unit)]}`);
}

interface ComponentJSON {
  readonly health: { readonly state: string };
  readonly debugInfo: { readonly target: Array<{ url: string; health: string; last_error: string; labels: Record<string, string> }> } | null;
}

/** The components API answers typed Alloy bodies (as upstream); the checks read them as plain JSON. */
async function componentJSON(url: string): Promise<ComponentJSON> {
  const raw = (await (await fetch(url)).json()) as { health: { state: string }; debugInfo?: AlloyJSONStatement[] | null };
  return { health: raw.health, debugInfo: raw.debugInfo ? (plainOfBody(raw.debugInfo) as unknown as ComponentJSON['debugInfo']) : null };
}

maybe('profiles journeys', () => {
  let dir: string;
  let sink: PyroscopeSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-profiles-'));
    sink = new PyroscopeSink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pyroscope.scrape pulls CPU, heap and goroutine pprof from Prometheus and node_exporter; a dead target is down with its error', async () => {
    const ne = await startNodeExporter();
    const backend = await startPrometheus(dir, 'prom', 'global: {}\n', 'server');
    const promAddr = backend.base.replace('http://', '');
    const dead = `127.0.0.1:${await freePort()}`;
    const alloy = await startAlloy(
      dir,
      'scraper',
      `pyroscope.scrape "go" {
  targets = [
    {"__address__" = "${promAddr}", "service_name" = "prometheus"},
    {"__address__" = "${ne.address}", "__meta_docker_container_name" = "node-exporter"},
    {"__address__" = "${dead}", "service_name" = "gone"},
  ]
  forward_to      = [pyroscope.write.sink.receiver]
  scrape_interval = "3s"
  scrape_timeout  = "2s"
  profiling_config {
    profile.block { enabled = false }
    profile.mutex { enabled = false }
  }
}

pyroscope.write "sink" {
  endpoint {
    url = "${sink.url}"
  }
  external_labels = { env = "e2e" }
}
`,
    );
    const want = ['prometheus/process_cpu', 'prometheus/memory', 'prometheus/goroutine', 'node-exporter/process_cpu', 'node-exporter/memory', 'node-exporter/goroutine'];
    await sink.waitFor(() => want.every((w) => sink.profiles.some((p) => `${p.labels['service_name']}/${p.labels['__name__']}` === w)), `profiles ${want.join(', ')}`, 30_000);
    for (const w of want) {
      const got = sink.profiles.find((p) => `${p.labels['service_name']}/${p.labels['__name__']}` === w)!;
      const [svc, type] = w.split('/') as [string, string];
      const addr = svc === 'prometheus' ? promAddr : ne.address;
      // Internal labels are dropped by pyroscope.write except __name__ and __delta__ (set on
      // memory profiles, which the scrape turns into deltas as upstream).
      expect(got.labels).toStrictEqual({ __name__: type, service_name: svc, job: 'pyroscope.scrape.go', instance: addr, env: 'e2e', ...(type === 'memory' ? { __delta__: 'false' } : {}) });
      const p = decode(got.profile);
      // An idle exporter may take no CPU sample in 2s; heap and goroutine profiles always have samples.
      if (type !== 'process_cpu') expect(p.sample.length).toBeGreaterThan(0);
      const types = sampleTypes(p);
      if (type === 'process_cpu') {
        expect(types).toStrictEqual(['samples/count', 'cpu/nanoseconds']);
        // Collected over ?seconds=2 (scrape_interval - 1s).
        expect(Number(p.durationNanos)).toBeGreaterThanOrEqual(1.9e9);
      }
      if (type === 'memory') expect(types).toStrictEqual(['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
      if (type === 'goroutine') expect(types).toStrictEqual(['goroutine/count']);
      if (type !== 'process_cpu') expect(p.stringTable.strings.some((s) => s.startsWith('runtime.'))).toBe(true);
    }
    const comp = await until('the dead target to be down', async () => {
      const c = await componentJSON(`${alloy.base}/api/v0/web/components/pyroscope.scrape.go`);
      const deadOnes = c.debugInfo?.target.filter((t) => t.url.includes(dead)) ?? [];
      return deadOnes.length === 3 && deadOnes.every((t) => t.health === 'down') ? c : undefined;
    });
    expect(comp.health.state).toBe('healthy');
    for (const t of comp.debugInfo!.target) {
      if (t.url.includes(dead)) expect(t.last_error).toMatch(/ECONNREFUSED/);
      else expect({ url: t.url, health: t.health, last_error: t.last_error }).toStrictEqual({ url: t.url, health: 'up', last_error: '' });
    }
    expect(comp.debugInfo!.target.find((t) => t.url.includes('/debug/pprof/profile'))!.url).toMatch(/\?seconds=2$/);
  }, 60_000);

  it('a Node.js app with @pyroscope/nodejs pushes to pyroscope.receive_http; its profiles reach the sink unchanged', async () => {
    const port = await freePort();
    await startAlloy(
      dir,
      'receiver',
      `pyroscope.receive_http "sdk" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [pyroscope.write.sink.receiver]
}

pyroscope.write "sink" {
  endpoint {
    url = "${sink.url}"
  }
}
`,
    );
    // A recording pass-through in front of the receiver: what the SDK sent, and the answer it got.
    const sent: Array<{ url: string; body: Buffer; status: number }> = [];
    const tee: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        void fetch(`http://127.0.0.1:${port}${req.url ?? '/'}`, { method: req.method ?? 'POST', body, headers: { 'content-type': req.headers['content-type'] ?? '' } }).then(
          async (r) => {
            sent.push({ url: req.url ?? '', body, status: r.status });
            res.writeHead(r.status).end(await r.text());
          },
          (err: unknown) => res.writeHead(502).end(String(err)),
        );
      });
    });
    await new Promise<void>((r) => tee.listen(0, '127.0.0.1', () => r()));
    const teePort = (tee.address() as { port: number }).port;
    try {
      const sdk = pathToFileURL(path.join(root, 'node_modules/@pyroscope/nodejs/dist/esm/index.js')).href;
      const app = path.join(dir, 'app.mjs');
      writeFileSync(
        app,
        `import Pyroscope from ${JSON.stringify(sdk)};
Pyroscope.init({ serverAddress: 'http://127.0.0.1:${teePort}', appName: 'node-e2e', tags: { region: 'eu' }, flushIntervalMs: 1000 });
Pyroscope.start();
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
const keep = [];
const end = Date.now() + 3500;
while (Date.now() < end) { fib(22); keep.push(new Array(1000).fill(Math.random())); if (keep.length > 200) keep.length = 0; await new Promise((r) => setImmediate(r)); }
await Pyroscope.stop();
`,
      );
      const proc = spawnProc('node-app', process.execPath, [app]);
      await proc.exited;
      expect(proc.proc.exitCode).toBe(0);
      await until('the SDK uploads', () => (sent.length >= 2 ? true : undefined), 10_000);
      expect(sent.every((s) => s.status === 200)).toBe(true);
      expect(sink.ingests).toHaveLength(sent.length);
      const kinds = new Set<string>();
      for (const s of sent) {
        const q = new URL(s.url, 'http://x').searchParams;
        expect(q.get('format')).toBe('pprof');
        const got = sink.ingests.find((i) => i.query.get('from') === q.get('from') && i.body.equals(s.body));
        expect(got).toBeDefined();
        // The app name follows service_name (as upstream); the SDK's tags are kept.
        expect(got!.query.get('name')).toMatch(/^node-e2e\{.*region=eu,service_name=node-e2e\}$/);
        const a = decode(s.body);
        const b = decode(got!.body);
        expect(b.sample.map((x) => [x.locationId.map(Number), x.value.map(Number)])).toStrictEqual(a.sample.map((x) => [x.locationId.map(Number), x.value.map(Number)]));
        expect(b.location.map((l) => [Number(l.id), l.line.map((ln) => Number(ln.functionId))])).toStrictEqual(a.location.map((l) => [Number(l.id), l.line.map((ln) => Number(ln.functionId))]));
        expect(a.sample.length).toBeGreaterThan(0);
        kinds.add(sampleTypes(a).join(','));
      }
      // Wall/CPU and heap profiles both came through.
      expect([...kinds].some((k) => k.includes('wall'))).toBe(true);
      expect([...kinds].some((k) => k.includes('space/bytes'))).toBe(true);
    } finally {
      await new Promise<void>((r) => tee.close(() => r()));
    }
  }, 60_000);

  it("the docs' profiles proxy layer: nothing acknowledged is lost through a sink outage and a proxy restart", async () => {
    const ne = await startNodeExporter();
    const proxyPort = await freePort();
    const edgeIn = await freePort();
    const proxyConfig = `pyroscope.receive_http "from_edge" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${proxyPort}
  }
  forward_to = [pyroscope.write.backend.receiver]
}

pyroscope.write "backend" {
  endpoint {
    url                 = "${sink.url}"
    remote_timeout      = "3s"
    min_backoff_period  = "100ms"
    max_backoff_period  = "500ms"
    max_backoff_retries = 0
  }
  external_labels = { tier = "proxy" }
}
`;
    let proxy: AlloyProc = await startAlloy(dir, 'proxy', proxyConfig);
    const edge = await startAlloy(
      dir,
      'edge',
      `pyroscope.scrape "node" {
  targets         = [{"__address__" = "${ne.address}", "service_name" = "node-exporter"}]
  forward_to      = [pyroscope.write.to_proxy.receiver]
  scrape_interval = "2s"
  profiling_config {
    profile.block { enabled = false }
    profile.mutex { enabled = false }
    profile.memory { enabled = false }
    profile.process_cpu { enabled = false }
  }
}

// Profiles the test pushes (numbered), to count what the edge acknowledged.
pyroscope.receive_http "app" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${edgeIn}
  }
  forward_to = [pyroscope.write.to_proxy.receiver]
}

pyroscope.write "to_proxy" {
  endpoint {
    url                 = "http://127.0.0.1:${proxyPort}"
    remote_timeout      = "30s"
    min_backoff_period  = "100ms"
    max_backoff_period  = "1s"
    max_backoff_retries = 0
  }
  external_labels = { tier = "edge", cluster = "c1" }
}
`,
    );
    await sink.waitFor(() => sink.profiles.some((p) => p.labels['__name__'] === 'goroutine' && p.labels['service_name'] === 'node-exporter'), 'scraped goroutine profiles via the proxy', 20_000);
    // The proxy's receive_http adds app_name = __name__ when service_name is set, as upstream does.
    expect(sink.profiles.find((p) => p.labels['__name__'] === 'goroutine')!.labels).toStrictEqual({ __name__: 'goroutine', app_name: 'goroutine', service_name: 'node-exporter', job: 'pyroscope.scrape.node', instance: ne.address, tier: 'proxy', cluster: 'c1' });

    const client = createClient(PusherService, createConnectTransport({ baseUrl: `http://127.0.0.1:${edgeIn}`, httpVersion: '1.1' }));
    const acked = new Set<number>();
    const failed = new Set<number>();
    const push = (seq: number): Promise<void> =>
      client.push({ series: [{ labels: [{ name: 'service_name', value: 'app' }, { name: 'seq', value: String(seq) }], samples: [{ rawProfile: makePprof({ seed: seq }) }] }] }, { timeoutMs: 60_000 }).then(
        () => void acked.add(seq),
        () => void failed.add(seq),
      );
    const arrived = (): Set<number> => new Set(sink.profiles.filter((p) => p.labels['service_name'] === 'app').map((p) => Number(p.labels['seq'])));

    // Before anything breaks.
    await Promise.all([0, 1, 2, 3, 4].map(push));
    // Sink outage: pushes hang (the edge waits on the proxy, the proxy retries the sink).
    sink.down = 503;
    const during = [5, 6, 7, 8, 9].map(push);
    await until('the proxy to retry against the failing sink', () => (sink.requests > 20 ? true : undefined), 10_000);
    expect([5, 6, 7, 8, 9].some((s) => acked.has(s))).toBe(false);
    sink.down = undefined;
    await Promise.all(during);
    // Proxy restart: pushes during the downtime are retried by the edge until the proxy is back.
    await proxy.stop();
    const whileDown = [10, 11, 12, 13, 14].map(push);
    const retries = async (): Promise<number> => metricValue(await (await fetch(`${edge.base}/metrics`)).text(), /^pyroscope_write_retries_total\{/) ?? 0;
    const retriesBefore = await retries();
    await until('the edge retrying against the stopped proxy', async () => ((await retries()) > retriesBefore ? true : undefined), 30_000);
    proxy = await startAlloy(dir, 'proxy', proxyConfig);
    await Promise.all(whileDown);
    await Promise.all([15, 16, 17].map(push));

    expect([...failed]).toStrictEqual([]);
    expect(acked.size).toBe(18);
    const got = arrived();
    for (const s of acked) expect({ seq: s, arrived: got.has(s) }).toStrictEqual({ seq: s, arrived: true });
    // The profile bytes are the ones pushed.
    const seven = sink.profiles.find((p) => p.labels['seq'] === '7')!;
    expect(Buffer.from(seven.profile)).toStrictEqual(makePprof({ seed: 7 }));
    expect(seven.labels).toStrictEqual({ service_name: 'app', seq: '7', tier: 'proxy', cluster: 'c1' });
  }, 90_000);
});
