/**
 * ControllerRevision history for StatefulSets and DaemonSets, as the real controllers keep it:
 * one revision per distinct pod template, named `<owner>-<hash>`, labelled
 * `controller.kubernetes.io/hash`, data `{spec: {template: {..., $patch: replace}}}`, with a
 * monotonically increasing `revision`. Returning to an old template re-uses its revision object
 * and bumps its number to the newest.
 */
import type { ControllerRevision, KubeObject, PodTemplateSpec } from '../harness/k8s-types.js';
import { RESOURCES } from '../harness/kube-client.js';
import { canonicalJson, ownerRef, templateHash } from './common.js';
import { ownedBy, type ControllerContext } from './context.js';

export interface Revision {
  readonly name: string;
  readonly hash: string;
  readonly revision: number;
  readonly template: PodTemplateSpec;
}

export function revisionTemplate(cr: ControllerRevision): PodTemplateSpec | undefined {
  const t = (cr.data as { spec?: { template?: PodTemplateSpec & { $patch?: string } } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _ignored, ...rest } = t;
  return rest;
}

export function listRevisions(ctx: ControllerContext, owner: KubeObject): ControllerRevision[] {
  return ownedBy(ctx.revisions.list(), owner).sort((a, b) => a.revision - b.revision);
}

/** Ensures a revision exists for `template` and is the newest; returns it. */
export async function ensureRevision(ctx: ControllerContext, owner: KubeObject, ownerKind: 'StatefulSet' | 'DaemonSet', template: PodTemplateSpec, labels: Record<string, string>): Promise<Revision> {
  const revs = listRevisions(ctx, owner);
  const max = revs.reduce((m, r) => Math.max(m, r.revision), 0);
  const hash = templateHash(template);
  const name = `${owner.metadata.name}-${hash}`;
  const existing = revs.find((r) => r.metadata.name === name);
  const ns = owner.metadata.namespace;
  if (existing) {
    const same = canonicalJson(revisionTemplate(existing)) === canonicalJson(template);
    if (same) {
      if (existing.revision < max) {
        await ctx.client.mergePatch(RESOURCES.controllerrevisions, ns, name, { revision: max + 1 });
        return { name, hash, revision: max + 1, template };
      }
      return { name, hash, revision: existing.revision, template };
    }
  }
  const cr: ControllerRevision = {
    metadata: { name, namespace: ns, labels: { ...labels, 'controller.kubernetes.io/hash': hash }, ownerReferences: [ownerRef(owner, 'apps/v1', ownerKind)] },
    data: { spec: { template: { ...template, $patch: 'replace' } } },
    revision: max + 1,
  };
  try {
    await ctx.client.create(RESOURCES.controllerrevisions, ns, cr);
  } catch (e) {
    // Created by an earlier pass whose watch event has not arrived yet.
    if (!(e instanceof Error && /AlreadyExists|already exists/.test(e.message))) throw e;
  }
  return { name, hash, revision: max + 1, template };
}

/** Deletes the oldest revisions beyond `limit` that no live pod uses. */
export async function pruneRevisions(ctx: ControllerContext, owner: KubeObject, limit: number, inUse: Set<string>): Promise<void> {
  const revs = listRevisions(ctx, owner).filter((r) => !inUse.has(r.metadata.name ?? ''));
  const excess = revs.length - limit;
  for (const r of revs.slice(0, Math.max(0, excess))) {
    await ctx.client.delete(RESOURCES.controllerrevisions, r.metadata.namespace, r.metadata.name ?? '').catch(() => undefined);
  }
}
