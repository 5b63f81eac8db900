/**
 * The three PATCH formats of the real server: JSON patch (RFC 6902), JSON merge patch (RFC 7386)
 * and strategic merge patch (lists merged by `patchMergeKey`, `$patch`, `$retainKeys`,
 * `$setElementOrder/`, `$deleteFromPrimitiveList/` directives). Pure functions: inputs are not
 * mutated. Malformed patches throw `ApiError` 400/422 naming the operation.
 */
import { badRequest, ApiError } from './errors.js';
import { deepClone, deepEqual, isObject, type Json, type JsonObject } from './types.js';

// ---------------------------------------------------------------- JSON patch

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw badRequest(`json patch: path "${p}" must start with "/"`);
  return p.slice(1).split('/').map(unescapePointer);
}

function container(doc: Json, parts: string[], op: string, path: string): Json {
  let cur = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)] as Json;
    else if (isObject(cur)) cur = cur[part] as Json;
    else cur = undefined as unknown as Json;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `json patch ${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return cur;
}

function pointerGet(doc: Json, path: string, op: string): Json {
  let cur: Json | undefined = doc;
  for (const part of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else cur = undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `json patch ${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return cur;
}

function pointerAdd(doc: Json, path: string, value: Json, op: string, replace: boolean): Json {
  const parts = parsePointer(path);
  if (parts.length === 0) return value;
  const parent = container(doc, parts, op, path);
  const last = parts[parts.length - 1]!;
  if (Array.isArray(parent)) {
    const idx = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(idx) || idx < 0 || idx > parent.length || (replace && idx >= parent.length)) {
      throw new ApiError(422, 'Invalid', `json patch ${op} operation does not apply: index out of range in path "${path}"`);
    }
    if (replace) parent[idx] = value;
    else parent.splice(idx, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw new ApiError(422, 'Invalid', `json patch replace operation does not apply: doc is missing key: "${path}"`);
    parent[last] = value;
  } else {
    throw new ApiError(422, 'Invalid', `json patch ${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return doc;
}

function pointerRemove(doc: Json, path: string, op: string): Json {
  const parts = parsePointer(path);
  const parent = container(doc, parts, op, path);
  const last = parts[parts.length - 1]!;
  if (Array.isArray(parent)) {
    const idx = Number(last);
    if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) throw new ApiError(422, 'Invalid', `json patch ${op} operation does not apply: index out of range in path "${path}"`);
    parent.splice(idx, 1);
  } else if (isObject(parent) && last in parent) {
    delete parent[last];
  } else {
    throw new ApiError(422, 'Invalid', `json patch ${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return doc;
}

export function applyJsonPatch(original: JsonObject, ops: Json): JsonObject {
  if (!Array.isArray(ops)) throw badRequest('json patch: the patch must be a JSON array of operations');
  let doc: Json = deepClone(original);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw badRequest(`json patch: each operation needs "op" and "path": ${JSON.stringify(raw)}`);
    }
    const { op, path } = raw as { op: string; path: string };
    switch (op) {
      case 'add':
        doc = pointerAdd(doc, path, deepClone(raw['value'] ?? null), op, false);
        break;
      case 'replace':
        doc = pointerAdd(doc, path, deepClone(raw['value'] ?? null), op, true);
        break;
      case 'remove':
        doc = pointerRemove(doc, path, op);
        break;
      case 'move': {
        const from = String(raw['from']);
        const v = deepClone(pointerGet(doc, from, op));
        doc = pointerRemove(doc, from, op);
        doc = pointerAdd(doc, path, v, op, false);
        break;
      }
      case 'copy':
        doc = pointerAdd(doc, path, deepClone(pointerGet(doc, String(raw['from']), op)), op, false);
        break;
      case 'test':
        if (!deepEqual(pointerGet(doc, path, op), raw['value'])) {
          throw new ApiError(422, 'Invalid', `json patch test operation does not apply: value at "${path}" does not match`);
        }
        break;
      default:
        throw badRequest(`json patch: unexpected operation "${op}"; expected add, remove, replace, move, copy or test`);
    }
  }
  if (!isObject(doc)) throw badRequest('json patch: result is not an object');
  return doc;
}

// ---------------------------------------------------------------- JSON merge patch

export function applyMergePatch(original: Json, patch: Json): Json {
  if (!isObject(patch)) return deepClone(patch);
  const out: JsonObject = isObject(original) ? deepClone(original) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k] ?? null, v);
  }
  return out;
}

// ---------------------------------------------------------------- strategic merge patch

/** Patch metadata lookup by field path (field names only). */
export type PatchMetaFn = (path: readonly string[]) => { merge: boolean; mergeKey?: string };

const DIRECTIVE = '$patch';
const RETAIN = '$retainKeys';
const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.filter((i) => !(isObject(i) && i[DIRECTIVE] === 'delete')).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === DIRECTIVE || k === RETAIN || k.startsWith(ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

export function applyStrategicMergePatch(original: JsonObject, patch: Json, meta: PatchMetaFn): JsonObject {
  if (!isObject(patch)) throw badRequest('strategic merge patch: the patch must be a JSON object');
  const out = mergeMap(original, patch, meta, []);
  return out ?? {};
}

function mergeMap(orig: JsonObject | undefined, patch: JsonObject, meta: PatchMetaFn, path: string[]): JsonObject | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch) as JsonObject;
  if (directive !== undefined && directive !== 'merge') {
    throw badRequest(`strategic merge patch: unknown $patch directive "${String(directive)}" at ${path.join('.') || '<root>'}`);
  }
  let out: JsonObject = orig ? { ...orig } : {};
  const retain = patch[RETAIN];
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN || key.startsWith(ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      const drop = Array.isArray(value) ? value : [];
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !drop.some((d) => deepEqual(d, x)));
      continue;
    }
    const childPath = [...path, key];
    if (value === null) {
      delete out[key];
    } else if (isObject(value)) {
      const cur = out[key];
      const merged = mergeMap(isObject(cur) ? cur : undefined, value, meta, childPath);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      const pm = meta(childPath);
      const cur = out[key];
      out[key] = pm.merge ? mergeList(Array.isArray(cur) ? cur : [], value, pm.mergeKey, meta, childPath) : (stripDirectives(value) as Json[]);
    } else {
      out[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(ORDER.length);
    const cur = out[field];
    if (Array.isArray(cur)) out[field] = reorder(cur, order, meta([...path, field]).mergeKey);
  }
  return out;
}

function itemKey(item: Json, mergeKey: string | undefined): string {
  if (mergeKey && isObject(item)) return JSON.stringify(item[mergeKey] ?? null);
  return JSON.stringify(item);
}

function mergeList(orig: Json[], patch: Json[], mergeKey: string | undefined, meta: PatchMetaFn, path: string[]): Json[] {
  if (patch.some((i) => isObject(i) && i[DIRECTIVE] === 'replace')) {
    return patch.filter((i) => !(isObject(i) && i[DIRECTIVE] === 'replace')).map(stripDirectives);
  }
  if (!mergeKey) {
    const out = [...orig];
    for (const p of patch) if (!out.some((o) => deepEqual(o, p))) out.push(p);
    return out;
  }
  const out = [...orig];
  for (const p of patch) {
    if (!isObject(p)) throw badRequest(`strategic merge patch: ${path.join('.')} items must be objects with "${mergeKey}"`);
    if (!(mergeKey in p)) throw badRequest(`strategic merge patch: ${path.join('.')} item ${JSON.stringify(p)} is missing merge key "${mergeKey}"`);
    const k = itemKey(p, mergeKey);
    const idx = out.findIndex((o) => itemKey(o, mergeKey) === k);
    if (p[DIRECTIVE] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = mergeMap(out[idx] as JsonObject, p, meta, path);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

function reorder(list: Json[], order: Json[], mergeKey: string | undefined): Json[] {
  const pos = new Map<string, number>();
  order.forEach((o, i) => pos.set(itemKey(o, mergeKey), i));
  const known = list.filter((i) => pos.has(itemKey(i, mergeKey)));
  const unknown = list.filter((i) => !pos.has(itemKey(i, mergeKey)));
  known.sort((a, b) => pos.get(itemKey(a, mergeKey))! - pos.get(itemKey(b, mergeKey))!);
  return [...known, ...unknown];
}
