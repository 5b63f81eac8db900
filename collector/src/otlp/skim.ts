/**
 * Validates an encoded export request against the OTLP schema without building objects, and
 * counts its items (spans, metric data points, log records). Checks every nested message's
 * framing and the wire type of every known field, and the lengths of trace IDs (16 bytes) and
 * span IDs (8 bytes); unknown fields are skipped as protobuf requires. This is what lets a
 * pass-through pipeline accept, batch and forward requests without decoding them.
 */
import protobuf from 'protobufjs';
import type { Signal } from './data.js';
import { Types } from './schema.js';

const WIRE: Record<string, number> = {
  int32: 0, int64: 0, uint32: 0, uint64: 0, sint32: 0, sint64: 0, bool: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  string: 2, bytes: 2,
  fixed32: 5, sfixed32: 5, float: 5,
};

interface FieldPlan {
  readonly wire: number;
  readonly repeatedScalar: boolean;
  readonly message: Plan | undefined;
  /** Exact byte lengths allowed besides 0 (IDs). */
  readonly idLength: number | undefined;
}

interface Plan {
  readonly fields: Map<number, FieldPlan>;
  /** Counted as one item when entered. */
  readonly item: boolean;
}

const ID_LENGTHS: Record<string, Record<number, number>> = {
  'opentelemetry.proto.trace.v1.Span': { 1: 16, 2: 8, 4: 8 },
  'opentelemetry.proto.trace.v1.Span.Link': { 1: 16, 2: 8 },
  'opentelemetry.proto.logs.v1.LogRecord': { 9: 16, 10: 8 },
};
const ITEMS = new Set([
  'opentelemetry.proto.trace.v1.Span',
  'opentelemetry.proto.logs.v1.LogRecord',
  'opentelemetry.proto.metrics.v1.NumberDataPoint',
  'opentelemetry.proto.metrics.v1.HistogramDataPoint',
  'opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint',
  'opentelemetry.proto.metrics.v1.SummaryDataPoint',
]);

const plans = new Map<protobuf.Type, Plan>();

function planFor(type: protobuf.Type): Plan {
  const existing = plans.get(type);
  if (existing) return existing;
  const name = type.fullName.replace(/^\./, '');
  const plan: Plan = { fields: new Map(), item: ITEMS.has(name) };
  plans.set(type, plan);
  for (const f of type.fieldsArray) {
    f.resolve();
    const rt = f.resolvedType;
    const isMsg = rt instanceof protobuf.Type;
    const isEnum = rt instanceof protobuf.Enum;
    plan.fields.set(f.id, {
      wire: isMsg ? 2 : isEnum ? 0 : WIRE[f.type]!,
      repeatedScalar: f.repeated && !isMsg && f.type !== 'string' && f.type !== 'bytes',
      message: isMsg ? planFor(rt) : undefined,
      idLength: ID_LENGTHS[name]?.[f.id],
    });
  }
  return plan;
}

const ROOT: Record<Signal, protobuf.Type> = { traces: Types.traceRequest, metrics: Types.metricsRequest, logs: Types.logsRequest };

class SkimError extends Error {}

function walk(r: protobuf.Reader, end: number, plan: Plan, depth: number): number {
  if (depth > 100) throw new SkimError('message nests deeper than 100 levels');
  let items = plan.item ? 1 : 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw new SkimError('invalid field number 0');
    const f = plan.fields.get(id);
    if (f === undefined) {
      r.skipType(wire);
      continue;
    }
    if (wire !== f.wire && !(f.repeatedScalar && wire === 2)) throw new SkimError(`field ${id} has wire type ${wire}, expected ${f.wire}`);
    if (wire === 2) {
      const len = r.uint32();
      const stop = r.pos + len;
      if (stop > end) throw new SkimError(`field ${id} length ${len} runs past its message`);
      if (f.idLength !== undefined && len !== 0 && len !== f.idLength) throw new SkimError(`${f.idLength === 16 ? 'trace' : 'span'} ID (field ${id}) must be ${f.idLength} bytes, got ${len}`);
      if (f.message) items += walk(r, stop, f.message, depth + 1);
      r.pos = stop;
    } else r.skipType(wire);
  }
  if (r.pos !== end) throw new SkimError('message length does not match its contents');
  return items;
}

/**
 * Item count of a valid encoded request.
 * @throws Error naming the first problem when the bytes are not a valid request of `signal`.
 */
export function skim(signal: Signal, bytes: Uint8Array): number {
  const r = protobuf.Reader.create(bytes);
  try {
    return walk(r, bytes.length, planFor(ROOT[signal]), 0);
  } catch (err: unknown) {
    if (err instanceof SkimError) throw new Error(`${err.message} (at byte ${r.pos})`);
    throw new Error(`${err instanceof Error ? err.message : String(err)} (at byte ${r.pos})`);
  }
}
