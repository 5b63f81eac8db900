/**
 * OpenAPI documents for clients: `/openapi/v3` (index + one JSON document per group-version,
 * what kubectl 1.27+ uses for explain, server-side field validation discovery and apply) and
 * `/openapi/v2` (kubectl only asks for protobuf; we serve a minimal valid gnostic Document so
 * client-side tooling falls back to server-side validation).
 *
 * Per-group-version documents list every resource path with its operations carrying
 * `x-kubernetes-group-version-kind` and the `fieldValidation`/`dryRun`/`fieldManager` query
 * parameters, and a schema per kind: the CRD's `openAPIV3Schema` for custom resources, the
 * declared Kubernetes types (see `known-fields.ts`) for built-ins. Built-in PATCH operations do
 * not advertise strategic-merge-patch, so kubectl computes those patches from its compiled-in
 * types (exact patch metadata) rather than from these schemas.
 */
import { createHash } from 'node:crypto';
import type { ResourceRegistry } from './resources.js';
import { apiVersionOf, type JsonObject, type ResourceType } from './types.js';

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function schemaName(t: ResourceType): string {
  const g = t.group === '' ? 'core' : t.group.split('.').reverse().join('.');
  return `${g}.${t.version}.${t.kind}`;
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((n) => ({
  name: n,
  in: 'query',
  schema: n === 'force' ? { type: 'boolean' } : { type: 'string' },
  uniqueItems: true,
}));

export function openApiV3Index(reg: ResourceRegistry, hashOf: (g: string, v: string) => string): JsonObject {
  const paths: JsonObject = {};
  for (const [group, versions] of reg.groups()) {
    for (const v of versions) {
      const p = gvPath(group, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(group, v)}` };
    }
  }
  return { paths };
}

/** A kind's root schema name and the schemas it needs (itself included). */
export interface KindSchemas {
  readonly name: string;
  readonly schemas: JsonObject;
}

export function openApiV3Doc(reg: ResourceRegistry, group: string, version: string, schemaOf: (t: ResourceType) => KindSchemas | undefined): JsonObject | undefined {
  const types = reg.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: JsonObject = {};
  const schemas: JsonObject = {};
  const prefix = `/${gvPath(group, version)}`;
  for (const t of types) {
    const gvk = { group, version, kind: t.kind };
    const own = schemaOf(t);
    const rootName = own?.name ?? schemaName(t);
    const ref = { $ref: `#/components/schemas/${rootName}` };
    const body = { content: { 'application/json': { schema: ref } } };
    const patchContent: JsonObject = {
      'application/apply-patch+yaml': { schema: { type: 'object' } },
      'application/json-patch+json': { schema: { type: 'object' } },
      'application/merge-patch+json': { schema: { type: 'object' } },
    };
    const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
    const op = (action: string, extra: JsonObject = {}): JsonObject => ({
      'x-kubernetes-group-version-kind': gvk,
      'x-kubernetes-action': action,
      operationId: `${action}${t.kind}`,
      parameters: QUERY_PARAMS,
      responses: ok,
      ...extra,
    });
    const base = t.scope === 'Namespaced' ? `${prefix}/namespaces/{namespace}/${t.resource}` : `${prefix}/${t.resource}`;
    paths[base] = { get: op('list'), post: op('post', { requestBody: body }), delete: op('deletecollection') };
    paths[`${base}/{name}`] = {
      get: op('get'),
      put: op('put', { requestBody: body }),
      patch: op('patch', { requestBody: { content: patchContent } }),
      delete: op('delete'),
    };
    if (t.statusSubresource) {
      paths[`${base}/{name}/status`] = { get: op('get'), put: op('put', { requestBody: body }), patch: op('patch', { requestBody: { content: patchContent } }) };
    }
    if (own) Object.assign(schemas, own.schemas);
    schemas[rootName] = {
      ...((own?.schemas[rootName] as JsonObject | undefined) ?? { type: 'object', description: `${t.kind} (${apiVersionOf(t)})`, 'x-kubernetes-preserve-unknown-fields': true }),
      'x-kubernetes-group-version-kind': [gvk],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

export function docHash(doc: JsonObject): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
}

// ---------------------------------------------------------------- protobuf v2

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function field(no: number, bytes: Uint8Array | number[]): number[] {
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
}

function strField(no: number, s: string): number[] {
  return field(no, Buffer.from(s, 'utf8'));
}

/** A gnostic `openapi_v2.Document` with swagger "2.0", info and empty paths/definitions. */
export function openApiV2Protobuf(): Buffer {
  const info = [...strField(1, 'Kubernetes'), ...strField(6, 'v1.32.0')];
  const doc = [...strField(1, '2.0'), ...field(2, info), ...field(8, [])];
  return Buffer.from(doc);
}
