/**
 * What the operator's informer caches keep of each object (as controller-runtime's
 * `cache.Options.DefaultTransform` / `TransformStripManagedFields`): the API server sends whole
 * objects, the reconciler reads a few fields, and at 1,000 Collectors the difference is most of
 * the operator's heap.
 *
 * Repeated strings (namespaces, label values, owner reference kinds) are shared (`intern`).
 *
 * Kept for every kind: metadata less `managedFields` and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation. Of `managedFields`, owned kinds
 * keep only `fieldManager`'s own `Apply` entry of the main resource, without its `fieldsV1` tree:
 * its `time` is when this operator last changed the object (the config nudge reads it), and an
 * entry without `fieldsV1` tells the reconciler it holds a metadata-only copy (`desired-state.ts`
 * reads the whole object when it must compare fields). Per kind:
 * - owned kinds other than StatefulSet (ConfigMap, Service, ServiceAccount, PodDisruptionBudget,
 *   Role, RoleBinding): metadata only; their informers watch `PartialObjectMetadata`;
 * - StatefulSet: metadata and `status` (the rollout state the Collector's status reports), no spec;
 * - Pod: of the spec only its claim volumes (`{ name, persistentVolumeClaim: { claimName } }`:
 *   whether a pod has its StatefulSet's claims); status only `phase`, `podIP`, `conditions`
 *   (type, status) and `containerStatuses` (name, ready, state): readiness, the Ready message,
 *   the config probe;
 * - Collector and ConfigMaps named by `configMapRef`: everything but `managedFields` (the
 *   reconciler's input).
 * Cached objects are shared read-only values (see `cache-reader.ts`).
 */
import type { KubeObject, KubeObjectMeta } from './kube-api.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: unknown;
}

/** A pod volume as far as the cache keeps it: its claim, if it is a persistentVolumeClaim volume. */
export interface ClaimVolume {
  readonly name: string;
  readonly persistentVolumeClaim?: { readonly claimName?: string };
}

type PodStatus = {
  phase?: unknown;
  podIP?: unknown;
  conditions?: Array<{ type?: unknown; status?: unknown }>;
  containerStatuses?: Array<{ name?: unknown; ready?: unknown; state?: unknown }>;
};

/** Distinct strings `intern` keeps; past it the table starts over (sharing resumes as objects arrive). */
export const INTERN_LIMIT = 20_000;
const internTable = new Map<string, string>();

/**
 * One shared instance per distinct string. JSON parsing gives every object its own copy of each
 * value; label values, namespaces and owner references repeat across thousands of cached objects
 * (at 1,000 Collectors, `alloy-operator` alone was 330 KiB of copies).
 */
export function intern(s: string): string {
  const hit = internTable.get(s);
  if (hit !== undefined) return hit;
  if (internTable.size >= INTERN_LIMIT) internTable.clear();
  internTable.set(s, s);
  return s;
}

function internValues(m: Record<string, string> | undefined): Record<string, string> | undefined {
  if (m === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typeof v === 'string' ? intern(v) : v;
  return out;
}

/** Owned kinds whose informers watch metadata only (`PartialObjectMetadata`). */
export const METADATA_ONLY_KINDS: ReadonlySet<string> = new Set(['ConfigMap', 'Service', 'ServiceAccount', 'PodDisruptionBudget', 'Role', 'RoleBinding']);

/**
 * `meta` without `managedFields` (but `manager`'s main-resource `Apply` entry, without `fieldsV1`,
 * when `manager` is given) and without the last-applied annotation. `meta` is not changed.
 */
export function slimMetadata(meta: KubeObjectMeta, manager?: string): KubeObjectMeta {
  const { managedFields, annotations, ...rest } = meta as KubeObjectMeta & { managedFields?: ManagedFieldsEntry[] };
  const own =
    manager === undefined
      ? undefined
      : (managedFields ?? []).find((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === '');
  let kept = annotations;
  if (annotations !== undefined && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _dropped, ...others } = annotations;
    void _dropped;
    kept = others;
  }
  const { namespace, labels, ownerReferences } = rest;
  return {
    ...rest,
    ...(namespace !== undefined ? { namespace: intern(namespace) } : {}),
    ...(labels !== undefined ? { labels: internValues(labels) } : {}),
    ...(ownerReferences !== undefined ? { ownerReferences: ownerReferences.map((r) => ({ ...r, apiVersion: intern(r.apiVersion), kind: intern(r.kind) })) } : {}),
    ...(kept !== undefined ? { annotations: kept } : {}),
    ...(own !== undefined
      ? { managedFields: [{ ...(own.manager !== undefined ? { manager: intern(own.manager) } : {}), ...(own.operation !== undefined ? { operation: intern(own.operation) } : {}), ...(own.time !== undefined ? { time: own.time } : {}) }] }
      : {}),
  };
}

function slimPodStatus(status: PodStatus | undefined): PodStatus | undefined {
  if (status === undefined) return undefined;
  const out: PodStatus = {};
  if (status.phase !== undefined) out.phase = status.phase;
  if (status.podIP !== undefined) out.podIP = status.podIP;
  if (status.conditions !== undefined) out.conditions = status.conditions.map((c) => ({ type: c.type, status: c.status }));
  if (status.containerStatuses !== undefined) out.containerStatuses = status.containerStatuses.map((c) => ({ name: c.name, ready: c.ready, state: c.state }));
  return out;
}

/**
 * The transform for informers of `kind`: owned kinds keep `fieldManager`'s `Apply` entry (see
 * the header); with `metadataOnly` (the informers of `METADATA_ONLY_KINDS`) nothing but metadata
 * stays, whether the server sent `PartialObjectMetadata` or, ignoring the request, whole objects;
 * other kinds (Collector, ConfigMaps named by `configMapRef`) keep their content.
 * @returns a function producing a new object; its input is not changed.
 */
export function cacheTransform(kind: string, fieldManager: string, metadataOnly = false): (obj: KubeObject) => KubeObject {
  if (metadataOnly) return (obj) => ({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMetadata(obj.metadata, fieldManager) });
  switch (kind) {
    case 'Pod':
      return (obj) => {
        const { spec, status } = obj as KubeObject & { spec?: { volumes?: ClaimVolume[] }; status?: PodStatus };
        const claims = (spec?.volumes ?? []).filter((v) => v.persistentVolumeClaim?.claimName !== undefined).map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: v.persistentVolumeClaim!.claimName } }));
        const slim = slimPodStatus(status);
        return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMetadata(obj.metadata), ...(claims.length > 0 ? { spec: { volumes: claims } } : {}), ...(slim !== undefined ? { status: slim } : {}) };
      };
    case 'StatefulSet':
      return (obj) => ({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMetadata(obj.metadata, fieldManager), ...(obj['status'] !== undefined ? { status: obj['status'] } : {}) });
    default:
      return (obj) => ({ ...obj, metadata: slimMetadata(obj.metadata) });
  }
}
