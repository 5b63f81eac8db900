/**
 * The RBAC the operator itself needs, as data: the chart (`charts/alloy`) mirrors it and
 * `bin/operator rbac` prints it.
 *
 * Escalation bounds: the operator has no `escalate`, `bind` or `impersonate` verb and no
 * wildcard, so the API server lets it create or bind only Roles whose every rule it holds
 * itself. It holds exactly the read rules `collectorAccess` can grant (`grantableRules()`), so
 * no Collector can be given more than that set, whatever its config says.
 */
import { stringify } from 'yaml';
import { grantableRules } from './collector-access.js';

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
  // Pods: read for status and `alloy_config_hash`, patch for the config-hash annotation that
  // makes the kubelet re-project the config volume at once, delete to replace pods that predate a
  // storage change (a StatefulSet cannot add their claim volume).
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch', 'delete'] },
  // Claims of the StatefulSets: compared with spec.storage.volumeClaimTemplate for status.
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: MANAGE },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: MANAGE },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'], verbs: MANAGE },
  // What collectors may be granted (the API server requires the granter to hold it).
  ...grantableRules(),
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
