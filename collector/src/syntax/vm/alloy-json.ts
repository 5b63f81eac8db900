/**
 * Alloy's typed JSON encoding of values and bodies (grafana/alloy `syntax/encoding/alloyjson`),
 * as the UI API (`/api/v0/web/components/{id}`) serves arguments and exports:
 *   value: `{ "type": "string" | "number" | "bool" | "null" | "array" | "object" | "function" | "capsule", "value": ... }`
 *     arrays hold encoded values; objects hold `[{ "key", "value" }]` sorted by key;
 *     secrets are `{ "type": "capsule", "value": "(secret)" }`, other capsules `capsule("<type>")`.
 *   body: `[{ "name", "type": "attr", "value" } | { "name", "type": "block", "label"?, "body": [...] }]`.
 * With a zod schema, block fields become blocks (repeated ones once per element) and optional
 * attributes left at their default are omitted, as Alloy does.
 */
import type { ZodType } from 'zod';
import { fieldMarker, objectShape } from './schema.js';
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

interface Def {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
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
        out.push({ name: key, type: 'attr', value: encodeValueJSON(v) });
        break;
      case 'block':
        out.push({ name: key, type: 'block', body: encodeBodyJSON(v, marker.body) });
        break;
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
