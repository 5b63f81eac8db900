/**
 * Shared value types of the test API server: JSON values, stored objects and resource types.
 * Depends on nothing; every other file in this folder may import it.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** A stored object. `metadata` is always present once stored. */
export interface KubeObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject;
}

export type Scope = 'Namespaced' | 'Cluster';

export interface ScaleSubresource {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly jsonPath: string;
}

/** One served group/version/resource. Built-in kinds come from `resources.ts`, CRDs add more at run time. */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  /** Plural, lower-case resource name used in URLs, e.g. `statefulsets`. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly scope: Scope;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  readonly statusSubresource: boolean;
  readonly scale?: ScaleSubresource;
  readonly logSubresource?: boolean;
  /** Storage key shared by every version of the same group/resource. */
  readonly storageKey: string;
  /** Present for custom resources: the CRD name that defines them. */
  readonly crdName?: string;
  /** Extra field-selector labels (besides metadata.name/metadata.namespace). */
  readonly fieldLabels: readonly string[];
  /** Create-only review resources that are answered, never stored (access and token reviews). */
  readonly virtual?: boolean;
}

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepClone<T extends Json>(v: T): T {
  return structuredClone(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) if (!(k in bo) || !deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** Reads a dotted path (`spec.replicas`, leading dot allowed) from an object. */
export function getPath(obj: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (part === '') continue;
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** Writes a dotted path, creating intermediate objects. */
export function setPath(obj: JsonObject, path: string, value: Json): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur: JsonObject = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]!];
    if (!isObject(next)) cur[parts[i]!] = {};
    cur = cur[parts[i]!] as JsonObject;
  }
  cur[parts[parts.length - 1]!] = value;
}

export function meta(obj: KubeObject): JsonObject {
  return obj.metadata;
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
