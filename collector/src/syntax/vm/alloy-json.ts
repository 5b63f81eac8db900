/**
 * Alloy's typed JSON encoding of values and bodies (grafana/alloy `syntax/encoding/alloyjson`),
 * as the UI API (`/api/v0/web/components/{id}`) serves arguments and exports:
 *   value: `{ "type": "string" | "number" | "bool" | "null" | "array" | "object" | "function" | "capsule", "value": ... }`
 *     arrays hold encoded values; objects hold `[{ "key", "value" }]` sorted by key;
 *     secrets are `{ "type": "capsule", "value": "(secret)" }`, other capsules `capsule("<type>")`.
 *   body: `[{ "name", "type": "attr", "value" } | { "name", "type": "block", "label"?, "body": [...] }]`.
 * With a zod schema, block fields become blocks (repeated ones once per element), optional
 * attributes left at their default are omitted, and values get back the Alloy type the schema
 * decoded them from: durations (milliseconds after decoding) are Go duration strings (`"30s"`),
 * capsule fields (`forward_to` receivers) are capsules of the declared type, as Alloy does.
 */
import type { ZodType } from 'zod';
import { fieldMarker, formatDuration, objectShape, unwrapSchema } from './schema.js';
import { Secret, capsuleTypeName, isPlainObject, valuesEqual } from './value.js';

export type AlloyJSONValue =
  | { type: 'null'; value?: undefined }
  | { type: 'number'; value: number }
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean }
  | { type: 'array'; value: AlloyJSONValue[] }
  | { type: 'object'; value: { key: string; value: AlloyJSONValue }[] }
  | { type: 'function'; value: string }
  | { type: 'capsule'; value: string };

export interface AlloyJSONAttr {
  name: string;
  type: 'attr';
  value: AlloyJSONValue;
}

export interface AlloyJSONBlock {
  name: string;
  type: 'block';
  label?: string;
  body: AlloyJSONStatement[];
}

export type AlloyJSONStatement = AlloyJSONAttr | AlloyJSONBlock;

export function encodeValueJSON(v: unknown): AlloyJSONValue {
  if (v === null || v === undefined) return { type: 'null' };
  switch (typeof v) {
    case 'number':
      return { type: 'number', value: v };
    case 'bigint':
      return { type: 'number', value: Number(v) };
    case 'string':
      return { type: 'string', value: v };
    case 'boolean':
      return { type: 'bool', value: v };
    case 'function':
      return { type: 'function', value: 'function' };
    default:
      break;
  }
  if (Array.isArray(v)) return { type: 'array', value: v.map(encodeValueJSON) };
  if (v instanceof Secret) return { type: 'capsule', value: '(secret)' };
  if (isPlainObject(v)) {
    return {
      type: 'object',
      value: Object.keys(v)
        .sort()
        .map((key) => ({ key, value: encodeValueJSON(v[key]) })),
    };
  }
  return { type: 'capsule', value: `capsule(${JSON.stringify(capsuleTypeName(v as object))})` };
}

/**
 * Encodes `v` as the Alloy type `schema` declares: a `duration()` number becomes its Go duration
 * string, a `capsule(T)` value `capsule("T")`; arrays and objects follow their element/field
 * schemas. Without a schema (or for other types) the same as `encodeValueJSON`.
 */
export function encodeTypedJSON(v: unknown, schema?: ZodType): AlloyJSONValue {
  if (!schema || v === null || v === undefined) return encodeValueJSON(v);
  const marker = fieldMarker(schema);
  if (marker.duration && typeof v === 'number') return { type: 'string', value: formatDuration(v) };
  if (marker.capsule && typeof v === 'object' && !(v instanceof Secret)) return { type: 'capsule', value: `capsule(${JSON.stringify(marker.capsule)})` };
  const inner = unwrapSchema(schema);
  const d = defOf(inner);
  if (Array.isArray(v) && d.type === 'array' && d.element) {
    const element = d.element;
    return { type: 'array', value: v.map((x) => encodeTypedJSON(x, element)) };
  }
  if (isPlainObject(v)) {
    const shape = objectShape(inner);
    const valueSchema = d.type === 'record' ? d.valueType : undefined;
    if (shape || valueSchema) {
      return {
        type: 'object',
        value: Object.keys(v)
          .sort()
          .map((key) => ({ key, value: encodeTypedJSON(v[key], shape ? shape[key] : valueSchema) })),
      };
    }
  }
  return encodeValueJSON(v);
}

interface Def {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
  element?: ZodType;
  valueType?: ZodType;
  defaultValue?: unknown;
}

function defOf(schema: ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Whether a field may be left out, and its default value if it has one. */
function optionality(schema: ZodType): { optional: boolean; hasDefault: boolean; defaultValue?: unknown } {
  let s = schema;
  for (let i = 0; i < 64; i++) {
    const d = defOf(s);
    if (d.type === 'default' || d.type === 'prefault') {
      const dv = d.defaultValue;
      return { optional: true, hasDefault: true, defaultValue: typeof dv === 'function' ? (dv as () => unknown)() : dv };
    }
    if (d.type === 'optional') return { optional: true, hasDefault: false };
    if (d.innerType && ['nullable', 'readonly', 'catch'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else break;
  }
  return { optional: false, hasDefault: false };
}

/**
 * Encodes decoded arguments or exports as an Alloy JSON body. Without `schema` every key is an
 * attribute (in insertion order); with it, fields follow the schema's order and markers.
 */
export function encodeBodyJSON(value: unknown, schema?: ZodType): AlloyJSONStatement[] {
  if (!isPlainObject(value) && (value === null || typeof value !== 'object')) return [];
  const obj = value as Record<string, unknown>;
  const shape = schema ? objectShape(schema) : undefined;
  if (!shape) return Object.keys(obj).map((name) => ({ name, type: 'attr', value: encodeValueJSON(obj[name]) }));
  const out: AlloyJSONStatement[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const v = obj[key];
    const marker = fieldMarker(field);
    const opt = optionality(field);
    if (v === undefined) continue;
    switch (marker.kind) {
      case 'attr':
        if (opt.optional && opt.hasDefault && valuesEqual(v, opt.defaultValue)) continue;
        out.push({ name: key, type: 'attr', value: encodeTypedJSON(v, field) });
        break;
      case 'block': {
        if (opt.optional && opt.hasDefault && valuesEqual(v, opt.defaultValue)) continue;
        const body = encodeBodyJSON(v, marker.body);
        // A defaulted block whose every field is at its default is the default block: left out,
        // as upstream does. A block without a default is kept even when empty (its presence counts).
        if (opt.optional && opt.hasDefault && body.length === 0) continue;
        out.push({ name: key, type: 'block', body });
        break;
      }
      case 'blocks':
        for (const item of Array.isArray(v) ? v : []) out.push({ name: key, type: 'block', body: encodeBodyJSON(item, marker.body) });
        break;
      case 'labelledBlocks':
        for (const item of Array.isArray(v) ? (v as { label: string; body: unknown }[]) : []) {
          out.push({ name: key, type: 'block', label: item.label, body: encodeBodyJSON(item.body, marker.body) });
        }
        break;
      case 'enumBlocks':
        for (const item of Array.isArray(v) ? (v as { type: string; body: unknown }[]) : []) {
          out.push({ name: item.type, type: 'block', body: encodeBodyJSON(item.body, marker.variants?.[item.type]) });
        }
        break;
      case 'unsupported':
        break;
    }
  }
  return out;
}

/**
 * Plain JSON of an encoded value (the inverse view, for scripts and tests reading the API):
 * objects become records, capsules and functions their description strings.
 */
export function plainOfJSONValue(v: AlloyJSONValue): unknown {
  switch (v.type) {
    case 'null':
      return null;
    case 'array':
      return v.value.map(plainOfJSONValue);
    case 'object':
      return Object.fromEntries(v.value.map((f) => [f.key, plainOfJSONValue(f.value)]));
    default:
      return v.value;
  }
}

/**
 * Plain JSON of an encoded body: attributes by name; blocks by name as a list of bodies (a
 * labelled block's body gets its label under `label`).
 */
export function plainOfBody(body: readonly AlloyJSONStatement[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const st of body) {
    if (st.type === 'attr') out[st.name] = plainOfJSONValue(st.value);
    else {
      const list = (out[st.name] ??= []) as unknown[];
      list.push({ ...(st.label !== undefined ? { label: st.label } : {}), ...plainOfBody(st.body) });
    }
  }
  return out;
}
