/**
 * Field ownership (`metadata.managedFields`, FieldsV1) and server-side apply, after
 * sigs.k8s.io/structured-merge-diff: applied configurations are merged into the live object,
 * fields a manager stops applying are removed unless someone else owns them, and applying a
 * field another manager owns with a different value is a conflict (409) unless `force`.
 * Non-apply writes (`Update`) take ownership of the fields they change without conflicts.
 */
import { ApiError } from './errors.js';
import type { ListType, TypeInfo } from './patch-meta.js';
import { deepClone, deepEqual, isObject, type Json, type JsonObject, type ManagedFieldsEntry } from './types.js';

const SEP = '\u0000';
const IGNORED_TOP = new Set(['apiVersion', 'kind']);
const IGNORED_META = new Set([
  'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields',
  'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds',
]);

type FieldSet = Set<string>;

function keyDefault(field: string): Json | undefined {
  return field === 'protocol' ? 'TCP' : undefined;
}

function itemSegment(item: Json, lt: ListType): string | undefined {
  if (lt.kind === 'map' && isObject(item)) {
    const k: JsonObject = {};
    for (const f of [...lt.keys].sort()) {
      const v = item[f] ?? keyDefault(f);
      if (v !== undefined) k[f] = v;
    }
    return `k:${JSON.stringify(k)}`;
  }
  if (lt.kind === 'set') return `v:${JSON.stringify(item)}`;
  return undefined;
}

/** The set of leaf fields (and associative items) present in `obj`. */
export function fieldSetOf(obj: JsonObject, info: TypeInfo): FieldSet {
  const out: FieldSet = new Set();
  for (const [k, v] of Object.entries(obj)) {
    if (IGNORED_TOP.has(k)) continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (IGNORED_META.has(mk)) continue;
        walk(mv, [`f:metadata`, `f:${mk}`], ['metadata', mk], info, out);
      }
      continue;
    }
    walk(v, [`f:${k}`], [k], info, out);
  }
  return out;
}

function walk(v: Json, segs: string[], names: string[], info: TypeInfo, out: FieldSet): void {
  if (isObject(v) && Object.keys(v).length > 0 && !info.atomicMap?.(names)) {
    for (const [k, x] of Object.entries(v)) walk(x, [...segs, `f:${k}`], [...names, k], info, out);
    return;
  }
  if (Array.isArray(v) && v.length > 0) {
    const lt = info.listType(names);
    if (lt.kind !== 'atomic') {
      for (const item of v) {
        const seg = itemSegment(item, lt);
        if (seg === undefined) continue;
        const itemSegs = [...segs, seg];
        out.add(itemSegs.join(SEP));
        if (lt.kind === 'map' && isObject(item)) {
          for (const [k, x] of Object.entries(item)) walk(x, [...itemSegs, `f:${k}`], [...names, k], info, out);
        }
      }
      return;
    }
  }
  out.add(segs.join(SEP));
}

// ---------------------------------------------------------------- FieldsV1 encoding

export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  const paths = [...set].map((p) => p.split(SEP));
  for (const segs of paths) {
    let node = root;
    for (const s of segs) {
      if (!isObject(node[s])) node[s] = {};
      node = node[s] as JsonObject;
    }
  }
  for (const segs of paths) {
    let node = root;
    for (const s of segs) node = node[s] as JsonObject;
    if (Object.keys(node).length > 0) node['.'] = {};
  }
  return root;
}

export function fromFieldsV1(f: Json | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: JsonObject, segs: string[]): void => {
    const keys = Object.keys(node);
    if (keys.length === 0 && segs.length > 0) out.add(segs.join(SEP));
    for (const k of keys) {
      if (k === '.') out.add(segs.join(SEP));
      else if (isObject(node[k])) visit(node[k] as JsonObject, [...segs, k]);
    }
  };
  if (isObject(f)) visit(f, []);
  return out;
}

// ---------------------------------------------------------------- navigation

function findItem(list: Json[], seg: string): number {
  const body = JSON.parse(seg.slice(2)) as Json;
  if (seg.startsWith('v:')) return list.findIndex((x) => deepEqual(x, body));
  const keys = body as JsonObject;
  return list.findIndex((x) => isObject(x) && Object.entries(keys).every(([k, v]) => deepEqual(x[k] ?? keyDefault(k), v)));
}

function valueAt(obj: Json | undefined, segs: readonly string[]): Json | undefined {
  let cur = obj;
  for (const s of segs) {
    if (cur === undefined) return undefined;
    if (s.startsWith('f:')) cur = isObject(cur) ? cur[s.slice(2)] : undefined;
    else if (Array.isArray(cur)) {
      const i = findItem(cur, s);
      cur = i >= 0 ? cur[i] : undefined;
    } else return undefined;
  }
  return cur;
}

function removeAt(obj: JsonObject, segs: readonly string[]): void {
  let cur: Json | undefined = obj;
  for (let i = 0; i < segs.length - 1; i++) cur = valueAt(cur, [segs[i]!]);
  const last = segs[segs.length - 1]!;
  if (last.startsWith('f:')) {
    if (isObject(cur)) delete cur[last.slice(2)];
  } else if (Array.isArray(cur)) {
    const i = findItem(cur, last);
    if (i >= 0) cur.splice(i, 1);
  }
}

function isItem(p: string): boolean {
  const last = p.slice(p.lastIndexOf(SEP) + 1);
  return last.startsWith('k:') || last.startsWith('v:');
}

/** A field that is part of its list item's key (`name` of `k:{"name":…}`). */
function isKeyField(p: string): boolean {
  const segs = p.split(SEP);
  const parent = segs[segs.length - 2];
  const last = segs[segs.length - 1]!;
  if (!parent?.startsWith('k:') || !last.startsWith('f:')) return false;
  return Object.prototype.hasOwnProperty.call(JSON.parse(parent.slice(2)) as object, last.slice(2));
}

/** `.spec.containers[name="app"].image` as the real server prints field paths. */
export function renderPath(p: string): string {
  return p
    .split(SEP)
    .map((s) => {
      if (s.startsWith('f:')) return `.${s.slice(2)}`;
      const body = JSON.parse(s.slice(2)) as Json;
      if (s.startsWith('v:')) return `[=${JSON.stringify(body)}]`;
      return `[${Object.entries(body as JsonObject).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    })
    .join('');
}

// ---------------------------------------------------------------- merge

function mergeApplied(live: Json | undefined, applied: Json, names: string[], info: TypeInfo): Json {
  if (isObject(applied) && isObject(live) && !info.atomicMap?.(names)) {
    const out: JsonObject = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(live[k], v, [...names, k], info);
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const lt = info.listType(names);
    if (lt.kind === 'atomic') return deepClone(applied);
    const out = [...live];
    for (const item of applied) {
      const seg = itemSegment(item, lt);
      const idx = seg === undefined ? -1 : findItem(out, seg);
      if (idx < 0) out.push(deepClone(item));
      else if (lt.kind === 'map') out[idx] = mergeApplied(out[idx], item, names, info);
    }
    return out;
  }
  return deepClone(applied);
}

// ---------------------------------------------------------------- managers

interface Manager {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

function managerId(e: Pick<ManagedFieldsEntry, 'manager' | 'operation' | 'subresource'>): string {
  return `${e.manager}${SEP}${e.operation}${SEP}${e.subresource ?? ''}`;
}

function readManagers(managed: Json | undefined): Manager[] {
  if (!Array.isArray(managed)) return [];
  return managed.filter(isObject).map((m) => ({ entry: m as unknown as ManagedFieldsEntry, set: fromFieldsV1(m['fieldsV1']) }));
}

function writeManagers(ms: Manager[]): JsonObject[] {
  return ms
    .filter((m) => m.set.size > 0)
    .map((m) => {
      const e: JsonObject = {
        manager: m.entry.manager,
        operation: m.entry.operation,
        apiVersion: m.entry.apiVersion,
        time: m.entry.time,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(m.set),
      };
      if (m.entry.subresource) e['subresource'] = m.entry.subresource;
      return e;
    });
}

export interface WriteContext {
  readonly manager: string;
  readonly apiVersion: string;
  readonly subresource?: string;
  readonly info: TypeInfo;
  readonly now: string;
}

function upsert(ms: Manager[], ctx: WriteContext, operation: 'Apply' | 'Update'): Manager {
  const id = managerId({ manager: ctx.manager, operation, ...(ctx.subresource ? { subresource: ctx.subresource } : {}) });
  let m = ms.find((x) => managerId(x.entry) === id);
  if (!m) {
    m = {
      entry: { manager: ctx.manager, operation, apiVersion: ctx.apiVersion, time: ctx.now, fieldsType: 'FieldsV1', fieldsV1: {}, ...(ctx.subresource ? { subresource: ctx.subresource } : {}) },
      set: new Set(),
    };
    ms.push(m);
  }
  m.entry = { ...m.entry, apiVersion: ctx.apiVersion, time: ctx.now };
  return m;
}

/**
 * Ownership after a non-apply write from `oldObj` (undefined on create) to `newObj`: the writer
 * owns every field it set or changed; other managers lose those fields and any removed field.
 * `base` is the ownership to start from (the stored list, or the list the request set
 * explicitly, as `kubectl apply --server-side` does when upgrading client-side-apply ownership).
 * Returns the new `managedFields` list.
 */
export function trackUpdate(oldObj: JsonObject | undefined, newObj: JsonObject, ctx: WriteContext, base?: Json): JsonObject[] {
  const ms = readManagers(base);
  const before = oldObj ? fieldSetOf(oldObj, ctx.info) : new Set<string>();
  const after = fieldSetOf(newObj, ctx.info);
  const changed = new Set<string>();
  for (const p of after) {
    if (!before.has(p)) changed.add(p);
    else if (!isItem(p) && !deepEqual(valueAt(oldObj, p.split(SEP)), valueAt(newObj, p.split(SEP)))) changed.add(p);
  }
  const removed = [...before].filter((p) => !after.has(p));
  if (changed.size === 0 && removed.length === 0) return writeManagers(ms);
  const me = changed.size > 0 ? upsert(ms, ctx, 'Update') : undefined;
  for (const m of ms) {
    for (const p of removed) m.set.delete(p);
    if (m === me) continue;
    for (const p of changed) m.set.delete(p);
  }
  if (me) for (const p of changed) me.set.add(p);
  return writeManagers(ms);
}

export interface ApplyResult {
  readonly obj: JsonObject;
  readonly managedFields: JsonObject[];
}

/**
 * Server-side apply of `applied` onto `live` (undefined when creating). Throws a 409 naming each
 * conflicting manager and field unless `force`.
 */
export function serverSideApply(live: JsonObject | undefined, applied: JsonObject, ctx: WriteContext, force: boolean, allowedConflicts?: JsonObject): ApplyResult {
  const liveObj: JsonObject = live ? deepClone(live) : {};
  const ms = readManagers(live ? (live['metadata'] as JsonObject)['managedFields'] : undefined);
  const appliedSet = fieldSetOf(applied, ctx.info);
  const myId = managerId({ manager: ctx.manager, operation: 'Apply', ...(ctx.subresource ? { subresource: ctx.subresource } : {}) });
  const conflicts = new Map<Manager, string[]>();
  for (const m of ms) {
    if (managerId(m.entry) === myId) continue;
    for (const p of appliedSet) {
      if (!m.set.has(p)) continue;
      const segs = p.split(SEP);
      const liveV = valueAt(liveObj, segs);
      const appV = valueAt(applied, segs);
      const last = segs[segs.length - 1]!;
      if ((last.startsWith('k:') || last.startsWith('v:')) && liveV !== undefined) continue;
      if (!deepEqual(liveV, appV)) {
        let list = conflicts.get(m);
        if (!list) conflicts.set(m, (list = []));
        list.push(p);
      }
    }
  }
  if (conflicts.size > 0 && !force) {
    // Upgrading from client-side apply: conflicts on fields of the last-applied configuration are forced.
    const allowed = allowedConflicts ? fieldSetOf(allowedConflicts, ctx.info) : undefined;
    const all = [...conflicts.values()].flat();
    if (!allowed || !all.every((p) => allowed.has(p))) throw conflictError(conflicts);
  }
  for (const [m, paths] of conflicts) for (const p of paths) m.set.delete(p);

  const prevMine = ms.find((m) => managerId(m.entry) === myId)?.set ?? new Set<string>();
  const me = upsert(ms, ctx, 'Apply');
  let merged = mergeApplied(liveObj, applied, [], ctx.info) as JsonObject;
  const others = new Set<string>();
  for (const m of ms) if (m !== me) for (const p of m.set) others.add(p);
  const toRemove = [...prevMine].filter((p) => !appliedSet.has(p) && !others.has(p));
  // Shallow first: removing an item removes its fields; key fields of kept items stay.
  toRemove.sort((a, b) => a.split(SEP).length - b.split(SEP).length);
  merged = deepClone(merged);
  for (const p of toRemove) {
    if (isKeyField(p)) continue;
    const keepBelow = [...appliedSet, ...others].some((q) => q.startsWith(p + SEP));
    if (!keepBelow) removeAt(merged, p.split(SEP));
  }
  me.set = appliedSet;
  return { obj: merged, managedFields: writeManagers(ms) };
}

/**
 * A conflicting manager as the real server names it: `"name"`, then `with subresource "s"`, and
 * `using <apiVersion>` only for Update managers (an Apply manager's identity has no version).
 */
function managerText(m: Manager): string {
  const sub = m.entry.subresource ? ` with subresource "${m.entry.subresource}"` : '';
  return `"${m.entry.manager}"${sub}${m.entry.operation === 'Update' ? ` using ${m.entry.apiVersion}` : ''}`;
}

function conflictError(conflicts: Map<Manager, string[]>): ApiError {
  const causes: { reason: string; message: string; field: string }[] = [];
  for (const [m, paths] of conflicts) {
    for (const p of paths) causes.push({ reason: 'FieldManagerConflict', message: `conflict with ${managerText(m)}`, field: renderPath(p) });
  }
  let message: string;
  if (causes.length === 1) {
    message = `Apply failed with 1 conflict: ${causes[0]!.message}: ${causes[0]!.field}`;
  } else {
    const lines: string[] = [];
    for (const [m, paths] of conflicts) {
      lines.push(`conflicts with ${managerText(m)}:`);
      for (const p of paths) lines.push(`- ${renderPath(p)}`);
    }
    message = `Apply failed with ${causes.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}
