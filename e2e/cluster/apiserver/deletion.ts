/**
 * Deletion in the API server: DELETE of one object and of collections, with the semantics of the
 * real server's graceful deletion and finalizers. What remains after a delete (dependents,
 * namespace content, finalizer removal) is finished by the garbage collector
 * (`garbage-collector.ts`), which `ctx.scheduleGc()` wakes.
 */
import { mustGet, present, type ServerContext, type Target } from './context.js';
import { crdResourceTypes } from './crd.js';
import { ApiError, badRequest, conflict } from './errors.js';
import { nameOf, now, nsOf } from './objects.js';
import { matchesSelectors, requestSelectors } from './reads.js';
import { apiVersionOf, deepClone, deepEqual, getPath, isObject, type Json, type JsonObject, type KubeObject, type ResourceType } from './types.js';
import { afterWrite } from './writes.js';

/**
 * DELETE of one object: preconditions, `dryRun`, propagation policy (`orphan` and
 * `foregroundDeletion` finalizers), graceful deletion of bound pods, namespace termination, and
 * objects with finalizers kept with `deletionTimestamp` (202) until the garbage collector or
 * their controllers finish them.
 */
export function deleteObject(ctx: ServerContext, target: Target, q: URLSearchParams, body: JsonObject): { code: number; body: Json } {
  const { t } = target;
  const o = mustGet(ctx, target);
  const pre = isObject(body['preconditions']) ? body['preconditions'] : {};
  if (pre['uid'] !== undefined && pre['uid'] !== o.metadata['uid']) {
    throw conflict(t.resource, t.group, nameOf(o), `Precondition failed: UID in precondition: ${String(pre['uid'])}, UID in object meta: ${String(o.metadata['uid'])}`);
  }
  if (pre['resourceVersion'] !== undefined && pre['resourceVersion'] !== o.metadata['resourceVersion']) {
    throw conflict(t.resource, t.group, nameOf(o), `Precondition failed: ResourceVersion in precondition: ${String(pre['resourceVersion'])}, ResourceVersion in object meta: ${String(o.metadata['resourceVersion'])}`);
  }
  const dryRun = q.getAll('dryRun').includes('All') || (Array.isArray(body['dryRun']) && body['dryRun'].includes('All'));
  let policy = String(q.get('propagationPolicy') ?? body['propagationPolicy'] ?? '');
  const orphanDependents = body['orphanDependents'] ?? (q.get('orphanDependents') === null ? undefined : q.get('orphanDependents') === 'true');
  // Without a policy or orphanDependents in the request, an object already being deleted keeps
  // the garbage-collection finalizers it has; with one, they are replaced by the request's.
  const explicitPolicy = policy !== '' || orphanDependents !== undefined;
  if (policy === '') policy = orphanDependents === true ? 'Orphan' : 'Background';
  if (!['Orphan', 'Background', 'Foreground'].includes(policy)) throw badRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
  const graceParam = q.get('gracePeriodSeconds') ?? (body['gracePeriodSeconds'] !== undefined ? String(body['gracePeriodSeconds']) : null);
  const success = (obj: KubeObject): { code: number; body: Json } =>
    t.kind === 'Pod' || t.crdName ? { code: 200, body: present(t, obj) } : { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: nameOf(o), ...(t.group ? { group: t.group } : {}), kind: t.resource, uid: String(o.metadata['uid']) } } };
  if (dryRun) return success(o);

  const next = deepClone(o);
  const md = next.metadata;
  const finalizers = (Array.isArray(md['finalizers']) ? md['finalizers'] : []).map(String).filter((f) => !explicitPolicy || (f !== 'foregroundDeletion' && f !== 'orphan'));
  if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
  if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
  // As the real handler: 200 with the object while finalizers keep it; 202 only when the
  // client asked for cascading deletion with the deprecated `orphanDependents: false`.
  const pendingCode = orphanDependents === false ? 202 : 200;

  if (t.kind === 'Namespace') {
    if (['default', 'kube-system', 'kube-public'].includes(nameOf(o))) {
      throw new ApiError(403, 'Forbidden', `namespaces "${nameOf(o)}" is forbidden: this namespace may not be deleted`);
    }
    if (!md['deletionTimestamp']) {
      md['deletionTimestamp'] = now();
      md['deletionGracePeriodSeconds'] = 0;
      if (finalizers.length) md['finalizers'] = finalizers;
      next['status'] = { ...(isObject(next['status']) ? next['status'] : {}), phase: 'Terminating' };
      ctx.store.put(t.storageKey, next);
      ctx.scheduleGc();
    }
    return { code: 200, body: present(t, ctx.store.get(t.storageKey, undefined, nameOf(o)) ?? next) };
  }

  if (t.kind === 'Pod') {
    const phase = getPath(o, 'status.phase');
    const bound = typeof getPath(o, 'spec.nodeName') === 'string' && getPath(o, 'spec.nodeName') !== '';
    const dflt = getPath(o, 'spec.terminationGracePeriodSeconds');
    let grace = graceParam !== null ? Number(graceParam) : typeof dflt === 'number' ? dflt : 30;
    if (!bound || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    const current = md['deletionGracePeriodSeconds'];
    if (grace > 0 && (current === undefined || (typeof current === 'number' && grace < current))) {
      md['deletionTimestamp'] = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      md['deletionGracePeriodSeconds'] = grace;
      if (finalizers.length) md['finalizers'] = finalizers;
      const stored = ctx.store.put(t.storageKey, next);
      return { code: 200, body: present(t, stored) };
    }
    if (grace > 0 && current !== undefined) return { code: 200, body: present(t, o) };
    if (finalizers.length > 0) {
      md['deletionGracePeriodSeconds'] = 0;
    }
  }

  if (finalizers.length > 0) {
    if (!md['deletionTimestamp']) md['deletionTimestamp'] = now();
    md['deletionGracePeriodSeconds'] = 0;
    md['finalizers'] = finalizers;
    if (deepEqual(next, o)) return { code: pendingCode, body: present(t, o) };
    const stored = ctx.store.put(t.storageKey, next);
    ctx.scheduleGc();
    return { code: pendingCode, body: present(t, stored) };
  }
  if (t.kind === 'CustomResourceDefinition') removeCustomResources(ctx, o);
  const removed = ctx.store.remove(t.storageKey, nsOf(o), nameOf(o));
  afterWrite(ctx, t, o, undefined);
  return success(removed ?? o);
}

/** DELETE of a collection: deletes every object the selectors match (NotFound ones are skipped) and lists them. */
export function deleteCollection(ctx: ServerContext, t: ResourceType, ns: string | undefined, q: URLSearchParams, body: JsonObject): JsonObject {
  const sel = requestSelectors(t, q);
  const items = ctx.store.list(t.storageKey, ns).filter((o) => matchesSelectors(o, sel));
  for (const o of items) {
    try {
      deleteObject(ctx, { t, ns: nsOf(o), name: nameOf(o), sub: undefined }, q, body);
    } catch (e: unknown) {
      if (!(e instanceof ApiError) || e.code !== 404) throw e;
    }
  }
  return { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(ctx.store.resourceVersion) }, items: items.map((o) => present(t, o)) };
}

/** Deleting a CRD deletes every object of it, as the CRD cleanup finalizer does. */
function removeCustomResources(ctx: Pick<ServerContext, 'store'>, crd: KubeObject): void {
  const types = crdResourceTypes(crd);
  const key = types[0]?.storageKey;
  if (!key) return;
  for (const o of ctx.store.list(key)) ctx.store.remove(key, nsOf(o), nameOf(o));
}
