/**
 * Pod Security Standards "restricted" check (Kubernetes pod-security-admission, latest version)
 * over a pod spec. Returns one message per violated control, empty when the pod is allowed.
 * Used on every rendered chart workload; the operator's checker has the same contract.
 */
export type Json = Record<string, unknown>;

const ALLOWED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

export function restrictedViolations(podSpec: Json): string[] {
  const out: string[] = [];
  const podSc = obj(podSpec['securityContext']);
  const containers = [...list(podSpec['initContainers']), ...list(podSpec['containers']), ...list(podSpec['ephemeralContainers'])];
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (podSpec[k] === true) out.push(`host namespaces (${k}=true)`);
  }
  for (const v of list(podSpec['volumes'])) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === 'hostPath') out.push(`hostPath volumes (volume "${String(v['name'])}")`);
    else if (type !== undefined && !ALLOWED_VOLUME_TYPES.has(type)) out.push(`restricted volume types (volume "${String(v['name'])}" uses ${type})`);
  }
  const podNonRoot = podSc['runAsNonRoot'] === true;
  const podSeccomp = obj(podSc['seccompProfile'])['type'];
  if (podSc['runAsNonRoot'] === false) out.push('runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)');
  if (podSc['runAsUser'] === 0) out.push('runAsUser=0 (pod must not set runAsUser=0)');
  if (podSeccomp !== undefined && podSeccomp !== 'RuntimeDefault' && podSeccomp !== 'Localhost') out.push(`seccompProfile (pod must not set securityContext.seccompProfile.type to "${String(podSeccomp)}")`);
  for (const c of containers) {
    const name = String(c['name']);
    const sc = obj(c['securityContext']);
    if (sc['privileged'] === true) out.push(`privileged (container "${name}" must not set securityContext.privileged=true)`);
    if (sc['allowPrivilegeEscalation'] !== false) out.push(`allowPrivilegeEscalation != false (container "${name}" must set securityContext.allowPrivilegeEscalation=false)`);
    const caps = obj(sc['capabilities']);
    const drop = Array.isArray(caps['drop']) ? (caps['drop'] as unknown[]) : [];
    if (!drop.includes('ALL')) out.push(`unrestricted capabilities (container "${name}" must set securityContext.capabilities.drop=["ALL"])`);
    const add = Array.isArray(caps['add']) ? (caps['add'] as unknown[]) : [];
    for (const a of add) if (a !== 'NET_BIND_SERVICE') out.push(`unrestricted capabilities (container "${name}" must not include "${String(a)}" in securityContext.capabilities.add)`);
    if (sc['runAsNonRoot'] === false || (!podNonRoot && sc['runAsNonRoot'] !== true)) {
      out.push(`runAsNonRoot != true (pod or container "${name}" must set securityContext.runAsNonRoot=true)`);
    }
    if (sc['runAsUser'] === 0) out.push(`runAsUser=0 (container "${name}" must not set runAsUser=0)`);
    const seccomp = obj(sc['seccompProfile'])['type'];
    if (seccomp !== undefined && seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`seccompProfile (container "${name}" must not set securityContext.seccompProfile.type to "${String(seccomp)}")`);
    if (seccomp === undefined && podSeccomp === undefined) out.push(`seccompProfile (pod or container "${name}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`);
    for (const p of list(c['ports'])) {
      if (typeof p['hostPort'] === 'number' && p['hostPort'] !== 0) out.push(`hostPort (container "${name}" uses hostPort ${p['hostPort']})`);
    }
  }
  return out;
}

/** The pod spec of a rendered object (Pod, workload template, CronJob), or undefined. */
export function podSpecOf(object: Json): Json | undefined {
  const kind = object['kind'];
  const spec = obj(object['spec']);
  if (kind === 'Pod') return spec;
  if (kind === 'CronJob') return obj(obj(obj(obj(spec['jobTemplate'])['spec'])['template'])['spec']);
  if (['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job', 'ReplicationController'].includes(String(kind))) return obj(obj(spec['template'])['spec']);
  return undefined;
}
