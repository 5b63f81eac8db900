import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Telemetry } from '../../../../otlp/data.js';
import { decodeJson } from '../../../../otlp/json.js';
import { component as basic } from '../../auth/basic/basic.js';
import { component as bearer } from '../../auth/bearer/bearer.js';
import { component as headers } from '../../auth/headers/headers.js';
import { ConsumerError } from '../../consumer.js';
import { component as receiver, type OtlpReceiver } from '../../receiver/otlp/otlp.js';
import { CaptureConsumer, eventually, officialDecode, runComponent, type Running } from '../../otelcol.test-support.js';
import type { Exports } from '../queued-exporter.js';
import { component as otlphttp } from '../otlphttp/otlphttp.js';
import { component as otlp } from './otlp.js';

type Obj = Record<string, unknown>;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function run<E extends object, C = unknown>(def: unknown, cfg: Obj): Promise<Running<C, E>> {
  const r = await runComponent<never, E, never>(def as never, cfg);
  stops.push(() => r.stop());
  return r as unknown as Running<C, E>;
}

async function startReceiver(sink: CaptureConsumer, extra: Obj = {}): Promise<{ grpc: string; http: string }> {
  const r = await run<Record<string, never>, OtlpReceiver>(receiver, { grpc: { endpoint: '127.0.0.1:0', ...(extra['grpc'] as Obj) }, http: { endpoint: '127.0.0.1:0', ...(extra['http'] as Obj) }, output: { traces: [sink], metrics: [sink], logs: [sink] } });
  await eventually(() => r.health().state === 'healthy', 5000, 'receiver listening');
  return r.component.addresses() as { grpc: string; http: string };
}

const spanJson = (n: number): Telemetry =>
  decodeJson('traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: Array.from({ length: n }, (_, i) => ({ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: `00000000000000${(i + 1).toString(16).padStart(2, '0')}`, name: `s${i}`, startTimeUnixNano: '1700000000000000001', endTimeUnixNano: '1700000000000000999' })) }] }] }));

describe('otelcol.exporter.otlp and otelcol.exporter.otlphttp', () => {
  it('forwards JS SDK spans over gRPC with bearer auth; the far end decodes them unchanged', async () => {
    const far = new CaptureConsumer();
    const token = await run<{ handler: unknown }>(bearer, { token: 's3cret' });
    const farAddr = await startReceiver(far, { grpc: { auth: token.exports().handler } });
    const exp = await run<Exports>(otlp, { client: { endpoint: farAddr.grpc, tls: { insecure: true }, auth: token.exports().handler }, retry_on_failure: { initial_interval: '10ms' } });
    const near = await run<Record<string, never>, OtlpReceiver>(receiver, { grpc: { endpoint: '127.0.0.1:0' }, output: { traces: [exp.exports().input] } });
    await eventually(() => near.health().state === 'healthy', 5000, 'near receiver');
    const mem = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'frontend' }),
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://${near.component.addresses().grpc}` }), scheduledDelayMillis: 20 }), new SimpleSpanProcessor({ exporter: mem })],
    });
    const tracer = provider.getTracer('t');
    for (let i = 0; i < 50; i++) tracer.startSpan(`op${i}`, { attributes: { i } }).end();
    await provider.forceFlush();
    await far.waitFor(50, 'traces');
    const got = new Map<string, Obj>();
    for (const t of far.received) for (const rs of officialDecode('traces', t.encode())['resourceSpans'] as Obj[]) for (const ss of rs['scopeSpans'] as Obj[]) for (const s of ss['spans'] as Obj[]) got.set(s['spanId'] as string, { ...s, resource: rs['resource'] });
    for (const s of mem.getFinishedSpans()) {
      const g = got.get(s.spanContext().spanId)!;
      expect(g['traceId']).toBe(s.spanContext().traceId);
      expect(g['name']).toBe(s.name);
      expect(g['attributes']).toEqual([{ key: 'i', value: { intValue: String(s.attributes['i']) } }]);
      expect(((g['resource'] as Obj)['attributes'] as Obj[]).find((a) => a['key'] === 'service.name')).toEqual({ key: 'service.name', value: { stringValue: 'frontend' } });
    }
    await provider.shutdown();
  });

  it('is refused by a receiver whose auth does not match', async () => {
    const far = new CaptureConsumer();
    const good = await run<{ handler: unknown }>(bearer, { token: 'right' });
    const bad = await run<{ handler: unknown }>(bearer, { token: 'wrong' });
    const farAddr = await startReceiver(far, { grpc: { auth: good.exports().handler } });
    const exp = await run<Exports>(otlp, { client: { endpoint: farAddr.grpc, tls: { insecure: true }, auth: bad.exports().handler }, sending_queue: { enabled: false } });
    await expect(exp.exports().input.consume(spanJson(1))).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/UNAUTHENTICATED: invalid bearer token/) });
    expect(far.count()).toBe(0);
  });

  it.each(['proto', 'json'] as const)('sends over OTLP/HTTP (%s) with basic auth and headers from client metadata', async (encoding) => {
    const far = new CaptureConsumer();
    const creds = await run<{ handler: unknown }>(basic, { username: 'u', password: 'p' });
    const farAddr = await startReceiver(far, { http: { auth: creds.exports().handler, include_metadata: true } });
    const exp = await run<Exports>(otlphttp, { client: { endpoint: `http://${farAddr.http}`, auth: creds.exports().handler }, encoding });
    await exp.exports().input.consume(spanJson(3));
    await far.waitFor(3, 'traces');
    const req = officialDecode('traces', far.received[0]!.encode());
    const spans = ((req['resourceSpans'] as Obj[])[0]!['scopeSpans'] as Obj[])[0]!['spans'] as Obj[];
    expect(spans.map((s) => [s['traceId'], s['spanId'], s['startTimeUnixNano'], s['endTimeUnixNano']])).toEqual([1, 2, 3].map((i) => ['0102030405060708090a0b0c0d0e0f10', `00000000000000${i.toString(16).padStart(2, '0')}`, '1700000000000000001', '1700000000000000999']));
    expect(far.received[0]!.metadata?.get('content-type')).toEqual([encoding === 'json' ? 'application/json' : 'application/x-protobuf']);
    expect(far.received[0]!.metadata?.get('content-encoding')).toEqual(['gzip']);

    // otelcol.auth.headers: X-Scope-OrgID from the data's client metadata.
    const far2 = new CaptureConsumer();
    const far2Addr = await startReceiver(far2, { http: { include_metadata: true } });
    const hdrs = await run<{ handler: unknown }>(headers, { header: [{ key: 'X-Scope-OrgID', from_context: 'tenant' }, { key: 'User-ID', value: 'ann' }] });
    const exp2 = await run<Exports>(otlphttp, { client: { endpoint: `http://${far2Addr.http}`, auth: hdrs.exports().handler, compression: 'none' }, encoding });
    await exp2.exports().input.consume(spanJson(1).withMetadata(new Map([['tenant', ['acme']]])));
    await far2.waitFor(1, 'traces');
    expect(far2.received[0]!.metadata?.get('x-scope-orgid')).toEqual(['acme']);
    expect(far2.received[0]!.metadata?.get('user-id')).toEqual(['ann']);
  });

  it('retries retryable refusals from the queue until the far end accepts', async () => {
    const far = new CaptureConsumer();
    far.fail = { retryable: true, message: 'busy' };
    const farAddr = await startReceiver(far);
    for (const [def, endpoint] of [
      [otlp, farAddr.grpc],
      [otlphttp, `http://${farAddr.http}`],
    ] as const) {
      const exp = await run<Exports>(def, { client: { endpoint, tls: { insecure: true } }, retry_on_failure: { initial_interval: '20ms', max_interval: '50ms' } });
      far.fail = { retryable: true, message: 'busy' };
      const refusedBefore = far.refused;
      await exp.exports().input.consume(spanJson(2)); // queued: acknowledged
      await eventually(() => far.refused >= refusedBefore + 2, 10_000, `${def.name} first send and one retry refused`);
      expect(far.count('traces')).toBe(0);
      far.fail = undefined;
      await eventually(() => far.count('traces') === 2, 10_000, `${def.name} delivery after retries`);
      far.received.length = 0;
      // The far end counts the spans when it receives them; the exporter counts them once it has read the answer.
      const sent = async (): Promise<number | undefined> => (await exp.registry.getSingleMetric('otelcol_exporter_sent_spans_total')!.get()).values[0]?.value;
      await eventually(async () => (await sent()) === 2, 10_000, `${def.name} counting the delivered spans`);
      expect(await sent()).toBe(2);
    }
  });

  it('rejects with a retryable error when the sending queue is full, and permanently for a 400', async () => {
    const far = new CaptureConsumer();
    far.fail = { retryable: true, message: 'busy' };
    const farAddr = await startReceiver(far);
    const exp = await run<Exports>(otlphttp, { client: { endpoint: `http://${farAddr.http}` }, sending_queue: { queue_size: 1, num_consumers: 1 }, retry_on_failure: { initial_interval: '1s' } });
    await exp.exports().input.consume(spanJson(1));
    await eventually(async () => ((await exp.registry.getSingleMetric('otelcol_exporter_queue_size')!.get()).values[0]?.value ?? 1) === 0, 5000, 'worker took the first batch');
    await exp.exports().input.consume(spanJson(1));
    const full = exp.exports().input.consume(spanJson(1));
    await expect(full).rejects.toBeInstanceOf(ConsumerError);
    await expect(full).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/sending queue is full/) });

    far.fail = { retryable: false, message: 'bad data' };
    const direct = await run<Exports>(otlphttp, { client: { endpoint: `http://${farAddr.http}` }, sending_queue: { enabled: false } });
    await expect(direct.exports().input.consume(spanJson(1))).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/HTTP 400/) });
  });

  it('re-sends received bytes unchanged when nothing modified the data', () => {
    const t = spanJson(2);
    const bytes = t.encode();
    const again = Telemetry.decode('traces', bytes);
    expect(again.encode()).toBe(bytes);
  });
});
