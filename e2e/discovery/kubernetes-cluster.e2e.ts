/**
 * End to end in the dev cluster: three clustered collector pods run
 * discovery.kubernetes (role pod) → discovery.relabel (prometheus.io/scrape annotations) →
 * prometheus.scrape with clustering → prometheus.remote_write into a real Prometheus 2.42.
 * Every annotated demo pod must be scraped by exactly one collector (the remote_write adds a
 * `collector` external label, so a target scraped twice would show up as two `up` series), an
 * unannotated pod by none, and scaling the demo Deployment up and down must be followed.
 * RBAC: the collector's ServiceAccount needs get/list/watch on pods (a Role here); the dev API
 * server does not enforce it, a real cluster does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL, requireTool } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';
import type { Pod } from '../cluster/harness/k8s-types.js';
import { promQuery, startPrometheus, stopAll, type PromProc } from '../metrics/harness.js';

const built = fs.existsSync(path.join(repoRoot(), 'dist/collector/src/cli/main.js'));
if (!built) {
  const msg = 'dist/ is missing: run "npm run build" so dev-cluster pods can run bin/alloy';
  if (process.env.CI === 'true') throw new Error(msg);
  process.stderr.write(`SKIP: ${msg}\n`);
}
const haveKubectl = requireTool('kubectl', KUBECTL);
const haveProm = requireTool('prometheus', '/usr/bin/prometheus');

const DEMO_SERVER = "require('http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('demo_requests_total 7\\n'); }).listen(8080, '0.0.0.0')";

function config(ns: string, promBase: string): string {
  return `discovery.kubernetes "pods" {
  role            = "pod"
  kubeconfig_file = sys.env("KUBECONFIG")
  namespaces {
    names = [${JSON.stringify(ns)}]
  }
}

discovery.relabel "annotated" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"]
    regex         = "true"
    action        = "keep"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_phase"]
    regex         = "Running"
    action        = "keep"
  }
  rule {
    source_labels = ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"]
    regex         = "([^:]+)(?::\\\\d+)?;(\\\\d+)"
    replacement   = "$1:$2"
    target_label  = "__address__"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
}

prometheus.scrape "pods" {
  targets         = discovery.relabel.annotated.output
  forward_to      = [prometheus.remote_write.prom.receiver]
  job_name        = "k8s-pods"
  scrape_interval = "1s"
  scrape_timeout  = "500ms"
  clustering {
    enabled = true
  }
}

prometheus.remote_write "prom" {
  endpoint {
    url = "${promBase}/api/v1/write"
    queue_config {
      batch_send_deadline = "1s"
    }
  }
  external_labels = { collector = sys.env("POD_NAME") }
}
`;
}

function manifests(ns: string, promBase: string): object[] {
  const demoContainer = { name: 'demo', image: 'harness/node', command: ['node', '-e', DEMO_SERVER], ports: [{ name: 'metrics', containerPort: 8080 }] };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'alloy', namespace: ns } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'alloy-discovery', namespace: ns }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alloy-discovery', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'alloy-discovery' }, subjects: [{ kind: 'ServiceAccount', name: 'alloy', namespace: ns }] },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'alloy', namespace: ns }, data: { 'config.alloy': config(ns, promBase) } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'alloy-cluster', namespace: ns }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'alloy' }, ports: [{ name: 'http', port: 12345 }] } },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'alloy', namespace: ns },
      spec: {
        replicas: 3,
        podManagementPolicy: 'Parallel',
        serviceName: 'alloy-cluster',
        selector: { matchLabels: { app: 'alloy' } },
        template: {
          metadata: { labels: { app: 'alloy' } },
          spec: {
            serviceAccountName: 'alloy',
            containers: [
              {
                name: 'alloy',
                image: 'docker.io/grafana/alloy:v1.5.0',
                args: ['run', '/etc/alloy/config.alloy', '--storage.path=/tmp/alloy', '--server.http.listen-addr=0.0.0.0:12345', '--cluster.enabled=true', '--cluster.join-addresses=alloy-cluster'],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                ports: [{ name: 'http-metrics', containerPort: 12345 }],
                volumeMounts: [{ name: 'config', mountPath: '/etc/alloy' }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'alloy' } }],
          },
        },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'demo', namespace: ns },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'demo' } },
        template: { metadata: { labels: { app: 'demo' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } }, spec: { containers: [demoContainer] } },
      },
    },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'quiet', namespace: ns, labels: { app: 'quiet' } }, spec: { containers: [demoContainer] } },
  ];
}

(built && haveKubectl && haveProm ? describe : describe.skip)('discovery.kubernetes → relabel → clustered scrape → remote_write in the dev cluster', () => {
  let cluster: TestCluster;
  let ns: string;
  let prom: PromProc;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8sdisc-cluster-'));
    prom = await startPrometheus(dir, 'prometheus', 'global:\n  scrape_interval: 15s\n', 'server');
    cluster = await useCluster({ forceLocal: true, configSyncDelayMs: 100 });
    ns = await cluster.namespace('disc');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await stopAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function demoIps(): Promise<string[]> {
    const pods = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=demo', '-o', 'json'])) as { items: Pod[] }).items;
    return pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata.deletionTimestamp).map((p) => `${p.status!.podIP!}:8080`).sort();
  }

  /** `up` series per instance; a target scraped by two collectors has two (their `collector` labels differ). */
  async function upSeries(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const s of await promQuery(prom.base, 'up{job="k8s-pods"} == 1')) {
      const list = out.get(s.metric['instance']!) ?? [];
      list.push(s.metric['collector']!);
      out.set(s.metric['instance']!, list);
    }
    return out;
  }

  async function scrapedExactlyOnce(want: number): Promise<string[]> {
    return waitFor(
      async () => {
        const ips = await demoIps();
        const up = await upSeries();
        const instances = [...up.keys()].sort();
        const once = [...up.values()].every((c) => c.length === 1);
        if (ips.length === want && JSON.stringify(instances) === JSON.stringify(ips) && once) return ips;
        throw new Error(`running demo pods ${JSON.stringify(ips)}; up series by instance → collectors ${JSON.stringify([...up.entries()])}`);
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `each of ${want} demo pods scraped by exactly one collector` },
    );
  }

  it('scrapes every annotated pod exactly once across 3 collectors and follows scaling', async () => {
    await cluster.kubectl(['apply', '-f', '-'], manifests(ns, prom.base).map((m) => JSON.stringify(m)).join('\n'));
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/alloy', '--timeout=120s']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/demo', '--timeout=120s']);

    const first = await scrapedExactlyOnce(3);
    const quiet = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pod', 'quiet', '-o', 'json'])) as Pod).status?.podIP;
    const up = await upSeries();
    expect(quiet).toBeDefined();
    expect(up.has(`${quiet}:8080`)).toBe(false);
    for (const c of [...up.values()].flat()) expect(['alloy-0', 'alloy-1', 'alloy-2']).toContain(c);
    // The demo metric arrives with the discovery-derived `pod` label.
    const demo = await promQuery(prom.base, 'demo_requests_total{job="k8s-pods"}');
    expect(demo.map((s) => s.metric['instance']).sort()).toEqual(first);
    expect(demo.every((s) => (s.metric['pod'] ?? '').startsWith('demo-'))).toBe(true);

    await cluster.kubectl(['-n', ns, 'scale', 'deployment/demo', '--replicas=5']);
    await scrapedExactlyOnce(5);
    await cluster.kubectl(['-n', ns, 'scale', 'deployment/demo', '--replicas=2']);
    await scrapedExactlyOnce(2);
  }, 300_000);
});
