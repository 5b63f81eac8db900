/**
 * What the operator's informer caches keep of each object (as controller-runtime's
 * `cache.Options.DefaultTransform` / `TransformStripManagedFields`): the API server sends whole
 * objects, the reconciler reads a few fields, and at 1,000 Collectors the difference is most of
 * the operator's heap.
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
 * - Pod: no spec; status only `phase`, `podIP`, `conditions` (type, status) and
 *   `containerStatuses` (name, ready, state): readiness, the Ready message, the config probe;
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

type PodStatus = {
  phase?: unknown;
  podIP?: unknown;
  conditions?: Array<{ type?: unknown; status?: unknown }>;
  containerStatuses?: Array<{ name?: unknown; ready?: unknown; state?: unknown }>;
};

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
  return {
    ...rest,
    ...(kept !== undefined ? { annotations: kept } : {}),
    ...(own !== undefined ? { managedFields: [{ manager: own.manager, operation: own.operation, ...(own.time !== undefined ? { time: own.time } : {}) }] } : {}),
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
        const slim = slimPodStatus((obj as KubeObject & { status?: PodStatus }).status);
        return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMetadata(obj.metadata), ...(slim !== undefined ? { status: slim } : {}) };
      };
    case 'StatefulSet':
      return (obj) => ({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMetadata(obj.metadata, fieldManager), ...(obj['status'] !== undefined ? { status: obj['status'] } : {}) });
    default:
      return (obj) => ({ ...obj, metadata: slimMetadata(obj.metadata) });
  }
}
