/**
 * Pod Security Standards "restricted" checker (see README.md). The controls and allowed values
 * follow https://kubernetes.io/docs/concepts/security/pod-security-standards/ (policy version
 * "latest"); Windows-only and deprecated-but-still-checked fields are included.
 */

export interface Violation {
  /** JSON path of the offending field, e.g. `spec.template.spec.containers[0].securityContext`. */
  readonly path: string;
  /** PSS control name, e.g. `Privilege Escalation`. */
  readonly control: string;
  readonly message: string;
}

type Json = Record<string, unknown>;

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A pod spec (with its metadata) found inside a manifest. */
export interface PodSpecAt {
  readonly path: string;
  readonly metadata: Json;
  readonly spec: Json;
}

/** Pod specs of a Pod or of a workload's pod template; empty for other kinds. */
export function podSpecsOf(manifest: unknown): PodSpecAt[] {
  const m = obj(manifest);
  const kind = m['kind'];
  if (kind === 'Pod') return [{ path: 'spec', metadata: obj(m['metadata']), spec: obj(m['spec']) }];
  if (kind === 'CronJob') {
    const t = obj(obj(obj(obj(m['spec'])['jobTemplate'])['spec'])['template']);
    return [{ path: 'spec.jobTemplate.spec.template.spec', metadata: obj(t['metadata']), spec: obj(t['spec']) }];
  }
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController'].includes(String(kind))) {
    const t = obj(obj(m['spec'])['template']);
    return [{ path: 'spec.template.spec', metadata: obj(t['metadata']), spec: obj(t['spec']) }];
  }
  return [];
}

/** Violations of the restricted profile in one pod spec. */
export function checkPodSpec(spec: Json, metadata: Json = {}, path = 'spec'): Violation[] {
  const out: Violation[] = [];
  const v = (p: string, control: string, message: string): void => void out.push({ path: p, control, message });
  const podSc = obj(spec['securityContext']);
  const containers = [
    ...arr(spec['containers']).map((c, i) => ({ c: obj(c), p: `${path}.containers[${i}]` })),
    ...arr(spec['initContainers']).map((c, i) => ({ c: obj(c), p: `${path}.initContainers[${i}]` })),
    ...arr(spec['ephemeralContainers']).map((c, i) => ({ c: obj(c), p: `${path}.ephemeralContainers[${i}]` })),
  ];

  // Baseline
  if (obj(podSc['windowsOptions'])['hostProcess'] === true) v(`${path}.securityContext.windowsOptions.hostProcess`, 'HostProcess', 'must not be true');
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[ns] === true) v(`${path}.${ns}`, 'Host Namespaces', `${ns} must not be true`);
  for (const { c, p } of containers) {
    const sc = obj(c['securityContext']);
    if (obj(sc['windowsOptions'])['hostProcess'] === true) v(`${p}.securityContext.windowsOptions.hostProcess`, 'HostProcess', 'must not be true');
    if (sc['privileged'] === true) v(`${p}.securityContext.privileged`, 'Privileged Containers', 'must not be true');
    for (const cap of arr(obj(sc['capabilities'])['add'])) {
      if (!BASELINE_CAPABILITIES.has(String(cap))) v(`${p}.securityContext.capabilities.add`, 'Capabilities', `capability ${String(cap)} is not allowed`);
    }
    arr(c['ports']).forEach((port, i) => {
      const hp = obj(port)['hostPort'];
      if (hp !== undefined && hp !== 0) v(`${p}.ports[${i}].hostPort`, 'Host Ports', `hostPort ${String(hp)} is not allowed`);
    });
    const apparmor = obj(sc['appArmorProfile'])['type'];
    if (apparmor === 'Unconfined') v(`${p}.securityContext.appArmorProfile.type`, 'AppArmor', 'must not be Unconfined');
    checkSeLinux(obj(sc['seLinuxOptions']), `${p}.securityContext.seLinuxOptions`, v);
    if (sc['procMount'] !== undefined && sc['procMount'] !== 'Default') v(`${p}.securityContext.procMount`, '/proc Mount Type', 'must be Default');
  }
  arr(spec['volumes']).forEach((vol, i) => {
    const types = Object.keys(obj(vol)).filter((k) => k !== 'name');
    for (const t of types) {
      if (t === 'hostPath') v(`${path}.volumes[${i}].hostPath`, 'HostPath Volumes', 'hostPath volumes are not allowed');
      else if (!RESTRICTED_VOLUME_TYPES.has(t)) v(`${path}.volumes[${i}].${t}`, 'Volume Types', `volume type ${t} is not allowed`);
    }
  });
  if (obj(podSc['appArmorProfile'])['type'] === 'Unconfined') v(`${path}.securityContext.appArmorProfile.type`, 'AppArmor', 'must not be Unconfined');
  for (const [k, val] of Object.entries(obj(metadata['annotations']))) {
    if (k.startsWith('container.apparmor.security.beta.kubernetes.io/') && val !== 'runtime/default' && !String(val).startsWith('localhost/')) {
      v(`metadata.annotations["${k}"]`, 'AppArmor', `must be runtime/default or localhost/*, got ${String(val)}`);
    }
  }
  checkSeLinux(obj(podSc['seLinuxOptions']), `${path}.securityContext.seLinuxOptions`, v);
  arr(podSc['sysctls']).forEach((s, i) => {
    const name = String(obj(s)['name']);
    if (!SAFE_SYSCTLS.has(name)) v(`${path}.securityContext.sysctls[${i}]`, 'Sysctls', `sysctl ${name} is not in the safe set`);
  });

  // Restricted
  const podNonRoot = podSc['runAsNonRoot'] === true;
  if (podSc['runAsNonRoot'] === false) v(`${path}.securityContext.runAsNonRoot`, 'Running as Non-root', 'must not be false');
  if (podSc['runAsUser'] === 0) v(`${path}.securityContext.runAsUser`, 'Running as Non-root user', 'must not be 0');
  const podSeccomp = obj(podSc['seccompProfile'])['type'];
  const podSeccompOk = podSeccomp === 'RuntimeDefault' || podSeccomp === 'Localhost';
  if (podSeccomp !== undefined && !podSeccompOk) v(`${path}.securityContext.seccompProfile.type`, 'Seccomp', `must be RuntimeDefault or Localhost, got ${String(podSeccomp)}`);
  for (const { c, p } of containers) {
    const sc = obj(c['securityContext']);
    const isEphemeral = p.includes('ephemeralContainers');
    if (sc['allowPrivilegeEscalation'] !== false) v(`${p}.securityContext.allowPrivilegeEscalation`, 'Privilege Escalation', 'must be false');
    if (sc['runAsNonRoot'] === false) v(`${p}.securityContext.runAsNonRoot`, 'Running as Non-root', 'must not be false');
    else if (!podNonRoot && sc['runAsNonRoot'] !== true) v(`${p}.securityContext.runAsNonRoot`, 'Running as Non-root', 'must be true (here or in the pod securityContext)');
    if (sc['runAsUser'] === 0) v(`${p}.securityContext.runAsUser`, 'Running as Non-root user', 'must not be 0');
    const seccomp = obj(sc['seccompProfile'])['type'];
    if (seccomp !== undefined && seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      v(`${p}.securityContext.seccompProfile.type`, 'Seccomp', `must be RuntimeDefault or Localhost, got ${String(seccomp)}`);
    } else if (seccomp === undefined && !podSeccompOk) {
      v(`${p}.securityContext.seccompProfile`, 'Seccomp', 'must be set to RuntimeDefault or Localhost (here or in the pod securityContext)');
    }
    if (!isEphemeral) {
      const caps = obj(sc['capabilities']);
      if (!arr(caps['drop']).includes('ALL')) v(`${p}.securityContext.capabilities.drop`, 'Capabilities', 'must include ALL');
      for (const cap of arr(caps['add'])) {
        if (cap !== 'NET_BIND_SERVICE') v(`${p}.securityContext.capabilities.add`, 'Capabilities', `only NET_BIND_SERVICE may be added, got ${String(cap)}`);
      }
    }
  }
  return out;
}

function checkSeLinux(se: Json, path: string, v: (p: string, control: string, message: string) => void): void {
  if (se['type'] !== undefined && !SELINUX_TYPES.has(String(se['type']))) v(`${path}.type`, 'SELinux', `type ${String(se['type'])} is not allowed`);
  if (se['user'] !== undefined && se['user'] !== '') v(`${path}.user`, 'SELinux', 'must not be set');
  if (se['role'] !== undefined && se['role'] !== '') v(`${path}.role`, 'SELinux', 'must not be set');
}

/** Violations in every pod spec of a set of manifests, prefixed with `Kind/name`. */
export function checkRestricted(manifests: readonly unknown[]): Violation[] {
  return manifests.flatMap((m) => {
    const meta = obj(obj(m)['metadata']);
    const where = `${String(obj(m)['kind'])}/${String(meta['name'])}`;
    return podSpecsOf(m).flatMap((p) => checkPodSpec(p.spec, p.metadata, p.path).map((x) => ({ ...x, path: `${where}: ${x.path}` })));
  });
}
