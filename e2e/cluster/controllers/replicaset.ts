/**
 * ReplicaSet controller (apps/v1): keeps `spec.replicas` active pods (`generateName: <rs>-`),
 * deleting surplus pods in the real controller's preference order (unscheduled, pending, not
 * ready, newest first). Creations/deletions are tracked with expectations so a lagging cache
 * never causes a second round of creates.
 */
import type { Pod, ReplicaSet } from '../harness/k8s-types.js';
import { RESOURCES, isNotFound } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import { isFinished, isPodReady, isTerminating, ownerRef } from './common.js';
import { claimPods, type ControllerContext } from './context.js';

function deletionRank(p: Pod): number[] {
  return [
    p.spec.nodeName ? 1 : 0,
    p.status?.phase === 'Running' ? 1 : 0,
    isPodReady(p) ? 1 : 0,
    -Date.parse(p.metadata.creationTimestamp ?? '') || 0,
  ];
}

export class ReplicaSetController {
  #ctx: ControllerContext;
  #sets: Informer<ReplicaSet>;

  constructor(ctx: ControllerContext, sets: Informer<ReplicaSet>) {
    this.#ctx = ctx;
    this.#sets = sets;
  }

  async reconcile(key: string): Promise<void> {
    const rs = this.#sets.get(key);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const ctx = this.#ctx;
    const { pods, pendingCreates } = ctx.expectations.reconcile(key, await claimPods(ctx, rs, 'apps/v1', 'ReplicaSet', rs.spec.selector));
    for (const p of pods.filter((x) => isFinished(x) && !isTerminating(x))) await this.#delete(key, p);
    const active = pods.filter((p) => !isTerminating(p) && !isFinished(p));
    const want = rs.spec.replicas ?? 1;
    const diff = active.length + pendingCreates - want;
    const kindRs = { ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' };
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) {
        const t = rs.spec.template;
        const pod: Pod = {
          metadata: {
            generateName: `${rs.metadata.name}-`,
            namespace: rs.metadata.namespace,
            labels: { ...t.metadata?.labels },
            ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
            ownerReferences: [ownerRef(rs, 'apps/v1', 'ReplicaSet')],
          },
          spec: structuredClone(t.spec),
        };
        const created = await ctx.client.create(RESOURCES.pods, rs.metadata.namespace, pod);
        ctx.expectations.expectCreate(key, created.metadata.name ?? '');
        ctx.events.record(kindRs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
      }
    } else if (diff > 0) {
      const victims = [...active].sort((a, b) => {
        const ra = deletionRank(a);
        const rb = deletionRank(b);
        for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
        return 0;
      }).slice(0, diff);
      for (const p of victims) {
        await this.#delete(key, p);
        ctx.events.record(kindRs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      }
    }
    const ready = active.filter(isPodReady).length;
    const status = { replicas: active.length, readyReplicas: ready, availableReplicas: ready, fullyLabeledReplicas: active.length, observedGeneration: rs.metadata.generation ?? 1 };
    const old = (rs.status ?? {}) as Record<string, unknown>;
    if ((Object.keys(status) as (keyof typeof status)[]).some((k) => old[k] !== status[k])) {
      await ctx.client.mergePatch(RESOURCES.replicasets, rs.metadata.namespace, rs.metadata.name ?? '', { status }, 'status');
    }
  }

  async #delete(key: string, p: Pod): Promise<void> {
    this.#ctx.expectations.expectDelete(key, p.metadata.uid ?? '');
    await this.#ctx.client.delete(RESOURCES.pods, p.metadata.namespace, p.metadata.name ?? '').catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
