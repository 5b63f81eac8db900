import Long from 'long';
import { Telemetry } from './data.js';
import { goTimeString, otlpText, valueToString } from './text.js';

const T0 = Long.fromString('1714557600000000000', true); // 2024-05-01T10:00:00Z
const ns = (extra: number): Long => T0.add(extra);
const id = (n: number, len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => n + i);

/** The same request decoded from its protobuf bytes (fields absent on the wire read through the prototype). */
const wire = <S extends 'traces' | 'metrics' | 'logs'>(t: Telemetry<S>): Telemetry<S> => Telemetry.decode(t.signal, t.encode());

describe('OTLP text (upstream Alloy live-debugging rendering)', () => {
  it('renders Go time.Time.String() in UTC and pcommon values as Type(value)', () => {
    expect(goTimeString(T0)).toBe('2024-05-01 10:00:00 +0000 UTC');
    expect(goTimeString(ns(250_000_000))).toBe('2024-05-01 10:00:00.25 +0000 UTC');
    expect(goTimeString(ns(1))).toBe('2024-05-01 10:00:00.000000001 +0000 UTC');
    expect(goTimeString(0)).toBe('1970-01-01 00:00:00 +0000 UTC');
    expect(valueToString({ stringValue: 'a' })).toBe('Str(a)');
    expect(valueToString({ intValue: Long.fromNumber(-3) })).toBe('Int(-3)');
    expect(valueToString({ doubleValue: 0.5 })).toBe('Double(0.5)');
    expect(valueToString({ boolValue: false })).toBe('Bool(false)');
    expect(valueToString({ arrayValue: { values: [{ stringValue: 'x' }, { intValue: 2 }] } })).toBe('Slice(["x",2])');
    expect(valueToString({ kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } })).toBe('Map({"k":true})');
    expect(valueToString({ bytesValue: Uint8Array.from([1, 2]) })).toBe('Bytes(AQI=)');
    expect(valueToString(null)).toBe('Empty()');
  });

  it('renders spans with attributes, events and links', () => {
    const t = Telemetry.of('traces', {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'my.lib', version: '1.0.0' },
              spans: [
                {
                  traceId: id(1, 16),
                  spanId: id(17, 8),
                  name: 'GET /cart',
                  kind: 2,
                  startTimeUnixNano: T0,
                  endTimeUnixNano: ns(250_000_000),
                  status: { code: 2, message: 'boom' },
                  attributes: [
                    { key: 'http.status_code', value: { intValue: Long.fromNumber(500) } },
                    { key: 'retry', value: { boolValue: true } },
                  ],
                  events: [{ name: 'exception', timeUnixNano: ns(100_000_000), attributes: [{ key: 'exception.type', value: { stringValue: 'Error' } }] }],
                  links: [{ traceId: id(1, 16), spanId: id(33, 8), traceState: 'a=b', attributes: [] }],
                },
              ],
            },
          ],
        },
      ],
    });
    const want = [
      'ResourceSpans #0',
      'Resource SchemaURL: ',
      'Resource attributes:',
      '     -> service.name: Str(checkout)',
      'ScopeSpans #0',
      'ScopeSpans SchemaURL: ',
      'InstrumentationScope my.lib 1.0.0',
      'Span #0',
      '    Trace ID       : 0102030405060708090a0b0c0d0e0f10',
      '    Parent ID      : ',
      '    ID             : 1112131415161718',
      '    Name           : GET /cart',
      '    Kind           : Server',
      '    Start time     : 2024-05-01 10:00:00 +0000 UTC',
      '    End time       : 2024-05-01 10:00:00.25 +0000 UTC',
      '    Status code    : Error',
      '    Status message : boom',
      'Attributes:',
      '     -> http.status_code: Int(500)',
      '     -> retry: Bool(true)',
      'Events:',
      'SpanEvent #0',
      '     -> Name: exception',
      '     -> Timestamp: 2024-05-01 10:00:00.1 +0000 UTC',
      '     -> DroppedAttributesCount: 0',
      '     -> Attributes::',
      '          -> exception.type: Str(Error)',
      'Links:',
      'SpanLink #0',
      '     -> Trace ID: 0102030405060708090a0b0c0d0e0f10',
      '     -> ID: 2122232425262728',
      '     -> TraceState: a=b',
      '     -> DroppedAttributesCount: 0',
      '',
    ].join('\n');
    expect(otlpText(t)).toBe(want);
    expect(otlpText(wire(t))).toBe(want);
  });

  it('renders log records', () => {
    const t = Telemetry.of('logs', {
      resourceLogs: [
        {
          resource: { attributes: [] },
          scopeLogs: [
            {
              scope: { name: '' },
              logRecords: [{ timeUnixNano: T0, observedTimeUnixNano: ns(5), severityNumber: 9, severityText: 'INFO', body: { stringValue: 'user logged in' }, attributes: [{ key: 'user', value: { stringValue: 'ann' } }], traceId: id(1, 16), spanId: id(17, 8), flags: 1 }],
            },
          ],
        },
      ],
    });
    const want = [
      'ResourceLog #0',
      'Resource SchemaURL: ',
      'ScopeLogs #0',
      'ScopeLogs SchemaURL: ',
      'InstrumentationScope  ',
      'LogRecord #0',
      'ObservedTimestamp: 2024-05-01 10:00:00.000000005 +0000 UTC',
      'Timestamp: 2024-05-01 10:00:00 +0000 UTC',
      'SeverityText: INFO',
      'SeverityNumber: Info(9)',
      'Body: Str(user logged in)',
      'Attributes:',
      '     -> user: Str(ann)',
      'Trace ID: 0102030405060708090a0b0c0d0e0f10',
      'Span ID: 1112131415161718',
      'Flags: 1',
      '',
    ].join('\n');
    expect(otlpText(t)).toBe(want);
    expect(otlpText(wire(t))).toBe(want);
  });

  it('renders gauge, sum and histogram metrics', () => {
    const t = Telemetry.of('metrics', {
      resourceMetrics: [
        {
          resource: { attributes: [] },
          scopeMetrics: [
            {
              scope: { name: 'm', version: '' },
              metrics: [
                { name: 'queue_size', description: 'items', unit: '1', gauge: { dataPoints: [{ attributes: [{ key: 'q', value: { stringValue: 'a' } }], timeUnixNano: T0, asInt: Long.fromNumber(7) }] } },
                { name: 'bytes', unit: 'By', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ attributes: [], startTimeUnixNano: T0, timeUnixNano: T0, asDouble: 1.5 }] } },
                { name: 'latency', unit: 's', histogram: { aggregationTemporality: 1, dataPoints: [{ attributes: [], timeUnixNano: T0, count: Long.fromNumber(3), sum: 0.75, explicitBounds: [0.1, 1], bucketCounts: [Long.fromNumber(1), Long.fromNumber(2), Long.fromNumber(0)] }] } },
              ],
            },
          ],
        },
      ],
    });
    const want = [
      'ResourceMetrics #0',
      'Resource SchemaURL: ',
      'ScopeMetrics #0',
      'ScopeMetrics SchemaURL: ',
      'InstrumentationScope m ',
      'Metric #0',
      'Descriptor:',
      '     -> Name: queue_size',
      '     -> Description: items',
      '     -> Unit: 1',
      '     -> DataType: Gauge',
      'NumberDataPoints #0',
      'Data point attributes:',
      '     -> q: Str(a)',
      'StartTimestamp: 1970-01-01 00:00:00 +0000 UTC',
      'Timestamp: 2024-05-01 10:00:00 +0000 UTC',
      'Value: 7',
      'Metric #1',
      'Descriptor:',
      '     -> Name: bytes',
      '     -> Description: ',
      '     -> Unit: By',
      '     -> DataType: Sum',
      '     -> IsMonotonic: true',
      '     -> AggregationTemporality: Cumulative',
      'NumberDataPoints #0',
      'StartTimestamp: 2024-05-01 10:00:00 +0000 UTC',
      'Timestamp: 2024-05-01 10:00:00 +0000 UTC',
      'Value: 1.500000',
      'Metric #2',
      'Descriptor:',
      '     -> Name: latency',
      '     -> Description: ',
      '     -> Unit: s',
      '     -> DataType: Histogram',
      '     -> AggregationTemporality: Delta',
      'HistogramDataPoints #0',
      'StartTimestamp: 1970-01-01 00:00:00 +0000 UTC',
      'Timestamp: 2024-05-01 10:00:00 +0000 UTC',
      'Count: 3',
      'Sum: 0.750000',
      'ExplicitBounds #0: 0.100000',
      'ExplicitBounds #1: 1.000000',
      'Buckets #0, Count: 1',
      'Buckets #1, Count: 2',
      'Buckets #2, Count: 0',
      '',
    ].join('\n');
    expect(otlpText(t)).toBe(want);
    expect(otlpText(wire(t))).toBe(want);
  });
});
