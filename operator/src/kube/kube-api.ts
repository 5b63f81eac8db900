/** The operator's port to the Kubernetes API; see README.md. */

export interface KubeObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  [field: string]: unknown;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class KubeError extends Error {
  readonly status: number;
  readonly reason: string;
  /** The HTTP status again under client-go's name, for code written against client-node errors. */
  readonly statusCode: number;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeError';
    this.status = status;
    this.statusCode = status;
    this.reason = reason;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeError && e.status === 409;

export interface DeleteOptions {
  /** `Orphan` keeps the dependents (e.g. a StatefulSet's pods) running. @default Background */
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /**
   * Deletes only the object with this uid: a newer object of the same name (a StatefulSet pod
   * recreated meanwhile) answers 409 Conflict and stays.
   */
  readonly uid?: string;
}

/** How a list or watch wants its objects. */
export interface ReadOptions {
  /**
   * Metadata only: the API server answers `PartialObjectMetadata` (kind
   * `PartialObjectMetadata[List]`, apiVersion `meta.k8s.io/v1`, the full `metadata` and nothing
   * else), as client-go's metadata informers ask for it. A server that ignores the request sends
   * whole objects; callers must accept both. @default false
   */
  readonly metadataOnly?: boolean;
}

export interface KubeApi {
  /** The object, or `undefined` when it does not exist. */
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, opts?: ReadOptions): Promise<{ items: T[]; resourceVersion: string }>;
  /**
   * Server-side apply (force) under the operator's field manager. With `metadataOnly` the answer
   * may be `PartialObjectMetadata` (the applied object's metadata only), which spares the server
   * encoding and the client parsing the whole object; callers must accept either form.
   */
  apply<T extends KubeObject = KubeObject>(obj: KubeObject, subresource?: 'status', opts?: ReadOptions): Promise<T>;
  mergePatch<T extends KubeObject = KubeObject>(ref: ObjectRef, patch: unknown, subresource?: 'status'): Promise<T>;
  create<T extends KubeObject = KubeObject>(obj: KubeObject): Promise<T>;
  /** PUT; the object's `metadata.resourceVersion` makes it a compare-and-swap (409 on conflict). */
  replace<T extends KubeObject = KubeObject>(obj: KubeObject): Promise<T>;
  /** Deletes (propagation `Background` unless given); resolves when the object is already gone. */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<void>;
  /**
   * Streams watch events of a collection path until the server closes it (`done(null)`), it fails
   * (`done(err)`), or the returned controller aborts (then `done` is not called).
   */
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (type: string, obj: KubeObject) => void, done: (err: unknown) => void, opts?: ReadOptions): Promise<AbortController>;
}

interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** Kinds the operator touches. */
const RESOURCES: Record<string, ResourceInfo> = {
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  Pod: { plural: 'pods', namespaced: true },
  PersistentVolumeClaim: { plural: 'persistentvolumeclaims', namespaced: true },
  Event: { plural: 'events', namespaced: true },
  StatefulSet: { plural: 'statefulsets', namespaced: true },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  Lease: { plural: 'leases', namespaced: true },
  Collector: { plural: 'collectors', namespaced: true },
  Namespace: { plural: 'namespaces', namespaced: false },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
};

export function resourceOf(kind: string): ResourceInfo {
  const r = RESOURCES[kind];
  if (r === undefined) throw new Error(`kube-api: unknown kind ${kind}; add it to RESOURCES in operator/src/kube/kube-api.ts`);
  return r;
}

export function isNamespaced(kind: string): boolean {
  return resourceOf(kind).namespaced;
}

/** REST path of a collection (no name) or of one object. */
export function pathOf(apiVersion: string, kind: string, namespace?: string, name?: string, subresource?: string): string {
  const r = resourceOf(kind);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name !== undefined ? `/${encodeURIComponent(name)}` : '';
  return `${base}${ns}/${r.plural}${n}${subresource !== undefined ? `/${subresource}` : ''}`;
}

export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name ?? '',
    ...(obj.metadata.namespace !== undefined && isNamespaced(obj.kind) ? { namespace: obj.metadata.namespace } : {}),
  };
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace !== undefined ? `${ref.namespace}/` : ''}${ref.name}`;
}
