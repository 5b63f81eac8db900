/**
 * The built-in resource types the server serves, and the registry that also holds resource types
 * added at run time by CustomResourceDefinitions. Discovery, routing and OpenAPI read from here.
 */
import type { ResourceType, Scope, ScaleSubresource } from './types.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

interface Def {
  group: string;
  version: string;
  resource: string;
  kind: string;
  scope?: Scope;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: ScaleSubresource;
  log?: boolean;
  fieldLabels?: string[];
  storageKey?: string;
  virtual?: boolean;
}

const REPLICAS_SCALE: ScaleSubresource = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.labelSelector',
};

const DEFS: Def[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', scope: 'Cluster', shortNames: ['ns'], status: true, fieldLabels: ['status.phase'] },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', fieldLabels: ['type'] },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', shortNames: ['svc'], categories: ['all'], status: true, fieldLabels: ['spec.clusterIP', 'spec.type'] },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'] },
  {
    group: '', version: 'v1', resource: 'pods', kind: 'Pod', shortNames: ['po'], categories: ['all'], status: true, log: true,
    fieldLabels: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  {
    group: '', version: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'],
    fieldLabels: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  },
  { group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', shortNames: ['ep'] },
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', scope: 'Cluster', shortNames: ['no'], status: true, fieldLabels: ['spec.unschedulable'] },
  { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', shortNames: ['pvc'], status: true },
  { group: '', version: 'v1', resource: 'persistentvolumes', kind: 'PersistentVolume', scope: 'Cluster', shortNames: ['pv'], status: true },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', shortNames: ['sts'], categories: ['all'], status: true, scale: REPLICAS_SCALE },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', shortNames: ['deploy'], categories: ['all'], status: true, scale: REPLICAS_SCALE },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', shortNames: ['ds'], categories: ['all'], status: true },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', shortNames: ['rs'], categories: ['all'], status: true, scale: REPLICAS_SCALE, fieldLabels: ['status.replicas'] },
  { group: 'apps', version: 'v1', resource: 'controllerrevisions', kind: 'ControllerRevision' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole', scope: 'Cluster' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', scope: 'Cluster' },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease' },
  { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', shortNames: ['pdb'], status: true },
  { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', shortNames: ['hpa'], categories: ['all'], status: true },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice' },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'], storageKey: '/events', fieldLabels: ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'reason', 'type'] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', shortNames: ['ing'], status: true },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', categories: ['all'], status: true },
  { group: '', version: 'v1', resource: 'resourcequotas', kind: 'ResourceQuota', shortNames: ['quota'], status: true },
  { group: '', version: 'v1', resource: 'limitranges', kind: 'LimitRange', shortNames: ['limits'] },
  { group: '', version: 'v1', resource: 'podtemplates', kind: 'PodTemplate' },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', shortNames: ['cj'], categories: ['all'], status: true },
  { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', shortNames: ['netpol'] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', kind: 'IngressClass', scope: 'Cluster' },
  { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', kind: 'PriorityClass', scope: 'Cluster', shortNames: ['pc'] },
  { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', kind: 'StorageClass', scope: 'Cluster', shortNames: ['sc'] },
  { group: 'node.k8s.io', version: 'v1', resource: 'runtimeclasses', kind: 'RuntimeClass', scope: 'Cluster' },
  { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration', scope: 'Cluster' },
  { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', scope: 'Cluster' },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', scope: 'Cluster', virtual: true },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', scope: 'Cluster', virtual: true },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews', kind: 'SubjectAccessReview', scope: 'Cluster', virtual: true },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'localsubjectaccessreviews', kind: 'LocalSubjectAccessReview', virtual: true },
  { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews', kind: 'TokenReview', scope: 'Cluster', virtual: true },
  { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews', kind: 'SelfSubjectReview', scope: 'Cluster', virtual: true },
  { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', scope: 'Cluster', shortNames: ['crd', 'crds'], categories: ['api-extensions'], status: true },
];

function singularOf(kind: string): string {
  return kind.toLowerCase();
}

function fromDef(d: Def): ResourceType {
  return {
    group: d.group,
    version: d.version,
    resource: d.resource,
    singular: singularOf(d.kind),
    kind: d.kind,
    listKind: `${d.kind}List`,
    scope: d.scope ?? 'Namespaced',
    shortNames: d.shortNames ?? [],
    categories: d.categories ?? [],
    verbs: d.virtual ? ['create'] : ALL_VERBS,
    ...(d.virtual ? { virtual: true } : {}),
    statusSubresource: d.status ?? false,
    ...(d.scale ? { scale: d.scale } : {}),
    ...(d.log ? { logSubresource: true } : {}),
    storageKey: d.storageKey ?? `${d.group}/${d.resource}`,
    fieldLabels: d.fieldLabels ?? [],
  };
}

export const BUILTIN_TYPES: readonly ResourceType[] = DEFS.map(fromDef);

/** Group version → resource types, with CRD-defined types added and removed at run time. */
export class ResourceRegistry {
  readonly #types = new Map<string, ResourceType>();
  /** Group order for discovery: built-ins first in a fixed order, then CRD groups by name. */
  readonly #builtinGroups: string[] = [];

  constructor() {
    for (const t of BUILTIN_TYPES) {
      this.add(t);
      if (!this.#builtinGroups.includes(t.group)) this.#builtinGroups.push(t.group);
    }
  }

  add(t: ResourceType): void {
    this.#types.set(`${t.group}/${t.version}/${t.resource}`, t);
  }

  removeCrd(crdName: string): void {
    for (const [k, t] of this.#types) if (t.crdName === crdName) this.#types.delete(k);
  }

  get(group: string, version: string, resource: string): ResourceType | undefined {
    return this.#types.get(`${group}/${version}/${resource}`);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    for (const t of this.#types.values()) if (t.group === group && t.version === version && t.kind === kind) return t;
    return undefined;
  }

  /** Every type stored under one storage key (all versions of one group/resource). */
  byStorageKey(key: string): ResourceType[] {
    return [...this.#types.values()].filter((t) => t.storageKey === key);
  }

  all(): ResourceType[] {
    return [...this.#types.values()];
  }

  /** Group → ordered versions (preferred first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const g of this.#builtinGroups) out.set(g, []);
    const crdGroups = [...new Set([...this.#types.values()].filter((t) => !this.#builtinGroups.includes(t.group)).map((t) => t.group))].sort();
    for (const g of crdGroups) out.set(g, []);
    for (const t of this.#types.values()) {
      const vs = out.get(t.group)!;
      if (!vs.includes(t.version)) vs.push(t.version);
    }
    for (const [g, vs] of out) {
      if (vs.length === 0) out.delete(g);
      else vs.sort(compareVersions);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return [...this.#types.values()].filter((t) => t.group === group && t.version === version);
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return a.localeCompare(b);
}
