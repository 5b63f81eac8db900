/**
 * The OTLP protobuf messages (opentelemetry-proto v1: common, resource, trace, metrics, logs and
 * the three collector services), as a protobufjs reflection root. Field names are the proto
 * names in lowerCamelCase (as protobufjs and OTLP/JSON spell them); numbers and types follow the
 * published .proto files, including fields newer than the generated code some SDK packages ship
 * (`Span.flags`, `Span.Link.flags`, `LogRecord.eventName`, `Resource.entityRefs`).
 * protobufjs compiles encoders/decoders for these types at first use; 64-bit integers decode
 * as `Long` (the `long` package), bytes as `Uint8Array`, enums as numbers.
 * Also holds `google.rpc.Status`/`RetryInfo`, used for error replies.
 */
import protobuf from 'protobufjs';
import Long from 'long';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

const f = (id: number, type: string): { type: string; id: number } => ({ type, id });
const r = (id: number, type: string): { type: string; id: number; rule: 'repeated' } => ({ type, id, rule: 'repeated' });
const msg = (fields: Fields, oneofs?: Record<string, string[]>): protobuf.IType => ({ fields, ...(oneofs ? { oneofs: Object.fromEntries(Object.entries(oneofs).map(([k, v]) => [k, { oneof: v }])) } : {}) });

const KV = 'opentelemetry.proto.common.v1.KeyValue';
const ANY = 'opentelemetry.proto.common.v1.AnyValue';
const SCOPE = 'opentelemetry.proto.common.v1.InstrumentationScope';
const RESOURCE = 'opentelemetry.proto.resource.v1.Resource';

const descriptor: protobuf.INamespace = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: {
              nested: {
                v1: {
                  nested: {
                    AnyValue: msg(
                      { stringValue: f(1, 'string'), boolValue: f(2, 'bool'), intValue: f(3, 'int64'), doubleValue: f(4, 'double'), arrayValue: f(5, 'ArrayValue'), kvlistValue: f(6, 'KeyValueList'), bytesValue: f(7, 'bytes') },
                      { value: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] },
                    ),
                    ArrayValue: msg({ values: r(1, 'AnyValue') }),
                    KeyValueList: msg({ values: r(1, 'KeyValue') }),
                    KeyValue: msg({ key: f(1, 'string'), value: f(2, 'AnyValue') }),
                    InstrumentationScope: msg({ name: f(1, 'string'), version: f(2, 'string'), attributes: r(3, 'KeyValue'), droppedAttributesCount: f(4, 'uint32') }),
                    EntityRef: msg({ schemaUrl: f(1, 'string'), type: f(2, 'string'), idKeys: r(3, 'string'), descriptionKeys: r(4, 'string') }),
                  },
                },
              },
            },
            resource: {
              nested: {
                v1: {
                  nested: {
                    Resource: msg({ attributes: r(1, KV), droppedAttributesCount: f(2, 'uint32'), entityRefs: r(3, 'opentelemetry.proto.common.v1.EntityRef') }),
                  },
                },
              },
            },
            trace: {
              nested: {
                v1: {
                  nested: {
                    TracesData: msg({ resourceSpans: r(1, 'ResourceSpans') }),
                    ResourceSpans: msg({ resource: f(1, RESOURCE), scopeSpans: r(2, 'ScopeSpans'), schemaUrl: f(3, 'string') }),
                    ScopeSpans: msg({ scope: f(1, SCOPE), spans: r(2, 'Span'), schemaUrl: f(3, 'string') }),
                    Span: {
                      fields: {
                        traceId: f(1, 'bytes'),
                        spanId: f(2, 'bytes'),
                        traceState: f(3, 'string'),
                        parentSpanId: f(4, 'bytes'),
                        flags: f(16, 'fixed32'),
                        name: f(5, 'string'),
                        kind: f(6, 'SpanKind'),
                        startTimeUnixNano: f(7, 'fixed64'),
                        endTimeUnixNano: f(8, 'fixed64'),
                        attributes: r(9, KV),
                        droppedAttributesCount: f(10, 'uint32'),
                        events: r(11, 'Event'),
                        droppedEventsCount: f(12, 'uint32'),
                        links: r(13, 'Link'),
                        droppedLinksCount: f(14, 'uint32'),
                        status: f(15, 'Status'),
                      },
                      nested: {
                        SpanKind: { values: { SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 } },
                        Event: msg({ timeUnixNano: f(1, 'fixed64'), name: f(2, 'string'), attributes: r(3, KV), droppedAttributesCount: f(4, 'uint32') }),
                        Link: msg({ traceId: f(1, 'bytes'), spanId: f(2, 'bytes'), traceState: f(3, 'string'), attributes: r(4, KV), droppedAttributesCount: f(5, 'uint32'), flags: f(6, 'fixed32') }),
                      },
                    },
                    Status: {
                      fields: { message: f(2, 'string'), code: f(3, 'StatusCode') },
                      nested: { StatusCode: { values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } } },
                    },
                  },
                },
              },
            },
            metrics: {
              nested: {
                v1: {
                  nested: {
                    MetricsData: msg({ resourceMetrics: r(1, 'ResourceMetrics') }),
                    ResourceMetrics: msg({ resource: f(1, RESOURCE), scopeMetrics: r(2, 'ScopeMetrics'), schemaUrl: f(3, 'string') }),
                    ScopeMetrics: msg({ scope: f(1, SCOPE), metrics: r(2, 'Metric'), schemaUrl: f(3, 'string') }),
                    Metric: msg(
                      { name: f(1, 'string'), description: f(2, 'string'), unit: f(3, 'string'), gauge: f(5, 'Gauge'), sum: f(7, 'Sum'), histogram: f(9, 'Histogram'), exponentialHistogram: f(10, 'ExponentialHistogram'), summary: f(11, 'Summary'), metadata: r(12, KV) },
                      { data: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] },
                    ),
                    Gauge: msg({ dataPoints: r(1, 'NumberDataPoint') }),
                    Sum: msg({ dataPoints: r(1, 'NumberDataPoint'), aggregationTemporality: f(2, 'AggregationTemporality'), isMonotonic: f(3, 'bool') }),
                    Histogram: msg({ dataPoints: r(1, 'HistogramDataPoint'), aggregationTemporality: f(2, 'AggregationTemporality') }),
                    ExponentialHistogram: msg({ dataPoints: r(1, 'ExponentialHistogramDataPoint'), aggregationTemporality: f(2, 'AggregationTemporality') }),
                    Summary: msg({ dataPoints: r(1, 'SummaryDataPoint') }),
                    AggregationTemporality: { values: { AGGREGATION_TEMPORALITY_UNSPECIFIED: 0, AGGREGATION_TEMPORALITY_DELTA: 1, AGGREGATION_TEMPORALITY_CUMULATIVE: 2 } },
                    NumberDataPoint: msg(
                      { attributes: r(7, KV), startTimeUnixNano: f(2, 'fixed64'), timeUnixNano: f(3, 'fixed64'), asDouble: f(4, 'double'), asInt: f(6, 'sfixed64'), exemplars: r(5, 'Exemplar'), flags: f(8, 'uint32') },
                      { value: ['asDouble', 'asInt'] },
                    ),
                    HistogramDataPoint: msg(
                      { attributes: r(9, KV), startTimeUnixNano: f(2, 'fixed64'), timeUnixNano: f(3, 'fixed64'), count: f(4, 'fixed64'), sum: f(5, 'double'), bucketCounts: r(6, 'fixed64'), explicitBounds: r(7, 'double'), exemplars: r(8, 'Exemplar'), flags: f(10, 'uint32'), min: f(11, 'double'), max: f(12, 'double') },
                      { _sum: ['sum'], _min: ['min'], _max: ['max'] },
                    ),
                    ExponentialHistogramDataPoint: {
                      fields: {
                        attributes: r(1, KV),
                        startTimeUnixNano: f(2, 'fixed64'),
                        timeUnixNano: f(3, 'fixed64'),
                        count: f(4, 'fixed64'),
                        sum: f(5, 'double'),
                        scale: f(6, 'sint32'),
                        zeroCount: f(7, 'fixed64'),
                        positive: f(8, 'Buckets'),
                        negative: f(9, 'Buckets'),
                        flags: f(10, 'uint32'),
                        exemplars: r(11, 'Exemplar'),
                        min: f(12, 'double'),
                        max: f(13, 'double'),
                        zeroThreshold: f(14, 'double'),
                      },
                      oneofs: { _sum: { oneof: ['sum'] }, _min: { oneof: ['min'] }, _max: { oneof: ['max'] } },
                      nested: { Buckets: msg({ offset: f(1, 'sint32'), bucketCounts: r(2, 'uint64') }) },
                    },
                    SummaryDataPoint: {
                      fields: { attributes: r(7, KV), startTimeUnixNano: f(2, 'fixed64'), timeUnixNano: f(3, 'fixed64'), count: f(4, 'fixed64'), sum: f(5, 'double'), quantileValues: r(6, 'ValueAtQuantile'), flags: f(8, 'uint32') },
                      nested: { ValueAtQuantile: msg({ quantile: f(1, 'double'), value: f(2, 'double') }) },
                    },
                    Exemplar: msg(
                      { filteredAttributes: r(7, KV), timeUnixNano: f(2, 'fixed64'), asDouble: f(3, 'double'), asInt: f(6, 'sfixed64'), spanId: f(4, 'bytes'), traceId: f(5, 'bytes') },
                      { value: ['asDouble', 'asInt'] },
                    ),
                  },
                },
              },
            },
            logs: {
              nested: {
                v1: {
                  nested: {
                    LogsData: msg({ resourceLogs: r(1, 'ResourceLogs') }),
                    ResourceLogs: msg({ resource: f(1, RESOURCE), scopeLogs: r(2, 'ScopeLogs'), schemaUrl: f(3, 'string') }),
                    ScopeLogs: msg({ scope: f(1, SCOPE), logRecords: r(2, 'LogRecord'), schemaUrl: f(3, 'string') }),
                    LogRecord: msg({
                      timeUnixNano: f(1, 'fixed64'),
                      observedTimeUnixNano: f(11, 'fixed64'),
                      severityNumber: f(2, 'int32'),
                      severityText: f(3, 'string'),
                      body: f(5, ANY),
                      attributes: r(6, KV),
                      droppedAttributesCount: f(7, 'uint32'),
                      flags: f(8, 'fixed32'),
                      traceId: f(9, 'bytes'),
                      spanId: f(10, 'bytes'),
                      eventName: f(12, 'string'),
                    }),
                  },
                },
              },
            },
            collector: {
              nested: {
                trace: { nested: { v1: { nested: {
                  ExportTraceServiceRequest: msg({ resourceSpans: r(1, 'opentelemetry.proto.trace.v1.ResourceSpans') }),
                  ExportTraceServiceResponse: msg({ partialSuccess: f(1, 'ExportTracePartialSuccess') }),
                  ExportTracePartialSuccess: msg({ rejectedSpans: f(1, 'int64'), errorMessage: f(2, 'string') }),
                } } } },
                metrics: { nested: { v1: { nested: {
                  ExportMetricsServiceRequest: msg({ resourceMetrics: r(1, 'opentelemetry.proto.metrics.v1.ResourceMetrics') }),
                  ExportMetricsServiceResponse: msg({ partialSuccess: f(1, 'ExportMetricsPartialSuccess') }),
                  ExportMetricsPartialSuccess: msg({ rejectedDataPoints: f(1, 'int64'), errorMessage: f(2, 'string') }),
                } } } },
                logs: { nested: { v1: { nested: {
                  ExportLogsServiceRequest: msg({ resourceLogs: r(1, 'opentelemetry.proto.logs.v1.ResourceLogs') }),
                  ExportLogsServiceResponse: msg({ partialSuccess: f(1, 'ExportLogsPartialSuccess') }),
                  ExportLogsPartialSuccess: msg({ rejectedLogRecords: f(1, 'int64'), errorMessage: f(2, 'string') }),
                } } } },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: { nested: { Any: msg({ typeUrl: f(1, 'string'), value: f(2, 'bytes') }), Duration: msg({ seconds: f(1, 'int64'), nanos: f(2, 'int32') }) } },
        rpc: {
          nested: {
            Status: msg({ code: f(1, 'int32'), message: f(2, 'string'), details: r(3, 'google.protobuf.Any') }),
            RetryInfo: msg({ retryDelay: f(1, 'google.protobuf.Duration') }),
          },
        },
      },
    },
  },
};

// 64-bit fields decode as Long; protobufjs picks `long` up by itself when it can require it,
// set it explicitly so the behaviour does not depend on module resolution.
protobuf.util.Long = Long;
protobuf.configure();

export const root = protobuf.Root.fromJSON(descriptor);

const type = (name: string): protobuf.Type => root.lookupType(name);

export const Types = {
  traceRequest: type('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  traceResponse: type('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  metricsRequest: type('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
  metricsResponse: type('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
  logsRequest: type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
  logsResponse: type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
  status: type('google.rpc.Status'),
  retryInfo: type('google.rpc.RetryInfo'),
} as const;
