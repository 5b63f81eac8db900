import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { OWNER_NAMESPACE_LABEL, commonLabels, ownedMeta, names, type CollectorIdentity } from './labels.js';

export type DiscoveryScope = 'namespace' | 'cluster';

export interface DiscoveryRbacProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /** ServiceAccount the role is bound to. */
  readonly serviceAccountName: string;
  /**
   * `namespace`: a Role and RoleBinding in the Collector namespace (owned, garbage-collected).
   * `cluster`: a ClusterRole and ClusterRoleBinding, labelled with the owner and removed by the
   * operator's finalizer because cluster-scoped objects cannot be owned by a namespaced Collector.
   */
  readonly scope: DiscoveryScope;
}

/** Read-only rules for `discovery.kubernetes`, `loki.source.kubernetes` and friends (as the Alloy chart grants). */
export const DISCOVERY_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'endpoints', 'events', 'namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
];

/** Cluster-only additions: nodes are cluster-scoped. */
export const CLUSTER_DISCOVERY_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['nodes', 'nodes/proxy', 'nodes/metrics'], verbs: ['get', 'list', 'watch'] },
  { nonResourceUrLs: ['/metrics'], verbs: ['get'] },
];

/** Role (or ClusterRole) plus binding that lets the collector's ServiceAccount discover targets. */
export class DiscoveryRbac extends Construct {
  constructor(scope: Construct, id: string, props: DiscoveryRbacProps) {
    super(scope, id);
    const { owner } = props;
    const subjects = [{ kind: 'ServiceAccount', name: props.serviceAccountName, namespace: owner.namespace }];
    if (props.scope === 'namespace') {
      const name = names.discoveryRole(owner.name);
      new k8s.KubeRole(this, 'role', { metadata: ownedMeta(owner, name), rules: [...DISCOVERY_RULES] });
      new k8s.KubeRoleBinding(this, 'binding', {
        metadata: ownedMeta(owner, name),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      });
      return;
    }
    const name = names.clusterDiscoveryRole(owner.namespace, owner.name);
    const metadata = { name, labels: { ...commonLabels(owner.name), [OWNER_NAMESPACE_LABEL]: owner.namespace } };
    new k8s.KubeClusterRole(this, 'role', { metadata, rules: [...DISCOVERY_RULES, ...CLUSTER_DISCOVERY_RULES] });
    new k8s.KubeClusterRoleBinding(this, 'binding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    });
  }
}
