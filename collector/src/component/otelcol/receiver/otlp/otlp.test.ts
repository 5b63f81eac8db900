import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Telemetry } from '../../../../otlp/data.js';
import { Types } from '../../../../otlp/schema.js';
import { SERVICE_PATH } from '../../../../otlp/grpc.js';
import { CaptureConsumer, officialDecode, runComponent, type Running } from '../../otelcol.test-support.js';
import { component, type Exports, type OtlpReceiver } from './otlp.js';

type Protocol = 'grpc' | 'http/protobuf' | 'http/json';
const PROTOCOLS: Protocol[] = ['grpc', 'http/protobuf', 'http/json'];

type Obj = Record<string, unknown>;
const hrToNs = (t: readonly [number, number]): string => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

function anyValue(v: unknown): Obj {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  throw new Error(`unexpected attribute ${String(v)}`);
}
const attrs = (a: Record<string, unknown>): Obj[] => Object.entries(a).map(([key, value]) => ({ key, value: anyValue(value) }));
const sortKv = (kvs: unknown): Obj[] => [...((kvs as Obj[] | undefined) ?? [])].sort((x, y) => String(x['key']).localeCompare(String(y['key'])));

/** Every span of the received requests, decoded with the official definitions, with its resource. */
function officialSpans(received: Telemetry[]): { span: Obj; resource: Obj; scope: Obj }[] {
  const out: { span: Obj; resource: Obj; scope: Obj }[] = [];
  for (const t of received.filter((x) => x.signal === 'traces')) {
    const req = officialDecode('traces', t.encode());
    for (const rs of req['resourceSpans'] as Obj[])
      for (const ss of rs['scopeSpans'] as Obj[]) for (const span of ss['spans'] as Obj[]) out.push({ span, resource: rs['resource'] as Obj, scope: ss['scope'] as Obj });
  }
  return out;
}

describe('otelcol.receiver.otlp', () => {
  let sink: CaptureConsumer;
  let r: Running<OtlpReceiver, Exports>;
  let grpcAddr: string;
  let httpAddr: string;

  beforeEach(async () => {
    sink = new CaptureConsumer();
    r = await runComponent<never, Exports, OtlpReceiver>(component as never, {
      grpc: { endpoint: '127.0.0.1:0' },
      http: { endpoint: '127.0.0.1:0', max_request_body_size: '64KiB', cors: { allowed_origins: ['https://*.example.com'] } },
      output: { traces: [sink], metrics: [sink], logs: [sink] },
    });
    await waitListening(r);
    grpcAddr = r.component.addresses().grpc!;
    httpAddr = r.component.addresses().http!;
  });
  afterEach(async () => r.stop());

  const traceExporter = (p: Protocol) =>
    p === 'grpc' ? new TraceGrpc({ url: `http://${grpcAddr}` }) : p === 'http/protobuf' ? new TraceProto({ url: `http://${httpAddr}/v1/traces` }) : new TraceJson({ url: `http://${httpAddr}/v1/traces` });

  it.each(PROTOCOLS)('receives every span from the JS SDK over %s with IDs, attributes, resource and timestamps intact', async (protocol) => {
    const mem = new InMemorySpanExporter();
    const exporter = traceExporter(protocol);
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'deployment.environment': 'test', 'host.cpus': 4 }),
      spanProcessors: [new BatchSpanProcessor({ exporter, maxExportBatchSize: 16, scheduledDelayMillis: 50 }), new SimpleSpanProcessor({ exporter: mem })],
    });
    const tracer = provider.getTracer('receiver-test', '1.2.3');
    for (let i = 0; i < 20; i++) {
      tracer.startActiveSpan(`parent-${i}`, { attributes: { 'http.method': 'GET', 'http.status_code': 200 + i, ratio: 0.5 + i, ok: i % 2 === 0, tags: ['a', 'b'] } }, (parent) => {
        const child = tracer.startSpan(`child-${i}`, { kind: 2, links: [{ context: parent.spanContext(), attributes: { why: 'retry' } }] });
        child.addEvent('cache miss', { key: `k${i}` });
        child.setStatus({ code: 2, message: 'boom' });
        child.end();
        parent.end();
      });
    }
    await provider.forceFlush();
    await sink.waitFor(40, 'traces');
    const sent = mem.getFinishedSpans();
    const got = new Map(officialSpans(sink.received).map((x) => [x.span['spanId'] as string, x]));
    expect(got.size).toBe(40);
    for (const s of sent as ReadableSpan[]) {
      const g = got.get(s.spanContext().spanId);
      expect(g).toBeDefined();
      expect(g!.span['traceId']).toBe(s.spanContext().traceId);
      expect(g!.span['name']).toBe(s.name);
      expect(g!.span['startTimeUnixNano']).toBe(hrToNs(s.startTime));
      expect(g!.span['endTimeUnixNano']).toBe(hrToNs(s.endTime));
      expect(g!.span['parentSpanId'] ?? undefined).toBe(s.parentSpanContext?.spanId);
      expect(sortKv(g!.span['attributes'])).toEqual(sortKv(attrs(s.attributes)));
      expect(sortKv(g!.resource['attributes'])).toEqual(sortKv(attrs(s.resource.attributes as Record<string, unknown>)));
      expect(g!.scope).toMatchObject({ name: 'receiver-test', version: '1.2.3' });
      if (s.name.startsWith('child')) {
        expect(g!.span['kind']).toBe(s.kind + 1); // OTLP SpanKind = API SpanKind + 1 (0 is UNSPECIFIED)
        expect(g!.span['status']).toEqual({ code: 2, message: 'boom' });
        const ev = (g!.span['events'] as Obj[])[0]!;
        expect(ev['name']).toBe('cache miss');
        expect(ev['timeUnixNano']).toBe(hrToNs(s.events[0]!.time));
        expect((g!.span['links'] as Obj[])[0]).toMatchObject({ traceId: s.links[0]!.context.traceId, spanId: s.links[0]!.context.spanId });
      }
    }
    await provider.shutdown();
  });

  it.each(PROTOCOLS)('receives metrics from the JS SDK over %s', async (protocol) => {
    const exporter = protocol === 'grpc' ? new MetricsGrpc({ url: `http://${grpcAddr}` }) : protocol === 'http/protobuf' ? new MetricsProto({ url: `http://${httpAddr}/v1/metrics` }) : new MetricsJson({ url: `http://${httpAddr}/v1/metrics` });
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'meter' }), readers: [reader] });
    const meter = provider.getMeter('m');
    const counter = meter.createCounter('requests');
    counter.add(3, { route: '/a' });
    counter.add(4, { route: '/b' });
    meter.createHistogram('latency', { unit: 'ms' }).record(12.5, { route: '/a' });
    await provider.forceFlush();
    await sink.waitFor(3, 'metrics');
    const req = officialDecode('metrics', sink.received.find((t) => t.signal === 'metrics')!.encode());
    const rm = (req['resourceMetrics'] as Obj[])[0]!;
    expect(sortKv((rm['resource'] as Obj)['attributes'])).toContainEqual({ key: 'service.name', value: { stringValue: 'meter' } });
    const metrics = ((rm['scopeMetrics'] as Obj[])[0]!['metrics'] as Obj[]).sort((a, b) => String(a['name']).localeCompare(String(b['name'])));
    expect(metrics.map((m) => m['name'])).toEqual(['latency', 'requests']);
    const sum = metrics[1]!['sum'] as Obj;
    expect(sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 });
    const points = (sum['dataPoints'] as Obj[]).map((p) => [(p['attributes'] as Obj[])[0]!['value'], p['asDouble'] ?? p['asInt']]);
    expect(points).toEqual(expect.arrayContaining([[{ stringValue: '/a' }, 3], [{ stringValue: '/b' }, 4]]));
    const hist = ((metrics[0]!['histogram'] as Obj)['dataPoints'] as Obj[])[0]!;
    expect(hist).toMatchObject({ count: '1', sum: 12.5 });
    expect(typeof hist['timeUnixNano']).toBe('string');
    await provider.shutdown();
  });

  it.each(PROTOCOLS)('receives log records from the JS SDK over %s', async (protocol) => {
    const exporter = protocol === 'grpc' ? new LogsGrpc({ url: `http://${grpcAddr}` }) : protocol === 'http/protobuf' ? new LogsProto({ url: `http://${httpAddr}/v1/logs` }) : new LogsJson({ url: `http://${httpAddr}/v1/logs` });
    const mem = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'logger' }), processors: [new SimpleLogRecordProcessor({ exporter }), new SimpleLogRecordProcessor({ exporter: mem })] });
    const logger = provider.getLogger('l');
    logger.emit({ body: 'hello', severityNumber: SeverityNumber.WARN, severityText: 'WARN', attributes: { user: 'ann', n: 7 }, timestamp: 1_700_000_000_123 });
    await provider.forceFlush();
    await sink.waitFor(1, 'logs');
    const req = officialDecode('logs', sink.received.find((t) => t.signal === 'logs')!.encode());
    const rec = (((req['resourceLogs'] as Obj[])[0]!['scopeLogs'] as Obj[])[0]!['logRecords'] as Obj[])[0]!;
    const sent = mem.getFinishedLogRecords()[0]!;
    expect(rec).toMatchObject({ body: { stringValue: 'hello' }, severityNumber: SeverityNumber.WARN, severityText: 'WARN', timeUnixNano: hrToNs(sent.hrTime), observedTimeUnixNano: hrToNs(sent.hrTimeObserved) });
    expect(sortKv(rec['attributes'])).toEqual(sortKv(attrs({ user: 'ann', n: 7 })));
    await provider.shutdown();
  });

  it('makes the SDK retry when the pipeline refuses with a retryable error, and acknowledges only afterwards', async () => {
    sink.fail = { retryable: true, message: 'memory limit exceeded' };
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: new TraceProto({ url: `http://${httpAddr}/v1/traces` }) })] });
    provider.getTracer('t').startSpan('retried').end();
    const refused = async (): Promise<number> => ((await r.registry.getSingleMetric('otelcol_receiver_refused_spans_total')?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);
    const deadline = Date.now() + 10_000;
    while ((await refused()) < 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(await refused()).toBe(1);
    expect(sink.count('traces')).toBe(0);
    sink.fail = undefined;
    await sink.waitFor(1, 'traces', 15_000);
    await provider.shutdown();
  }, 20_000);

  describe('bad input over HTTP', () => {
    const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) => fetch(`http://${httpAddr}${path}`, { method: 'POST', body, headers });

    it('answers 400 naming the problem for malformed protobuf and JSON', async () => {
      const bad = await post('/v1/traces', Buffer.from([0x0a, 0xff, 0xff, 0x01]), { 'content-type': 'application/x-protobuf' });
      expect(bad.status).toBe(400);
      const st = Types.status.decode(new Uint8Array(await bad.arrayBuffer())) as unknown as { code: number; message: string };
      expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(st.message).toMatch(/malformed OTLP traces protobuf/);
      const badJson = await post('/v1/logs', '{"resourceLogs": [', { 'content-type': 'application/json' });
      expect(badJson.status).toBe(400);
      expect(((await badJson.json()) as { message: string }).message).toMatch(/malformed OTLP\/JSON logs request/);
      const badId = await post('/v1/traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz', spanId: '0102030405060708' }] }] }] }), { 'content-type': 'application/json' });
      expect(badId.status).toBe(400);
      expect(((await badId.json()) as { message: string }).message).toMatch(/traceId must be a hex string/);
      const shortId = await post('/v1/traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0102', spanId: '0102030405060708' }] }] }] }), { 'content-type': 'application/json' });
      expect(((await shortId.json()) as { message: string }).message).toMatch(/trace_id must be 16 bytes, got 2/);
      expect(sink.received).toHaveLength(0);
    });

    it('answers 413 for bodies over max_request_body_size, compressed or decompressed', async () => {
      const big = Buffer.alloc(100 * 1024, 0x20);
      expect((await post('/v1/traces', big, { 'content-type': 'application/x-protobuf' })).status).toBe(413);
      const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
      expect(bomb.length).toBeLessThan(64 * 1024);
      const res = await post('/v1/traces', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { message: string }).message).toMatch(/decompressed body exceeds max_request_body_size/);
    });

    it('accepts gzip and answers 404/405/415 naming the fix', async () => {
      const body = gzipSync(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'zipped' }, timeUnixNano: '1700000000000000000' }] }] }] }));
      const ok = await post('/v1/logs', body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({});
      expect(sink.count('logs')).toBe(1);
      expect((await post('/v2/traces', '{}', { 'content-type': 'application/json' })).status).toBe(404);
      expect((await fetch(`http://${httpAddr}/v1/traces`)).status).toBe(405);
      const t415 = await post('/v1/traces', 'x', { 'content-type': 'text/plain' });
      expect(t415.status).toBe(415);
      expect((await post('/v1/traces', 'x', { 'content-type': 'application/json', 'content-encoding': 'br' })).status).toBe(415);
    });

    it('answers 503 with Retry-After when the pipeline refuses retryably, 400 when permanently', async () => {
      sink.fail = { retryable: true, message: 'sending queue is full' };
      const res = await post('/v1/traces', '{}', { 'content-type': 'application/json' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { message: string }).message).toBe('sending queue is full');
      sink.fail = { retryable: false, message: 'unsupported' };
      expect((await post('/v1/traces', '{}', { 'content-type': 'application/json' })).status).toBe(400);
    });

    it('answers CORS preflights for allowed origins only', async () => {
      const pre = (origin: string) => fetch(`http://${httpAddr}/v1/traces`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      const ok = await pre('https://app.example.com');
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/Content-Type/);
      const no = await pre('https://evil.test');
      expect(no.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('bad input over gRPC', () => {
    function call(signal: 'traces' | 'logs', body: Buffer, md = new grpc.Metadata()): Promise<grpc.ServiceError | null> {
      const client = new grpc.Client(grpcAddr, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
      return new Promise((resolve) => {
        client.makeUnaryRequest(SERVICE_PATH[signal], (b: Buffer) => b, (b: Buffer) => b, body, md, (err) => {
          client.close();
          resolve(err);
        });
      });
    }

    it('answers INVALID_ARGUMENT, RESOURCE_EXHAUSTED and UNAVAILABLE with RetryInfo', async () => {
      const bad = await call('traces', Buffer.from([0x0a, 0xff, 0xff, 0x01]));
      expect(bad?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(bad?.details).toMatch(/malformed OTLP traces protobuf/);
      const big = await call('traces', Buffer.alloc(5 * 1024 * 1024));
      expect(big?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      sink.fail = { retryable: true, message: 'over the memory limit' };
      const busy = await call('logs', Buffer.alloc(0));
      expect(busy?.code).toBe(grpc.status.UNAVAILABLE);
      const detail = busy!.metadata.get('grpc-status-details-bin')[0] as Buffer;
      const st = Types.status.decode(detail) as unknown as { details: { typeUrl: string; value: Uint8Array }[] };
      expect(st.details[0]!.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
      const info = Types.retryInfo.decode(st.details[0]!.value) as unknown as { retryDelay: { seconds: { toNumber(): number } } };
      expect(info.retryDelay.seconds.toNumber()).toBe(1);
      expect(sink.received).toHaveLength(0);
    });
  });

  it('passes client metadata downstream with include_metadata', async () => {
    const s2 = new CaptureConsumer();
    const r2 = await runComponent<never, Exports, OtlpReceiver>(component as never, { http: { endpoint: '127.0.0.1:0', include_metadata: true }, output: { logs: [s2] } });
    await waitListening(r2);
    await fetch(`http://${r2.component.addresses().http}/v1/logs`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-tenant': 'acme' } });
    expect(s2.received[0]?.metadata?.get('x-tenant')).toEqual(['acme']);
    await r2.stop();
  });
});

async function waitListening(r: Running<OtlpReceiver, Exports>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (r.health().state !== 'healthy') {
    if (r.health().state === 'unhealthy' || Date.now() > deadline) throw new Error(`receiver did not start: ${r.health().message}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}
