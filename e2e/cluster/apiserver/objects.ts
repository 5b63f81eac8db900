/**
 * Object helpers of the API server that hold no server state: names, namespaces, the parts of an
 * object that `generation` and no-op detection look at, Job selector defaulting, watch event
 * lines, and the type info that treats metadata as a ConfigMap's.
 */
import { badRequest } from './errors.js';
import { BuiltinTypeInfo, type ListType, type TypeInfo } from './patch-meta.js';
import { deepEqual, isObject, type Json, type JsonObject, type KubeObject } from './types.js';

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function nsOf(o: KubeObject): string | undefined {
  const ns = o.metadata['namespace'];
  return typeof ns === 'string' ? ns : undefined;
}

export function nameOf(o: KubeObject): string {
  return String(o.metadata['name']);
}

export function asKube(v: Json, what: string): KubeObject {
  if (!isObject(v)) throw badRequest(`${what}: the request body must be a JSON object`);
  if (!isObject(v['metadata'])) v['metadata'] = {};
  return v as KubeObject;
}

/** Everything but metadata and status: what `generation` tracks. */
export function specPart(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') out[k] = v;
  return out;
}

export function withoutVolatile(o: KubeObject): JsonObject {
  const md = { ...o.metadata };
  delete md['resourceVersion'];
  delete md['managedFields'];
  return { ...o, metadata: md };
}

/** A Job without `manualSelector` gets a selector and pod labels derived from its uid, as the real server sets them. */
export function jobSelector(job: KubeObject): void {
  const spec = isObject(job['spec']) ? job['spec'] : undefined;
  if (!spec || spec['manualSelector'] === true) return;
  const uid = String(job.metadata['uid']);
  const name = String(job.metadata['name']);
  spec['selector'] = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const tmpl = isObject(spec['template']) ? spec['template'] : (spec['template'] = {});
  const md = isObject(tmpl['metadata']) ? tmpl['metadata'] : (tmpl['metadata'] = {});
  md['labels'] = {
    ...(isObject(md['labels']) ? md['labels'] : {}),
    'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name,
  };
}

/** The PartialObjectMetadata form of an object; `creationTimestamp` is always present (null when unset, as Go's ObjectMeta encodes it: bookmarks). */
export function partialMetadata(o: KubeObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { ...o.metadata, creationTimestamp: o.metadata['creationTimestamp'] ?? null } };
}

/** Serialized watch events, shared by every watcher of the same object version and event type. */
const EVENT_LINES = new WeakMap<JsonObject, Map<string, string>>();

export function eventLine(type: string, object: JsonObject): string {
  let byType = EVENT_LINES.get(object);
  if (!byType) EVENT_LINES.set(object, (byType = new Map()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = `${JSON.stringify({ type, object })}\n`));
  return line;
}

/** managedFields equal apart from timestamps: a write that changes nothing else is a no-op. */
export function sameOwnership(a: Json | undefined, b: Json | undefined): boolean {
  const strip = (v: Json | undefined): Json[] => (Array.isArray(v) ? v.map((e) => (isObject(e) ? { ...e, time: null } : e)) : []);
  return deepEqual(strip(a), strip(b));
}

export class MetaFirstTypeInfo implements TypeInfo {
  readonly #meta = new BuiltinTypeInfo('ConfigMap');
  readonly #inner: TypeInfo;

  constructor(inner: TypeInfo) {
    this.#inner = inner;
  }

  listType(p: readonly string[]): ListType {
    return p[0] === 'metadata' ? this.#meta.listType(p) : this.#inner.listType(p);
  }

  atomicMap(p: readonly string[]): boolean {
    return p[0] === 'metadata' ? false : this.#inner.atomicMap?.(p) ?? false;
  }
}
