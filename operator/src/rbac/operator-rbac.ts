/**
 * The RBAC the operator itself needs, as data: the chart (`charts/alloy`) mirrors it and
 * `bin/operator rbac` prints it. It includes the discovery rules the operator grants to
 * collectors, because Kubernetes only lets a subject create Roles granting what it holds.
 */
import { stringify } from 'yaml';
import { CLUSTER_DISCOVERY_RULES, DISCOVERY_RULES } from '../render/discovery-rbac.js';

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
}

const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

/** Cluster-wide rules (ClusterRole bound to the operator's ServiceAccount). */
export const OPERATOR_CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: ['alloy.dev'], resources: ['collectors'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: ['alloy.dev'], resources: ['collectors/status'], verbs: ['get', 'update', 'patch'] },
  { apiGroups: ['alloy.dev'], resources: ['collectors/finalizers'], verbs: ['update'] },
  { apiGroups: [''], resources: ['configmaps', 'services', 'serviceaccounts'], verbs: MANAGE },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: MANAGE },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: MANAGE },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'], verbs: MANAGE },
  ...[...DISCOVERY_RULES, ...CLUSTER_DISCOVERY_RULES].map((r) => ({
    ...(r.apiGroups !== undefined ? { apiGroups: r.apiGroups } : {}),
    ...(r.resources !== undefined ? { resources: r.resources } : {}),
    ...(r.nonResourceUrLs !== undefined ? { nonResourceURLs: r.nonResourceUrLs } : {}),
    verbs: r.verbs,
  })),
];

/** Rules in the operator's own namespace (Role) for leader election. */
export const LEADER_ELECTION_RULES: readonly PolicyRule[] = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];

/** ClusterRole + Role manifests for a given operator namespace. */
export function operatorRbacManifests(namespace: string, name = 'alloy-operator'): object[] {
  const labels = { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/component': 'operator' };
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules: OPERATOR_CLUSTER_RULES },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `${name}-leader-election`, namespace, labels }, rules: LEADER_ELECTION_RULES },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${name}-leader-election`, namespace, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-leader-election` }, subjects },
  ];
}

export function operatorRbacYaml(namespace: string, name?: string): string {
  return operatorRbacManifests(namespace, name)
    .map((m) => stringify(m, { lineWidth: 0 }))
    .join('---\n');
}
