/**
 * Patch and list metadata of built-in kinds: which lists merge by key (strategic merge patch
 * `patchMergeKey`/`patchStrategy`) and how server-side apply identifies their items
 * (`x-kubernetes-list-type`/`x-kubernetes-list-map-keys`). Values follow the Kubernetes
 * OpenAPI `x-kubernetes-patch-*` extensions of the Go types; lists not named here are atomic.
 */

export type ListType =
  | { readonly kind: 'map'; readonly keys: readonly string[] }
  | { readonly kind: 'set' }
  | { readonly kind: 'atomic' };

interface ListMeta {
  /** Strategic merge key; absent with `merge` means a list of primitives merged as a set. */
  readonly mergeKey?: string;
  /** SSA associative keys (defaults to `[mergeKey]`). */
  readonly keys?: readonly string[];
}

interface FieldMeta {
  readonly t?: string;
  readonly list?: ListMeta;
}

type TypeMeta = Readonly<Record<string, FieldMeta>>;

const byName: ListMeta = { mergeKey: 'name' };
const byType: ListMeta = { mergeKey: 'type' };
const conditions: FieldMeta = { list: byType };

const TYPES: Readonly<Record<string, TypeMeta>> = {
  ObjectMeta: {
    finalizers: { list: {} },
    ownerReferences: { list: { mergeKey: 'uid' } },
  },
  PodTemplateSpec: { metadata: { t: 'ObjectMeta' }, spec: { t: 'PodSpec' } },
  PodSpec: {
    containers: { t: 'Container', list: byName },
    initContainers: { t: 'Container', list: byName },
    ephemeralContainers: { t: 'Container', list: byName },
    volumes: { list: byName },
    imagePullSecrets: { list: byName },
    hostAliases: { list: { mergeKey: 'ip' } },
    topologySpreadConstraints: { list: { mergeKey: 'topologyKey', keys: ['topologyKey', 'whenUnsatisfiable'] } },
    resourceClaims: { list: byName },
    schedulingGates: { list: byName },
  },
  Container: {
    ports: { list: { mergeKey: 'containerPort', keys: ['containerPort', 'protocol'] } },
    env: { list: byName },
    volumeMounts: { list: { mergeKey: 'mountPath' } },
    volumeDevices: { list: { mergeKey: 'devicePath' } },
  },
  PodStatus: {
    conditions,
    podIPs: { list: { mergeKey: 'ip' } },
    hostIPs: { list: { mergeKey: 'ip' } },
  },
  ServiceSpec: { ports: { list: { mergeKey: 'port', keys: ['port', 'protocol'] } } },
  StatusWithConditions: { conditions },
  WorkloadSpec: { template: { t: 'PodTemplateSpec' } },
  NodeSpec: { podCIDRs: { list: {} } },
  NodeStatus: { conditions, addresses: { list: byType } },
  EndpointSubset: {
    addresses: {},
    ports: {},
  },
};

/** Root type of each built-in kind: field → type of that field. */
const ROOTS: Readonly<Record<string, TypeMeta>> = {
  Pod: { spec: { t: 'PodSpec' }, status: { t: 'PodStatus' } },
  PodTemplate: { template: { t: 'PodTemplateSpec' } },
  Service: { spec: { t: 'ServiceSpec' }, status: { t: 'StatusWithConditions' } },
  StatefulSet: { spec: { t: 'WorkloadSpec' }, status: { t: 'StatusWithConditions' } },
  Deployment: { spec: { t: 'WorkloadSpec' }, status: { t: 'StatusWithConditions' } },
  DaemonSet: { spec: { t: 'WorkloadSpec' }, status: { t: 'StatusWithConditions' } },
  ReplicaSet: { spec: { t: 'WorkloadSpec' }, status: { t: 'StatusWithConditions' } },
  Job: { spec: { t: 'WorkloadSpec' } },
  Namespace: { status: { t: 'StatusWithConditions' } },
  Node: { spec: { t: 'NodeSpec' }, status: { t: 'NodeStatus' } },
  PodDisruptionBudget: { status: { t: 'StatusWithConditions' } },
  HorizontalPodAutoscaler: { status: { t: 'StatusWithConditions' } },
  CustomResourceDefinition: { status: { t: 'StatusWithConditions' } },
  PersistentVolumeClaim: { status: { t: 'StatusWithConditions' } },
};

/** Navigates the type graph; `undefined` means no metadata (all lists atomic below). */
export class BuiltinTypeInfo {
  readonly #root: TypeMeta;

  constructor(kind: string) {
    this.#root = { metadata: { t: 'ObjectMeta' }, ...(ROOTS[kind] ?? {}) };
  }

  static has(kind: string): boolean {
    return kind in ROOTS || kind === 'ConfigMap' || kind === 'Secret';
  }

  #field(path: readonly string[]): FieldMeta | undefined {
    let cur: TypeMeta | undefined = this.#root;
    let fm: FieldMeta | undefined;
    for (const seg of path) {
      if (!cur) return undefined;
      fm = cur[seg];
      if (!fm) return undefined;
      cur = fm.t ? TYPES[fm.t] : undefined;
    }
    return fm;
  }

  /** Strategic-merge metadata of the list at `path` (field names only, list items skipped). */
  patchMeta(path: readonly string[]): { merge: boolean; mergeKey?: string } {
    const fm = this.#field(path);
    if (!fm?.list) return { merge: false };
    return fm.list.mergeKey ? { merge: true, mergeKey: fm.list.mergeKey } : { merge: true };
  }

  listType(path: readonly string[]): ListType {
    const fm = this.#field(path);
    if (!fm?.list) return { kind: 'atomic' };
    if (!fm.list.mergeKey) return { kind: 'set' };
    return { kind: 'map', keys: fm.list.keys ?? [fm.list.mergeKey] };
  }
}

/** What SSA and strategic merge need to know about a kind's lists and maps. */
export interface TypeInfo {
  listType(path: readonly string[]): ListType;
  /** True when a map is atomic (`x-kubernetes-map-type: atomic`). */
  atomicMap?(path: readonly string[]): boolean;
}
