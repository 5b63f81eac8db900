/**
 * Throughput of the docs' logs proxy (loki.source.api → loki.write) against a real peer measured
 * in the same run on the same traffic: nginx as a plain HTTP reverse proxy in front of the same
 * Loki-compatible sink. Run with:
 *   npm run build:bench && node dist-bench/bench/logs-pipeline.js
 *
 * Sends REQUESTS snappy-protobuf push requests of ENTRIES_PER_REQUEST unique lines, CONCURRENCY
 * at a time, and times until the sink has every entry. The proxy's loki.write uses
 * batch_wait = "100ms" (default 1s) so the final partial batch does not dominate a short run.
 * Prints entries/s for each and the ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compress } from '../collector/src/prom/snappy/snappy.js';
import { parseStreamLabels } from '../collector/src/loki/labels.js';
import { PushRequestEncoder } from '../collector/src/loki/push.js';
import { LokiSink } from '../collector/src/loki/loki.test-support.js';
import { freePort, httpOk, startAlloy, startNginx, stopAll, until } from '../e2e/metrics/harness.js';

const REQUESTS = Number(process.env["REQUESTS"] ?? 200);
const ENTRIES_PER_REQUEST = 1000;
const CONCURRENCY = 8;

function bodies(): Buffer[] {
  const enc = new PushRequestEncoder();
  const out: Buffer[] = [];
  const now = Date.now();
  for (let r = 0; r < REQUESTS; r++) {
    const streams = Array.from({ length: 10 }, (_, s) => {
      const labelStr = `{filename="/var/log/app-${s}.log", job="varlogs"}`;
      const labels = parseStreamLabels(labelStr);
      const entries = Array.from({ length: ENTRIES_PER_REQUEST / 10 }, (_, i) => ({
        labels,
        line: `level=info req=${r} stream=${s} seq=${i} msg="request served" path=/api/v1/items/${i} status=200 duration_ms=${i % 97}`,
        timestampMs: now + r,
        timestampNanos: i,
      }));
      return { labels: labelStr, entries };
    });
    out.push(Buffer.from(compress(enc.encode(streams))));
  }
  return out;
}

async function drive(url: string, sink: LokiSink, payloads: Buffer[]): Promise<number> {
  const start = sink.entries.length;
  const want = start + REQUESTS * ENTRIES_PER_REQUEST;
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < payloads.length) {
      const body = payloads[next++]!;
      for (let attempt = 0; ; attempt++) {
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        const text = await r.text();
        if (r.status === 204) break;
        if (attempt >= 20) throw new Error(`${url} keeps answering ${r.status}: ${text.slice(0, 300)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await until(`${want} entries at the sink (have ${sink.entries.length})`, () => sink.entries.length >= want, 60_000, 5);
  const secs = (performance.now() - t0) / 1000;
  sink.entries.length = 0;
  return (REQUESTS * ENTRIES_PER_REQUEST) / secs;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-logs-'));
  const sink = new LokiSink();
  await sink.start();
  try {
    const payloads = bodies();
    const proxyPort = await freePort();
    await startAlloy(
      dir,
      'proxy',
      `loki.source.api "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${proxyPort}
  }
  forward_to = [loki.write.to_backend.receiver]
}

loki.write "to_backend" {
  endpoint {
    url        = "${sink.url}"
    batch_wait = "100ms"
  }
}
`,
    );
    const nginxPort = await freePort();
    await startNginx(dir, `  server { listen 127.0.0.1:${nginxPort}; client_max_body_size 100m; client_body_buffer_size 16m; location / { proxy_request_buffering off; proxy_http_version 1.1; proxy_set_header Connection "";  proxy_pass http://127.0.0.1:${sink.port}; } }`);
    await until('nginx', () => httpOk(`http://127.0.0.1:${nginxPort}/`).then(() => true));
    const mb = payloads.reduce((s, b) => s + b.length, 0) / 1e6;
    console.log(`${REQUESTS} requests x ${ENTRIES_PER_REQUEST} entries (${mb.toFixed(1)} MB snappy), concurrency ${CONCURRENCY}`);
    // Warm both paths once, then measure alternately.
    const ours: number[] = [];
    const peer: number[] = [];
    for (let round = 0; round < 3; round++) {
      ours.push(await drive(`http://127.0.0.1:${proxyPort}/loki/api/v1/push`, sink, payloads));
      peer.push(await drive(`http://127.0.0.1:${nginxPort}/loki/api/v1/push`, sink, payloads));
    }
    const best = (xs: number[]): number => Math.max(...xs.slice(1));
    const fmt = (n: number): string => `${(n / 1e3).toFixed(0)}k entries/s`;
    console.log(`alloy-ts proxy (loki.source.api → loki.write): ${fmt(best(ours))}`);
    console.log(`nginx reverse proxy (same sink):               ${fmt(best(peer))}`);
    console.log(`ratio alloy-ts / nginx: ${(best(ours) / best(peer)).toFixed(2)}x (the sink, which decodes every body, is shared by both)`);
  } finally {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
