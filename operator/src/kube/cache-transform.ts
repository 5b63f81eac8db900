/**
 * What the operator's informer caches keep of each object (as controller-runtime's
 * `cache.Options.DefaultTransform` / `TransformStripManagedFields`): the API server sends whole
 * objects, the reconciler reads a few fields, and at 1,000 Collectors the difference is most of
 * the operator's heap.
 *
 * Kept for every kind: metadata less other managers' `managedFields` entries and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation; the `Apply` entry of
 * `fieldManager` (main resource, not status) stays, because `desired-state.ts` compares the
 * fields it owns; its `fieldsV1` tree is hash-consed (`internFields`): the trees of one kind are
 * nearly identical across Collectors, and at 1,000 Collectors they were most of the cached objects. Per kind:
 * - Pod: of the spec only its claim volumes (`{ name, persistentVolumeClaim: { claimName } }`,
 *   whether a pod has its StatefulSet's claims); status only `phase`, `podIP`, `conditions`
 *   (type, status) and `containerStatuses` (name, ready, state): readiness, the Ready message,
 *   the config probe.
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

/** Distinct interned `fieldsV1` nodes kept; past it the table starts over (sharing resumes as objects arrive). */
export const FIELDS_INTERN_LIMIT = 50_000;
const fieldsTable = new Map<string, object>();
const fieldsIds = new WeakMap<object, number>();
let nextFieldsId = 0;

/**
 * One shared, frozen instance per distinct FieldsV1 (sub)tree: equal trees (deep) come back as the
 * same object. Built bottom-up, so each node costs one pass over its own keys. The result is deeply
 * equal to `tree`; `tree` is not changed.
 */
export function internFields(tree: unknown): unknown {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) return tree;
  const out: Record<string, unknown> = {};
  let key = '';
  for (const [k, v] of Object.entries(tree as Record<string, unknown>)) {
    const c = internFields(v);
    out[k] = c;
    const id = typeof c === 'object' && c !== null ? fieldsIds.get(c) : undefined;
    key += `${JSON.stringify(k)}:${id !== undefined ? `#${id}` : JSON.stringify(c)},`;
  }
  const hit = fieldsTable.get(key);
  if (hit !== undefined) return hit;
  if (fieldsTable.size >= FIELDS_INTERN_LIMIT) fieldsTable.clear();
  Object.freeze(out);
  fieldsIds.set(out, nextFieldsId++);
  fieldsTable.set(key, out);
  return out;
}

function slimMetadata(meta: KubeObject['metadata'], manager: string | undefined): KubeObject['metadata'] {
  const { managedFields, annotations, ...rest } = meta as KubeObject['metadata'] & { managedFields?: ManagedFieldsEntry[] };
  const own =
    manager === undefined
      ? []
      : (managedFields ?? [])
          .filter((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === '')
          .map((m) => (m.fieldsV1 === undefined ? m : { ...m, fieldsV1: internFields(m.fieldsV1) }));
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
        const { spec, status, ...rest } = obj as KubeObject & { spec?: { volumes?: ClaimVolume[] }; status?: PodStatus };
        const claims = (spec?.volumes ?? []).filter((v) => v.persistentVolumeClaim?.claimName !== undefined).map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: v.persistentVolumeClaim!.claimName } }));
        const slim = slimPodStatus(status);
        return { ...rest, metadata: slimMetadata(obj.metadata, undefined), ...(claims.length > 0 ? { spec: { volumes: claims } } : {}), ...(slim !== undefined ? { status: slim } : {}) };
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
