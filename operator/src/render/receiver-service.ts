import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { CollectorSpec } from '../api/v1alpha1/collector-types.js';
import { HTTP_PORT, ownedMeta, names, selectorLabels, type CollectorIdentity } from './labels.js';

export interface ReceiverServiceProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /**
   * Extra receiver ports (e.g. `loki.source.api` on 3100), exposed next to the HTTP server port.
   * @default []
   */
  readonly ports?: CollectorSpec['ports'];
}

/** ClusterIP Service in front of the collectors: the HTTP server (`http-metrics`, 12345) and receiver ports. */
export class ReceiverService extends Construct {
  readonly resource: k8s.KubeService;

  /** @throws when an extra port reuses the name `http-metrics` or the port 12345. */
  constructor(scope: Construct, id: string, props: ReceiverServiceProps) {
    super(scope, id);
    const extra = props.ports ?? [];
    for (const p of extra) {
      if (p.name === 'http-metrics' || (p.port === HTTP_PORT && p.protocol === 'TCP')) {
        throw new Error(`spec.ports: port ${p.name}/${p.port} collides with the built-in http-metrics port ${HTTP_PORT}; choose another name and port`);
      }
    }
    this.resource = new k8s.KubeService(this, 'resource', {
      metadata: ownedMeta(props.owner, names.receiverService(props.owner.name)),
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(props.owner.name),
        ports: [
          { name: 'http-metrics', port: HTTP_PORT, targetPort: k8s.IntOrString.fromNumber(HTTP_PORT), protocol: 'TCP' },
          ...extra.map((p) => ({
            name: p.name,
            port: p.port,
            targetPort: k8s.IntOrString.fromNumber(p.targetPort ?? p.port),
            protocol: p.protocol,
          })),
        ],
      },
    });
  }
}
