/**
 * TypeScript shapes of the decoded OTLP messages (see `schema.ts`). Fields absent on the wire
 * read as their proto3 default through the message prototype, so optional-looking fields are
 * always readable on decoded messages; objects built by hand may omit them.
 */
import type Long from 'long';

export type Int64 = Long | number | string;

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  bytesValue?: Uint8Array;
}

export interface KeyValue {
  key: string;
  value?: AnyValue | null;
}

export interface InstrumentationScope {
  name?: string;
  version?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

export interface Span {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  flags?: number;
  name: string;
  kind?: number;
  startTimeUnixNano: Int64;
  endTimeUnixNano: Int64;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  events?: { timeUnixNano: Int64; name: string; attributes: KeyValue[]; droppedAttributesCount?: number }[];
  droppedEventsCount?: number;
  links?: { traceId: Uint8Array; spanId: Uint8Array; traceState?: string; attributes: KeyValue[]; droppedAttributesCount?: number; flags?: number }[];
  droppedLinksCount?: number;
  status?: { message?: string; code?: number } | null;
}

export interface ScopeSpans {
  scope?: InstrumentationScope | null;
  spans: Span[];
  schemaUrl?: string;
}

export interface ResourceSpans {
  resource?: Resource | null;
  scopeSpans: ScopeSpans[];
  schemaUrl?: string;
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano: Int64;
  asDouble?: number;
  asInt?: Int64;
  exemplars?: unknown[];
  flags?: number;
}

export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano: Int64;
  count: Int64;
  sum?: number;
  bucketCounts: Int64[];
  explicitBounds: number[];
  exemplars?: unknown[];
  flags?: number;
  min?: number;
  max?: number;
}

export interface ExponentialHistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano: Int64;
  count: Int64;
  sum?: number;
  scale: number;
  zeroCount: Int64;
  positive?: { offset: number; bucketCounts: Int64[] } | null;
  negative?: { offset: number; bucketCounts: Int64[] } | null;
  flags?: number;
  min?: number;
  max?: number;
  zeroThreshold?: number;
}

export interface SummaryDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano: Int64;
  count: Int64;
  sum: number;
  quantileValues: { quantile: number; value: number }[];
  flags?: number;
}

export const AggregationTemporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;

export interface Metric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: NumberDataPoint[] } | null;
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality: number; isMonotonic: boolean } | null;
  histogram?: { dataPoints: HistogramDataPoint[]; aggregationTemporality: number } | null;
  exponentialHistogram?: { dataPoints: ExponentialHistogramDataPoint[]; aggregationTemporality: number } | null;
  summary?: { dataPoints: SummaryDataPoint[] } | null;
  metadata?: KeyValue[];
}

export interface ScopeMetrics {
  scope?: InstrumentationScope | null;
  metrics: Metric[];
  schemaUrl?: string;
}

export interface ResourceMetrics {
  resource?: Resource | null;
  scopeMetrics: ScopeMetrics[];
  schemaUrl?: string;
}

export interface LogRecord {
  timeUnixNano?: Int64;
  observedTimeUnixNano?: Int64;
  severityNumber?: number;
  severityText?: string;
  body?: AnyValue | null;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  eventName?: string;
}

export interface ScopeLogs {
  scope?: InstrumentationScope | null;
  logRecords: LogRecord[];
  schemaUrl?: string;
}

export interface ResourceLogs {
  resource?: Resource | null;
  scopeLogs: ScopeLogs[];
  schemaUrl?: string;
}

export interface TracesRequest {
  resourceSpans: ResourceSpans[];
}
export interface MetricsRequest {
  resourceMetrics: ResourceMetrics[];
}
export interface LogsRequest {
  resourceLogs: ResourceLogs[];
}
