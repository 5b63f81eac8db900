import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Collector } from '../api/v1alpha1/collector-types.js';
import { CollectorConfigMap } from './collector-config-map.js';
import { CollectorPodDisruptionBudget } from './collector-pod-disruption-budget.js';
import { CollectorServiceAccount } from './collector-service-account.js';
import { CollectorStatefulSet } from './collector-stateful-set.js';
import { CollectorRbac, type RbacGrant } from './collector-rbac.js';
import { names, type CollectorIdentity } from './labels.js';
import { PeerService } from './peer-service.js';
import { ReceiverService } from './receiver-service.js';

export interface CollectorChartProps {
  /** The Collector, spec defaults applied. */
  readonly collector: Collector;
  /** Collector image used when the spec names none. */
  readonly defaultImage: string;
  /**
   * Config text for the ConfigMap.
   * @default undefined: no ConfigMap is rendered, so the live one (the last good config) is kept
   */
  readonly config?: string;
  /** Hashes of the config before the last change, kept on the ConfigMap. @default none */
  readonly previousConfigHashes?: readonly string[];
  /**
   * Kubernetes API access of the collector pods (derived from the config by the controller);
   * ignored when the Collector brings its own ServiceAccount.
   * @default no access
   */
  readonly rbac?: RbacGrant;
  /** Annotations of the generated ServiceAccount (e.g. the granted-access summary). @default none */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /**
   * Render the StatefulSet; false until a valid config exists, so pods never start without one.
   * @default true
   */
  readonly workload?: boolean;
}

/** All objects of one Collector; `renderCollector` synthesizes it. */
export class CollectorChart extends Chart {
  constructor(scope: Construct, id: string, props: CollectorChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { collector } = props;
    const { spec } = collector;
    const owner: CollectorIdentity = { name: collector.metadata.name, namespace: collector.metadata.namespace, uid: collector.metadata.uid };

    if (props.config !== undefined) {
      new CollectorConfigMap(this, 'config', { owner, config: props.config, ...(props.previousConfigHashes !== undefined ? { previousConfigHashes: props.previousConfigHashes } : {}) });
    }
    new PeerService(this, 'peers', { owner });
    new ReceiverService(this, 'receivers', { owner, ...(spec.ports !== undefined ? { ports: spec.ports } : {}) });
    const serviceAccountName = spec.serviceAccountName ?? names.serviceAccount(owner.name);
    if (spec.serviceAccountName === undefined) {
      new CollectorServiceAccount(this, 'service-account', { owner, ...(props.serviceAccountAnnotations !== undefined ? { annotations: props.serviceAccountAnnotations } : {}) });
      if (props.rbac !== undefined) new CollectorRbac(this, 'rbac', { owner, serviceAccountName, grant: props.rbac });
    }
    if (spec.podDisruptionBudget !== undefined) {
      new CollectorPodDisruptionBudget(this, 'pdb', {
        owner,
        ...(spec.podDisruptionBudget.minAvailable !== undefined ? { minAvailable: spec.podDisruptionBudget.minAvailable } : {}),
        ...(spec.podDisruptionBudget.maxUnavailable !== undefined ? { maxUnavailable: spec.podDisruptionBudget.maxUnavailable } : {}),
      });
    }
    if (props.workload ?? true) {
      new CollectorStatefulSet(this, 'workload', { owner, spec, image: spec.image ?? props.defaultImage, serviceAccountName });
    }
  }
}

/** A rendered Kubernetes object (JSON). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/**
 * Synthesizes every object of a Collector.
 * @throws with the spec field named when the spec contradicts itself (e.g. a port collision).
 */
export function renderCollector(props: CollectorChartProps): KubeObject[] {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new CollectorChart(app, props.collector.metadata.name, props);
  return chart.toJson() as KubeObject[];
}
