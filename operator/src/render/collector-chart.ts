import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Collector, CollectorSpec } from '../api/v1alpha1/collector-types.js';
import { CollectorConfigMap } from './collector-config-map.js';
import { CollectorPodDisruptionBudget } from './collector-pod-disruption-budget.js';
import { CollectorServiceAccount } from './collector-service-account.js';
import { CollectorStatefulSet } from './collector-stateful-set.js';
import { DiscoveryRbac, type DiscoveryScope } from './discovery-rbac.js';
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
  /**
   * Config text used to decide `rbac.discovery: auto` (the new config, or the last good one).
   * @default the `config` prop
   */
  readonly configForDiscovery?: string;
  /**
   * Render the StatefulSet; false until a valid config exists, so pods never start without one.
   * @default true
   */
  readonly workload?: boolean;
}

/** Components that read the Kubernetes API and so need discovery RBAC. */
const KUBERNETES_COMPONENTS =
  /\b(discovery\.kubernetes|loki\.source\.kubernetes(_events)?|loki\.source\.podlogs|prometheus\.operator\.[a-z_]+|mimir\.rules\.kubernetes)\b/;

/** Discovery RBAC to generate for a spec; `none` when the Collector brings its own ServiceAccount. */
export function discoveryScope(spec: CollectorSpec, config: string | undefined): DiscoveryScope | 'none' {
  if (spec.serviceAccountName !== undefined) return 'none';
  const mode = spec.rbac?.discovery ?? 'auto';
  if (mode === 'auto') return config !== undefined && KUBERNETES_COMPONENTS.test(config) ? 'cluster' : 'none';
  return mode;
}

/** All objects of one Collector; `renderCollector` synthesizes it. */
export class CollectorChart extends Chart {
  constructor(scope: Construct, id: string, props: CollectorChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { collector } = props;
    const { spec } = collector;
    const owner: CollectorIdentity = { name: collector.metadata.name, namespace: collector.metadata.namespace, uid: collector.metadata.uid };

    if (props.config !== undefined) new CollectorConfigMap(this, 'config', { owner, config: props.config });
    new PeerService(this, 'peers', { owner });
    new ReceiverService(this, 'receivers', { owner, ...(spec.ports !== undefined ? { ports: spec.ports } : {}) });
    const serviceAccountName = spec.serviceAccountName ?? names.serviceAccount(owner.name);
    if (spec.serviceAccountName === undefined) new CollectorServiceAccount(this, 'service-account', { owner });
    const discovery = discoveryScope(spec, props.configForDiscovery ?? props.config);
    if (discovery !== 'none') new DiscoveryRbac(this, 'discovery', { owner, serviceAccountName, scope: discovery });
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
