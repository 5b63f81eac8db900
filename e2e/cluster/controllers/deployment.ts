/**
 * Deployment controller (apps/v1): one ReplicaSet per pod template, named `<deploy>-<hash>` with
 * the `pod-template-hash` label in its selector and template; `deployment.kubernetes.io/revision`
 * annotations; RollingUpdate with `maxSurge`/`maxUnavailable` (defaults 25%/25%) or Recreate;
 * status and the `Available`/`Progressing` conditions `kubectl rollout status deployment/x` reads.
 */
import type { Deployment, KubeObject, Pod, PodTemplateSpec, ReplicaSet } from '../harness/k8s-types.js';
import { RESOURCES, isConflict } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import { canonicalJson, isFinished, isPodReady, isTerminating, nowIso, ownerRef, templateHash } from './common.js';
import { ownedBy, type ControllerContext } from './context.js';

const REVISION = 'deployment.kubernetes.io/revision';

/** `25%` of `total`, rounded up (surge) or down (unavailable), or an absolute number. */
export function scaledValue(v: number | string | undefined, fallback: string, total: number, roundUp: boolean): number {
  const s = v ?? fallback;
  if (typeof s === 'number') return s;
  const m = /^(\d+)%$/.exec(s);
  if (!m) return Number(s) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** Canonical form of a pod template without `pod-template-hash` and null fields. */
function comparableTemplate(t: PodTemplateSpec): string {
  const labels = { ...t.metadata?.labels };
  delete labels['pod-template-hash'];
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, strip(x)]));
    return v;
  };
  return canonicalJson(strip({ ...t, metadata: { ...t.metadata, labels } }));
}

const revisionOf = (o: KubeObject): number => Number(o.metadata.annotations?.[REVISION] ?? 0);

export class DeploymentController {
  #ctx: ControllerContext;
  #deployments: Informer<Deployment>;
  #replicaSets: Informer<ReplicaSet>;

  constructor(ctx: ControllerContext, deployments: Informer<Deployment>, replicaSets: Informer<ReplicaSet>) {
    this.#ctx = ctx;
    this.#deployments = deployments;
    this.#replicaSets = replicaSets;
  }

  async reconcile(key: string): Promise<void> {
    const d = this.#deployments.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const ctx = this.#ctx;
    const ns = d.metadata.namespace;
    const replicas = d.spec.replicas ?? 1;
    const sets = ownedBy(this.#replicaSets.list(), d);
    const hash = templateHash(d.spec.template);
    const maxRev = sets.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    // Like the real controller: the new ReplicaSet is the one whose template equals the Deployment's
    // ignoring the hash label (so `kubectl rollout undo` re-uses the old ReplicaSet).
    const wanted = comparableTemplate(d.spec.template);
    let newRs = sets.find((rs) => comparableTemplate(rs.spec.template) === wanted) ?? sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const olds = sets.filter((rs) => rs !== newRs);
    const podsOf = (rs: ReplicaSet): Pod[] => ownedBy(ctx.pods.list(), rs).filter((p) => !isFinished(p));
    const recreate = d.spec.strategy?.type === 'Recreate';

    if (!newRs) {
      const oldPods = olds.reduce((n, rs) => n + podsOf(rs).length, 0);
      const initial = recreate ? (oldPods > 0 ? 0 : replicas) : Math.min(replicas, Math.max(0, replicas + scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, '25%', replicas, true) - olds.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0)));
      const rs: ReplicaSet = {
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
          annotations: { [REVISION]: String(maxRev + 1), 'deployment.kubernetes.io/desired-replicas': String(replicas), 'deployment.kubernetes.io/max-replicas': String(replicas + scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, '25%', replicas, true)) },
          ownerReferences: [ownerRef(d, 'apps/v1', 'Deployment')],
        },
        spec: {
          replicas: initial,
          selector: { ...d.spec.selector, matchLabels: { ...d.spec.selector.matchLabels, 'pod-template-hash': hash } },
          template: { metadata: { ...d.spec.template.metadata, labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash } }, spec: d.spec.template.spec },
          ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
        },
      };
      try {
        newRs = await ctx.client.create(RESOURCES.replicasets, ns, rs);
        ctx.events.record({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' }, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} to ${initial}`);
      } catch (e) {
        if (!isConflict(e)) throw e;
        return; // exists; the informer will deliver it
      }
    } else if (revisionOf(newRs) < maxRev) {
      newRs = await ctx.client.mergePatch<ReplicaSet>(RESOURCES.replicasets, ns, newRs.metadata.name ?? '', { metadata: { annotations: { [REVISION]: String(maxRev + 1) } } });
    }

    const scale = async (rs: ReplicaSet, n: number): Promise<void> => {
      if ((rs.spec.replicas ?? 0) === n) return;
      await ctx.client.mergePatch(RESOURCES.replicasets, ns, rs.metadata.name ?? '', { spec: { replicas: n } });
      ctx.events.record({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' }, 'Normal', 'ScalingReplicaSet', `Scaled ${n > (rs.spec.replicas ?? 0) ? 'up' : 'down'} replica set ${rs.metadata.name} to ${n}`);
      rs.spec.replicas = n;
    };

    if (!d.spec.paused) {
      if (recreate) {
        for (const rs of olds) await scale(rs, 0);
        const oldPodsLeft = olds.some((rs) => podsOf(rs).length > 0);
        if (!oldPodsLeft) await scale(newRs, replicas);
      } else {
        const maxSurge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, '25%', replicas, true);
        let maxUnavailable = scaledValue(d.spec.strategy?.rollingUpdate?.maxUnavailable, '25%', replicas, false);
        if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
        const total = [newRs, ...olds].reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
        const cur = newRs.spec.replicas ?? 0;
        if (cur > replicas) await scale(newRs, replicas);
        else if (cur < replicas) {
          const up = Math.min(replicas - cur, replicas + maxSurge - total);
          if (up > 0) await scale(newRs, cur + up);
        }
        // Old replica sets: first drop their unavailable pods, then scale down as availability allows.
        const available = [newRs, ...olds].reduce((n, rs) => n + podsOf(rs).filter((p) => isPodReady(p) && !isTerminating(p)).length, 0);
        let budget = available - (replicas - maxUnavailable);
        const oldest = [...olds].sort((a, b) => revisionOf(a) - revisionOf(b));
        for (const rs of oldest) {
          const want = rs.spec.replicas ?? 0;
          if (want === 0) continue;
          const unhealthy = podsOf(rs).filter((p) => !isPodReady(p)).length;
          let down = Math.min(want, unhealthy);
          if (budget > 0) {
            const extra = Math.min(want - down, budget);
            down += extra;
            budget -= extra;
          }
          if (down > 0) await scale(rs, want - down);
        }
      }
    }

    // Status.
    const allPods = [newRs, ...olds].flatMap(podsOf).filter((p) => !isTerminating(p));
    const newPods = podsOf(newRs).filter((p) => !isTerminating(p));
    const ready = allPods.filter(isPodReady).length;
    const minAvailable = replicas - scaledValue(d.spec.strategy?.rollingUpdate?.maxUnavailable, '25%', replicas, false);
    const complete = newPods.length === replicas && allPods.length === replicas && newPods.filter(isPodReady).length === replicas;
    const ts = nowIso();
    const prevConds = d.status?.conditions ?? [];
    const cond = (type: string, status: string, reason: string, message: string): NonNullable<NonNullable<Deployment['status']>['conditions']>[number] => {
      const prev = prevConds.find((c) => c.type === type);
      const same = prev && prev.status === status && prev.reason === reason;
      return { type, status, reason, message, lastUpdateTime: same ? (prev.lastUpdateTime ?? ts) : ts, lastTransitionTime: prev && prev.status === status ? (prev.lastTransitionTime ?? ts) : ts };
    };
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: allPods.length,
      updatedReplicas: newPods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, replicas - ready),
      conditions: [
        ready >= minAvailable ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.') : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        complete
          ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newRs.metadata.name}" has successfully progressed.`)
          : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRs.metadata.name}" is progressing.`),
      ],
    };
    const old = d.status ?? {};
    const changed = JSON.stringify({ ...status, conditions: status.conditions.map((c) => [c.type, c.status, c.reason]) }) !== JSON.stringify({ observedGeneration: old.observedGeneration, replicas: old.replicas, updatedReplicas: old.updatedReplicas, readyReplicas: old.readyReplicas, availableReplicas: old.availableReplicas, unavailableReplicas: old.unavailableReplicas, conditions: (old.conditions ?? []).map((c) => [c.type, c.status, c.reason]) });
    if (changed) await ctx.client.mergePatch(RESOURCES.deployments, ns, d.metadata.name ?? '', { status }, 'status');
    if (d.metadata.annotations?.[REVISION] !== String(revisionOf(newRs))) {
      await ctx.client.mergePatch(RESOURCES.deployments, ns, d.metadata.name ?? '', { metadata: { annotations: { [REVISION]: String(revisionOf(newRs)) } } });
    }
    // History: keep revisionHistoryLimit scaled-down old replica sets.
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = olds.filter((rs) => (rs.spec.replicas ?? 0) === 0 && podsOf(rs).length === 0).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) await ctx.client.delete(RESOURCES.replicasets, ns, rs.metadata.name ?? '').catch(() => undefined);
  }
}
