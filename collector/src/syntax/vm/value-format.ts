/**
 * Values back to text for the UI and API: `valueToJSON` (a JSON-safe tree: secrets become
 * `"(secret)"`, capsules `"capsule(<type>)"`, functions `"function"`, non-finite numbers strings)
 * and `formatValue` (Alloy syntax, as the UI shows arguments and exports).
 */
import { quoteString, isValidIdentifier } from '../scanner/scanner.js';
import { goFloat } from './go-format.js';
import { Secret, capsuleTypeName, isPlainObject } from './value.js';

export type JSONValue = null | number | string | boolean | JSONValue[] | { [key: string]: JSONValue };

export function valueToJSON(value: unknown): JSONValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'string':
    case 'boolean':
      return value;
    case 'function':
      return 'function';
    default:
      break;
  }
  if (Array.isArray(value)) return value.map(valueToJSON);
  if (value instanceof Secret) return '(secret)';
  if (isPlainObject(value)) {
    const out: { [key: string]: JSONValue } = {};
    for (const k of Object.keys(value)) out[k] = valueToJSON(value[k]);
    return out;
  }
  return `capsule(${capsuleTypeName(value as object)})`;
}

/**
 * Alloy-syntax text of a value. Objects and arrays that hold other objects or arrays are
 * written one entry per line with tab indentation; flat ones stay on one line.
 */
export function formatValue(value: unknown, indent = 0): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? String(value) : goFloat(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return quoteString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'function':
      return 'function';
    default:
      break;
  }
  if (value instanceof Secret) return '(secret)';
  const nested = (v: unknown): boolean => Array.isArray(v) || isPlainObject(v);
  const pad = '\t'.repeat(indent + 1);
  const end = '\t'.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (!value.some(nested)) return `[${value.map((v) => formatValue(v, indent)).join(', ')}]`;
    return `[\n${value.map((v) => `${pad}${formatValue(v, indent + 1)},\n`).join('')}${end}]`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    const key = (k: string): string => (isValidIdentifier(k) ? k : quoteString(k));
    if (!keys.some((k) => nested(value[k])) && keys.length <= 4) {
      return `{ ${keys.map((k) => `${key(k)} = ${formatValue(value[k], indent)}`).join(', ')} }`;
    }
    const width = Math.max(...keys.map((k) => key(k).length));
    return `{\n${keys.map((k) => `${pad}${key(k).padEnd(width)} = ${formatValue(value[k], indent + 1)},\n`).join('')}${end}}`;
  }
  return `capsule(${JSON.stringify(capsuleTypeName(value as object))})`;
}
