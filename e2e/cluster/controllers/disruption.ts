/**
 * PodDisruptionBudget status (policy/v1), as kube-controller-manager's disruption controller
 * keeps it: `expectedPods` from the scale of the pods' controllers (StatefulSet/ReplicaSet
 * replicas; one per pod otherwise), `currentHealthy` = Ready pods, `desiredHealthy` from
 * `minAvailable` or `maxUnavailable` (int or percent, rounded up), `disruptionsAllowed`, and the
 * `DisruptionAllowed` condition. Nothing here evicts: it makes `kubectl get/describe pdb` truthful.
 */
import type { KubeObject, LabelSelector, Pod } from '../harness/k8s-types.js';
import { RESOURCES } from '../harness/kube-client.js';
import type { Informer } from '../harness/informer.js';
import { controllerOf, isFinished, isPodReady, matchesSelector, nowIso, splitKey } from './common.js';
import type { ControllerContext } from './context.js';

export interface PodDisruptionBudget extends KubeObject {
  spec: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: { observedGeneration?: number; disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number; conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] };
}

function scaled(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : Number(v) || 0;
}

export class DisruptionController {
  #ctx: ControllerContext;
  #budgets: Informer<PodDisruptionBudget>;
  #scaleOf: (kind: string, namespace: string, name: string) => number | undefined;

  constructor(ctx: ControllerContext, budgets: Informer<PodDisruptionBudget>, scaleOf: (kind: string, namespace: string, name: string) => number | undefined) {
    this.#ctx = ctx;
    this.#budgets = budgets;
    this.#scaleOf = scaleOf;
  }

  /** Budget keys whose selector matches the pod. */
  budgetsFor(pod: Pod): string[] {
    return this.#budgets.list().filter((b) => b.metadata.namespace === pod.metadata.namespace && matchesSelector(b.spec.selector, pod.metadata.labels)).map((b) => `${b.metadata.namespace}/${b.metadata.name}`);
  }

  async reconcile(key: string): Promise<void> {
    const pdb = this.#budgets.get(key);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const [ns] = splitKey(key);
    const pods = this.#ctx.pods.list().filter((p) => p.metadata.namespace === ns && !isFinished(p) && matchesSelector(pdb.spec.selector, p.metadata.labels));
    const owners = new Map<string, number>();
    let unowned = 0;
    for (const p of pods) {
      const ref = controllerOf(p);
      const scale = ref ? this.#scaleOf(ref.kind, ns, ref.name) : undefined;
      if (ref && scale !== undefined) owners.set(`${ref.kind}/${ref.name}`, scale);
      else unowned++;
    }
    const expectedPods = [...owners.values()].reduce((a, b) => a + b, 0) + unowned;
    const currentHealthy = pods.filter((p) => isPodReady(p) && !p.metadata.deletionTimestamp).length;
    const desiredHealthy = pdb.spec.maxUnavailable !== undefined ? Math.max(0, expectedPods - scaled(pdb.spec.maxUnavailable, expectedPods)) : scaled(pdb.spec.minAvailable ?? 1, expectedPods);
    const disruptionsAllowed = Math.max(0, currentHealthy - desiredHealthy);
    const allowed = disruptionsAllowed > 0 ? 'True' : 'False';
    const prev = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    const status = {
      observedGeneration: pdb.metadata.generation ?? 1,
      disruptionsAllowed,
      currentHealthy,
      desiredHealthy,
      expectedPods,
      conditions: [{ type: 'DisruptionAllowed', status: allowed, reason: allowed === 'True' ? 'SufficientPods' : 'InsufficientPods', message: '', observedGeneration: pdb.metadata.generation ?? 1, lastTransitionTime: prev?.status === allowed ? (prev.lastTransitionTime ?? nowIso()) : nowIso() }],
    };
    const old = pdb.status ?? {};
    const same = old.observedGeneration === status.observedGeneration && old.disruptionsAllowed === disruptionsAllowed && old.currentHealthy === currentHealthy && old.desiredHealthy === desiredHealthy && old.expectedPods === expectedPods && prev?.status === allowed;
    if (!same) await this.#ctx.client.mergePatch(RESOURCES.poddisruptionbudgets, ns, pdb.metadata.name ?? '', { status }, 'status');
  }
}
