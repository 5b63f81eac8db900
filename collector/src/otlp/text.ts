/**
 * OTLP text: a `Telemetry` as the multi-line text upstream Alloy shows on its live-debugging page
 * for `otelcol.*` components (its `textmarshaler` package, adapted from the OpenTelemetry
 * Collector's debug exporter with `verbosity = "detailed"`): `ResourceSpans #0`, `Span #0`,
 * `    Trace ID       : <hex>`, attributes as `     -> key: Str(value)`, timestamps as Go's
 * `time.Time.String()` in UTC (`2024-05-01 10:00:00.5 +0000 UTC`), numbers with `%f`.
 *
 * Reads the decoded request only; never throws on well-formed `Telemetry`.
 */
import { goFloatF } from '../runtime/live-debugging.js';
import type { Telemetry } from './data.js';
import type {
  AnyValue,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  Int64,
  KeyValue,
  LogsRequest,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  Span,
  SummaryDataPoint,
  TracesRequest,
} from './types.js';

/** Lower-case hex of an ID; empty for an absent ID (decoded messages default bytes to an empty array). */
function hex(id: Uint8Array | readonly number[] | null | undefined): string {
  if (!id || id.length === 0) return '';
  return Buffer.from(id as Uint8Array).toString('hex');
}

const has = (o: object | null | undefined, k: string): boolean => o !== null && o !== undefined && Object.prototype.hasOwnProperty.call(o, k);

function big(v: Int64 | null | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  try {
    return BigInt(typeof v === 'number' ? Math.trunc(v) : v.toString());
  } catch {
    return 0n;
  }
}

/** Go's `time.Unix(0, ns).UTC().String()`: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function goTimeString(ns: Int64 | null | undefined): string {
  const n = big(ns);
  let sec = n / 1_000_000_000n;
  let frac = n % 1_000_000_000n;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    sec -= 1n;
  }
  const iso = new Date(Number(sec) * 1000).toISOString();
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const f = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${f} +0000 UTC`;
}

const f6 = goFloatF;

function anyRaw(v: AnyValue | null | undefined): unknown {
  if (!v) return null;
  if (has(v, 'stringValue')) return v.stringValue;
  if (has(v, 'boolValue')) return v.boolValue;
  if (has(v, 'intValue')) return Number(big(v.intValue));
  if (has(v, 'doubleValue')) return v.doubleValue;
  if (has(v, 'arrayValue')) return (v.arrayValue?.values ?? []).map(anyRaw);
  if (has(v, 'kvlistValue')) return Object.fromEntries((v.kvlistValue?.values ?? []).map((kv) => [kv.key, anyRaw(kv.value)]));
  if (has(v, 'bytesValue')) return Buffer.from(v.bytesValue ?? []).toString('base64');
  return null;
}

/** pcommon's `Value.Type().String()` and `AsString()`, as `Str(text)`. */
export function valueToString(v: AnyValue | null | undefined): string {
  if (!v) return 'Empty()';
  if (has(v, 'stringValue')) return `Str(${v.stringValue ?? ''})`;
  if (has(v, 'boolValue')) return `Bool(${String(v.boolValue ?? false)})`;
  if (has(v, 'intValue')) return `Int(${big(v.intValue).toString()})`;
  if (has(v, 'doubleValue')) return `Double(${String(v.doubleValue ?? 0)})`;
  if (has(v, 'arrayValue')) return `Slice(${JSON.stringify(anyRaw(v))})`;
  if (has(v, 'kvlistValue')) return `Map(${JSON.stringify(anyRaw(v))})`;
  if (has(v, 'bytesValue')) return `Bytes(${Buffer.from(v.bytesValue ?? []).toString('base64')})`;
  return 'Empty()';
}

const SPAN_KIND = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
const STATUS_CODE = ['Unset', 'Ok', 'Error'];
const TEMPORALITY = ['Unspecified', 'Delta', 'Cumulative'];
const SEVERITY = ['Unspecified', 'Trace', 'Trace2', 'Trace3', 'Trace4', 'Debug', 'Debug2', 'Debug3', 'Debug4', 'Info', 'Info2', 'Info3', 'Info4', 'Warn', 'Warn2', 'Warn3', 'Warn4', 'Error', 'Error2', 'Error3', 'Error4', 'Fatal', 'Fatal2', 'Fatal3', 'Fatal4'];

const enumName = (names: readonly string[], n: number | undefined): string => names[n ?? 0] ?? String(n);

class TextBuffer {
  readonly lines: string[] = [];

  entry(s: string): void {
    this.lines.push(s);
  }

  attr(name: string, value: string): void {
    this.lines.push(`    ${name.padEnd(15)}: ${value}`);
  }

  attributes(header: string, kvs: readonly KeyValue[] | undefined): void {
    if (!kvs || kvs.length === 0) return;
    this.entry(`${header}:`);
    const parts = header.split('->');
    const prefix = parts.length > 1 ? `${parts[0]}     ->` : '     ->';
    for (const kv of kvs) this.entry(`${prefix} ${kv.key}: ${valueToString(kv.value)}`);
  }

  scope(s: InstrumentationScope | null | undefined): void {
    this.entry(`InstrumentationScope ${s?.name ?? ''} ${s?.version ?? ''}`);
    this.attributes('InstrumentationScope attributes', s?.attributes);
  }

  exemplars(list: readonly unknown[] | undefined): void {
    if (!list || list.length === 0) return;
    this.entry('Exemplars:');
    list.forEach((raw, i) => {
      const e = raw as { traceId?: Uint8Array; spanId?: Uint8Array; timeUnixNano?: Int64; asDouble?: number; asInt?: Int64; filteredAttributes?: KeyValue[] };
      this.entry(`Exemplar #${i}`);
      this.entry(`     -> Trace ID: ${hex(e.traceId)}`);
      this.entry(`     -> Span ID: ${hex(e.spanId)}`);
      this.entry(`     -> Timestamp: ${goTimeString(e.timeUnixNano)}`);
      if (has(e, 'asInt')) this.entry(`     -> Value: ${big(e.asInt).toString()}`);
      else if (has(e, 'asDouble')) this.entry(`     -> Value: ${f6(e.asDouble)}`);
      this.attributes('     -> FilteredAttributes', e.filteredAttributes);
    });
  }

  numberPoints(ps: readonly NumberDataPoint[]): void {
    ps.forEach((p, i) => {
      this.entry(`NumberDataPoints #${i}`);
      this.attributes('Data point attributes', p.attributes);
      this.entry(`StartTimestamp: ${goTimeString(p.startTimeUnixNano)}`);
      this.entry(`Timestamp: ${goTimeString(p.timeUnixNano)}`);
      if (has(p, 'asInt')) this.entry(`Value: ${big(p.asInt).toString()}`);
      else if (has(p, 'asDouble')) this.entry(`Value: ${f6(p.asDouble)}`);
      this.exemplars(p.exemplars);
    });
  }

  /** The lines histogram and exponential histogram points share: header, attributes, times, count, sum/min/max. */
  distributionHead(kind: string, i: number, p: HistogramDataPoint | ExponentialHistogramDataPoint): void {
    this.entry(`${kind} #${i}`);
    this.attributes('Data point attributes', p.attributes);
    this.entry(`StartTimestamp: ${goTimeString(p.startTimeUnixNano)}`);
    this.entry(`Timestamp: ${goTimeString(p.timeUnixNano)}`);
    this.entry(`Count: ${big(p.count).toString()}`);
    if (has(p, 'sum')) this.entry(`Sum: ${f6(p.sum)}`);
    if (has(p, 'min')) this.entry(`Min: ${f6(p.min)}`);
    if (has(p, 'max')) this.entry(`Max: ${f6(p.max)}`);
  }

  histogramPoints(ps: readonly HistogramDataPoint[]): void {
    ps.forEach((p, i) => {
      this.distributionHead('HistogramDataPoints', i, p);
      (p.explicitBounds ?? []).forEach((b, j) => this.entry(`ExplicitBounds #${j}: ${f6(b)}`));
      (p.bucketCounts ?? []).forEach((c, j) => this.entry(`Buckets #${j}, Count: ${big(c).toString()}`));
      this.exemplars(p.exemplars);
    });
  }

  exponentialPoints(ps: readonly ExponentialHistogramDataPoint[]): void {
    ps.forEach((p, i) => {
      this.distributionHead('ExponentialHistogramDataPoints', i, p);
      const factor = Math.LN2 * Math.pow(2, -(p.scale ?? 0));
      const neg = p.negative?.bucketCounts ?? [];
      const negOffset = p.negative?.offset ?? 0;
      for (let k = 0; k < neg.length; k++) {
        const pos = neg.length - k - 1;
        const index = negOffset + pos;
        this.entry(`Bucket [${f6(-Math.exp((index + 1) * factor))}, ${f6(-Math.exp(index * factor))}), Count: ${big(neg[pos]).toString()}`);
      }
      if (big(p.zeroCount) !== 0n) this.entry(`Bucket [0, 0], Count: ${big(p.zeroCount).toString()}`);
      const posB = p.positive?.bucketCounts ?? [];
      const posOffset = p.positive?.offset ?? 0;
      for (let k = 0; k < posB.length; k++) {
        const index = posOffset + k;
        this.entry(`Bucket (${f6(Math.exp(index * factor))}, ${f6(Math.exp((index + 1) * factor))}], Count: ${big(posB[k]).toString()}`);
      }
    });
  }

  summaryPoints(ps: readonly SummaryDataPoint[]): void {
    ps.forEach((p, i) => {
      this.entry(`SummaryDataPoints #${i}`);
      this.attributes('Data point attributes', p.attributes);
      this.entry(`StartTimestamp: ${goTimeString(p.startTimeUnixNano)}`);
      this.entry(`Timestamp: ${goTimeString(p.timeUnixNano)}`);
      this.entry(`Count: ${big(p.count).toString()}`);
      this.entry(`Sum: ${f6(p.sum)}`);
      (p.quantileValues ?? []).forEach((q, j) => this.entry(`QuantileValue #${j}: Quantile ${f6(q.quantile)}, Value ${f6(q.value)}`));
    });
  }

  metric(m: Metric): void {
    const type = m.gauge ? 'Gauge' : m.sum ? 'Sum' : m.histogram ? 'Histogram' : m.exponentialHistogram ? 'ExponentialHistogram' : m.summary ? 'Summary' : 'Empty';
    this.entry('Descriptor:');
    this.entry(`     -> Name: ${m.name}`);
    this.entry(`     -> Description: ${m.description ?? ''}`);
    this.entry(`     -> Unit: ${m.unit ?? ''}`);
    this.entry(`     -> DataType: ${type}`);
    if (m.gauge) this.numberPoints(m.gauge.dataPoints);
    else if (m.sum) {
      this.entry(`     -> IsMonotonic: ${String(m.sum.isMonotonic ?? false)}`);
      this.entry(`     -> AggregationTemporality: ${enumName(TEMPORALITY, m.sum.aggregationTemporality)}`);
      this.numberPoints(m.sum.dataPoints);
    } else if (m.histogram) {
      this.entry(`     -> AggregationTemporality: ${enumName(TEMPORALITY, m.histogram.aggregationTemporality)}`);
      this.histogramPoints(m.histogram.dataPoints);
    } else if (m.exponentialHistogram) {
      this.entry(`     -> AggregationTemporality: ${enumName(TEMPORALITY, m.exponentialHistogram.aggregationTemporality)}`);
      this.exponentialPoints(m.exponentialHistogram.dataPoints);
    } else if (m.summary) this.summaryPoints(m.summary.dataPoints);
  }

  span(s: Span): void {
    this.attr('Trace ID', hex(s.traceId));
    this.attr('Parent ID', hex(s.parentSpanId));
    this.attr('ID', hex(s.spanId));
    this.attr('Name', s.name);
    this.attr('Kind', enumName(SPAN_KIND, s.kind));
    this.attr('Start time', goTimeString(s.startTimeUnixNano));
    this.attr('End time', goTimeString(s.endTimeUnixNano));
    this.attr('Status code', enumName(STATUS_CODE, s.status?.code));
    this.attr('Status message', s.status?.message ?? '');
    this.attributes('Attributes', s.attributes);
    if (s.events && s.events.length > 0) {
      this.entry('Events:');
      s.events.forEach((e, i) => {
        this.entry(`SpanEvent #${i}`);
        this.entry(`     -> Name: ${e.name}`);
        this.entry(`     -> Timestamp: ${goTimeString(e.timeUnixNano)}`);
        this.entry(`     -> DroppedAttributesCount: ${e.droppedAttributesCount ?? 0}`);
        this.attributes('     -> Attributes:', e.attributes);
      });
    }
    if (s.links && s.links.length > 0) {
      this.entry('Links:');
      s.links.forEach((l, i) => {
        this.entry(`SpanLink #${i}`);
        this.entry(`     -> Trace ID: ${hex(l.traceId)}`);
        this.entry(`     -> ID: ${hex(l.spanId)}`);
        this.entry(`     -> TraceState: ${l.traceState ?? ''}`);
        this.entry(`     -> DroppedAttributesCount: ${l.droppedAttributesCount ?? 0}`);
        this.attributes('     -> Attributes:', l.attributes);
      });
    }
  }
}

/** The whole request as OTLP text lines (see the module comment). */
export function otlpTextLines(data: Telemetry): string[] {
  const b = new TextBuffer();
  if (data.signal === 'traces') {
    (data.request as TracesRequest).resourceSpans.forEach((rs, i) => {
      b.entry(`ResourceSpans #${i}`);
      b.entry(`Resource SchemaURL: ${rs.schemaUrl ?? ''}`);
      b.attributes('Resource attributes', rs.resource?.attributes);
      rs.scopeSpans.forEach((ss, j) => {
        b.entry(`ScopeSpans #${j}`);
        b.entry(`ScopeSpans SchemaURL: ${ss.schemaUrl ?? ''}`);
        b.scope(ss.scope);
        ss.spans.forEach((s, k) => {
          b.entry(`Span #${k}`);
          b.span(s);
        });
      });
    });
  } else if (data.signal === 'metrics') {
    (data.request as MetricsRequest).resourceMetrics.forEach((rm, i) => {
      b.entry(`ResourceMetrics #${i}`);
      b.entry(`Resource SchemaURL: ${rm.schemaUrl ?? ''}`);
      b.attributes('Resource attributes', rm.resource?.attributes);
      rm.scopeMetrics.forEach((sm, j) => {
        b.entry(`ScopeMetrics #${j}`);
        b.entry(`ScopeMetrics SchemaURL: ${sm.schemaUrl ?? ''}`);
        b.scope(sm.scope);
        sm.metrics.forEach((m, k) => {
          b.entry(`Metric #${k}`);
          b.metric(m);
        });
      });
    });
  } else {
    (data.request as LogsRequest).resourceLogs.forEach((rl, i) => {
      b.entry(`ResourceLog #${i}`);
      b.entry(`Resource SchemaURL: ${rl.schemaUrl ?? ''}`);
      b.attributes('Resource attributes', rl.resource?.attributes);
      rl.scopeLogs.forEach((sl, j) => {
        b.entry(`ScopeLogs #${j}`);
        b.entry(`ScopeLogs SchemaURL: ${sl.schemaUrl ?? ''}`);
        b.scope(sl.scope);
        sl.logRecords.forEach((l, k) => {
          b.entry(`LogRecord #${k}`);
          b.entry(`ObservedTimestamp: ${goTimeString(l.observedTimeUnixNano)}`);
          b.entry(`Timestamp: ${goTimeString(l.timeUnixNano)}`);
          b.entry(`SeverityText: ${l.severityText ?? ''}`);
          b.entry(`SeverityNumber: ${enumName(SEVERITY, l.severityNumber)}(${l.severityNumber ?? 0})`);
          b.entry(`Body: ${valueToString(l.body)}`);
          b.attributes('Attributes', l.attributes);
          b.entry(`Trace ID: ${hex(l.traceId)}`);
          b.entry(`Span ID: ${hex(l.spanId)}`);
          b.entry(`Flags: ${l.flags ?? 0}`);
        });
      });
    });
  }
  return b.lines;
}

/** The request as one OTLP text block (lines joined by newlines, ending with one). */
export function otlpText(data: Telemetry): string {
  const lines = otlpTextLines(data);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
