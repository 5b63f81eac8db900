// Fault journeys of the metrics pipeline: a backend that is down for a while, a proxy killed with
// SIGKILL mid-stream, and bad bodies. Sample counts are checked exactly.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeLabels, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress } from '../../collector/src/prom/snappy/snappy.js';
import { ExpositionServer, freePort, promQuery, requireTool, Sink, startAlloy, startPrometheus, stopAll, until, type AlloyProc } from './harness.js';

const prom = requireTool('/usr/bin/prometheus', 'the backend-outage journey');

function post(port: number, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/metrics/write',
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': body.length, ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Request `r` of the synthetic stream: 100 series, one sample each at t = base + r seconds. */
function request(r: number, base: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let s = 0; s < 100; s++) {
    enc.addSample(encodeLabels([{ name: '__name__', value: 'fault_test' }, { name: 'series', value: String(s) }]), base + r * 1000, r * 1000 + s);
  }
  return compress(enc.finish());
}

const proxyConfig = (port: number, sinkPort: number): string => `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [prometheus.remote_write.to_backend.receiver]
}

prometheus.remote_write "to_backend" {
  endpoint {
    url = "http://127.0.0.1:${sinkPort}/api/v1/push"
    queue_config {
      batch_send_deadline = "100ms"
      min_backoff         = "20ms"
      max_backoff         = "200ms"
    }
  }
}
`;

describe('metrics pipeline faults', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-faults-'));
  });
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  (prom ? it : it.skip)(
    'backend down for a while, then back: every scraped sample arrives in Prometheus',
    async () => {
      const target = new ExpositionServer(20, 'outage_gauge');
      await target.start();
      const backendPort = await freePort();
      await startAlloy(
        dir,
        'edge',
        `prometheus.scrape "static" {
  targets         = [{ __address__ = "127.0.0.1:${target.port}" }]
  forward_to      = [prometheus.remote_write.backend.receiver]
  scrape_interval = "500ms"
  scrape_timeout  = "400ms"
}

prometheus.remote_write "backend" {
  endpoint {
    url = "http://127.0.0.1:${backendPort}/api/v1/write"
    queue_config {
      batch_send_deadline = "200ms"
      max_backoff         = "300ms"
    }
  }
}
`,
      );
      await until('scrapes while the backend is down', () => target.scrapes >= 8);
      const backend = await startPrometheus(dir, 'backend', 'global: {}\n', 'server', backendPort);
      await until('more scrapes with the backend up', () => target.scrapes >= 12);
      target.failing = true;
      const scrapes = target.scrapes;
      await until(
        `${scrapes} samples for each of 20 series`,
        async () => {
          const r = await promQuery(backend.base, 'count_over_time(outage_gauge[10m])');
          return r.length === 20 && r.every((s) => Number(s.value[1]) >= scrapes);
        },
        30_000,
        250,
      );
      const r = await promQuery(backend.base, 'count_over_time(outage_gauge[10m])');
      for (const s of r) expect(Number(s.value[1])).toBe(scrapes);
      await target.stop();
    },
    60_000,
  );

  it('proxy killed with SIGKILL mid-stream and restarted: every acknowledged sample arrives', async () => {
    const sink = new Sink();
    await sink.start();
    sink.status = 503; // the backend is failing: acknowledged data sits in the proxy's WAL
    const port = await freePort();
    const storage = path.join(dir, 'proxy-data');
    let proxy: AlloyProc = await startAlloy(dir, 'proxy', proxyConfig(port, sink.port), storage);
    const base = Date.now() - 60_000;
    const acked = new Set<number>();
    const total = 40;
    let next = 0;
    let killed = false;
    // One sender retrying each request until it gets 204, like a real remote_write client.
    const sender = (async () => {
      while (next < total) {
        const status = await post(port, request(next, base));
        if (status === 204) acked.add(next++);
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await until('some acknowledged requests', () => acked.size >= 15);
    await proxy.kill9();
    killed = true;
    const ackedAtKill = acked.size;
    proxy = await startAlloy(dir, 'proxy2', proxyConfig(port, sink.port), storage);
    await sender;
    expect(killed).toBe(true);
    expect(ackedAtKill).toBeGreaterThanOrEqual(15);
    sink.status = 204;
    await until('every acknowledged sample in the backend', () => sink.distinct >= total * 100, 30_000);
    for (const r of acked) {
      for (let s = 0; s < 100; s++) {
        expect(sink.samples.get(`__name__=fault_test,series=${s}`)?.get(base + r * 1000)).toBe(r * 1000 + s);
      }
    }
    expect(sink.distinct).toBe(total * 100);
    await sink.stop();
  }, 60_000);

  it('bad bodies get 400/413/415 and nothing already accepted is lost', async () => {
    const sink = new Sink();
    await sink.start();
    const port = await freePort();
    await startAlloy(dir, 'proxy', proxyConfig(port, sink.port));
    const base = Date.now() - 60_000;
    const statuses: number[] = [];
    for (let r = 0; r < 10; r++) {
      statuses.push(await post(port, request(r, base)));
      statuses.push(await post(port, Buffer.from('garbage that is not snappy')));
      statuses.push(await post(port, compress(Buffer.from('not protobuf either'))));
      statuses.push(await post(port, request(r, base), { 'content-type': 'application/json' }));
      statuses.push(await post(port, request(r, base), { 'content-encoding': 'gzip' }));
      statuses.push(await post(port, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00])));
    }
    for (let r = 0; r < 10; r++) expect(statuses.slice(r * 6, r * 6 + 6)).toStrictEqual([204, 400, 400, 415, 415, 413]);
    await until('all good samples', () => sink.distinct >= 1000);
    expect(sink.distinct).toBe(1000);
    await sink.stop();
  }, 60_000);
});
