/**
 * Alloy's implicit conversions, applied while decoding before zod validation: where the schema
 * expects a string a number is accepted (`1` → `"1"`), and where it expects a number a numeric
 * string is accepted (`"12345"` → `12345`), at any depth (arrays, objects, records, blocks).
 * An attribute set to `null` where the schema does not accept null counts as unset, so defaults
 * apply. Values are never mutated: containers are copied only when something inside changes.
 */
import type { ZodType } from 'zod';
import { isPlainObject } from './value.js';

interface Def {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
  shape?: Record<string, ZodType>;
  element?: ZodType;
  valueType?: ZodType;
  options?: readonly ZodType[];
  discriminator?: string;
  values?: readonly unknown[];
  getter?: () => ZodType;
}

function defOf(schema: ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: ZodType): { def: Def; nullable: boolean } {
  let s = schema;
  let nullable = false;
  for (let i = 0; i < 64; i++) {
    const d = defOf(s);
    if (d.type === 'nullable') nullable = true;
    if (d.innerType && WRAPPERS.has(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else return { def: d, nullable };
  }
  return { def: defOf(s), nullable };
}

/** Go `strconv` style number parsing as Alloy converts strings to numbers; undefined if invalid. */
export function parseNumberString(s: string): number | undefined {
  if (s === '') return undefined;
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) || /^[+-]?(inf|infinity)$/i.test(s) || /^nan$/i.test(s)) {
    const lower = s.toLowerCase();
    if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
    if (lower === 'nan') return NaN;
    return Number(s);
  }
  return undefined;
}

/** Applies Alloy's implicit conversions to `value` as `schema` expects; returns the (possibly new) value. */
export function convertForSchema(schema: ZodType, value: unknown): unknown {
  const { def } = unwrap(schema);
  switch (def.type) {
    case 'string':
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    case 'number':
    case 'int':
      if (typeof value === 'string') {
        const n = parseNumberString(value);
        return n === undefined ? value : n;
      }
      return value;
    case 'array':
      return Array.isArray(value) && def.element ? mapArray(value, def.element) : value;
    case 'record':
      return isPlainObject(value) && def.valueType ? mapRecord(value, def.valueType) : value;
    case 'object':
      return isPlainObject(value) && def.shape ? convertObject(def.shape, value) : value;
    case 'union': {
      if (!def.options) return value;
      if (def.discriminator && isPlainObject(value)) {
        const tag = value[def.discriminator];
        for (const opt of def.options) {
          const shape = unwrap(opt).def.shape;
          const lit = shape?.[def.discriminator];
          if (lit && unwrap(lit).def.values?.includes(tag)) return convertForSchema(opt, value);
        }
      }
      return value;
    }
    default:
      return value;
  }
}

function mapArray(arr: readonly unknown[], element: ZodType): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < arr.length; i++) {
    const v = convertForSchema(element, arr[i]);
    if (v !== arr[i]) {
      out ??= arr.slice();
      out[i] = v;
    }
  }
  return out ?? (arr as unknown[]);
}

function mapRecord(obj: Record<string, unknown>, valueType: ZodType): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(obj)) {
    const v = convertForSchema(valueType, obj[k]);
    if (v !== obj[k]) {
      out ??= { ...obj };
      out[k] = v;
    }
  }
  return out ?? obj;
}

/** Converts the fields of an object literal or decoded block body according to an object shape. */
export function convertObject(shape: Record<string, ZodType>, obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(obj)) {
    const field = shape[k];
    if (!field) continue;
    const cur = obj[k];
    if (cur === null && !unwrap(field).nullable) {
      out ??= { ...obj };
      delete out[k];
      continue;
    }
    const v = convertForSchema(field, cur);
    if (v !== cur) {
      out ??= { ...obj };
      out[k] = v;
    }
  }
  return out ?? obj;
}
