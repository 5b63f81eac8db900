/**
 * `prometheus.operator.servicemonitors` and `.podmonitors` in the dev cluster with running pods:
 * the CRDs of `crds/monitoring.coreos.com/` are applied with `kubectl apply --server-side`, a demo Deployment (pods run
 * by the dev kubelet, serving metrics on a named port) sits behind a Service whose Endpoints and
 * EndpointSlices the cluster's controller maintains, and a ServiceMonitor and a PodMonitor select
 * them. Every demo pod must be scraped by both jobs with the labels the Prometheus Operator gives
 * (`namespace`, `pod`, `container`, `service`, `endpoint`, `job`), through Endpoints and through
 * EndpointSlices (`kubernetes_role`), and scaling the Deployment must be followed. The oracle comparison with Prometheus is in `operator-monitors.e2e.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL, requireTool } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';
import type { Pod } from '../cluster/harness/k8s-types.js';
import { argumentsSchema } from '../../collector/src/component/prometheus/operator/arguments.js';
import { component as serviceMonitors } from '../../collector/src/component/prometheus/operator/servicemonitors/servicemonitors.js';
import { component as podMonitors } from '../../collector/src/component/prometheus/operator/podmonitors/podmonitors.js';
import { isStaleNaN, type MetricsReceiver, type SampleBatch } from '../../collector/src/prom/types.js';
import type { ComponentDefinition } from '../../collector/src/runtime/component.js';

const haveKubectl = requireTool('kubectl', KUBECTL);

const DEMO_SERVER = "require('http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('demo_requests_total 7\\n'); }).listen(8080, '0.0.0.0')";

/** Live `up` series by job → pod. */
class UpByJob implements MetricsReceiver {
  readonly up = new Map<string, Map<string, Record<string, string>>>();
  append(b: SampleBatch): Promise<void> {
    for (let i = 0; i < b.length; i++) {
      const ls: Record<string, string> = {};
      for (const l of b.series[i]!) ls[l.name] = l.value;
      if (ls['__name__'] !== 'up') continue;
      const job = ls['job'] ?? '';
      const m = this.up.get(job) ?? new Map<string, Record<string, string>>();
      this.up.set(job, m);
      if (isStaleNaN(b.values[i]!)) m.delete(ls['pod'] ?? '');
      else if (b.values[i] === 1) m.set(ls['pod'] ?? '', ls);
    }
    return Promise.resolve();
  }
}

function start<A>(def: ComponentDefinition<A, Record<string, never>>, args: A, dir: string): () => Promise<void> {
  const c = def.build(
    {
      id: def.name + '.cluster',
      logger: winston.createLogger({ silent: true }),
      registry: new Registry(),
      dataPath: dir,
      onStateChange: () => undefined,
      setHealth: () => undefined,
      getService: () => {
        throw new Error('no services');
      },
    },
    args,
  ) as { run(s: AbortSignal): Promise<void> };
  const ac = new AbortController();
  const done = c.run(ac.signal);
  return async () => {
    ac.abort();
    await done;
  };
}

(haveKubectl ? describe : describe.skip)('prometheus.operator monitors with running pods in the dev cluster', () => {
  let cluster: TestCluster;
  let ns: string;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-cluster-'));
    cluster = await useCluster({ forceLocal: true });
    // Server-side: the ScrapeConfig CRD is too large for client-side apply's last-applied annotation.
    await cluster.kubectl(['apply', '--server-side', '-f', path.join(repoRoot(), 'crds/monitoring.coreos.com')]);
    ns = await cluster.namespace('opmon');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes every selected pod through a ServiceMonitor and a PodMonitor and follows scaling', async () => {
    const manifests = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'demo', namespace: ns },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'demo' } },
          template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'demo', image: 'harness/node', command: ['node', '-e', DEMO_SERVER], ports: [{ name: 'metrics', containerPort: 8080 }] }] } },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'demo', namespace: ns, labels: { tier: 'web' } }, spec: { selector: { app: 'demo' }, ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics' }] } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'demo', namespace: ns }, spec: { selector: { matchLabels: { tier: 'web' } }, endpoints: [{ port: 'metrics', interval: '1s', scrapeTimeout: '1s' }] } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'demo', namespace: ns }, spec: { selector: { matchLabels: { app: 'demo' } }, podMetricsEndpoints: [{ port: 'metrics', interval: '1s', scrapeTimeout: '1s' }] } },
    ];
    await cluster.kubectl(['apply', '-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n'));
    const recv = new UpByJob();
    const args = argumentsSchema.parse({ client: { kubeconfig_file: cluster.kubeconfig }, forward_to: [recv], namespaces: [ns] });
    const sliceRecv = new UpByJob();
    const stops = [start(serviceMonitors, args, dir), start(podMonitors, args, dir), start(serviceMonitors, { ...args, forward_to: [sliceRecv], kubernetes_role: 'endpointslice' }, dir)];
    try {
      const runningPods = async (): Promise<string[]> => {
        const pods = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=demo', '-o', 'json'])) as { items: Pod[] }).items;
        return pods.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).map((p) => p.metadata.name ?? '').sort();
      };
      const scraped = async (want: number): Promise<void> => {
        await waitFor(
          async () => {
            const pods = await runningPods();
            const sm = [...(recv.up.get('demo')?.keys() ?? [])].sort();
            const pm = [...(recv.up.get(`${ns}/demo`)?.keys() ?? [])].sort();
            const sl = [...(sliceRecv.up.get('demo')?.keys() ?? [])].sort();
            const same = (x: string[]): boolean => JSON.stringify(x) === JSON.stringify(pods);
            if (pods.length === want && same(sm) && same(pm) && same(sl)) return true;
            throw new Error(`running ${JSON.stringify(pods)}; ServiceMonitor up ${JSON.stringify(sm)} (endpointslice role ${JSON.stringify(sl)}); PodMonitor up ${JSON.stringify(pm)}`);
          },
          { timeoutMs: 60_000, intervalMs: 250, what: `${want} demo pods scraped by both monitors` },
        );
      };
      await scraped(2);
      const one = [...recv.up.get('demo')!.values()][0]!;
      expect(one).toMatchObject({ namespace: ns, service: 'demo', endpoint: 'metrics', container: 'demo', job: 'demo' });
      expect(one['instance']).toMatch(/^127\.\d+\.\d+\.\d+:8080$/);
      expect([...recv.up.get(`${ns}/demo`)!.values()][0]).toMatchObject({ namespace: ns, endpoint: 'metrics', container: 'demo', job: `${ns}/demo` });
      await cluster.kubectl(['-n', ns, 'scale', 'deployment/demo', '--replicas=3']);
      await scraped(3);
      await cluster.kubectl(['-n', ns, 'scale', 'deployment/demo', '--replicas=1']);
      await scraped(1);
    } finally {
      await Promise.all(stops.map((s) => s()));
    }
  }, 180_000);
});
