/** What every workload controller gets from the controller manager. */
import type { Logger } from 'winston';
import type { ControllerRevision, KubeObject, Pod } from '../harness/k8s-types.js';
import type { KubeClient } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import type { EventRecorder } from '../harness/events.js';
import { Expectations } from './common.js';

export interface ControllerContext {
  readonly client: KubeClient;
  readonly pods: Informer<Pod>;
  readonly revisions: Informer<ControllerRevision>;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly expectations: Expectations;
  /** Names of schedulable nodes (the dev cluster has one). */
  nodeNames(): string[];
}

/** Objects in `namespace` whose controller ownerReference points at `owner`. */
export function ownedBy<T extends KubeObject>(list: T[], owner: KubeObject): T[] {
  const uid = owner.metadata.uid;
  const ns = owner.metadata.namespace;
  return list.filter((o) => o.metadata.namespace === ns && o.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid));
}
