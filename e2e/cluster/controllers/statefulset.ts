/**
 * StatefulSet controller (apps/v1), following kube-controller-manager's semantics closely enough
 * for `kubectl rollout status statefulset/x`:
 * - pods `<name>-<ordinal>` with `hostname`/`subdomain` (per-pod DNS behind `serviceName`),
 *   labels `controller-revision-hash`, `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`;
 * - `volumeClaimTemplates` become per-ordinal `persistentVolumeClaim` volumes `<tmpl>-<sts>-<ord>`
 *   (the kubelet gives each claim a directory that survives pod replacement; no PVC objects);
 * - OrderedReady: create in ordinal order, each only when all lower ordinals are Running and Ready;
 *   scale down from the highest ordinal, one at a time. Parallel: all at once;
 * - RollingUpdate by revision (ControllerRevisions): pods whose revision differs from
 *   `updateRevision` are deleted highest ordinal first, one at a time once all pods are Ready,
 *   down to `partition`; they come back at the update revision (ordinals below the partition are
 *   recreated at the current revision). OnDelete: pods change only when deleted by the user;
 * - a pod that lacks a claim of the templates (it predates them: the StatefulSet was recreated
 *   around it) stops the sync at that pod with a `FailedUpdate` event, as the real controller
 *   does when the API server refuses to add the volume, until someone deletes the pod.
 */
import type { KubeObject, Pod, PodTemplateSpec, StatefulSet } from '../harness/k8s-types.js';
import { RESOURCES, isConflict } from '../harness/kube-client.js';
import { isFinished, isPodReady, isTerminating, ownerRef } from './common.js';
import { claimPods, type ControllerContext } from './context.js';
import { ensureRevision, listRevisions, pruneRevisions, revisionTemplate } from './revisions.js';
import type { Informer } from '../harness/informer.js';

const REV_LABEL = 'controller-revision-hash';

export function ordinalOf(sts: StatefulSet, pod: Pod): number {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : -1;
}

/** Claim volumes `<tmpl>-<sts>-<ord>` of the StatefulSet's templates that `pod` lacks (kube-controller-manager's `storageMatches`). */
export function missingClaims(sts: StatefulSet, pod: Pod): string[] {
  const ordinal = ordinalOf(sts, pod);
  return (sts.spec.volumeClaimTemplates ?? [])
    .map((t) => t.metadata.name ?? '')
    .filter((t) => !(pod.spec.volumes ?? []).some((v) => v.name === t && v.persistentVolumeClaim?.claimName === `${t}-${sts.metadata.name}-${ordinal}`));
}

export function statefulSetPod(sts: StatefulSet, ordinal: number, template: PodTemplateSpec, revision: string): Pod {
  const stsName = sts.metadata.name ?? '';
  const name = `${stsName}-${ordinal}`;
  const spec = structuredClone(template.spec);
  spec.hostname = name;
  if (sts.spec.serviceName) spec.subdomain = sts.spec.serviceName;
  const claims = sts.spec.volumeClaimTemplates ?? [];
  if (claims.length > 0) {
    const names = new Set(claims.map((c) => c.metadata.name));
    spec.volumes = [
      ...(spec.volumes ?? []).filter((v) => !names.has(v.name)),
      ...claims.map((c) => ({ name: c.metadata.name ?? '', persistentVolumeClaim: { claimName: `${c.metadata.name}-${stsName}-${ordinal}` } })),
    ];
  }
  return {
    metadata: {
      name,
      namespace: sts.metadata.namespace,
      labels: { ...template.metadata?.labels, [REV_LABEL]: revision, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(ordinal) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [ownerRef(sts, 'apps/v1', 'StatefulSet')],
    },
    spec,
  };
}

export class StatefulSetController {
  #ctx: ControllerContext;
  #sets: Informer<StatefulSet>;

  constructor(ctx: ControllerContext, sets: Informer<StatefulSet>) {
    this.#ctx = ctx;
    this.#sets = sets;
  }

  async reconcile(key: string): Promise<void | { requeueAfterMs: number }> {
    const sts = this.#sets.get(key);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const ctx = this.#ctx;
    const selectorLabels = sts.spec.selector.matchLabels ?? {};
    const update = await ensureRevision(ctx, sts, 'StatefulSet', sts.spec.template, selectorLabels);
    const revs = listRevisions(ctx, sts);
    const currentName = sts.status?.currentRevision || update.name;
    const currentCr = revs.find((r) => r.metadata.name === currentName);
    const currentTemplate = (currentCr && revisionTemplate(currentCr)) ?? sts.spec.template;

    const owned = await claimPods(ctx, sts, 'apps/v1', 'StatefulSet', sts.spec.selector, (p) => ordinalOf(sts, p) >= 0);
    const { pods } = ctx.expectations.reconcile(key, owned);
    const replicas = sts.spec.replicas ?? 1;
    const parallel = sts.spec.podManagementPolicy === 'Parallel';
    const rolling = (sts.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? (sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    const byOrd = new Map<number, Pod>();
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(sts, p);
      if (ord < 0) continue;
      if (ord < replicas) byOrd.set(ord, p);
      else condemned.push(p);
    }

    let blocked = false;
    for (let ord = 0; ord < replicas; ord++) {
      const p = byOrd.get(ord);
      if (!p) {
        const useCurrent = rolling && ord < partition;
        const pod = statefulSetPod(sts, ord, useCurrent ? currentTemplate : update.template, useCurrent ? currentName : update.name);
        await this.#create(key, sts, pod);
        if (!parallel) {
          blocked = true;
          break;
        }
        continue;
      }
      if (isFinished(p) && !isTerminating(p)) {
        await this.#delete(key, sts, p);
        if (!parallel) {
          blocked = true;
          break;
        }
        continue;
      }
      if (!parallel && (isTerminating(p) || !isPodReady(p))) {
        blocked = true;
        break;
      }
      const missing = missingClaims(sts, p);
      if (missing.length > 0) {
        // As kube-controller-manager: create the claims, then try to add the volumes to the
        // existing pod, which the API server forbids (pod specs are immutable): report it and
        // stop here on every sync; only deleting the pod lets the rollout go on.
        await this.#ensureClaims(sts, ord);
        this.#ctx.events.record(
          { ...sts, apiVersion: 'apps/v1', kind: 'StatefulSet' },
          'Warning',
          'FailedUpdate',
          `update Pod ${p.metadata.name} in StatefulSet ${sts.metadata.name} failed error: Pod "${p.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`, \`spec.initContainers[*].image\`, \`spec.activeDeadlineSeconds\`, \`spec.tolerations\` (only additions to existing tolerations) or \`spec.terminationGracePeriodSeconds\` (allow it to be set to 1 if it was previously negative)`,
        );
        blocked = true;
        break;
      }
    }

    if (!blocked) {
      for (const p of condemned.sort((a, b) => ordinalOf(sts, b) - ordinalOf(sts, a))) {
        if (isTerminating(p)) {
          if (!parallel) {
            blocked = true;
            break;
          }
          continue;
        }
        await this.#delete(key, sts, p);
        if (!parallel) {
          blocked = true;
          break;
        }
      }
    }

    if (!blocked && rolling && condemned.length === 0) {
      const all = [...byOrd.values()];
      const healthy = all.length === replicas && all.every((p) => isPodReady(p) && !isTerminating(p));
      if (healthy) {
        for (let ord = replicas - 1; ord >= partition; ord--) {
          const p = byOrd.get(ord)!;
          if (p.metadata.labels?.[REV_LABEL] !== update.name) {
            await this.#delete(key, sts, p);
            break;
          }
        }
      }
    }

    await this.#writeStatus(sts, pods, update.name, currentName, replicas);
    const inUse = new Set(pods.map((p) => p.metadata.labels?.[REV_LABEL] ?? ''));
    inUse.add(update.name).add(currentName);
    await pruneRevisions(ctx, sts, sts.spec.revisionHistoryLimit ?? 10, inUse);
  }

  /** PersistentVolumeClaims from volumeClaimTemplates, created once and bound at once (no provisioner here). */
  async #ensureClaims(sts: StatefulSet, ordinal: number): Promise<void> {
    const ns = sts.metadata.namespace;
    for (const t of sts.spec.volumeClaimTemplates ?? []) {
      const name = `${t.metadata.name}-${sts.metadata.name}-${ordinal}`;
      if (await this.#ctx.client.tryGet(RESOURCES.persistentvolumeclaims, ns, name)) continue;
      try {
        const claim: KubeObject & { spec: Record<string, unknown> } = {
          metadata: { name, namespace: ns, labels: { ...sts.spec.selector.matchLabels, ...t.metadata.labels } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...t.spec, volumeName: `pvc-local-${name}` },
        };
        await this.#ctx.client.create(RESOURCES.persistentvolumeclaims, ns, claim);
        await this.#ctx.client.mergePatch(RESOURCES.persistentvolumeclaims, ns, name, { status: { phase: 'Bound', accessModes: (t.spec?.accessModes as string[] | undefined) ?? ['ReadWriteOnce'], capacity: (t.spec?.resources as { requests?: Record<string, string> } | undefined)?.requests ?? { storage: '1Gi' } } }, 'status');
      } catch (e) {
        // PVC objects are a convenience for kubectl; the kubelet's claim directory works without them.
        this.#ctx.logger.info(`statefulset ${sts.metadata.name}: claim ${name}: ${String(e)}`);
      }
    }
  }

  async #create(key: string, sts: StatefulSet, pod: Pod): Promise<void> {
    await this.#ensureClaims(sts, ordinalOf(sts, pod));
    this.#ctx.expectations.expectCreate(key, pod.metadata.name ?? '');
    try {
      await this.#ctx.client.create(RESOURCES.pods, sts.metadata.namespace, pod);
      this.#ctx.events.record({ ...sts, apiVersion: 'apps/v1', kind: 'StatefulSet' }, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
    } catch (e) {
      if (isConflict(e)) return; // already exists: the cache will catch up
      this.#ctx.events.record({ ...sts, apiVersion: 'apps/v1', kind: 'StatefulSet' }, 'Warning', 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} failed error: ${String(e)}`);
      throw e;
    }
  }

  async #delete(key: string, sts: StatefulSet, pod: Pod): Promise<void> {
    this.#ctx.expectations.expectDelete(key, pod.metadata.uid ?? '');
    await this.#ctx.client.delete(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name ?? '').catch((e: unknown) => {
      if (!(e instanceof Error && /not found/i.test(e.message))) throw e;
    });
    this.#ctx.events.record({ ...sts, apiVersion: 'apps/v1', kind: 'StatefulSet' }, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
  }

  async #writeStatus(sts: StatefulSet, pods: Pod[], updateName: string, currentName: string, replicas: number): Promise<void> {
    const live = pods.filter((p) => !isFinished(p));
    const ready = live.filter((p) => isPodReady(p) && !isTerminating(p));
    const rev = (p: Pod): string | undefined => p.metadata.labels?.[REV_LABEL];
    let currentRevision = currentName;
    let currentReplicas = live.filter((p) => rev(p) === currentName).length;
    const updatedReplicas = live.filter((p) => rev(p) === updateName).length;
    if (updatedReplicas === replicas && ready.length === replicas && live.length === replicas) {
      currentRevision = updateName;
      currentReplicas = updatedReplicas;
    }
    const status = {
      observedGeneration: sts.metadata.generation ?? 1,
      replicas: live.length,
      readyReplicas: ready.length,
      availableReplicas: ready.length,
      currentReplicas,
      updatedReplicas,
      currentRevision,
      updateRevision: updateName,
      collisionCount: sts.status?.collisionCount ?? 0,
    };
    const old = sts.status ?? {};
    const changed = (Object.keys(status) as (keyof typeof status)[]).some((k) => (old as Record<string, unknown>)[k] !== status[k]);
    if (!changed) return;
    await this.#ctx.client.mergePatch(RESOURCES.statefulsets, sts.metadata.namespace, sts.metadata.name ?? '', { status }, 'status');
  }
}
