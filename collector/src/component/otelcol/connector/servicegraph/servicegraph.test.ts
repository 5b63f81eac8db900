import { Registry } from 'prom-client';
import { decodeJson } from '../../../../otlp/json.js';
import { CaptureConsumer, officialDecode, silentLogger } from '../../otelcol.test-support.js';
import { argumentsSchema, ServiceGraphConnector, type Exports } from './servicegraph.js';

type Obj = Record<string, unknown>;
const T0 = 1_700_000_000_000_000_000n;
const TRACE = '0102030405060708090a0b0c0d0e0f10';
const span = (id: string, parent: string, kind: number, ms: number, code = 0) => ({ traceId: TRACE, spanId: id, parentSpanId: parent, name: 'op', kind, status: { code }, startTimeUnixNano: T0.toString(), endTimeUnixNano: (T0 + BigInt(ms * 1e6)).toString() });
const resource = (service: string, spans: Obj[]) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] });

describe('otelcol.connector.servicegraph', () => {
  it('pairs client and server spans into request, failed and latency metrics, as hand-computed', async () => {
    let now = 1_700_000_000_000;
    const sink = new CaptureConsumer();
    let ex: Exports | undefined;
    const registry = new Registry();
    const c = new ServiceGraphConnector(
      { id: 'otelcol.connector.servicegraph.t', logger: silentLogger, registry, dataPath: '', onStateChange: (e) => (ex = e), setHealth: () => undefined, getService: () => { throw new Error('none'); } },
      argumentsSchema.parse({ output: { metrics: [sink] } }),
      () => now,
    );
    // frontend → backend twice (one failing on the server side), an unpaired client span, and a producer → consumer pair.
    await ex!.input.consume(decodeJson('traces', JSON.stringify({ resourceSpans: [resource('frontend', [span('00000000000000c1', '', 3, 30), span('00000000000000c2', '', 3, 3), span('00000000000000c3', '', 3, 7), span('00000000000000p1', '', 4, 1)].map((s) => ({ ...s, spanId: s.spanId.replace('p', 'a') })))] })));
    await ex!.input.consume(decodeJson('traces', JSON.stringify({ resourceSpans: [resource('backend', [span('00000000000000s1', '00000000000000c1', 2, 20, 2), span('00000000000000s2', '00000000000000c2', 2, 1)].map((s) => ({ ...s, spanId: s.spanId.replace('s', 'b') }))), resource('worker', [{ ...span('00000000000000d1', '00000000000000a1', 5, 500) }])] })));
    now += 5_000;
    c.expire();
    await c.flush();
    const req = officialDecode('metrics', sink.received[0]!.encode());
    const metrics = (((req['resourceMetrics'] as Obj[])[0]!['scopeMetrics'] as Obj[])[0]!['metrics'] as Obj[]);
    const byName = Object.fromEntries(metrics.map((m) => [m['name'], m]));
    const points = (name: string, kind: 'sum' | 'histogram') => ((byName[name]![kind] as Obj)['dataPoints'] as Obj[]).map((p) => [Object.fromEntries((p['attributes'] as Obj[]).map((a) => [a['key'], (a['value'] as Obj)['stringValue'] ?? ''])), p]);
    expect(points('traces_service_graph_request_total', 'sum').map(([l, p]) => [l, p['asInt']])).toEqual([
      [{ client: 'frontend', server: 'backend', connection_type: '' }, '2'],
      [{ client: 'frontend', server: 'worker', connection_type: 'messaging_system' }, '1'],
    ]);
    expect(points('traces_service_graph_request_failed_total', 'sum').map(([, p]) => p['asInt'])).toEqual(['1', '0']);
    const [server] = points('traces_service_graph_request_server_seconds', 'histogram');
    // server durations 20ms and 1ms against the default buckets (seconds): 0.002 gets 1ms, 0.05 gets 20ms.
    expect(server![1]).toMatchObject({ count: '2', sum: 0.021 });
    expect((server![1] as Obj)['bucketCounts']).toEqual(['1', '0', '0', '0', '0', '1', ...Array(11).fill('0')]);
    const [client] = points('traces_service_graph_request_client_seconds', 'histogram');
    expect((client![1] as Obj)['bucketCounts']).toEqual(['0', '1', '0', '0', '0', '1', ...Array(11).fill('0')]);
    expect((await registry.getSingleMetric('otelcol_connector_servicegraph_dropped_spans_total')!.get()).values[0]!.value).toBe(1);
  });
});
