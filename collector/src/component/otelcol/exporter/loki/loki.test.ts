import type { LogEntry, LogsReceiver } from '../../../../loki/types.js';
import { labelsToRecord } from '../../../../prom/labels/labels.js';
import { Telemetry } from '../../../../otlp/data.js';
import type { AnyValue, KeyValue, LogRecord, LogsRequest } from '../../../../otlp/types.js';
import { runComponent } from '../../otelcol.test-support.js';
import { component, convertLogs, normalizeLabel, type Exports } from './loki.js';
import { bodyToKeyvals, goJsonValue, marshalLogfmt } from './encode.js';

const s = (v: string): AnyValue => ({ stringValue: v });
const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const map = (...values: KeyValue[]): AnyValue => ({ kvlistValue: { values } });
const arr = (...values: AnyValue[]): AnyValue => ({ arrayValue: { values } });

/** Upstream's `exampleLog()` of pkg/translator/loki/encode_test.go. */
function example(over: Partial<LogRecord> = {}, res: KeyValue[] = [kv('host.name', s('something'))]): LogsRequest {
  const lr: LogRecord = {
    body: s('Example log'),
    severityText: 'error',
    attributes: [kv('attr1', s('1')), kv('attr2', s('2'))],
    traceId: Uint8Array.from([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    spanId: Uint8Array.from([5, 6, 7, 8, 0, 0, 0, 0]),
    timeUnixNano: '1700000000123456789',
    ...over,
  };
  return { resourceLogs: [{ resource: { attributes: res }, scopeLogs: [{ scope: { name: 'example-logger-name', version: 'v1' }, logRecords: [lr] }] }] };
}

const one = (req: LogsRequest): LogEntry => {
  const { entries, failed } = convertLogs(req);
  expect(failed).toEqual([]);
  expect(entries).toHaveLength(1);
  return entries[0]!;
};

describe('otelcol.exporter.loki conversion', () => {
  it('encodes JSON lines byte for byte as upstream (string, map bodies, flags)', () => {
    expect(one(example()).line).toBe('{"body":"Example log","traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}');
    expect(one(example({ body: map(kv('key1', s('value')), kv('key2', s('value'))) })).line).toBe('{"body":{"key1":"value","key2":"value"},"traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}');
    expect(one(example({ flags: 1 })).line).toContain('"severity":"error","flags":1,"attributes"');
  });

  it('encodes logfmt lines byte for byte as upstream', () => {
    const fmt = (over: Partial<LogRecord>, res: KeyValue[] = [kv('host.name', s('something'))]): string => one(example({ ...over, attributes: [...(over.attributes ?? [kv('attr1', s('1')), kv('attr2', s('2'))]), kv('loki.format', s('logfmt'))] }, res)).line;
    const tail = 'traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1';
    expect(fmt({ body: s('msg="hello world"') })).toBe(`msg="hello world" ${tail}`);
    expect(fmt({ body: map(kv('key1', s('value')), kv('key2', s('value'))) })).toBe(`key1=value key2=value ${tail}`);
    expect(fmt({ body: arr(s('value'), { boolValue: true }, { intValue: 123 }) })).toBe(`body_0=value body_1=true body_2=123 ${tail}`);
    expect(fmt({ body: s('msg="hello world"'), flags: 1 })).toBe(`msg="hello world" traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error flags=1 attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1`);
    const slice = arr(s('fooo'), map(kv('slice', arr({ boolValue: true })), kv('foo', s('bar'))), map(kv('nested', s('deeply nested')), kv('uint', { intValue: 123 })));
    expect(fmt({ attributes: [kv('attr1', s('1')), kv('attr2', s('2')), kv('aslice', slice)] }, [kv('host.name', s('something')), kv('bslice', slice)])).toBe(
      'Example= log= traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 attribute_aslice_0=fooo attribute_aslice_1_slice_0=true attribute_aslice_1_foo=bar attribute_aslice_2_nested="deeply nested" attribute_aslice_2_uint=123 resource_host.name=something resource_bslice_0=fooo resource_bslice_1_slice_0=true resource_bslice_1_foo=bar resource_bslice_2_nested="deeply nested" resource_bslice_2_uint=123 instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1',
    );
  });

  it('serializes bodies of every type as upstream (TestSerializeComplexBody)', () => {
    const complex = map(kv('keystr', s('val')), kv('keyint', { doubleValue: 1 }), kv('keybool', { boolValue: true }), kv('keynull', null as unknown as AnyValue), kv('keyarr', arr(s('a'), s('b'))), kv('keymap', map(kv('key', s('val')))), kv('keyempty', {}));
    const cases: Array<[AnyValue, string, string]> = [
      [s('a'), '"a"', 'a='],
      [{ intValue: 1 }, '1', 'msg=1'],
      [{ doubleValue: 1.1 }, '1.1', 'msg=1.1'],
      [{ boolValue: true }, 'true', 'msg=true'],
      [map(kv('key', s('val'))), '{"key":"val"}', 'key=val'],
      [complex, '{"keyarr":["a","b"],"keybool":true,"keyempty":null,"keyint":1,"keymap":{"key":"val"},"keynull":null,"keystr":"val"}', 'keystr=val keyint=1 keybool=true keyarr_0=a keyarr_1=b keymap_key=val'],
      [arr(s('a'), s('b')), '["a","b"]', 'body_0=a body_1=b'],
      [{ bytesValue: Buffer.from('abc') }, '"YWJj"', 'msg=abc'],
    ];
    for (const [v, json, logfmt] of cases) {
      expect(goJsonValue(v)).toBe(json);
      expect(marshalLogfmt(bodyToKeyvals(v))).toBe(logfmt);
    }
  });

  it('falls back to msg= for bodies that are not logfmt, keeps Go escaping, and uses only the first line', () => {
    expect(marshalLogfmt(bodyToKeyvals(s('a=b=c')))).toBe('msg="a=b=c"');
    expect(marshalLogfmt(bodyToKeyvals(s('x="unterminated')))).toBe('msg="x=\\"unterminated"');
    expect(marshalLogfmt(bodyToKeyvals(s('k=v\nsecond=line')))).toBe('k=v');
    expect(goJsonValue(s('<a&b>'))).toBe('"\\u003ca\\u0026b\\u003e"');
    expect(() => goJsonValue({ doubleValue: NaN })).toThrow('json: unsupported value: NaN');
  });

  it('sets exporter, job, instance and level labels and removes what became labels from the line', () => {
    const req = example({ severityNumber: 9, attributes: [kv('attr1', s('1'))] }, [kv('service.name', s('shop')), kv('service.namespace', s('prod')), kv('service.instance.id', s('i-1'))]);
    const e = one(req);
    expect(labelsToRecord(e.labels)).toEqual({ exporter: 'OTLP', job: 'prod/shop', instance: 'i-1', level: 'INFO' });
    expect(e.line).toBe('{"body":"Example log","traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1"},"resources":{"service.instance.id":"i-1","service.name":"shop","service.namespace":"prod"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}');
    expect(e.timestampMs).toBe(1_700_000_000_123);
    expect(e.timestampNanos).toBe(456_789);
  });

  it('promotes hinted resource and record attributes to normalized labels (the reference page example)', () => {
    const req = example(
      { attributes: [kv('event.domain', s('browser')), kv('event.name', s('click')), kv('other', s('x')), kv('loki.attribute.labels', s('event.domain, event.name'))] },
      [kv('service.name', s('shop')), kv('service.namespace', s('prod')), kv('host.name', s('h1')), kv('loki.resource.labels', s('service.name, service.namespace'))],
    );
    const e = one(req);
    expect(labelsToRecord(e.labels)).toEqual({ exporter: 'OTLP', job: 'prod/shop', service_name: 'shop', service_namespace: 'prod', event_domain: 'browser', event_name: 'click' });
    expect(e.line).toContain('"attributes":{"other":"x"},"resources":{"host.name":"h1"}');
  });

  it('normalizes label names as the reference page table shows', () => {
    expect(['name', 'host.name', 'host_name', 'name (of the host)', '2 cents', '__name', '_name'].map(normalizeLabel)).toEqual(['name', 'host_name', 'host_name', 'name__of_the_host_', 'key_2_cents', '__name', 'key_name']);
  });

  it('reads list hints, nested map attributes, the raw format, and drops records with an unknown format', () => {
    const req = example({ body: s('plain text'), attributes: [kv('http', map(kv('method', s('GET')))), kv('loki.attribute.labels', arr(s('http.method'))), kv('loki.format', s('raw'))] });
    const e = one(req);
    expect(labelsToRecord(e.labels)).toEqual({ exporter: 'OTLP', http_method: 'GET' });
    expect(e.line).toBe('plain text');
    const bad = convertLogs(example({ attributes: [kv('loki.format', s('xml'))] }));
    expect(bad.entries).toHaveLength(0);
    expect(bad.failed[0]).toContain('invalid format xml');
  });

  it('falls back to the observed time, then now', () => {
    expect(one(example({ timeUnixNano: 0, observedTimeUnixNano: '5000000001' })).timestampMs).toBe(5000);
    const { entries } = convertLogs(example({ timeUnixNano: 0 }), new Map(), 42);
    expect(entries[0]!.timestampMs).toBe(42);
  });
});

describe('otelcol.exporter.loki component', () => {
  it('forwards converted entries, reuses stream labels, refuses other signals, and fails retryably when a receiver fails', async () => {
    const got: LogEntry[] = [];
    let fail = false;
    const recv: LogsReceiver = { append: async (es) => (fail ? Promise.reject(new Error('shut down')) : void got.push(...es)) };
    const r = await runComponent<unknown, Exports>(component as never, { forward_to: [recv] });
    try {
      const input = r.exports().input;
      await input.consume(Telemetry.of('logs', example()));
      await input.consume(Telemetry.of('logs', example()));
      expect(got).toHaveLength(2);
      expect(got[0]!.labels).toBe(got[1]!.labels);
      await expect(input.consume(Telemetry.of('traces', { resourceSpans: [] }))).rejects.toMatchObject({ retryable: false });
      fail = true;
      await expect(input.consume(Telemetry.of('logs', example()))).rejects.toMatchObject({ retryable: true });
      const metrics = await r.registry.getSingleMetricAsString('otelcol_exporter_loki_entries_processed');
      expect(metrics).toContain('otelcol_exporter_loki_entries_processed 3');
    } finally {
      await r.stop();
    }
  });
});
