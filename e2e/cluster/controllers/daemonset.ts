/**
 * DaemonSet controller (apps/v1): one pod per node (`spec.nodeName` set directly, as the real
 * controller's scheduling effectively does), labelled `controller-revision-hash` (the template
 * hash, ControllerRevision-backed) and `pod-template-generation`; RollingUpdate replaces pods of
 * old revisions while at most `maxUnavailable` (default 1) are unavailable; OnDelete waits for the
 * user. Status fields match what `kubectl rollout status daemonset/x` reads.
 */
import type { DaemonSet, Pod } from '../harness/k8s-types.js';
import { RESOURCES, isNotFound } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import { isFinished, isPodReady, isTerminating, ownerRef } from './common.js';
import { claimPods, type ControllerContext } from './context.js';
import { ensureRevision, pruneRevisions } from './revisions.js';
import { scaledValue } from './deployment.js';

export class DaemonSetController {
  #ctx: ControllerContext;
  #sets: Informer<DaemonSet>;

  constructor(ctx: ControllerContext, sets: Informer<DaemonSet>) {
    this.#ctx = ctx;
    this.#sets = sets;
  }

  async reconcile(key: string): Promise<void> {
    const ds = this.#sets.get(key);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const ctx = this.#ctx;
    const ns = ds.metadata.namespace;
    const rev = await ensureRevision(ctx, ds, 'DaemonSet', ds.spec.template, ds.spec.selector.matchLabels ?? {});
    const { pods, pendingCreates } = ctx.expectations.reconcile(key, await claimPods(ctx, ds, 'apps/v1', 'DaemonSet', ds.spec.selector));
    const nodes = ctx.nodeNames();
    const kindDs = { ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet' };
    const hashOf = (p: Pod): string | undefined => p.metadata.labels?.['controller-revision-hash'];
    const del = async (p: Pod): Promise<void> => {
      ctx.expectations.expectDelete(key, p.metadata.uid ?? '');
      await ctx.client.delete(RESOURCES.pods, ns, p.metadata.name ?? '').catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      ctx.events.record(kindDs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
    };

    for (const p of pods) if (!isTerminating(p) && (isFinished(p) || !nodes.includes(p.spec.nodeName ?? ''))) await del(p);
    const active = pods.filter((p) => !isTerminating(p) && !isFinished(p) && nodes.includes(p.spec.nodeName ?? ''));
    const rolling = (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const maxUnavailable = Math.max(1, scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, '1', nodes.length, true));
    let unavailable = nodes.filter((n) => !active.some((p) => p.spec.nodeName === n && isPodReady(p))).length;

    for (const node of nodes) {
      const onNode = active.filter((p) => p.spec.nodeName === node).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
      const terminatingOnNode = pods.some((p) => p.spec.nodeName === node && isTerminating(p));
      if (onNode.length === 0) {
        if (terminatingOnNode || pendingCreates > 0) continue;
        const t = ds.spec.template;
        const pod: Pod = {
          metadata: {
            generateName: `${ds.metadata.name}-`,
            namespace: ns,
            labels: { ...t.metadata?.labels, 'controller-revision-hash': rev.hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
            ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
            ownerReferences: [ownerRef(ds, 'apps/v1', 'DaemonSet')],
          },
          spec: { ...structuredClone(t.spec), nodeName: node },
        };
        const created = await ctx.client.create(RESOURCES.pods, ns, pod);
        ctx.expectations.expectCreate(key, created.metadata.name ?? '');
        ctx.events.record(kindDs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        continue;
      }
      for (const extra of onNode.slice(1)) await del(extra);
      const p = onNode[0]!;
      if (rolling && hashOf(p) !== rev.hash) {
        const podUnavailable = !isPodReady(p);
        if (podUnavailable || unavailable < maxUnavailable) {
          if (!podUnavailable) unavailable++;
          await del(p);
        }
      }
    }

    const live = active;
    const ready = live.filter(isPodReady).length;
    const status = {
      currentNumberScheduled: new Set(live.map((p) => p.spec.nodeName)).size,
      desiredNumberScheduled: nodes.length,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      numberUnavailable: Math.max(0, nodes.length - ready),
      updatedNumberScheduled: live.filter((p) => hashOf(p) === rev.hash).length,
      observedGeneration: ds.metadata.generation ?? 1,
    };
    const old = (ds.status ?? {}) as Record<string, unknown>;
    if ((Object.keys(status) as (keyof typeof status)[]).some((k) => old[k] !== status[k])) {
      await ctx.client.mergePatch(RESOURCES.daemonsets, ns, ds.metadata.name ?? '', { status }, 'status');
    }
    await pruneRevisions(ctx, ds, 10, new Set([...pods.map((p) => `${ds.metadata.name}-${hashOf(p)}`), rev.name]));
  }
}
