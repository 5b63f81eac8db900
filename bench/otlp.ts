/**
 * OTLP traces pipeline throughput: `otelcol.receiver.otlp` (gRPC) → `otelcol.processor.batch` →
 * `otelcol.exporter.otlp` → an OTLP/gRPC sink in this process, with the collector pinned to one
 * CPU (taskset -c 0; the driver and sink run unpinned). Requests of SPANS_PER_REQUEST spans are
 * encoded beforehand by the official JS encoder (`@opentelemetry/otlp-transformer`, the code the
 * SDK's exporters use) from real SDK spans; the encoder's own rate on the same spans is printed
 * beside the collector's as the reference. The sink counts spans by walking the wire format (no
 * decode), so it costs little next to the collector. Run with:
 *   npm run build:bench && node dist-bench/bench/otlp.js
 * Prints, for the collector, wall-clock spans/s and spans per CPU-second it used (utime + stime
 * from /proc, i.e. the rate one fully busy core would sustain — the driver and sink share the
 * machine, so wall-clock alone understates it), the official encoder's spans/s, the ratio, and
 * the collector's peak RSS (VmHWM).
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SERVICE_PATH, serviceDefinition } from '../collector/src/otlp/grpc.js';
import protobuf from 'protobufjs';
import { alloyBin, ensureBuilt, freePort, spawnProc, stopAll, until } from '../e2e/metrics/harness.js';

const REQUESTS = Number(process.env['REQUESTS'] ?? 400);
const SPANS_PER_REQUEST = 512;
const CONCURRENCY = 8;

async function sdkSpans(n: number): Promise<ReadableSpan[]> {
  const mem = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.4.2', 'host.name': 'node-17' }), spanProcessors: [new SimpleSpanProcessor({ exporter: mem })] });
  const tracer = provider.getTracer('bench', '1.0.0');
  for (let i = 0; i < n; i++) {
    const s = tracer.startSpan(`GET /api/items/${i % 50}`, { kind: 1, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'url.path': `/api/items/${i % 50}`, 'server.address': 'shop.example.com', 'user_agent.original': 'bench/1.0' } });
    s.addEvent('cache.lookup', { hit: i % 3 === 0 });
    s.end();
  }
  await provider.forceFlush();
  return mem.getFinishedSpans() as ReadableSpan[];
}

/**
 * Counts the spans of an encoded ExportTraceServiceRequest by walking the wire format
 * (resource_spans = 1 → scope_spans = 2 → spans = 2) without decoding them, so the sink stays
 * cheap next to the collector under test.
 */
function countSpans(buf: Uint8Array): number {
  const walk = (r: protobuf.Reader, end: number, path: readonly number[]): number => {
    let n = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if ((tag & 7) !== 2) {
        r.skipType(tag & 7);
        continue;
      }
      const len = r.uint32();
      const stop = r.pos + len;
      if (field === path[0]) n += path.length === 1 ? 1 : walk(r, stop, path.slice(1));
      r.pos = stop;
    }
    return n;
  };
  const r = protobuf.Reader.create(buf);
  return walk(r, buf.length, [1, 2, 2]);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
}

async function main(): Promise<void> {
  ensureBuilt();
  const spans = await sdkSpans(SPANS_PER_REQUEST * 8);
  const chunks = Array.from({ length: 8 }, (_, i) => spans.slice(i * SPANS_PER_REQUEST, (i + 1) * SPANS_PER_REQUEST));
  // Reference: the official encoder producing the same requests (after warm-up).
  for (let i = 0; i < 50; i++) ProtobufTraceSerializer.serializeRequest(chunks[i % 8]!);
  let t0 = performance.now();
  const bodies: Buffer[] = [];
  for (let i = 0; i < REQUESTS; i++) bodies.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(chunks[i % 8]!)!));
  const encodeRate = (REQUESTS * SPANS_PER_REQUEST) / ((performance.now() - t0) / 1000);

  // Sink.
  let received = 0;
  const sink = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  sink.addService(serviceDefinition('traces'), {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      received += countSpans(call.request);
      cb(null, Buffer.alloc(0));
    },
  });
  const sinkPort = await new Promise<number>((res, rej) => sink.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));

  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-otlp-'));
  const port = await freePort();
  const httpPort = await freePort();
  const cfg = path.join(dir, 'pipeline.alloy');
  writeFileSync(
    cfg,
    `otelcol.receiver.otlp "in" {
  grpc {
    endpoint = "127.0.0.1:${port}"
  }
  output {
    traces = [otelcol.processor.batch.b.input]
  }
}
otelcol.processor.batch "b" {
  output {
    traces = [otelcol.exporter.otlp.out.input]
  }
}
otelcol.exporter.otlp "out" {
  client {
    endpoint = "127.0.0.1:${sinkPort}"
    compression = "none"
    tls {
      insecure = true
    }
  }
}
`,
  );
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const alloy = spawnProc('alloy', 'taskset', ['-c', '0', process.execPath, ...nodeArgs, alloyBin, 'run', `--server.http.listen-addr=127.0.0.1:${httpPort}`, `--storage.path=${path.join(dir, 'data')}`, cfg]);
  await until('alloy to listen', () => /now listening for http traffic/.test(alloy.output()), 30_000);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const send = (b: Buffer): Promise<void> =>
    new Promise((res, rej) => client.makeUnaryRequest(SERVICE_PATH.traces, (x: Buffer) => x, (x: Buffer) => x, b, new grpc.Metadata(), (err) => (err ? rej(err) : res())));
  await until('receiver up', () => send(bodies[0]!).then(() => true, () => false), 30_000);
  // Warm-up round, then the measured run.
  for (const round of ['warm-up', 'measured'] as const) {
    const n = round === 'warm-up' ? Math.min(50, REQUESTS) : REQUESTS;
    const start = received;
    const want = start + n * SPANS_PER_REQUEST + (round === 'warm-up' ? SPANS_PER_REQUEST : 0);
    t0 = performance.now();
    const cpu0 = cpuSeconds(alloy.proc.pid!);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await send(bodies[next++]!);
      }),
    );
    await until(`${round}: sink to receive every span`, () => received >= want, 120_000, 5);
    if (round === 'measured') {
      const rate = (n * SPANS_PER_REQUEST) / ((performance.now() - t0) / 1000);
      const perCpu = (n * SPANS_PER_REQUEST) / (cpuSeconds(alloy.proc.pid!) - cpu0);
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${alloy.proc.pid}/status`, 'utf8'))?.[1];
      console.log(`collector (gRPC receiver → batch → otlp exporter, pinned to 1 core): ${Math.round(rate).toLocaleString('en')} spans/s wall-clock, ${Math.round(perCpu).toLocaleString('en')} spans per CPU-second`);
      console.log(`official JS encoder alone (same requests): ${Math.round(encodeRate).toLocaleString('en')} spans/s`);
      console.log(`ratio collector/encoder: ${(rate / encodeRate).toFixed(2)} wall-clock, ${(perCpu / encodeRate).toFixed(2)} per CPU-second`);
      console.log(`collector peak RSS: ${hwm ? (Number(hwm) / 1024).toFixed(0) : '?'} MiB`);
    }
  }
  client.close();
  await new Promise<void>((r) => sink.tryShutdown(() => r()));
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
