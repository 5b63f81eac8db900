/**
 * PATCH requests of the API server: JSON patch, merge patch and strategic merge patch of objects
 * and their status and scale subresources, and server-side apply with field ownership (including
 * the takeover of objects `kubectl apply` managed client side). Results are committed through
 * `writes.ts`.
 */
import { mustGet, present, storageType, type ServerContext, type Target, type WriteOptions } from './context.js';
import { eventToCore } from './conversion.js';
import { ApiError, STALE_MESSAGE, badRequest, conflict, notFound } from './errors.js';
import { serverSideApply } from './managed-fields.js';
import { asKube, now } from './objects.js';
import { BuiltinTypeInfo } from './patch-meta.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { putScale, scaleOf } from './scale.js';
import { apiVersionOf, deepClone, isObject, type Json, type JsonObject, type KubeObject, type ResourceType } from './types.js';
import { checkKind, commitUpdate, createObject, writeContext } from './writes.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** PATCH of an object or its status/scale: JSON, merge and strategic merge patches; apply patches go to `apply`. */
export function patch(ctx: ServerContext, target: Target, body: Json, contentType: string, q: URLSearchParams, opts: WriteOptions): { obj: KubeObject | JsonObject; created: boolean } {
  const { t } = target;
  const ct = contentType.split(';')[0]!.trim();
  if (ct === 'application/apply-patch+yaml' || ct === 'application/apply-patch+cbor') return apply(ctx, target, body, q, opts);
  if (q.get('force') === 'true') throw badRequest('force: Invalid value: true: may not be specified for non-apply patch');
  if (target.sub === 'scale') {
    const o = mustGet(ctx, target);
    const scale = scaleOf(t, o);
    const patched = patchDoc(t, scale, body, ct);
    return { obj: putScale(ctx, target, patched as KubeObject, opts), created: false };
  }
  const old = mustGet(ctx, target);
  const st = storageType(ctx, t);
  let patched = patchDoc(t, present(t, old), body, ct) as KubeObject;
  if (!isObject(patched['metadata'])) patched['metadata'] = {};
  const prv = patched.metadata['resourceVersion'];
  if (prv !== undefined && prv !== old.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
  if (patched.metadata['uid'] !== undefined && patched.metadata['uid'] !== old.metadata['uid']) {
    throw conflict(t.resource, t.group, String(target.name), `Precondition failed: UID in precondition: ${String(patched.metadata['uid'])}, UID in object meta: ${String(old.metadata['uid'])}`);
  }
  checkKind(ctx, t, patched);
  if (st !== t) patched = eventToCore(patched);
  return { obj: present(t, commitUpdate(ctx, st, old, patched, opts)), created: false };
}

/** `doc` with a JSON, merge or strategic merge patch applied; 415 for other media types (and strategic merge on custom resources). */
function patchDoc(t: ResourceType, doc: JsonObject, body: Json, ct: string): JsonObject {
  const base = { ...doc, metadata: { ...(doc['metadata'] as JsonObject) } };
  switch (ct) {
    case 'application/json-patch+json':
      return applyJsonPatch(base, body);
    case 'application/merge-patch+json':
      return applyMergePatch(base, body) as JsonObject;
    case 'application/strategic-merge-patch+json': {
      if (t.crdName) {
        throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
      }
      const info = new BuiltinTypeInfo(t.kind);
      return applyStrategicMergePatch(base, body, (p) => info.patchMeta(p));
    }
    default:
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${t.crdName ? '' : ', application/strategic-merge-patch+json'}`);
  }
}

/** Server-side apply (`application/apply-patch+yaml`): creates the object or merges the applied configuration with field ownership. */
function apply(ctx: ServerContext, target: Target, body: Json, q: URLSearchParams, opts: WriteOptions): { obj: KubeObject; created: boolean } {
  const { t } = target;
  if (!q.get('fieldManager')) {
    throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
    });
  }
  let applied = asKube(deepClone(body), 'apply');
  if (applied.metadata['managedFields'] !== undefined && applied.metadata['managedFields'] !== null) {
    throw badRequest('metadata.managedFields must be nil');
  }
  checkKind(ctx, t, applied);
  const st = storageType(ctx, t);
  if (st !== t) applied = eventToCore(applied);
  if (applied.metadata['name'] !== undefined && applied.metadata['name'] !== target.name) {
    throw badRequest(`the name of the object (${String(applied.metadata['name'])}) does not match the name on the URL (${String(target.name)})`);
  }
  applied.metadata['name'] = String(target.name);
  if (t.scope === 'Namespaced') {
    if (applied.metadata['namespace'] !== undefined && applied.metadata['namespace'] !== target.ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const sub = opts.sub;
  if (sub === 'status') {
    for (const k of Object.keys(applied)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete applied[k];
    applied.metadata = { name: applied.metadata['name']!, ...(applied.metadata['namespace'] ? { namespace: applied.metadata['namespace'] } : {}) };
  } else if (t.statusSubresource) {
    delete applied['status'];
  }
  const force = q.get('force') === 'true';
  const existing = t.scope === 'Namespaced' && target.ns === undefined ? undefined : ctx.store.get(t.storageKey, target.ns, String(target.name));
  const time = now();
  const wctx = writeContext(ctx, st, opts, time);
  if (!existing) {
    if (sub) throw notFound(t.resource, t.group, String(target.name));
    const result = serverSideApply(undefined, applied, wctx, force);
    const o = result.obj as KubeObject;
    o.apiVersion = apiVersionOf(st);
    o.kind = st.kind;
    const created = createObject(ctx, st, target.ns, o, { ...opts, managedFields: result.managedFields });
    return { obj: present(t, created), created: true };
  }
  const rv = applied.metadata['resourceVersion'];
  if (rv !== undefined && rv !== existing.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
  const lastApplied = lastAppliedOf(existing, opts.manager);
  const result = serverSideApply(existing, applied, wctx, force, lastApplied);
  const next = result.obj as KubeObject;
  if (lastApplied) {
    const ann = isObject(next.metadata['annotations']) ? next.metadata['annotations'] : (next.metadata['annotations'] = {});
    const copy = deepClone(applied);
    delete copy.metadata['managedFields'];
    ann[LAST_APPLIED] = `${JSON.stringify(copy)}\n`;
  }
  return { obj: present(t, commitUpdate(ctx, st, existing, next, { ...opts, managedFields: result.managedFields })), created: false };
}

/**
 * The last-applied configuration of an object managed by `kubectl apply` (client side), when
 * `kubectl apply --server-side` (manager "kubectl") takes it over: its fields may be taken
 * over without conflicts, and the annotation is kept in sync.
 */
function lastAppliedOf(live: KubeObject, manager: string): JsonObject | undefined {
  if (manager !== 'kubectl') return undefined;
  const ann = live.metadata['annotations'];
  const text = isObject(ann) ? ann[LAST_APPLIED] : undefined;
  if (typeof text !== 'string') return undefined;
  try {
    const parsed = JSON.parse(text) as Json;
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
