import { Construct } from 'constructs';
import type { RbacV1Subject, V1PolicyRule } from '@kubernetes/client-node';
import { ApiObject } from 'cdk8s';
import { OWNER_NAMESPACE_LABEL, commonLabels, ownedMeta, names, type CollectorIdentity } from './labels.js';

/** One RBAC rule (the shape of `rbac/collector-access.ts` `AccessRule`). */
export interface RbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

/** Access to grant: cluster-wide rules and rules per namespace. */
export interface RbacGrant {
  readonly cluster: readonly RbacRule[];
  readonly namespaces: Readonly<Record<string, readonly RbacRule[]>>;
}

export interface CollectorRbacProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /** ServiceAccount the roles are bound to. */
  readonly serviceAccountName: string;
  /** What to grant; nothing is rendered for empty parts. */
  readonly grant: RbacGrant;
}

/**
 * The Collector's least-privilege RBAC: a Role and RoleBinding in each namespace with rules, and
 * a ClusterRole and ClusterRoleBinding for cluster-wide rules. Objects in the Collector namespace
 * are owned (garbage-collected); objects elsewhere and cluster-scoped ones cannot be, so they
 * carry `alloy.dev/collector-namespace` and are removed by the operator (prune, finalizer).
 */
export class CollectorRbac extends Construct {
  constructor(scope: Construct, id: string, props: CollectorRbacProps) {
    super(scope, id);
    const { owner, grant } = props;
    const subjects: RbacV1Subject[] = [{ kind: 'ServiceAccount', name: props.serviceAccountName, namespace: owner.namespace }];
    const labels = { ...commonLabels(owner.name), [OWNER_NAMESPACE_LABEL]: owner.namespace };
    const rules = (rs: readonly RbacRule[]): V1PolicyRule[] => rs.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }));
    for (const [ns, nsRules] of Object.entries(grant.namespaces)) {
      if (nsRules.length === 0) continue;
      const own = ns === owner.namespace;
      const name = own ? names.discoveryRole(owner.name) : names.clusterDiscoveryRole(owner.namespace, owner.name);
      const metadata = own ? { ...ownedMeta(owner, name), labels } : { name, namespace: ns, labels };
      new ApiObject(this, `role-${ns}`, { apiVersion: RBAC_API_VERSION, kind: 'Role', metadata, rules: rules(nsRules) });
      new ApiObject(this, `binding-${ns}`, { apiVersion: RBAC_API_VERSION, kind: 'RoleBinding', metadata, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects });
    }
    if (grant.cluster.length > 0) {
      const name = names.clusterDiscoveryRole(owner.namespace, owner.name);
      const metadata = { name, labels };
      new ApiObject(this, 'cluster-role', { apiVersion: RBAC_API_VERSION, kind: 'ClusterRole', metadata, rules: rules(grant.cluster) });
      new ApiObject(this, 'cluster-binding', { apiVersion: RBAC_API_VERSION, kind: 'ClusterRoleBinding', metadata, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects });
    }
  }
}
