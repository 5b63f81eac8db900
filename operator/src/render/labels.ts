/** Labels, names and owner references shared by every rendered object (image convention). */
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const DEFAULT_IMAGE_REPOSITORY = 'docker.io/alloyts/alloy';
export const ALLOY_UID = 473;
export const HTTP_PORT = 12345;
export const CONFIG_KEY = 'config.alloy';
export const CONFIG_DIR = '/etc/alloy';
export const DATA_DIR = '/var/lib/alloy/data';
export const FIELD_MANAGER = 'alloy-operator';

/** Identity of the owning Collector, stamped on every object it renders. */
export interface CollectorIdentity {
  /** Collector name. */
  readonly name: string;
  /** Collector namespace. */
  readonly namespace: string;
  /** Collector UID, for owner references. */
  readonly uid: string;
}

export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': name };
}

export function commonLabels(name: string): Record<string, string> {
  return {
    ...selectorLabels(name),
    'app.kubernetes.io/managed-by': 'alloy-operator',
    'app.kubernetes.io/component': 'collector',
  };
}

export function selectorString(name: string): string {
  return Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Metadata of a namespaced object owned (and garbage-collected) with its Collector. */
export function ownedMeta(owner: CollectorIdentity, name: string): V1ObjectMeta {
  return {
    name,
    namespace: owner.namespace,
    labels: commonLabels(owner.name),
    ownerReferences: [
      { apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true },
    ],
  };
}

/** Extra label on cluster-scoped objects, which cannot carry an owner reference to a namespaced owner. */
export const OWNER_NAMESPACE_LABEL = 'alloy.dev/collector-namespace';

export const names = {
  configMap: (collector: string) => `${collector}-config`,
  statefulSet: (collector: string) => collector,
  peerService: (collector: string) => `${collector}-cluster`,
  receiverService: (collector: string) => collector,
  serviceAccount: (collector: string) => collector,
  discoveryRole: (collector: string) => `${collector}-discovery`,
  clusterDiscoveryRole: (namespace: string, collector: string) => `alloy-${namespace}-${collector}-discovery`,
  podDisruptionBudget: (collector: string) => collector,
} as const;

/** Every object the operator renders carries this label; its owned-object informers watch only those. */
export const OWNED_SELECTOR = 'app.kubernetes.io/managed-by=alloy-operator';

/**
 * ConfigMaps that Collectors reference through `spec.configMapRef` carry this label (the operator
 * sets it when it first reads one), so the operator watches them without caching every ConfigMap
 * of the cluster.
 */
export const CONFIG_SOURCE_LABEL = 'alloy.dev/collector-config';
