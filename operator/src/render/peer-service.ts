import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
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
  readonly resource: k8s.KubeService;

  constructor(scope: Construct, id: string, props: PeerServiceProps) {
    super(scope, id);
    this.resource = new k8s.KubeService(this, 'resource', {
      metadata: ownedMeta(props.owner, names.peerService(props.owner.name)),
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: selectorLabels(props.owner.name),
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromNumber(HTTP_PORT), protocol: 'TCP' }],
      },
    });
  }
}
