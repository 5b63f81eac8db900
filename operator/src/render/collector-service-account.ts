import { Construct } from 'constructs';
import { ApiObject } from 'cdk8s';
import { ownedMeta, names, type CollectorIdentity } from './labels.js';

export interface CollectorServiceAccountProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /** Extra annotations, e.g. `alloy.dev/granted-access`. @default none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The ServiceAccount generated when the Collector does not name one. */
export class CollectorServiceAccount extends Construct {
  readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: CollectorServiceAccountProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'resource', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        ...ownedMeta(props.owner, names.serviceAccount(props.owner.name)),
        ...(props.annotations !== undefined && Object.keys(props.annotations).length > 0 ? { annotations: { ...props.annotations } } : {}),
      },
    });
  }
}
