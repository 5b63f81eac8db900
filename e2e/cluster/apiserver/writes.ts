/**
 * Writes of the API server: create and update (PUT) of objects, and the commit every write ends
 * in (subresource rules, immutable metadata, generation, managedFields, storage), with the side
 * effects a stored write has (CRDs served or withdrawn, a namespace's `default` ServiceAccount).
 * Patches and server-side apply (`patch-requests.ts`) and deletion (`deletion.ts`) commit here.
 *
 * Contracts: every function throws `ApiError`s (400/403/404/409/422) before anything is stored;
 * `dryRun` writes return the object that would be stored and store nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { admit } from './admission.js';
import { crdSchema, mustGet, present, storageType, type ServerContext, type Target, type WriteOptions } from './context.js';
import { eventToCore } from './conversion.js';
import { crdResourceTypes, establish, SchemaTypeInfo } from './crd.js';
import { GENERATION_KINDS, initialStatus } from './defaults.js';
import { ApiError, STALE_MESSAGE, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js';
import { trackUpdate, type WriteContext } from './managed-fields.js';
import { jobSelector, MetaFirstTypeInfo, nameOf, now, nsOf, sameOwnership, specPart, withoutVolatile } from './objects.js';
import { BuiltinTypeInfo, type TypeInfo } from './patch-meta.js';
import { checkDecodable } from './validation.js';
import { apiVersionOf, deepClone, deepEqual, getPath, isObject, type JsonObject, type KubeObject, type ResourceType } from './types.js';

/** Kinds whose PUT creates a missing object (`AllowCreateOnUpdate` in the real strategies). */
const CREATE_ON_UPDATE = new Set(['Lease', 'Endpoints']);

/** Options of the writes the server makes itself (bootstrap objects, controllers). */
export function internalOpts(manager = 'kube-apiserver'): WriteOptions {
  return { manager, dryRun: false, fieldValidation: 'Ignore', warnings: [] };
}

function typeInfo(ctx: Pick<ServerContext, 'store'>, t: ResourceType): TypeInfo {
  if (t.crdName) return new MetaFirstTypeInfo(new SchemaTypeInfo(crdSchema(ctx, t)));
  return new BuiltinTypeInfo(t.kind);
}

/** What managedFields tracking needs to know about a write of type `t`. */
export function writeContext(ctx: Pick<ServerContext, 'store'>, t: ResourceType, opts: WriteOptions, time: string): WriteContext {
  return { manager: opts.manager, apiVersion: apiVersionOf(t), info: typeInfo(ctx, t), now: time, ...(opts.sub && opts.sub !== 'scale' ? { subresource: opts.sub } : {}) };
}

/** Defaulting, pruning and validation shared by create and update; throws 400/422. */
function admitFor(ctx: Pick<ServerContext, 'store'>, t: ResourceType, o: KubeObject, old: KubeObject | undefined, opts: WriteOptions): void {
  admit(t, o, old, opts, t.crdName ? crdSchema(ctx, t) : undefined);
}

/** Fills in a missing kind/apiVersion; 400 when the body is of another kind or an unserved version. */
export function checkKind(ctx: Pick<ServerContext, 'registry'>, t: ResourceType, o: KubeObject): void {
  const av = apiVersionOf(t);
  if (o.kind === undefined || o.kind === null) o.kind = t.kind;
  if (o.apiVersion === undefined || o.apiVersion === null) o.apiVersion = av;
  if (o.kind !== t.kind) throw badRequest(`the object provided is unrecognized (kind ${String(o.kind)} sent to ${t.resource}, which serves ${t.kind})`);
  if (o.apiVersion !== av) {
    const other = ctx.registry.byKind(String(o.apiVersion), t.kind);
    if (!other || other.storageKey !== t.storageKey) throw badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${av})`);
    o.apiVersion = av;
  }
}

/** `owned`: the caller hands over `input` (a freshly parsed body), so it is not copied. */
export function createObject(ctx: ServerContext, requested: ResourceType, ns: string | undefined, input: KubeObject, opts: WriteOptions, owned = false): KubeObject {
  let o = owned ? input : deepClone(input);
  checkKind(ctx, requested, o);
  if (!requested.crdName) checkDecodable(requested, o);
  const t = storageType(ctx, requested);
  if (t !== requested) o = eventToCore(o);
  const md = o.metadata;
  if (t.scope === 'Namespaced') {
    if (ns === undefined) throw badRequest('the namespace of the object must be set in the request path');
    if (md['namespace'] !== undefined && md['namespace'] !== '' && md['namespace'] !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    md['namespace'] = ns;
    const nsObj = ctx.store.get('/namespaces', undefined, ns);
    if (!nsObj) throw notFound('namespaces', '', ns);
    if (nsObj.metadata['deletionTimestamp']) {
      throw new ApiError(403, 'Forbidden', `${t.resource} "${String(md['name'] ?? md['generateName'] ?? '')}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, { causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] });
    }
  } else {
    delete md['namespace'];
  }
  if ((md['name'] === undefined || md['name'] === '') && typeof md['generateName'] === 'string' && md['generateName'] !== '') {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    let suffix = '';
    for (const b of randomBytes(5)) suffix += alphabet[b % alphabet.length];
    md['name'] = `${md['generateName']}${suffix}`;
  }
  if (typeof md['name'] !== 'string' || md['name'] === '') {
    throw invalid(t.kind, t.group, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  }
  if (ctx.store.get(t.storageKey, nsOf(o), nameOf(o))) throw alreadyExists(t.resource, t.group, nameOf(o));
  const time = now();
  md['uid'] = randomUUID();
  md['creationTimestamp'] = time;
  delete md['deletionTimestamp'];
  delete md['deletionGracePeriodSeconds'];
  delete md['resourceVersion'];
  if (GENERATION_KINDS.has(t.kind) || t.crdName) md['generation'] = 1;
  else delete md['generation'];
  // Like kube-apiserver's node strategy, a Node keeps the status it is created with (the
  // kubelet registers with its addresses and daemon endpoints); other kinds start from scratch.
  if (t.statusSubresource && t.kind !== 'Node') {
    const st = t.crdName ? undefined : initialStatus(o);
    if (st === undefined) delete o['status'];
    else o['status'] = st;
  }
  if (t.kind === 'Service') {
    const problem = ctx.addresses.allocate(o, ctx.store.list('/services'));
    if (problem) throw invalid('Service', '', nameOf(o), [problem]);
  }
  if (t.kind === 'Job') jobSelector(o);
  admitFor(ctx, t, o, undefined, opts);
  if (t.kind === 'Pod') admitServiceAccount(ctx, o);
  if (t.kind === 'CustomResourceDefinition') establish(o, time);
  md['managedFields'] = opts.managedFields ?? trackUpdate(undefined, { ...o, metadata: { ...md, managedFields: [] } }, writeContext(ctx, t, opts, time), md['managedFields']);
  if (opts.dryRun) return o;
  const stored = ctx.store.put(t.storageKey, o);
  afterWrite(ctx, t, undefined, stored);
  return stored;
}

/** The ServiceAccount admission plugin: a pod's service account must exist in its namespace. */
function admitServiceAccount(ctx: Pick<ServerContext, 'store'>, pod: KubeObject): void {
  const sa = String(getPath(pod, 'spec.serviceAccountName') ?? 'default');
  const ns = String(pod.metadata['namespace']);
  if (!ctx.store.get('/serviceaccounts', ns, sa)) {
    throw new ApiError(403, 'Forbidden', `pods "${nameOf(pod)}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`, { name: nameOf(pod), kind: 'pods' });
  }
}

/** PUT of an object (or its status): optimistic concurrency on resourceVersion, create-on-update for Lease and Endpoints. */
export function updateObject(ctx: ServerContext, target: Target, input: KubeObject, opts: WriteOptions): KubeObject {
  const { t } = target;
  if (CREATE_ON_UPDATE.has(t.kind) && opts.sub === undefined && !ctx.store.get(t.storageKey, target.ns, String(target.name))) {
    const body = deepClone(input);
    if (body.metadata['name'] === undefined) body.metadata['name'] = String(target.name);
    return present(t, createObject(ctx, t, target.ns, body, opts));
  }
  const old = mustGet(ctx, target);
  let body = deepClone(input);
  checkKind(ctx, t, body);
  const st = storageType(ctx, t);
  if (st !== t) body = eventToCore(body);
  if (body.metadata['name'] !== undefined && body.metadata['name'] !== target.name) {
    throw badRequest(`the name of the object (${String(body.metadata['name'])}) does not match the name on the URL (${String(target.name)})`);
  }
  const rv = body.metadata['resourceVersion'];
  if (rv !== undefined && rv !== '' && rv !== old.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
  const out = commitUpdate(ctx, st, old, body, opts);
  return present(t, out);
}

/** Applies an update on top of `old`: subresource rules, immutable metadata, generation, ownership. */
export function commitUpdate(ctx: ServerContext, t: ResourceType, old: KubeObject, input: KubeObject, opts: WriteOptions): KubeObject {
  if (!t.crdName) checkDecodable(t, input);
  let next: KubeObject;
  if (opts.sub === 'status') {
    next = deepClone(old);
    if (input['status'] === undefined) delete next['status'];
    else next['status'] = deepClone(input['status']);
  } else {
    next = input;
    if (t.statusSubresource) {
      if (old['status'] === undefined) delete next['status'];
      else next['status'] = deepClone(old['status']);
    }
  }
  const md = next.metadata;
  const omd = old.metadata;
  for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
    if (omd[k] === undefined) delete md[k];
    else md[k] = omd[k]!;
  }
  if (md['resourceVersion'] === undefined || md['resourceVersion'] === '') md['resourceVersion'] = omd['resourceVersion']!;
  if (omd['deletionTimestamp']) {
    const before = new Set((Array.isArray(omd['finalizers']) ? omd['finalizers'] : []).map(String));
    const added = (Array.isArray(md['finalizers']) ? md['finalizers'] : []).map(String).filter((f) => !before.has(f));
    if (added.length > 0) {
      throw invalid(t.kind, t.group, nameOf(old), [{ reason: 'FieldValueForbidden', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((a) => JSON.stringify(a)).join(', ')}}`, field: 'metadata.finalizers' }]);
    }
  }
  if (t.kind === 'Service' && isObject(next['spec']) && isObject(old['spec'])) {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
      if ((next['spec'][k] === undefined || next['spec'][k] === '') && old['spec'][k] !== undefined) next['spec'][k] = deepClone(old['spec'][k]!);
    }
  }
  admitFor(ctx, t, next, old, opts);
  if (t.kind === 'CustomResourceDefinition') {
    next['status'] = deepClone(old['status'] ?? {});
    establish(next, now());
    if (isObject(old['status']) && Array.isArray(old['status']['conditions'])) (next['status'] as JsonObject)['conditions'] = deepClone(old['status']['conditions']);
  }
  if ((GENERATION_KINDS.has(t.kind) || t.crdName) && !deepEqual(specPart(old), specPart(next))) {
    md['generation'] = (typeof omd['generation'] === 'number' ? omd['generation'] : 1) + 1;
  }
  const time = now();
  // A request that sets managedFields explicitly replaces the stored ownership (`[]` clears it).
  const requested = md['managedFields'];
  const base = Array.isArray(requested) && !deepEqual(requested, omd['managedFields'] ?? []) ? requested : omd['managedFields'];
  md['managedFields'] = opts.managedFields ?? trackUpdate(old, next, writeContext(ctx, t, opts, time), base);
  if (deepEqual(withoutVolatile(old), withoutVolatile(next)) && sameOwnership(omd['managedFields'], md['managedFields'])) return old;
  if (opts.dryRun) return next;
  if (md['deletionTimestamp'] && (!Array.isArray(md['finalizers']) || md['finalizers'].length === 0) && !(t.kind === 'Pod' && md['deletionGracePeriodSeconds'] !== 0 && md['deletionGracePeriodSeconds'] !== undefined)) {
    const removed = ctx.store.remove(t.storageKey, nsOf(old), nameOf(old));
    afterWrite(ctx, t, old, undefined);
    return removed ?? next;
  }
  const stored = ctx.store.put(t.storageKey, next);
  afterWrite(ctx, t, old, stored);
  return stored;
}

/** Side effects of a stored write: CRDs served or withdrawn (OpenAPI cache cleared), a new namespace's `default` ServiceAccount. */
export function afterWrite(ctx: ServerContext, t: ResourceType, old: KubeObject | undefined, now_: KubeObject | undefined): void {
  if (t.kind === 'CustomResourceDefinition') {
    ctx.openapi.docs.clear();
    ctx.openapi.hashes.clear();
    const name = nameOf((now_ ?? old)!);
    ctx.registry.removeCrd(name);
    if (now_) registerCrd(ctx, now_);
  }
  if (t.kind === 'Namespace' && now_ && !old) {
    const sa = ctx.registry.get('', 'v1', 'serviceaccounts')!;
    const ns = nameOf(now_);
    if (!ctx.store.get(sa.storageKey, ns, 'default')) {
      createObject(ctx, sa, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }, internalOpts('kube-controller-manager'));
    }
  }
}

/** Serves the types of a CRD that is not being deleted. */
export function registerCrd(ctx: Pick<ServerContext, 'registry'>, crd: KubeObject): void {
  if (crd.metadata['deletionTimestamp']) return;
  for (const rt of crdResourceTypes(crd)) ctx.registry.add(rt);
}
