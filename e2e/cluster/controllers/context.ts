/** What every workload controller gets from the controller manager. */
import type { Logger } from 'winston';
import type { ControllerRevision, KubeObject, Pod } from '../harness/k8s-types.js';
import type { KubeClient } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import type { EventRecorder } from '../harness/events.js';
import { Expectations, matchesSelector, ownerRef } from './common.js';
import { RESOURCES } from '../harness/kube-client.js';
import type { LabelSelector } from '../harness/k8s-types.js';

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

/**
 * Pods the owner controls, after adopting orphans the way the real ControllerRefManager does:
 * a live pod in the owner's namespace that matches its selector and has no controller
 * ownerReference gets one pointing at the owner (e.g. pods left by `kubectl delete --cascade=orphan`
 * of a previous StatefulSet with the same selector). `accept` narrows which orphans qualify.
 */
export async function claimPods(ctx: ControllerContext, owner: KubeObject, apiVersion: string, kind: string, selector: LabelSelector, accept: (p: Pod) => boolean = () => true): Promise<Pod[]> {
  const owned = ownedBy(ctx.pods.list(), owner);
  if (owner.metadata.deletionTimestamp) return owned;
  const orphans = ctx.pods.list().filter((p) =>
    p.metadata.namespace === owner.metadata.namespace && !p.metadata.deletionTimestamp && !p.metadata.ownerReferences?.some((r) => r.controller) && matchesSelector(selector, p.metadata.labels) && accept(p));
  for (const p of orphans) {
    const refs = [...(p.metadata.ownerReferences ?? []), ownerRef(owner, apiVersion, kind)];
    try {
      const adopted = await ctx.client.mergePatch<Pod>(RESOURCES.pods, p.metadata.namespace, p.metadata.name ?? '', { metadata: { ownerReferences: refs, uid: p.metadata.uid } });
      owned.push(adopted);
    } catch (e) {
      ctx.logger.info(`adopting pod ${p.metadata.namespace}/${p.metadata.name}: ${String(e)}`);
    }
  }
  return owned;
}
