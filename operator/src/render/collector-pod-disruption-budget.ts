import { Construct } from 'constructs';
import type { V1PodDisruptionBudgetSpec } from '@kubernetes/client-node';
import { ApiObject } from 'cdk8s';
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

/** policy/v1 PodDisruptionBudget over the collector pods. */
export class CollectorPodDisruptionBudget extends Construct {
  readonly resource: ApiObject;

  /** @throws when both `minAvailable` and `maxUnavailable` are set (the API rejects it). */
  constructor(scope: Construct, id: string, props: CollectorPodDisruptionBudgetProps) {
    super(scope, id);
    if (props.minAvailable !== undefined && props.maxUnavailable !== undefined) {
      throw new Error('spec.podDisruptionBudget: set minAvailable or maxUnavailable, not both');
    }
    const budget = props.minAvailable !== undefined ? { minAvailable: props.minAvailable } : { maxUnavailable: props.maxUnavailable ?? 1 };
    const spec: V1PodDisruptionBudgetSpec = { ...budget, selector: { matchLabels: selectorLabels(props.owner.name) } };
    this.resource = new ApiObject(this, 'resource', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: ownedMeta(props.owner, names.podDisruptionBudget(props.owner.name)),
      spec,
    });
  }
}
