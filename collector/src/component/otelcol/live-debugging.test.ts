// Live debugging of otelcol.* components: what each publishes (after its own processing, once
// per request it passes on) and nothing while nobody watches.
import { Registry } from 'prom-client';
import { decodeJson } from '../../otlp/json.js';
import type { Telemetry } from '../../otlp/data.js';
import { LiveDebugging } from '../../runtime/live-debugging.js';
import { liveText, MAX_TEXT } from './live-debugging.js';
import { CaptureConsumer, eventually, runComponent, silentLogger, type Running } from './otelcol.test-support.js';
import { component as attributes } from './processor/attributes/attributes.js';
import { component as batch } from './processor/batch/batch.js';
import { component as memoryLimiter } from './processor/memory_limiter/memory-limiter.js';
import { component as receiver, type OtlpReceiver } from './receiver/otlp/otlp.js';
import { argumentsSchema as spanmetricsArgs, SpanMetricsConnector } from './connector/spanmetrics/spanmetrics.js';
import { argumentsSchema as servicegraphArgs, ServiceGraphConnector } from './connector/servicegraph/servicegraph.js';

const spans = (names: string[]): Telemetry =>
  decodeJson('traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ spans: names.map((name, i) => ({ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: (i + 1).toString(16).padStart(16, '0'), name, kind: 2, startTimeUnixNano: '1714557600000000000', endTimeUnixNano: '1714557600500000000' })) }] }] }));

function watch(live: LiveDebugging, id: string): { items: string[]; stop: () => void } {
  const items: string[] = [];
  const stop = live.subscribe(id, (batchItems) => items.push(...batchItems));
  return { items, stop };
}

describe('otelcol live debugging', () => {
  let live: LiveDebugging;
  const running: Running<unknown, object>[] = [];
  beforeEach(() => {
    live = new LiveDebugging();
    live.enabled = true;
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  it('otelcol.processor.attributes publishes the processed request as OTLP text', async () => {
    const sink = new CaptureConsumer();
    const r = await runComponent<never, { input: { consume(d: Telemetry): Promise<void> } }>(attributes as never, { action: [{ key: 'env', value: 'prod', action: 'insert' }], output: { traces: [sink] } }, 'otelcol.processor.attributes.t', live);
    running.push(r as never);
    await r.exports().input.consume(spans(['unwatched']));
    const w = watch(live, 'otelcol.processor.attributes.t');
    await r.exports().input.consume(spans(['GET /cart']));
    w.stop();
    await r.exports().input.consume(spans(['unwatched']));
    expect(w.items).toHaveLength(1);
    const text = w.items[0]!;
    expect(text).toMatch(/^ResourceSpans #0\nResource SchemaURL: \nResource attributes:\n     -> service.name: Str\(shop\)\n/);
    expect(text).toContain('    Name           : GET /cart\n    Kind           : Server\n    Start time     : 2024-05-01 10:00:00 +0000 UTC\n    End time       : 2024-05-01 10:00:00.5 +0000 UTC\n');
    expect(text).toContain('Attributes:\n     -> env: Str(prod)\n');
  });

  it('otelcol.processor.batch publishes each merged batch once, not each part', async () => {
    const sink = new CaptureConsumer();
    const r = await runComponent<never, { input: { consume(d: Telemetry): Promise<void> } }>(batch as never, { send_batch_size: 3, timeout: '10s', output: { traces: [sink] } }, 'otelcol.processor.batch.t', live);
    running.push(r as never);
    const w = watch(live, 'otelcol.processor.batch.t');
    await r.exports().input.consume(spans(['a', 'b']));
    expect(w.items).toHaveLength(0);
    await r.exports().input.consume(spans(['c']));
    await sink.waitFor(3, 'traces');
    expect(w.items).toHaveLength(1);
    expect(w.items[0]!.match(/^Span #\d+$/gm)).toEqual(['Span #0', 'Span #1', 'Span #0']);
    w.stop();
  });

  it('otelcol.processor.memory_limiter publishes what it lets through', async () => {
    const sink = new CaptureConsumer();
    const r = await runComponent<never, { input: { consume(d: Telemetry): Promise<void> } }>(memoryLimiter as never, { check_interval: '1s', limit: '100GiB', spike_limit: '1GiB', output: { traces: [sink] } }, 'otelcol.processor.memory_limiter.t', live);
    running.push(r as never);
    const w = watch(live, 'otelcol.processor.memory_limiter.t');
    await r.exports().input.consume(spans(['through']));
    w.stop();
    expect(w.items).toHaveLength(1);
    expect(w.items[0]).toContain('    Name           : through\n');
  });

  it('otelcol.receiver.otlp publishes what it received over HTTP', async () => {
    const sink = new CaptureConsumer();
    const r = await runComponent<never, Record<string, never>, OtlpReceiver>(receiver as never, { http: { endpoint: '127.0.0.1:0' }, output: { logs: [sink] } }, 'otelcol.receiver.otlp.t', live);
    running.push(r as never);
    await eventually(() => r.health().state === 'healthy', 5000, 'the receiver to listen');
    const w = watch(live, 'otelcol.receiver.otlp.t');
    const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '1714557600000000000', severityNumber: 17, severityText: 'ERROR', body: { stringValue: 'disk full' } }] }] }] };
    const res = await fetch(`http://${r.component.addresses().http!}/v1/logs`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    w.stop();
    expect(w.items).toHaveLength(1);
    expect(w.items[0]).toContain('LogRecord #0\nObservedTimestamp: 1970-01-01 00:00:00 +0000 UTC\nTimestamp: 2024-05-01 10:00:00 +0000 UTC\nSeverityText: ERROR\nSeverityNumber: Error(17)\nBody: Str(disk full)\n');
  });

  it('otelcol.connector.spanmetrics publishes the metrics it flushes', async () => {
    const sink = new CaptureConsumer();
    let input: { consume(d: Telemetry): Promise<void> } | undefined;
    const c = new SpanMetricsConnector(
      { id: 'otelcol.connector.spanmetrics.t', logger: silentLogger, registry: new Registry(), dataPath: '', onStateChange: (e) => (input = e.input), setHealth: () => undefined, getService: <T>(n: string): T => (n === 'livedebugging' ? (live as T) : (undefined as T)) },
      spanmetricsArgs.parse({ histogram: {}, output: { metrics: [sink] } }),
    );
    await input!.consume(spans(['GET /']));
    const w = watch(live, 'otelcol.connector.spanmetrics.t');
    await c.flush(1_714_557_601_000_000_000n);
    w.stop();
    expect(w.items).toHaveLength(1);
    expect(w.items[0]).toMatch(/^ResourceMetrics #0\n/);
    expect(w.items[0]).toContain('     -> Name: traces.span.metrics.calls\n');
  });

  it('otelcol.connector.servicegraph publishes the metrics it flushes', async () => {
    const sink = new CaptureConsumer();
    let input: { consume(d: Telemetry): Promise<void> } | undefined;
    const c = new ServiceGraphConnector(
      { id: 'otelcol.connector.servicegraph.t', logger: silentLogger, registry: new Registry(), dataPath: '', onStateChange: (e) => (input = e.input), setHealth: () => undefined, getService: <T>(n: string): T => (n === 'livedebugging' ? (live as T) : (undefined as T)) },
      servicegraphArgs.parse({ output: { metrics: [sink] } }),
    );
    const pair = (service: string, spanId: string, parent: string, kind: number) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId, parentSpanId: parent, name: 'op', kind, startTimeUnixNano: '1714557600000000000', endTimeUnixNano: '1714557600010000000' }] }] });
    await input!.consume(decodeJson('traces', JSON.stringify({ resourceSpans: [pair('web', '00000000000000c1', '', 3), pair('api', '00000000000000d1', '00000000000000c1', 2)] })));
    const w = watch(live, 'otelcol.connector.servicegraph.t');
    await c.flush();
    w.stop();
    expect(w.items).toHaveLength(1);
    expect(w.items[0]).toContain('     -> Name: traces_service_graph_request_total\n');
    expect(w.items[0]).toContain('     -> client: Str(web)\n     -> server: Str(api)\n');
  });

  it('cuts one huge request at a line boundary and says how much was left out', () => {
    const big = spans(Array.from({ length: 2000 }, (_, i) => `op-${i}-${'x'.repeat(100)}`));
    const text = liveText(big);
    expect(text.length).toBeLessThan(MAX_TEXT + 200);
    expect(text).toMatch(/\n\.\.\. \(\d+ more characters of this traces request not shown\)\n$/);
  });
});
