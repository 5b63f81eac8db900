import { createHash } from 'node:crypto';
import { Testing } from 'cdk8s';
import { decodeCollector, type Collector, type CollectorSpecInput } from '../api/v1alpha1/collector-types.js';
import { CollectorConfigMap } from './collector-config-map.js';
import { CollectorPodDisruptionBudget } from './collector-pod-disruption-budget.js';
import { CollectorStatefulSet } from './collector-stateful-set.js';
import { renderCollector, type KubeObject } from './collector-chart.js';
import { PeerService } from './peer-service.js';
import { ReceiverService } from './receiver-service.js';

const owner = { name: 'metrics', namespace: 'obs', uid: 'uid-1' };
const ownerReferences = [{ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', name: 'metrics', uid: 'uid-1', controller: true, blockOwnerDeletion: true }];
const labels = {
  'app.kubernetes.io/name': 'alloy',
  'app.kubernetes.io/instance': 'metrics',
  'app.kubernetes.io/managed-by': 'alloy-operator',
  'app.kubernetes.io/component': 'collector',
};

function collector(spec: CollectorSpecInput): Collector {
  const decoded = decodeCollector({ metadata: { name: 'metrics', namespace: 'obs', uid: 'uid-1', generation: 1 }, spec });
  if (!decoded.ok) throw new Error(decoded.message);
  return decoded.collector;
}

type Pod = { containers: Array<Record<string, unknown>>; [k: string]: unknown };
function podSpec(objects: KubeObject[]): Pod {
  const sts = objects.find((o) => o.kind === 'StatefulSet') as unknown as { spec: { template: { spec: Pod } } };
  return sts.spec.template.spec;
}

describe('CollectorConfigMap', () => {
  it('GIVEN a config WHEN synthesized THEN it is stored under config.alloy with owner and labels', () => {
    const chart = Testing.chart();
    new CollectorConfigMap(chart, 'cm', { owner, config: 'logging {}' });
    expect(Testing.synth(chart)).toStrictEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        // The config's sha256, so a metadata-only reader tells a changed config without the text.
        metadata: { name: 'metrics-config', namespace: 'obs', labels, ownerReferences, annotations: { 'alloy.dev/config-hash': createHash('sha256').update('logging {}').digest('hex') } },
        data: { 'config.alloy': 'logging {}' },
      },
    ]);
  });
});

describe('PeerService', () => {
  it('GIVEN a collector WHEN synthesized THEN a headless service publishes not-ready peers on 12345', () => {
    const chart = Testing.chart();
    new PeerService(chart, 'peers', { owner });
    expect(Testing.synth(chart)).toStrictEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'metrics-cluster', namespace: 'obs', labels, ownerReferences },
        spec: {
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          selector: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' },
          ports: [{ name: 'http', port: 12345, targetPort: 12345, protocol: 'TCP' }],
        },
      },
    ]);
  });
});

describe('ReceiverService', () => {
  it('GIVEN extra ports WHEN synthesized THEN they follow http-metrics', () => {
    const chart = Testing.chart();
    new ReceiverService(chart, 'svc', { owner, ports: [{ name: 'loki-api', port: 3100, protocol: 'TCP' }] });
    const [svc] = Testing.synth(chart) as Array<{ spec: { ports: unknown[] } }>;
    expect(svc!.spec.ports).toStrictEqual([
      { name: 'http-metrics', port: 12345, targetPort: 12345, protocol: 'TCP' },
      { name: 'loki-api', port: 3100, targetPort: 3100, protocol: 'TCP' },
    ]);
  });

  it('GIVEN a receiver on the main port 12345 WHEN synthesized THEN it is served by http-metrics, not repeated', () => {
    const chart = Testing.chart();
    new ReceiverService(chart, 'svc', { owner, ports: [{ name: 'remote-write', port: 12345, protocol: 'TCP' }] });
    const [svc] = Testing.synth(chart) as Array<{ spec: { ports: Array<{ name: string }> } }>;
    expect(svc!.spec.ports.map((p) => p.name)).toStrictEqual(['http-metrics']);
  });

  it('GIVEN another port named http-metrics WHEN constructed THEN it throws naming the field and the fix', () => {
    expect(() => new ReceiverService(Testing.chart(), 'svc', { owner, ports: [{ name: 'http-metrics', port: 3100, protocol: 'TCP' }] })).toThrow(/spec.ports: the name http-metrics is reserved.*rename port 3100/);
  });
});

describe('CollectorPodDisruptionBudget', () => {
  it('GIVEN no budget values THEN maxUnavailable defaults to 1', () => {
    const chart = Testing.chart();
    new CollectorPodDisruptionBudget(chart, 'pdb', { owner });
    expect(Testing.synth(chart)).toStrictEqual([
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'metrics', namespace: 'obs', labels, ownerReferences },
        spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'metrics' } } },
      },
    ]);
  });

  it('GIVEN both minAvailable and maxUnavailable THEN construction throws', () => {
    expect(() => new CollectorPodDisruptionBudget(Testing.chart(), 'pdb', { owner, minAvailable: 1, maxUnavailable: '50%' })).toThrow(/not both/);
  });
});

describe('CollectorStatefulSet', () => {
  it('GIVEN defaults WHEN synthesized THEN alloy runs clustered with the documented flags and a reloader sidecar', () => {
    const chart = Testing.chart();
    new CollectorStatefulSet(chart, 'sts', { owner, spec: collector({ config: 'x', replicas: 3 }).spec, image: 'img:1', serviceAccountName: 'metrics' });
    const [sts] = Testing.synth(chart) as Array<{ spec: { replicas: number; serviceName: string; template: { spec: Pod } } }>;
    expect(sts!.spec.replicas).toBe(3);
    expect(sts!.spec.serviceName).toBe('metrics-cluster');
    const [alloy, reloader] = sts!.spec.template.spec.containers;
    expect(alloy!['name']).toBe('alloy');
    expect(alloy!['args']).toStrictEqual([
      'run',
      '/etc/alloy/config.alloy',
      '--server.http.listen-addr=0.0.0.0:12345',
      '--storage.path=/var/lib/alloy/data',
      '--stability.level=generally-available',
      '--cluster.enabled=true',
      '--cluster.join-addresses=metrics-cluster.obs.svc.cluster.local:12345',
      '--cluster.advertise-address=$(POD_IP):12345',
    ]);
    expect(alloy!['env']).toStrictEqual([
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(alloy!['readinessProbe']).toMatchObject({ httpGet: { path: '/-/ready', port: 12345 }, timeoutSeconds: 1, successThreshold: 1, periodSeconds: 5, failureThreshold: 3 });
    expect(reloader!['name']).toBe('config-reloader');
    expect(reloader!['args']).toStrictEqual(['config-reloader', '--volume-dir=/etc/alloy', '--webhook-url=http://localhost:12345/-/reload']);
    expect(sts!.spec.template.spec['volumes']).toStrictEqual([
      { name: 'config', configMap: { name: 'metrics-config' } },
      { name: 'tmp', emptyDir: {} },
      { name: 'data', emptyDir: {} },
    ]);
  });

  it('GIVEN a 53-character name WHEN constructed THEN it throws naming the limit', () => {
    const long = { ...owner, name: 'x'.repeat(53) };
    expect(() => new CollectorStatefulSet(Testing.chart(), 'sts', { owner: long, spec: collector({ config: 'x' }).spec, image: 'i', serviceAccountName: 'sa' })).toThrow(/metadata.name: .* at most 52/);
  });

  it('GIVEN clustering disabled and extraArgs WHEN synthesized THEN no cluster flags and extra args last', () => {
    const chart = Testing.chart();
    const spec = collector({ config: 'x', clustering: { enabled: false }, extraArgs: ['--disable-reporting'] }).spec;
    new CollectorStatefulSet(chart, 'sts', { owner, spec, image: 'img:1', serviceAccountName: 'sa' });
    const args = podSpec(Testing.synth(chart) as KubeObject[]).containers[0]!['args'] as string[];
    expect(args.filter((a) => a.startsWith('--cluster'))).toStrictEqual([]);
    expect(args.at(-1)).toBe('--disable-reporting');
  });

  it('GIVEN user Kubernetes objects WHEN synthesized THEN they are written verbatim (quantities kept)', () => {
    const chart = Testing.chart();
    const spec = collector({
      config: 'x',
      resources: { limits: { memory: '1Gi', cpu: '500m' } },
      tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
      storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } },
      securityContext: { readOnlyRootFilesystem: false },
    }).spec;
    new CollectorStatefulSet(chart, 'sts', { owner, spec, image: 'img:1', serviceAccountName: 'sa' });
    const [sts] = Testing.synth(chart) as Array<{ spec: { volumeClaimTemplates: unknown; template: { spec: Pod } } }>;
    const pod = sts!.spec.template.spec;
    expect(pod.containers[0]!['resources']).toStrictEqual({ limits: { memory: '1Gi', cpu: '500m' } });
    expect(pod['tolerations']).toStrictEqual([{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.containers[0]!['securityContext']).toStrictEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: false,
      runAsNonRoot: true,
    });
    expect(sts!.spec.volumeClaimTemplates).toStrictEqual([
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } },
    ]);
    expect((pod['volumes'] as Array<{ name: string }>).map((v) => v.name)).toStrictEqual(['config', 'tmp']);
  });
});

describe('renderCollector', () => {
  it('GIVEN two different configs WHEN rendered THEN only the ConfigMap differs (no rollout on config change)', () => {
    const c = collector({ config: 'a', replicas: 3 });
    const a = renderCollector({ collector: c, defaultImage: 'img:1', config: 'logging { level = "info" }' });
    const b = renderCollector({ collector: c, defaultImage: 'img:1', config: 'logging { level = "debug" }' });
    const differing = a.filter((o, i) => JSON.stringify(o) !== JSON.stringify(b[i])).map((o) => o.kind);
    expect(differing).toStrictEqual(['ConfigMap']);
  });

  it('GIVEN defaults THEN ConfigMap, peer and receiver Services, ServiceAccount and StatefulSet are rendered', () => {
    const objects = renderCollector({ collector: collector({ config: 'x' }), defaultImage: 'img:1', config: 'x' });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toStrictEqual([
      'ConfigMap/metrics-config',
      'Service/metrics-cluster',
      'Service/metrics',
      'ServiceAccount/metrics',
      'StatefulSet/metrics',
    ]);
  });

  it('GIVEN no config WHEN rendered THEN the live ConfigMap is left alone (not rendered)', () => {
    const objects = renderCollector({ collector: collector({ config: 'x' }), defaultImage: 'img:1' });
    expect(objects.map((o) => o.kind)).not.toContain('ConfigMap');
  });

  it('GIVEN a grant with cluster and per-namespace rules THEN a ClusterRole and a Role per namespace are rendered, bound to the ServiceAccount, labelled with the owner namespace', () => {
    const read = ['get', 'list', 'watch'];
    const rbac = { cluster: [{ apiGroups: [''], resources: ['nodes'], verbs: read }], namespaces: { obs: [{ apiGroups: [''], resources: ['pods'], verbs: read }], apps: [{ apiGroups: [''], resources: ['pods'], verbs: read }] } };
    const objects = renderCollector({ collector: collector({ config: 'x', podDisruptionBudget: {} }), defaultImage: 'img:1', config: 'x', rbac });
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    for (const k of ['ClusterRole//alloy-obs-metrics-discovery', 'ClusterRoleBinding//alloy-obs-metrics-discovery', 'Role/obs/metrics-discovery', 'RoleBinding/obs/metrics-discovery', 'Role/apps/alloy-obs-metrics-discovery', 'RoleBinding/apps/alloy-obs-metrics-discovery']) {
      expect(kinds).toContain(k);
    }
    const role = objects.find((o) => o.kind === 'ClusterRole')!;
    expect(role['rules']).toStrictEqual([{ apiGroups: [''], resources: ['nodes'], verbs: read }]);
    for (const o of objects.filter((x) => x.kind.includes('Role'))) expect(o.metadata.labels?.['alloy.dev/collector-namespace']).toBe('obs');
    const foreign = objects.find((o) => o.kind === 'Role' && o.metadata.namespace === 'apps')! as unknown as { metadata: { ownerReferences?: unknown } };
    expect(foreign.metadata.ownerReferences).toBeUndefined();
    const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'apps')!;
    expect(binding['subjects']).toStrictEqual([{ kind: 'ServiceAccount', name: 'metrics', namespace: 'obs' }]);
  });

  it('GIVEN an empty grant THEN no RBAC object is rendered', () => {
    const objects = renderCollector({ collector: collector({ config: 'x' }), defaultImage: 'img:1', config: 'x', rbac: { cluster: [], namespaces: {} } });
    expect(objects.some((o) => o.kind.includes('Role'))).toBe(false);
  });

  it('GIVEN serviceAccountName THEN no ServiceAccount or RBAC is generated and the pods use it', () => {
    const cfg = 'discovery.kubernetes "pods" { role = "pod" }';
    const objects = renderCollector({ collector: collector({ config: cfg, serviceAccountName: 'mine' }), defaultImage: 'img:1', config: cfg });
    expect(objects.map((o) => o.kind)).toStrictEqual(['ConfigMap', 'Service', 'Service', 'StatefulSet']);
    expect(podSpec(objects)['serviceAccountName']).toBe('mine');
  });
});
