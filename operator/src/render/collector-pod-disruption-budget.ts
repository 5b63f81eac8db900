import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { ownedMeta, names, selectorLabels, type CollectorIdentity } from './labels.js';

export interface CollectorPodDisruptionBudgetProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /**
   * Minimum available pods (count or percentage); exclusive with `maxUnavailable`.
   * @default undefined
   */
  readonly minAvailable?: number | string;
  /**
   * Maximum unavailable pods (count or percentage).
   * @default 1 when `minAvailable` is unset
   */
  readonly maxUnavailable?: number | string;
}

const intOrString = (v: number | string) => (typeof v === 'number' ? k8s.IntOrString.fromNumber(v) : k8s.IntOrString.fromString(v));

/** policy/v1 PodDisruptionBudget over the collector pods. */
export class CollectorPodDisruptionBudget extends Construct {
  readonly resource: k8s.KubePodDisruptionBudget;

  /** @throws when both `minAvailable` and `maxUnavailable` are set (the API rejects it). */
  constructor(scope: Construct, id: string, props: CollectorPodDisruptionBudgetProps) {
    super(scope, id);
    if (props.minAvailable !== undefined && props.maxUnavailable !== undefined) {
      throw new Error('spec.podDisruptionBudget: set minAvailable or maxUnavailable, not both');
    }
    const budget =
      props.minAvailable !== undefined
        ? { minAvailable: intOrString(props.minAvailable) }
        : { maxUnavailable: intOrString(props.maxUnavailable ?? 1) };
    this.resource = new k8s.KubePodDisruptionBudget(this, 'resource', {
      metadata: ownedMeta(props.owner, names.podDisruptionBudget(props.owner.name)),
      spec: { ...budget, selector: { matchLabels: selectorLabels(props.owner.name) } },
    });
  }
}
