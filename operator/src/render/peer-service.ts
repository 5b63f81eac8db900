import { Construct } from 'constructs';
import type { V1ServiceSpec } from '@kubernetes/client-node';
import { ApiObject } from 'cdk8s';
import { HTTP_PORT, ownedMeta, names, selectorLabels, type CollectorIdentity } from './labels.js';

export interface PeerServiceProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
}

/**
 * Headless Service listing every pod (ready or not) so cluster peers find each other through
 * `--cluster.join-addresses`; also the StatefulSet's governing service.
 */
export class PeerService extends Construct {
  readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: PeerServiceProps) {
    super(scope, id);
    const spec: V1ServiceSpec = {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(props.owner.name),
      ports: [{ name: 'http', port: HTTP_PORT, targetPort: HTTP_PORT, protocol: 'TCP' }],
    };
    this.resource = new ApiObject(this, 'resource', { apiVersion: 'v1', kind: 'Service', metadata: ownedMeta(props.owner, names.peerService(props.owner.name)), spec });
  }
}
