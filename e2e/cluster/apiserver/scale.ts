/**
 * The scale subresource (`<resource>/<name>/scale`) of Deployments, ReplicaSets, StatefulSets
 * and custom resources with `subresources.scale`: the Scale view of an object and writes of its
 * replica count.
 */
import { mustGet, type ServerContext, type Target, type WriteOptions } from './context.js';
import { STALE_MESSAGE, conflict, invalid } from './errors.js';
import { labelSelectorString } from './selectors.js';
import { deepClone, getPath, isObject, setPath, type JsonObject, type KubeObject, type ResourceType } from './types.js';
import { commitUpdate } from './writes.js';

/** The `autoscaling/v1` Scale view of an object whose type has a scale subresource. */
export function scaleOf(t: ResourceType, o: KubeObject): JsonObject {
  const sc = t.scale!;
  const spec = getPath(o, sc.specReplicasPath);
  const status = getPath(o, sc.statusReplicasPath);
  let selector: string | undefined;
  if (t.crdName) {
    const s = sc.labelSelectorPath ? getPath(o, sc.labelSelectorPath) : undefined;
    selector = typeof s === 'string' ? s : undefined;
  } else {
    selector = labelSelectorString(getPath(o, 'spec.selector'));
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata['name']!, namespace: o.metadata['namespace'] ?? null, uid: o.metadata['uid']!, resourceVersion: o.metadata['resourceVersion']!, creationTimestamp: o.metadata['creationTimestamp']! },
    spec: { replicas: typeof spec === 'number' ? spec : 0 },
    status: { replicas: typeof status === 'number' ? status : 0, ...(selector ? { selector } : {}) },
  };
}

/** PUT of `<resource>/<name>/scale`: writes `spec.replicas` through the scale paths; answers the new Scale. */
export function putScale(ctx: ServerContext, target: Target, scale: KubeObject, opts: WriteOptions): JsonObject {
  const { t } = target;
  const old = mustGet(ctx, target);
  const rv = isObject(scale['metadata']) ? scale['metadata']['resourceVersion'] : undefined;
  if (rv !== undefined && rv !== null && rv !== '' && rv !== old.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
  const replicas = getPath(scale, 'spec.replicas');
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid('Scale', 'autoscaling', String(target.name), [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`, field: 'spec.replicas' }]);
  }
  const next = deepClone(old);
  setPath(next, t.scale!.specReplicasPath, replicas);
  const out = commitUpdate(ctx, t, old, next, { ...opts, sub: 'scale' });
  return scaleOf(t, out);
}
