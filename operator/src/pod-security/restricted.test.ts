import { decodeCollector } from '../api/v1alpha1/collector-types.js';
import { renderCollector } from '../render/collector-chart.js';
import { checkPodSpec, checkRestricted } from './restricted.js';

const compliant = {
  securityContext: { runAsNonRoot: true, runAsUser: 473, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
  volumes: [{ name: 'cfg', configMap: { name: 'x' } }],
};

function collector(spec: Record<string, unknown>) {
  const d = decodeCollector({ metadata: { name: 'm', namespace: 'n', uid: 'u', generation: 1 }, spec });
  if (!d.ok) throw new Error(d.message);
  return d.collector;
}

describe('Pod Security restricted checker', () => {
  it('GIVEN a compliant pod spec THEN there are no violations', () => {
    expect(checkPodSpec(compliant)).toStrictEqual([]);
  });

  it('GIVEN an empty securityContext THEN each restricted control is reported per container', () => {
    const controls = checkPodSpec({ containers: [{ name: 'c' }] }).map((x) => x.control);
    expect(controls).toStrictEqual(['Privilege Escalation', 'Running as Non-root', 'Seccomp', 'Capabilities']);
  });

  it.each([
    ['Host Namespaces', { ...compliant, hostNetwork: true }],
    ['HostPath Volumes', { ...compliant, volumes: [{ name: 'h', hostPath: { path: '/' } }] }],
    ['Volume Types', { ...compliant, volumes: [{ name: 'n', nfs: { server: 's', path: '/' } }] }],
    ['Running as Non-root user', { ...compliant, securityContext: { ...compliant.securityContext, runAsUser: 0 } }],
    ['Sysctls', { ...compliant, securityContext: { ...compliant.securityContext, sysctls: [{ name: 'kernel.msgmax', value: '1' }] } }],
    ['Capabilities', { ...compliant, containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } } }] }],
    ['Privileged Containers', { ...compliant, containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, privileged: true, capabilities: { drop: ['ALL'] } } }] }],
    ['Host Ports', { ...compliant, containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 80 }], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }] }],
    ['Seccomp', { ...compliant, securityContext: { ...compliant.securityContext, seccompProfile: { type: 'Unconfined' } } }],
  ])('GIVEN a spec violating %s THEN that control is reported', (control, spec) => {
    expect(checkPodSpec(spec as Record<string, unknown>).map((x) => x.control)).toContain(control);
  });

  it('GIVEN every Collector the operator renders by default THEN its pods meet restricted', () => {
    const objects = renderCollector({ collector: collector({ config: 'x', replicas: 3, ports: [{ name: 'loki', port: 3100 }], storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'] } } }), defaultImage: 'i', config: 'x' });
    expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(true);
    expect(checkRestricted(objects)).toStrictEqual([]);
  });

  it('GIVEN a Collector overriding the security context to root THEN the checker names the fields', () => {
    const objects = renderCollector({ collector: collector({ config: 'x', podSecurityContext: { runAsUser: 0, runAsNonRoot: false } }), defaultImage: 'i', config: 'x' });
    const paths = checkRestricted(objects).map((x) => x.path);
    expect(paths).toContain('StatefulSet/m: spec.template.spec.securityContext.runAsUser');
    expect(paths).toContain('StatefulSet/m: spec.template.spec.securityContext.runAsNonRoot');
  });
});
