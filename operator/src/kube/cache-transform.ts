/**
 * What the operator's informer caches keep of each object (as controller-runtime's
 * `cache.Options.DefaultTransform` / `TransformStripManagedFields`): the API server sends whole
 * objects, the reconciler reads a few fields, and at 1,000 Collectors the difference is most of
 * the operator's heap.
 *
 * Kept for every kind: metadata less other managers' `managedFields` entries and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation; the `Apply` entry of
 * `fieldManager` (main resource, not status) stays, because `desired-state.ts` compares the
 * fields it owns. Per kind:
 * - Pod: no spec; status only `phase`, `podIP`, `conditions` (type, status) and
 *   `containerStatuses` (name, ready, state): readiness, the Ready message, the config probe.
 * - StatefulSet: spec (drift check) and status (rollout), as sent.
 * - Collector: spec and status as sent (the reconciler's input), no managedFields at all.
 * - every other kind: everything but `status`, which the operator never reads on them.
 * Cached objects are shared read-only values (see `cache-reader.ts`).
 */
import type { KubeObject } from './kube-api.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
}

type PodStatus = {
  phase?: unknown;
  podIP?: unknown;
  conditions?: Array<{ type?: unknown; status?: unknown }>;
  containerStatuses?: Array<{ name?: unknown; ready?: unknown; state?: unknown }>;
};

function slimMetadata(meta: KubeObject['metadata'], manager: string | undefined): KubeObject['metadata'] {
  const { managedFields, annotations, ...rest } = meta as KubeObject['metadata'] & { managedFields?: ManagedFieldsEntry[] };
  const own = manager === undefined ? [] : (managedFields ?? []).filter((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === '');
  let kept = annotations;
  if (annotations !== undefined && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _dropped, ...others } = annotations;
    void _dropped;
    kept = others;
  }
  return { ...rest, ...(kept !== undefined ? { annotations: kept } : {}), ...(own.length > 0 ? { managedFields: own } : {}) } as KubeObject['metadata'];
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
 * The transform for informers of `kind`, keeping `fieldManager`'s own `Apply` entry.
 * @returns a function producing a new object; its input is not changed.
 */
export function cacheTransform(kind: string, fieldManager: string): (obj: KubeObject) => KubeObject {
  switch (kind) {
    case 'Pod':
      return (obj) => {
        const { spec: _spec, status, ...rest } = obj as KubeObject & { spec?: unknown; status?: PodStatus };
        void _spec;
        const slim = slimPodStatus(status);
        return { ...rest, metadata: slimMetadata(obj.metadata, undefined), ...(slim !== undefined ? { status: slim } : {}) };
      };
    case 'StatefulSet':
      return (obj) => ({ ...obj, metadata: slimMetadata(obj.metadata, fieldManager) });
    case 'Collector':
      return (obj) => ({ ...obj, metadata: slimMetadata(obj.metadata, undefined) });
    default:
      return (obj) => {
        const { status: _status, ...rest } = obj as KubeObject & { status?: unknown };
        void _status;
        return { ...rest, metadata: slimMetadata(obj.metadata, fieldManager) };
      };
  }
}
