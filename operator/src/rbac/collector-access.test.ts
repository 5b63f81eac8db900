import { collectorAccess, describeAccess, grantableRules, type AccessOptions, type CollectorAccess } from './collector-access.js';
import { configBlocks } from './config-blocks.js';

const READ = ['get', 'list', 'watch'];

function access(config: string, opts: Partial<AccessOptions> = {}): CollectorAccess {
  const parsed = configBlocks('config.alloy', config);
  if (!parsed.ok) throw new Error(parsed.message);
  return collectorAccess(parsed.blocks, { namespace: 'obs', ...opts });
}

/** GIVEN a config THEN exactly these rules (cluster-wide and per namespace). */
const TABLE: ReadonlyArray<{ name: string; config: string; opts?: Partial<AccessOptions>; cluster: unknown[]; namespaces?: Record<string, unknown[]> }> = [
  { name: 'no Kubernetes components → no API access', config: 'prometheus.exporter.self "a" { }\nlogging { level = "info" }\n', cluster: [] },
  {
    name: 'discovery.kubernetes role pod in namespaces X → pods in X only',
    config: 'discovery.kubernetes "p" {\n  role = "pod"\n  namespaces {\n    names = ["x", "y"]\n  }\n}\n',
    cluster: [],
    namespaces: { x: [{ apiGroups: [''], resources: ['pods'], verbs: READ }], y: [{ apiGroups: [''], resources: ['pods'], verbs: READ }] },
  },
  {
    name: 'discovery.kubernetes own_namespace → the Collector namespace',
    config: 'discovery.kubernetes "s" {\n  role = "service"\n  namespaces {\n    own_namespace = true\n  }\n}\n',
    cluster: [],
    namespaces: { obs: [{ apiGroups: [''], resources: ['services'], verbs: READ }] },
  },
  {
    name: 'discovery.kubernetes role node → nodes (+ nodes/metrics), cluster-wide',
    config: 'discovery.kubernetes "n" {\n  role = "node"\n}\n',
    cluster: [{ apiGroups: [''], resources: ['nodes'], verbs: READ }, { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] }],
  },
  {
    name: 'discovery.kubernetes endpointslice, all namespaces → endpointslices + services + pods cluster-wide',
    config: 'discovery.kubernetes "e" {\n  role = "endpointslice"\n}\n',
    cluster: [{ apiGroups: [''], resources: ['pods', 'services'], verbs: READ }, { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ }],
  },
  {
    name: 'attach_metadata node and namespace → nodes and namespaces (cluster-scoped)',
    config: 'discovery.kubernetes "p" {\n  role = "pod"\n  namespaces {\n    names = ["x"]\n  }\n  attach_metadata {\n    node = true\n    namespace = true\n  }\n}\n',
    cluster: [{ apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: READ }],
    namespaces: { x: [{ apiGroups: [''], resources: ['pods'], verbs: READ }] },
  },
  {
    name: 'loki.source.kubernetes follows the pod discovery namespaces → pods/log there',
    config:
      'discovery.kubernetes "p" {\n  role = "pod"\n  namespaces {\n    names = ["apps"]\n  }\n}\nloki.source.kubernetes "l" {\n  targets = discovery.kubernetes.p.targets\n  forward_to = []\n}\n',
    cluster: [],
    namespaces: { apps: [{ apiGroups: [''], resources: ['pods'], verbs: READ }, { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] },
  },
  {
    name: 'loki.source.kubernetes_events namespaces → events there',
    config: 'loki.source.kubernetes_events "ev" {\n  namespaces = ["a"]\n  forward_to = []\n}\n',
    cluster: [],
    namespaces: { a: [{ apiGroups: [''], resources: ['events'], verbs: READ }] },
  },
  {
    name: 'prometheus.operator.servicemonitors → the CRD, its targets and namespaces',
    config: 'prometheus.operator.servicemonitors "sm" {\n  forward_to = []\n}\n',
    cluster: [
      { apiGroups: [''], resources: ['endpoints', 'namespaces', 'pods', 'services'], verbs: READ },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
      { apiGroups: ['monitoring.coreos.com'], resources: ['servicemonitors'], verbs: READ },
    ],
  },
  {
    name: 'prometheus.operator.podmonitors in one namespace → podmonitors and pods there, namespaces cluster-wide',
    config: 'prometheus.operator.podmonitors "pm" {\n  namespaces = ["mon"]\n  forward_to = []\n}\n',
    cluster: [{ apiGroups: [''], resources: ['namespaces'], verbs: READ }],
    namespaces: { mon: [{ apiGroups: [''], resources: ['pods'], verbs: READ }, { apiGroups: ['monitoring.coreos.com'], resources: ['podmonitors'], verbs: READ }] },
  },
  {
    name: 'prometheus.operator.scrapeconfigs in one namespace → scrapeconfigs there (static and HTTP SD targets need no other API), namespaces cluster-wide',
    config: 'prometheus.operator.scrapeconfigs "sc" {\n  namespaces = ["mon"]\n  forward_to = []\n}\n',
    cluster: [{ apiGroups: [''], resources: ['namespaces'], verbs: READ }],
    namespaces: { mon: [{ apiGroups: ['monitoring.coreos.com'], resources: ['scrapeconfigs'], verbs: READ }] },
  },
  {
    name: 'otelcol.exporter.loadbalancing resolver.kubernetes → endpoints in the Service namespace (own namespace without a suffix)',
    config:
      'otelcol.exporter.loadbalancing "a" {\n  resolver {\n    kubernetes {\n      service = "traces.tracing"\n    }\n  }\n  protocol {\n    otlp {\n      client { }\n    }\n  }\n}\n' +
      'otelcol.exporter.loadbalancing "b" {\n  resolver {\n    kubernetes {\n      service = "local"\n    }\n  }\n  protocol {\n    otlp {\n      client { }\n    }\n  }\n}\n' +
      'otelcol.exporter.loadbalancing "c" {\n  resolver {\n    static {\n      hostnames = ["x:4317"]\n    }\n  }\n  protocol {\n    otlp {\n      client { }\n    }\n  }\n}\n',
    opts: { namespace: 'obs' },
    cluster: [],
    namespaces: { obs: [{ apiGroups: [''], resources: ['endpoints'], verbs: READ }], tracing: [{ apiGroups: [''], resources: ['endpoints'], verbs: READ }] },
  },
  {
    name: 'a component pointed at another API server needs nothing here',
    config: 'discovery.kubernetes "remote" {\n  role = "pod"\n  api_server = "https://other:6443"\n}\nprometheus.operator.probes "p" {\n  forward_to = []\n  client {\n    kubeconfig_file = "/k"\n  }\n}\n',
    cluster: [],
  },
  {
    name: 'namespaces from an expression → cluster-wide, noted',
    config: 'discovery.kubernetes "p" {\n  role = "pod"\n  namespaces {\n    names = [sys.env("NS")]\n  }\n}\n',
    cluster: [{ apiGroups: [''], resources: ['pods'], verbs: READ }],
  },
  {
    name: 'components inside a declare count too',
    config: 'declare "k" {\n  discovery.kubernetes "i" {\n    role = "ingress"\n  }\n}\n',
    cluster: [{ apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: READ }],
  },
  {
    name: 'rbac.discovery=namespace confines grants to the Collector namespace, dropping cluster-scoped ones',
    config: 'discovery.kubernetes "p" {\n  role = "pod"\n  attach_metadata {\n    node = true\n  }\n}\n',
    opts: { confine: 'namespace' },
    cluster: [],
    namespaces: { obs: [{ apiGroups: [''], resources: ['pods'], verbs: READ }] },
  },
];

describe('collectorAccess: config → least-privilege rules', () => {
  it.each(TABLE)('$name', (c) => {
    const a = access(c.config, c.opts);
    expect(a.cluster).toStrictEqual(c.cluster);
    expect(a.namespaces).toStrictEqual(c.namespaces ?? {});
  });

  it('GIVEN an expression for namespaces, remote.kubernetes.secret or monitors THEN the notes say what was widened or not granted', () => {
    expect(access(TABLE.find((c) => c.name.startsWith('namespaces from'))!.config).notes).toStrictEqual(['discovery.kubernetes "p": namespaces are not literal strings, granted cluster-wide']);
    expect(access('remote.kubernetes.secret "s" {\n  namespace = "obs"\n  name = "creds"\n}\n').notes[0]).toMatch(/needs get on secrets obs\/creds; not granted automatically/);
    expect(access('prometheus.operator.scrapeconfigs "sc" {\n  forward_to = []\n}\n').notes).toContain('prometheus.operator.scrapeconfigs "sc": ScrapeConfigs with kubernetesSDConfigs need get, list, watch on the objects of their roles (pods, services, endpoints, endpointslices, nodes, ingresses), which the resources choose at run time and are not granted automatically');
  });

  it('GIVEN grants THEN the summary names them, and "no Kubernetes API access" for none', () => {
    expect(describeAccess(access('logging { }\n'))).toBe('no Kubernetes API access');
    expect(describeAccess(access(TABLE[1]!.config))).toBe('namespace x: get,list,watch pods | namespace y: get,list,watch pods');
  });

  it('GIVEN every table case THEN each rule is within grantableRules (what the operator holds)', () => {
    const held = new Set(grantableRules().flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups[0]}|${res}|${v}`))));
    for (const c of TABLE) {
      const a = access(c.config, c.opts);
      for (const r of [...a.cluster, ...Object.values(a.namespaces).flat()]) {
        for (const res of r.resources) for (const v of r.verbs) expect(held).toContain(`${r.apiGroups[0]}|${res}|${v}`);
      }
    }
  });
});
