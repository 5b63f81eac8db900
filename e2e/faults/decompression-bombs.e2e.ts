// Issue 13 item 2: decompression bombs against every receiver of one collector process —
// loki.source.api (its own port: gzip, deflate, snappy protobuf, and a gzip of valid JSON with one
// 95 MiB line) and prometheus.receive_http (its own port: snappy, and gzip which it refuses) —
// 8 concurrent bombs of each, three rounds, while well-formed pushes and remote-writes keep flowing
// (retrying on 503 as real clients do). The collector's RSS grows by less than 100 MiB, every
// bomb is refused, and every well-formed batch is acknowledged and delivered.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { encodeLabels, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress } from '../../collector/src/prom/snappy/snappy.js';
import { ensureBuilt, freePort, Sink, startAlloy, stopAll, until } from '../metrics/harness.js';
import { reportFault } from './report.js';

const MiB = 1024 * 1024;
const CONCURRENCY = 8;
const ROUNDS = 3;

interface Bomb {
  readonly name: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** POSTs and returns the status, or 'reset' when the server closed the connection mid-upload. */
async function send(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number | 'reset'; retryAfter: string | null }> {
  try {
    const r = await fetch(url, { method: 'POST', headers, body });
    await r.arrayBuffer();
    return { status: r.status, retryAfter: r.headers.get('retry-after') };
  } catch {
    return { status: 'reset', retryAfter: null };
  }
}

/** `n` tiny entries in one stream as a snappy Loki PushRequest (9 wire bytes per entry). */
function tinyEntriesPush(n: number): Buffer {
  const entry = Buffer.from([0x12, 0x07, 0x0a, 0x02, 0x08, 0x01, 0x12, 0x01, 0x78]);
  const labels = Buffer.from('{a="b"}');
  const streamBody = Buffer.concat([Buffer.from([0x0a, labels.length]), labels, Buffer.alloc(entry.length * n)]);
  for (let i = 0; i < n; i++) entry.copy(streamBody, 2 + labels.length + i * entry.length);
  const len: number[] = [];
  for (let v = streamBody.length; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      len.push(v);
      break;
    }
    len.push((v % 128) | 128);
  }
  return compress(Buffer.concat([Buffer.from([0x0a, ...len]), streamBody]));
}

/** `n` distinct one-sample series as a snappy WriteRequest. */
function tinySeriesWrite(n: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let i = 0; i < n; i++) enc.addSample(encodeLabels([{ name: '__name__', value: `s${i}` }]), 1, 1);
  return compress(enc.finish());
}

function writeRequest(batch: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let i = 0; i < 20; i++) enc.addSample(encodeLabels([{ name: '__name__', value: 'bomb_fault_gauge' }, { name: 'batch', value: String(batch) }, { name: 'idx', value: String(i) }]), Date.now(), i);
  return compress(enc.finish());
}

describe('fault: decompression bombs on every receiver', () => {
  let dir: string;
  const servers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it(`keeps RSS growth under 100 MiB with ${CONCURRENCY} concurrent bombs of each encoding, and serves well-formed traffic`, async () => {
    ensureBuilt();
    dir = mkdtempSync(path.join(os.tmpdir(), 'fault-bombs-'));
    const loki = new LokiSink();
    await loki.start();
    const prom = new Sink();
    await prom.start();
    servers.push(loki, prom);
    const apiPort = await freePort();
    const rwPort = await freePort();
    const alloy = await startAlloy(
      dir,
      'bombs',
      `loki.source.api "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${apiPort}
  }
  forward_to = [loki.write.out.receiver]
}

loki.write "out" {
  endpoint {
    url        = "${loki.url}"
    batch_wait = "100ms"
  }
}

prometheus.receive_http "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${rwPort}
  }
  forward_to = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "http://127.0.0.1:${prom.port}/api/v1/push"
    queue_config {
      batch_send_deadline = "100ms"
    }
  }
}
`,
    );
    const pid = alloy.proc.pid!;
    const push = `http://127.0.0.1:${apiPort}/loki/api/v1/push`;
    const write = `http://127.0.0.1:${rwPort}/api/v1/metrics/write`;
    const zeros95 = Buffer.alloc(95 * MiB);
    const bombs: Bomb[] = [
      { name: 'loki gzip', url: push, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(zeros95) },
      { name: 'loki deflate', url: push, headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, body: deflateSync(zeros95) },
      { name: 'loki snappy', url: push, headers: { 'content-type': 'application/x-protobuf' }, body: compress(zeros95) },
      {
        name: 'loki gzip valid JSON',
        url: push,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(Buffer.from(`{"streams":[{"stream":{"job":"bomb"},"values":[["1","${'a'.repeat(95 * MiB)}"]]}]}`)),
      },
      // Amplification: few wire bytes per entry, each a JS object once decoded.
      {
        name: 'loki gzip 3M tiny JSON entries',
        url: push,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(Buffer.from(`{"streams":[{"stream":{"a":"b"},"values":[${'["1","x"],'.repeat(2_999_999)}["1","x"]]}]}`)),
      },
      { name: 'loki snappy 3M tiny protobuf entries', url: push, headers: { 'content-type': 'application/x-protobuf' }, body: tinyEntriesPush(3_000_000) },
      { name: 'receive_http snappy 1M tiny series', url: write, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, body: tinySeriesWrite(1_000_000) },
      { name: 'receive_http snappy', url: write, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, body: compress(Buffer.alloc(250 * MiB)) },
      { name: 'receive_http gzip', url: write, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(250 * MiB)) },
    ];

    // Well-formed clients: one Loki pusher, one remote-writer; each batch retried until acknowledged.
    let running = true;
    const good = { tried: 0, acked: 0, retries: 0, maxLatencyMs: 0 };
    const client = async (kind: 'loki' | 'rw'): Promise<void> => {
      for (let n = 0; running; n++) {
        good.tried++;
        const t0 = Date.now();
        const body =
          kind === 'loki'
            ? Buffer.from(JSON.stringify({ streams: [{ stream: { job: 'good' }, values: [[String(Date.now() * 1e6), `line ${n}`]] }] }))
            : writeRequest(n);
        const headers: Record<string, string> = kind === 'loki' ? { 'content-type': 'application/json' } : { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
        for (;;) {
          const r = await send(kind === 'loki' ? push : write, headers, body);
          if (r.status === 204) break;
          good.retries++;
          await new Promise((res) => setTimeout(res, 50));
        }
        good.acked++;
        good.maxLatencyMs = Math.max(good.maxLatencyMs, Date.now() - t0);
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const clients = [client('loki'), client('rw')];
    await until('well-formed traffic to flow', () => good.acked >= 20, 10_000, 20);

    let peak = 0;
    const baseline = rssOf(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    const statuses = new Map<string, Map<string, number>>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(
          bombs.flatMap((b) =>
            Array.from({ length: CONCURRENCY }, async () => {
              const r = await send(b.url, b.headers, b.body);
              let m = statuses.get(b.name);
              if (!m) statuses.set(b.name, (m = new Map()));
              const k = r.status === 503 ? `503 retry-after=${r.retryAfter}` : String(r.status);
              m.set(k, (m.get(k) ?? 0) + 1);
            }),
          ),
        );
      }
      // Well-formed traffic still flows after the attack.
      const after = good.acked;
      await until('well-formed traffic after the bombs', () => good.acked >= after + 10, 10_000, 20);
    } finally {
      clearInterval(sampler);
      running = false;
      await Promise.all(clients);
    }
    const growth = peak - baseline;
    // Every acknowledged well-formed batch reaches the sinks.
    const lokiLines = (): string[] => loki.entries.filter((e) => e.stream === '{job="good"}').map((e) => e.line);
    const lokiGood = (): number => new Set(lokiLines()).size;
    const promGood = (): number => new Set([...prom.samples.keys()].map((k) => /batch=(\d+)/.exec(k)?.[1])).size;
    let delivered = 0;
    await until('acknowledged batches at the sinks', () => {
      delivered = lokiGood() + promGood();
      return delivered >= good.acked;
    }, 15_000, 100).catch(() => undefined);
    const summary = [...statuses].map(([n, m]) => `${n}: ${[...m].map(([k, v]) => `${v}×${k}`).join(' ')}`).join('; ');
    reportFault({
      fault: 'decompression-bombs',
      case: `${ROUNDS}×${CONCURRENCY} concurrent bombs × ${bombs.length} kinds on loki.source.api + receive_http, with well-formed pushes (batches)`,
      tried: good.acked,
      survived: delivered,
      lost: good.acked - delivered,
      duplicated: lokiLines().length - lokiGood() + (prom.received - prom.distinct),
      rssGrowthBytes: growth,
      note: `bombs: ${summary}; well-formed retries=${good.retries}, max latency ${good.maxLatencyMs} ms; baseline RSS ${(baseline / MiB).toFixed(0)} MiB`,
    });
    expect(growth).toBeLessThan(100 * MiB);
    for (const [name, m] of statuses) {
      for (const k of m.keys()) expect(`${name}: ${k}`).toMatch(/: (413|415|400|503 retry-after=1|reset)$/);
    }
    expect(delivered).toBe(good.acked);
    expect(alloy.proc.exitCode).toBeNull();
  }, 240_000);
});
