import { Construct } from 'constructs';
import type { V1ServiceSpec } from '@kubernetes/client-node';
import { ApiObject } from 'cdk8s';
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

/** User ports other than the built-in HTTP server port (12345/TCP). */
export function extraPorts(ports: CollectorSpec['ports']): NonNullable<CollectorSpec['ports']> {
  return (ports ?? []).filter((p) => !((p.targetPort ?? p.port) === HTTP_PORT && p.protocol === 'TCP'));
}

/** ClusterIP Service in front of the collectors: the HTTP server (`http-metrics`, 12345) and receiver ports. */
export class ReceiverService extends Construct {
  readonly resource: ApiObject;

  /**
   * Extra ports on 12345/TCP (e.g. `prometheus.receive_http` sharing the main server) are already
   * exposed as `http-metrics` and are not repeated.
   * @throws when an extra port takes the name `http-metrics` for another port.
   */
  constructor(scope: Construct, id: string, props: ReceiverServiceProps) {
    super(scope, id);
    const extra = extraPorts(props.ports);
    for (const p of extra) {
      if (p.name === 'http-metrics') {
        throw new Error(`spec.ports: the name http-metrics is reserved for port ${HTTP_PORT}; rename port ${p.port}`);
      }
    }
    const spec: V1ServiceSpec = {
      type: 'ClusterIP',
      selector: selectorLabels(props.owner.name),
      ports: [
        { name: 'http-metrics', port: HTTP_PORT, targetPort: HTTP_PORT, protocol: 'TCP' },
        ...extra.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol })),
      ],
    };
    this.resource = new ApiObject(this, 'resource', { apiVersion: 'v1', kind: 'Service', metadata: ownedMeta(props.owner, names.receiverService(props.owner.name)), spec });
  }
}
