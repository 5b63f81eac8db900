/**
 * Pod volumes on the host. ConfigMap, Secret, downwardAPI and projected volumes are projected
 * with the AtomicWriter layout (`atomic-writer.ts`) and re-synced while the pod runs; emptyDir is
 * a per-pod directory; persistentVolumeClaim is a directory per claim that outlives pods (so a
 * StatefulSet pod finds its data again); hostPath is the host path itself.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigMap, KeyToPath, Pod, Secret, Volume } from '../harness/k8s-types.js';
import { writeAtomic, type FileProjection } from './atomic-writer.js';
import { fieldRefValue, type EnvSources } from './container-env.js';
import type { TokenSource } from './service-account-tokens.js';

export class VolumeError extends Error {
  readonly reason = 'FailedMount';
}

export interface VolumeContext {
  readonly pod: Pod;
  readonly podIP: string;
  readonly hostIP: string;
  readonly sources: EnvSources;
  readonly podDir: string;
  readonly stateDir: string;
  /**
   * Issues the token of a projected `serviceAccountToken` source (TokenRequest for the pod's
   * ServiceAccount). Without it the source holds a placeholder and pods reach the API server
   * through KUBECONFIG instead.
   */
  readonly serviceAccountToken?: (source: TokenSource) => Promise<string>;
}

function project(
  what: string,
  data: Record<string, Buffer> | undefined,
  items: KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean | undefined,
  out: Map<string, FileProjection>,
): void {
  const mode = defaultMode ?? 0o644;
  if (!data) {
    if (optional) return;
    throw new VolumeError(`${what} not found`);
  }
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: v, mode });
    return;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(`configuration error: key "${it.key}" not found in ${what}`);
    }
    out.set(it.path, { data: v, mode: it.mode ?? mode });
  }
}

function cmData(cm: ConfigMap | undefined): Record<string, Buffer> | undefined {
  if (!cm) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function secretData(s: Secret | undefined): Record<string, Buffer> | undefined {
  if (!s) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = Buffer.from(v);
  return out;
}

interface ProjectedSource {
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: { path: string; fieldRef?: { fieldPath: string }; mode?: number }[] };
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
}

function projectedSources(v: Volume): ProjectedSource[] {
  return (v.projected as { sources?: ProjectedSource[] } | undefined)?.sources ?? [];
}

/**
 * The payload of a projected-kind volume, or undefined for directory-kind volumes. `tokens` holds
 * the issued token of each `serviceAccountToken` source by its path (see `syncVolumes`).
 */
export function volumePayload(v: Volume, ctx: VolumeContext, tokens: ReadonlyMap<string, string> = new Map()): Map<string, FileProjection> | undefined {
  const ns = ctx.pod.metadata.namespace ?? 'default';
  const out = new Map<string, FileProjection>();
  if (v.configMap) {
    project(`configmap "${v.configMap.name}"`, cmData(ctx.sources.configMap(ns, v.configMap.name)), v.configMap.items, v.configMap.defaultMode, v.configMap.optional, out);
    return out;
  }
  if (v.secret) {
    project(`secret "${v.secret.secretName}"`, secretData(ctx.sources.secret(ns, v.secret.secretName)), v.secret.items, v.secret.defaultMode, v.secret.optional, out);
    return out;
  }
  if (v.downwardAPI) {
    for (const it of v.downwardAPI.items ?? []) {
      if (it.fieldRef) out.set(it.path, { data: Buffer.from(fieldRefValue(ctx.pod, ctx.podIP, ctx.hostIP, it.fieldRef.fieldPath)), mode: v.downwardAPI.defaultMode ?? 0o644 });
    }
    return out;
  }
  if (v.projected) {
    const p = v.projected as { sources?: ProjectedSource[]; defaultMode?: number };
    for (const s of p.sources ?? []) {
      if (s.configMap) project(`configmap "${s.configMap.name}"`, cmData(ctx.sources.configMap(ns, s.configMap.name)), s.configMap.items, p.defaultMode, s.configMap.optional, out);
      if (s.secret) project(`secret "${s.secret.name}"`, secretData(ctx.sources.secret(ns, s.secret.name)), s.secret.items, p.defaultMode, s.secret.optional, out);
      if (s.downwardAPI) {
        for (const it of s.downwardAPI.items ?? []) {
          if (it.fieldRef) out.set(it.path, { data: Buffer.from(fieldRefValue(ctx.pod, ctx.podIP, ctx.hostIP, it.fieldRef.fieldPath)), mode: it.mode ?? p.defaultMode ?? 0o644 });
        }
      }
      // Without a token issuer (the test API server) processes reach the API server through KUBECONFIG instead.
      if (s.serviceAccountToken) out.set(s.serviceAccountToken.path, { data: Buffer.from(tokens.get(s.serviceAccountToken.path) ?? 'dev-cluster-token'), mode: p.defaultMode ?? 0o644 });
    }
    return out;
  }
  return undefined;
}

/** Host directory backing a volume; created when missing. */
export async function volumeHostPath(v: Volume, ctx: VolumeContext): Promise<string> {
  if (v.hostPath) return v.hostPath.path;
  const dir = v.persistentVolumeClaim
    ? path.join(ctx.stateDir, 'pvc', ctx.pod.metadata.namespace ?? 'default', v.persistentVolumeClaim.claimName)
    : path.join(ctx.podDir, 'volumes', v.name);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** Sets up or refreshes every volume of the pod; returns volume name → host path. */
export async function syncVolumes(ctx: VolumeContext): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const v of ctx.pod.spec.volumes ?? []) {
    const dir = await volumeHostPath(v, ctx);
    const tokens = new Map<string, string>();
    if (ctx.serviceAccountToken) {
      for (const s of projectedSources(v)) {
        const t = s.serviceAccountToken;
        if (!t) continue;
        try {
          tokens.set(t.path, await ctx.serviceAccountToken({ ...(t.audience ? { audience: t.audience } : {}), ...(t.expirationSeconds !== undefined ? { expirationSeconds: t.expirationSeconds } : {}) }));
        } catch (e) {
          throw new VolumeError(`volume "${v.name}": ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    const payload = volumePayload(v, ctx, tokens);
    if (payload) await writeAtomic(dir, payload);
    paths.set(v.name, dir);
  }
  return paths;
}
