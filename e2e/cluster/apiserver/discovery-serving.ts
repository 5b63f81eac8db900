/**
 * Discovery and OpenAPI serving of the API server: the group list, per group/version resource
 * lists, aggregated discovery (`apidiscovery.k8s.io/v2`) and the OpenAPI v2/v3 documents, all
 * derived from the resource registry (built-in types and established CRDs).
 */
import type http from 'node:http';
import { crdSchema, type ServerContext } from './context.js';
import { ApiError } from './errors.js';
import { send } from './http-io.js';
import { builtinSchemas } from './known-fields.js';
import { docHash, openApiV2Protobuf, openApiV3Doc, openApiV3Index } from './openapi.js';
import type { JsonObject } from './types.js';

/** `/apis`: the APIGroupList of every non-core group, preferred version first. */
export function groupList(ctx: Pick<ServerContext, 'registry'>): JsonObject {
  const groups: JsonObject[] = [];
  for (const [g, versions] of ctx.registry.groups()) {
    if (g === '') continue;
    const vs = versions.map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
    groups.push({ name: g, versions: vs, preferredVersion: vs[0]! });
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** Aggregated discovery (`apidiscovery.k8s.io/v2`): every group, version and resource in one document. */
export function aggregatedDiscovery(ctx: Pick<ServerContext, 'registry'>, core: boolean): JsonObject {
  const items: JsonObject[] = [];
  for (const [group, versions] of ctx.registry.groups()) {
    if ((group === '') !== core) continue;
    items.push({
      metadata: group === '' ? {} : { name: group },
      versions: versions.map((version) => ({
        version,
        freshness: 'Current',
        resources: ctx.registry.inGroupVersion(group, version).map((t) => {
          const kind = { group: t.group, version: t.version, kind: t.kind };
          const subresources: JsonObject[] = [];
          if (t.statusSubresource) subresources.push({ subresource: 'status', responseKind: kind, verbs: ['get', 'patch', 'update'] });
          if (t.scale) subresources.push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
          if (t.kind === 'Pod') {
            subresources.push({ subresource: 'log', responseKind: kind, verbs: ['get'] });
            subresources.push({ subresource: 'binding', responseKind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] });
            subresources.push({ subresource: 'eviction', responseKind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
          }
          if (t.kind === 'ServiceAccount') subresources.push({ subresource: 'token', responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, verbs: ['create'] });
          return {
            resource: t.resource,
            responseKind: kind,
            scope: t.scope,
            singularResource: t.singular,
            verbs: [...t.verbs],
            ...(t.shortNames.length ? { shortNames: [...t.shortNames] } : {}),
            ...(t.categories.length ? { categories: [...t.categories] } : {}),
            ...(subresources.length ? { subresources } : {}),
          };
        }),
      })),
    });
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

/** `/api/<v>` and `/apis/<group>/<v>`: the APIResourceList with subresources; 404 for an unserved group/version. */
export function resourceList(ctx: Pick<ServerContext, 'registry'>, group: string, version: string): JsonObject {
  const types = ctx.registry.inGroupVersion(group, version);
  if (types.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const resources: JsonObject[] = [];
  for (const t of types) {
    const namespaced = t.scope === 'Namespaced';
    resources.push({
      name: t.resource, singularName: t.singular, namespaced, kind: t.kind, verbs: [...t.verbs],
      ...(t.shortNames.length ? { shortNames: [...t.shortNames] } : {}),
      ...(t.categories.length ? { categories: [...t.categories] } : {}),
      storageVersionHash: Buffer.from(t.storageKey).toString('base64').slice(0, 11),
    });
    if (t.statusSubresource) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    if (t.scale) resources.push({ name: `${t.resource}/scale`, singularName: '', namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    if (t.kind === 'Pod') {
      resources.push({ name: 'pods/log', singularName: '', namespaced, kind: 'Pod', verbs: ['get'] });
      resources.push({ name: 'pods/binding', singularName: '', namespaced, kind: 'Binding', verbs: ['create'] });
      resources.push({ name: 'pods/eviction', singularName: '', namespaced, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
    }
    if (t.kind === 'ServiceAccount') resources.push({ name: 'serviceaccounts/token', singularName: '', namespaced, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
    if (t.kind === 'Namespace') resources.push({ name: 'namespaces/finalize', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}

/** `/openapi/v2` (protobuf, or an empty JSON document) and `/openapi/v3` (index and per group/version documents, cached in `ctx.openapi`). */
export function serveOpenApi(ctx: Pick<ServerContext, 'store' | 'registry' | 'openapi'>, res: http.ServerResponse, segs: string[], url: URL): void {
  if (segs[1] === 'v2') {
    const body = openApiV2Protobuf();
    const accept = url.searchParams.get('format');
    if (accept === 'json') return send(res, 200, { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: {}, definitions: {} });
    res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'Content-Length': body.length });
    res.end(body);
    return;
  }
  if (segs[1] !== 'v3') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const docFor = (g: string, v: string): JsonObject | undefined => {
    const key = `${g}/${v}`;
    if (ctx.openapi.docs.has(key)) return ctx.openapi.docs.get(key);
    const doc = openApiV3Doc(ctx.registry, g, v, (t) => {
      if (!t.crdName) return builtinSchemas(t);
      const s = crdSchema(ctx, t);
      const name = `${t.group.split('.').reverse().join('.')}.${t.version}.${t.kind}`;
      return s ? { name, schemas: { [name]: s } } : undefined;
    });
    ctx.openapi.docs.set(key, doc);
    return doc;
  };
  if (segs.length === 2) {
    return send(res, 200, openApiV3Index(ctx.registry, (g, v) => {
      const key = `${g}/${v}`;
      let h = ctx.openapi.hashes.get(key);
      if (!h) ctx.openapi.hashes.set(key, (h = docHash(docFor(g, v) ?? {})));
      return h;
    }));
  }
  const rest = segs.slice(2);
  const [group, version] = rest[0] === 'api' ? ['', rest[1]!] : [rest[1]!, rest[2]!];
  const doc = docFor(group, version ?? '');
  if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  send(res, 200, doc);
}
