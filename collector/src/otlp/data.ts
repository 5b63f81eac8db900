/**
 * `Telemetry`: one OTLP export request (traces, metrics or logs) as it travels between otelcol.*
 * components. It holds the decoded request and, when it came off the wire unchanged, the encoded
 * bytes, so a pipeline that does not modify data re-sends the received bytes without encoding.
 *
 * Contracts:
 * - A `Telemetry` is immutable: consumers must not change `request` or anything it references
 *   (one value may fan out to several consumers). A component that changes data builds a new
 *   request (sharing unchanged parts) and wraps it with `Telemetry.of`.
 * - `count` is the number of items: spans, metric data points or log records.
 * - `decode` validates the whole message (protobuf framing and wire types, ID lengths; see
 *   `skim.ts`) and throws `InvalidDataError` naming the problem; nothing invalid gets into a
 *   pipeline. It does not build objects: `request` is decoded on first access, so a pipeline
 *   that only counts, merges and forwards never decodes.
 */
import type protobuf from 'protobufjs';
import { Types } from './schema.js';
import { skim } from './skim.js';
import type { LogsRequest, Metric, MetricsRequest, ResourceLogs, ResourceMetrics, ResourceSpans, TracesRequest } from './types.js';

export type Signal = 'traces' | 'metrics' | 'logs';
export const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

export interface RequestOf {
  traces: TracesRequest;
  metrics: MetricsRequest;
  logs: LogsRequest;
}

/** Client metadata kept with `include_metadata`: lower-case header or gRPC metadata key → values. */
export type ClientMetadata = ReadonlyMap<string, readonly string[]>;

/** Data that cannot be decoded or is not valid OTLP; the message names the problem. */
export class InvalidDataError extends Error {
  override readonly name = 'InvalidDataError';
}

const REQUEST_TYPE: Record<Signal, protobuf.Type> = { traces: Types.traceRequest, metrics: Types.metricsRequest, logs: Types.logsRequest };
const ITEM_NAME: Record<Signal, string> = { traces: 'spans', metrics: 'data points', logs: 'log records' };

export function itemName(signal: Signal): string {
  return ITEM_NAME[signal];
}

export function requestType(signal: Signal): protobuf.Type {
  return REQUEST_TYPE[signal];
}

function checkId(id: Uint8Array | undefined, len: number, what: string): void {
  if (id !== undefined && id.length !== 0 && id.length !== len) throw new InvalidDataError(`${what} must be ${len} bytes, got ${id.length}`);
}

/** Number of data points of one metric, whatever its type. */
export function metricPointCount(m: Metric): number {
  return (m.gauge?.dataPoints.length ?? 0) + (m.sum?.dataPoints.length ?? 0) + (m.histogram?.dataPoints.length ?? 0) + (m.exponentialHistogram?.dataPoints.length ?? 0) + (m.summary?.dataPoints.length ?? 0);
}

/** Counts the items of a request and checks span/trace ID lengths. */
function countAndCheck<S extends Signal>(signal: S, req: RequestOf[S]): number {
  let n = 0;
  if (signal === 'traces') {
    for (const rs of (req as TracesRequest).resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          checkId(s.traceId, 16, 'span trace_id');
          checkId(s.spanId, 8, 'span span_id');
          checkId(s.parentSpanId, 8, 'span parent_span_id');
          n++;
        }
  } else if (signal === 'metrics') {
    for (const rm of (req as MetricsRequest).resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += metricPointCount(m);
  } else {
    for (const rl of (req as LogsRequest).resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const l of sl.logRecords) {
          checkId(l.traceId, 16, 'log record trace_id');
          checkId(l.spanId, 8, 'log record span_id');
          n++;
        }
  }
  return n;
}

function topLevel<S extends Signal>(signal: S, req: RequestOf[S]): unknown[] {
  return signal === 'traces' ? (req as TracesRequest).resourceSpans : signal === 'metrics' ? (req as MetricsRequest).resourceMetrics : (req as LogsRequest).resourceLogs;
}

function makeRequest<S extends Signal>(signal: S, top: unknown[]): RequestOf[S] {
  const r = signal === 'traces' ? { resourceSpans: top as ResourceSpans[] } : signal === 'metrics' ? { resourceMetrics: top as ResourceMetrics[] } : { resourceLogs: top as ResourceLogs[] };
  return r as RequestOf[S];
}

export class Telemetry<S extends Signal = Signal> {
  readonly signal: S;
  readonly count: number;
  readonly metadata: ClientMetadata | undefined;
  #request: RequestOf[S] | undefined;
  #bytes: Uint8Array | undefined;

  /** Exactly one of `request` and `bytes` may be undefined. */
  private constructor(signal: S, request: RequestOf[S] | undefined, count: number, bytes: Uint8Array | undefined, metadata: ClientMetadata | undefined) {
    this.signal = signal;
    this.#request = request;
    this.count = count;
    this.#bytes = bytes;
    this.metadata = metadata;
  }

  /** The decoded request (decoded from the bytes on first access). */
  get request(): RequestOf[S] {
    if (this.#request === undefined) this.#request = REQUEST_TYPE[this.signal].decode(this.#bytes!) as unknown as RequestOf[S];
    return this.#request;
  }

  /**
   * Decodes an export request from protobuf bytes.
   * @throws InvalidDataError when the bytes are not a valid request of that signal.
   */
  static decode<S extends Signal>(signal: S, bytes: Uint8Array, metadata?: ClientMetadata): Telemetry<S> {
    let count: number;
    try {
      count = skim(signal, bytes);
    } catch (err: unknown) {
      throw new InvalidDataError(`malformed OTLP ${signal} protobuf: ${err instanceof Error ? err.message : String(err)}`);
    }
    return new Telemetry(signal, undefined, count, bytes, metadata);
  }

  /**
   * Wraps a request built in memory (validated like `decode`).
   * @throws InvalidDataError when an ID has the wrong length.
   */
  static of<S extends Signal>(signal: S, request: RequestOf[S], metadata?: ClientMetadata): Telemetry<S> {
    return new Telemetry(signal, request, countAndCheck(signal, request), undefined, metadata);
  }

  /** The request as protobuf bytes (the received bytes when unchanged). */
  encode(): Uint8Array {
    if (this.#bytes === undefined) this.#bytes = REQUEST_TYPE[this.signal].encode(this.request as unknown as protobuf.Message).finish();
    return this.#bytes;
  }

  /** The same data with other client metadata. */
  withMetadata(metadata: ClientMetadata | undefined): Telemetry<S> {
    return new Telemetry(this.signal, this.#request, this.count, this.#bytes, metadata);
  }

  /** The resource-level entries (`resourceSpans`, `resourceMetrics` or `resourceLogs`). */
  resources(): readonly unknown[] {
    return topLevel(this.signal, this.request);
  }

  /** One request holding all of `parts` (same signal, at least one), keeping their order; metadata of the first. */
  static merge<S extends Signal>(parts: readonly Telemetry<S>[]): Telemetry<S> {
    const first = parts[0];
    if (!first) throw new RangeError('Telemetry.merge needs at least one part');
    if (parts.length === 1) return first;
    const count = parts.reduce((n, p) => n + p.count, 0);
    // A request is one repeated field, so concatenated encodings are the encoding of the merge.
    if (parts.every((p) => p.#bytes !== undefined)) return new Telemetry(first.signal, undefined, count, Buffer.concat(parts.map((p) => p.#bytes!)), first.metadata);
    const top: unknown[] = [];
    for (const p of parts) for (const x of topLevel(p.signal, p.request)) top.push(x);
    return new Telemetry(first.signal, makeRequest(first.signal, top), count, undefined, first.metadata);
  }

  /** Splits into requests of at most `max` items each (resource and scope repeated as needed). */
  split(max: number): Telemetry<S>[] {
    if (max <= 0 || this.count <= max) return [this];
    const out: Telemetry<S>[] = [];
    let cur: unknown[] = [];
    let n = 0;
    const flush = (): void => {
      if (n > 0) out.push(new Telemetry(this.signal, makeRequest(this.signal, cur), n, undefined, this.metadata));
      cur = [];
      n = 0;
    };
    for (const res of topLevel(this.signal, this.request)) {
      for (const piece of splitResource(this.signal, res, max, () => max - n)) {
        cur.push(piece.value);
        n += piece.count;
        if (n >= max) flush();
      }
    }
    flush();
    return out;
  }
}

interface Piece {
  readonly value: unknown;
  readonly count: number;
}

/** Yields copies of one resource entry each holding at most `room()` items (room re-read per piece). */
function* splitResource(signal: Signal, res: unknown, max: number, room: () => number): Generator<Piece> {
  if (signal === 'traces') {
    const rs = res as ResourceSpans;
    for (const ss of rs.scopeSpans) {
      for (let i = 0; i < ss.spans.length; ) {
        const take = Math.max(1, Math.min(room() || max, ss.spans.length - i));
        yield { value: { resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [{ scope: ss.scope, schemaUrl: ss.schemaUrl, spans: ss.spans.slice(i, i + take) }] }, count: take };
        i += take;
      }
    }
  } else if (signal === 'logs') {
    const rl = res as ResourceLogs;
    for (const sl of rl.scopeLogs) {
      for (let i = 0; i < sl.logRecords.length; ) {
        const take = Math.max(1, Math.min(room() || max, sl.logRecords.length - i));
        yield { value: { resource: rl.resource, schemaUrl: rl.schemaUrl, scopeLogs: [{ scope: sl.scope, schemaUrl: sl.schemaUrl, logRecords: sl.logRecords.slice(i, i + take) }] }, count: take };
        i += take;
      }
    }
  } else {
    const rm = res as ResourceMetrics;
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const kind = (['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const).find((k) => m[k]);
        if (!kind) continue;
        const body = m[kind] as { dataPoints: unknown[] };
        for (let i = 0; i < body.dataPoints.length; ) {
          const take = Math.max(1, Math.min(room() || max, body.dataPoints.length - i));
          const metric = { name: m.name, description: m.description, unit: m.unit, metadata: m.metadata, [kind]: { ...body, dataPoints: body.dataPoints.slice(i, i + take) } };
          yield { value: { resource: rm.resource, schemaUrl: rm.schemaUrl, scopeMetrics: [{ scope: sm.scope, schemaUrl: sm.schemaUrl, metrics: [metric] }] }, count: take };
          i += take;
        }
      }
    }
  }
}
