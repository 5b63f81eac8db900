import { Registry } from 'prom-client';
import { decodeJson } from '../../../../otlp/json.js';
import { CaptureConsumer, officialDecode, silentLogger } from '../../otelcol.test-support.js';
import { argumentsSchema, DEFAULT_BUCKETS_MS, SpanMetricsConnector, type Exports } from './spanmetrics.js';

type Obj = Record<string, unknown>;
const T0 = 1_700_000_000_000_000_000n;
const span = (name: string, kind: number, code: number, ms: number, attrs: Obj[] = []) => ({
  traceId: '0102030405060708090a0b0c0d0e0f10',
  spanId: '0102030405060708',
  name,
  kind,
  status: { code },
  startTimeUnixNano: T0.toString(),
  endTimeUnixNano: (T0 + BigInt(Math.round(ms * 1e6))).toString(),
  attributes: attrs,
});
const traces = (service: string, spans: Obj[]) => decodeJson('traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, { key: 'k8s.pod.name', value: { stringValue: 'p1' } }] }, scopeSpans: [{ spans }] }] }));

function connector(cfg: Obj, sink: CaptureConsumer): { c: SpanMetricsConnector; input: Exports['input'] } {
  let ex: Exports | undefined;
  const c = new SpanMetricsConnector(
    { id: 'otelcol.connector.spanmetrics.t', logger: silentLogger, registry: new Registry(), dataPath: '', onStateChange: (e) => (ex = e), setHealth: () => undefined, getService: () => { throw new Error('none'); } },
    argumentsSchema.parse({ histogram: {}, ...cfg, output: { metrics: [sink] } }),
  );
  return { c, input: ex!.input };
}

const attrMap = (p: Obj): Record<string, string> => Object.fromEntries((p['attributes'] as Obj[]).map((a) => [a['key'], (a['value'] as Obj)['stringValue']]));

describe('otelcol.connector.spanmetrics', () => {
  it('counts calls and fills the default duration buckets per dimension set, as hand-computed', async () => {
    const sink = new CaptureConsumer();
    const { c, input } = connector({ dimension: [{ name: 'http.route' }, { name: 'tier', default: 'none' }] }, sink);
    await input.consume(traces('shop', [span('GET', 2, 1, 1, [{ key: 'http.route', value: { stringValue: '/a' } }]), span('GET', 2, 1, 3, [{ key: 'http.route', value: { stringValue: '/a' } }]), span('GET', 2, 1, 3, [{ key: 'http.route', value: { stringValue: '/a' } }]), span('GET', 2, 1, 60, [{ key: 'http.route', value: { stringValue: '/a' } }]), span('GET', 2, 1, 20_000, [{ key: 'http.route', value: { stringValue: '/a' } }]), span('db', 3, 2, 5)]));
    await c.flush(T0 + 10n ** 10n);
    const req = officialDecode('metrics', sink.received[0]!.encode());
    const rm = (req['resourceMetrics'] as Obj[])[0]!;
    expect((rm['resource'] as Obj)['attributes']).toEqual([{ key: 'service.name', value: { stringValue: 'shop' } }, { key: 'k8s.pod.name', value: { stringValue: 'p1' } }]);
    const sm = (rm['scopeMetrics'] as Obj[])[0]!;
    expect(sm['scope']).toEqual({ name: 'spanmetricsconnector' });
    const [calls, duration] = sm['metrics'] as Obj[];
    expect(calls!['name']).toBe('traces.span.metrics.calls');
    expect(calls!['sum']).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
    const callPoints = ((calls!['sum'] as Obj)['dataPoints'] as Obj[]).map((p) => [attrMap(p), p['asInt'], p['startTimeUnixNano'], p['timeUnixNano']]);
    expect(callPoints).toEqual([
      [{ 'service.name': 'shop', 'span.name': 'GET', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_OK', 'http.route': '/a', tier: 'none' }, '5', T0.toString(), (T0 + 10n ** 10n).toString()],
      [{ 'service.name': 'shop', 'span.name': 'db', 'span.kind': 'SPAN_KIND_CLIENT', 'status.code': 'STATUS_CODE_ERROR', tier: 'none' }, '1', T0.toString(), (T0 + 10n ** 10n).toString()],
    ]);
    expect(duration!['name']).toBe('traces.span.metrics.duration');
    expect(duration!['unit']).toBe('ms');
    const [get, db] = (duration!['histogram'] as Obj)['dataPoints'] as Obj[];
    expect(get!['explicitBounds']).toEqual(DEFAULT_BUCKETS_MS);
    //            <=2  <=4  <=6  <=8 <=10 <=50 <=100 ...                                  >15000
    expect(get!['bucketCounts']).toEqual(['1', '2', '0', '0', '0', '0', '1', '0', '0', '0', '0', '0', '0', '0', '0', '0', '1']);
    expect(get).toMatchObject({ count: '5', sum: 20067, min: 1, max: 20000 });
    expect(db!['bucketCounts']).toEqual(['0', '0', '1', ...Array(14).fill('0')]);
  });

  it('resets after a flush with DELTA, keeps counting with CUMULATIVE; seconds and custom buckets', async () => {
    for (const temporality of ['DELTA', 'CUMULATIVE'] as const) {
      const sink = new CaptureConsumer();
      const { c, input } = connector({ aggregation_temporality: temporality, namespace: '', histogram: { unit: 's', explicit: { buckets: ['100ms', '1s'] } } }, sink);
      await input.consume(traces('a', [span('x', 1, 0, 50)]));
      await c.flush(T0 + 1n);
      await input.consume(traces('a', [span('x', 1, 0, 500)]));
      await c.flush(T0 + 2n);
      const second = officialDecode('metrics', sink.received[1]!.encode());
      const metrics = (((second['resourceMetrics'] as Obj[])[0]!['scopeMetrics'] as Obj[])[0]!['metrics'] as Obj[]);
      expect(metrics.map((m) => m['name'])).toEqual(['calls', 'duration']);
      const h = ((metrics[1]!['histogram'] as Obj)['dataPoints'] as Obj[])[0]!;
      expect(h['explicitBounds']).toEqual([0.1, 1]);
      expect(h['bucketCounts']).toEqual(temporality === 'DELTA' ? ['0', '1', '0'] : ['1', '1', '0']);
      expect(((metrics[0]!['sum'] as Obj)['dataPoints'] as Obj[])[0]!['asInt']).toBe(temporality === 'DELTA' ? '1' : '2');
    }
  });

  it('rejects what it does not support yet, and non-trace data', async () => {
    expect(argumentsSchema.safeParse({ histogram: { exponential: {} }, output: {} }).success).toBe(false);
    expect(argumentsSchema.safeParse({ histogram: {}, events: { enabled: true }, output: {} }).success).toBe(false);
    const { input } = connector({}, new CaptureConsumer());
    await expect(input.consume(decodeJson('logs', '{}'))).rejects.toMatchObject({ retryable: false });
  });
});
