/**
 * OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions): trace and span IDs are hex
 * strings, enums are integers (names are accepted on input), 64-bit integers may be strings
 * or numbers, field names are lowerCamelCase (the original snake_case names are accepted on
 * input, as protobuf JSON parsers do).
 */
import { InvalidDataError, requestType, Telemetry, type ClientMetadata, type RequestOf, type Signal } from './data.js';

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

function camel(k: string): string {
  return k.includes('_') ? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) : k;
}

function hexToBytes(hex: string, key: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new InvalidDataError(`${key} must be a hex string, got ${JSON.stringify(hex.length > 40 ? `${hex.slice(0, 40)}...` : hex)}`);
  return Buffer.from(hex, 'hex');
}

/** Rewrites a parsed OTLP/JSON value into the object shape protobufjs `fromObject` expects. */
function fromJsonValue(v: unknown, depth: number): unknown {
  if (depth > 64) throw new InvalidDataError('OTLP/JSON nests deeper than 64 levels');
  if (Array.isArray(v)) return v.map((x) => fromJsonValue(x, depth + 1));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [rawKey, val] of Object.entries(v as Record<string, unknown>)) {
    const key = camel(rawKey);
    if (ID_KEYS.has(key) && typeof val === 'string') out[key] = hexToBytes(val, key);
    else out[key] = fromJsonValue(val, depth + 1);
  }
  return out;
}

/**
 * Parses an OTLP/JSON export request.
 * @throws InvalidDataError naming the problem (not JSON, not an object, bad ID, bad field type).
 */
export function decodeJson<S extends Signal>(signal: S, body: Buffer | string, metadata?: ClientMetadata): Telemetry<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err: unknown) {
    throw new InvalidDataError(`malformed OTLP/JSON ${signal} request: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidDataError(`OTLP/JSON ${signal} request must be a JSON object`);
  let msg: unknown;
  try {
    msg = requestType(signal).fromObject(fromJsonValue(parsed, 0) as Record<string, unknown>);
  } catch (err: unknown) {
    if (err instanceof InvalidDataError) throw err;
    throw new InvalidDataError(`invalid OTLP/JSON ${signal} request: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Telemetry.of(signal, msg as RequestOf[S], metadata);
}

function toJsonValue(v: unknown, key: string | undefined): unknown {
  if (Array.isArray(v)) return v.map((x) => toJsonValue(x, undefined));
  if (v === null || typeof v !== 'object') {
    if (key !== undefined && ID_KEYS.has(key) && typeof v === 'string') return Buffer.from(v, 'base64').toString('hex');
    return v;
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = toJsonValue(val, k);
  return out;
}

/** The request as an OTLP/JSON object (64-bit integers as strings, enums as integers, IDs as hex). */
export function toJsonObject(t: Telemetry): Record<string, unknown> {
  const type = requestType(t.signal);
  const obj = type.toObject(type.fromObject(t.request as unknown as Record<string, unknown>), { longs: String, enums: Number, bytes: String, oneofs: false });
  return toJsonValue(obj, undefined) as Record<string, unknown>;
}

/** Lower-case hex of an ID. */
export function hex(id: Uint8Array | undefined): string {
  return id ? Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex') : '';
}
