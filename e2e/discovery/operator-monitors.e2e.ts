/**
 * `prometheus.operator.servicemonitors` and `.podmonitors` against the dev cluster's API server,
 * with Prometheus 2.42 as the oracle. The monitoring.coreos.com CRDs from `crds/` are installed,
 * two demo pods (real HTTP servers on loopback) behind a Service with Endpoints are created, and
 * a ServiceMonitor and a PodMonitor select them (port by name, relabelings, metricRelabelings).
 * Prometheus is given what the Prometheus Operator would generate for the same endpoints: one
 * job per monitor endpoint with `static_configs` holding the discovered targets (their
 * `__meta_kubernetes_*` labels, as `discovery.kubernetes` reports them) and the same
 * `relabel_configs` / `metric_relabel_configs`. The series our components produce must equal the
 * series Prometheus stores (names and labels); a Probe with static targets goes through the same
 * comparison (the demo server also answers as the prober). A third ServiceMonitor with an invalid relabel rule is
 * skipped with a health message naming it while the others keep scraping.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify as toYaml } from 'yaml';
import { waitFor } from '../cluster/harness/wait.js';
import { requireTool } from '../cluster/harness/kubectl.js';
import { startPrometheus, stopAll, type PromProc } from '../metrics/harness.js';
import { argumentsSchema as discoveryArgs, component as discoveryComponent, type Exports as DiscoveryExports } from '../../collector/src/component/discovery/kubernetes/kubernetes.js';
import { argumentsSchema } from '../../collector/src/component/prometheus/operator/arguments.js';
import { component as serviceMonitors } from '../../collector/src/component/prometheus/operator/servicemonitors/servicemonitors.js';
import { component as podMonitors } from '../../collector/src/component/prometheus/operator/podmonitors/podmonitors.js';
import { component as probes } from '../../collector/src/component/prometheus/operator/probes/probes.js';
import type { OperatorDebugInfo } from '../../collector/src/component/prometheus/operator/operator.js';
import type { ComponentDefinition } from '../../collector/src/runtime/component.js';
import type { ClusterService } from '../../collector/src/runtime/services.js';
import { Capture, demoExposition, promRelabel, promSeries as storedSeries, sameSeries, startComponent, startDevApi, type DevApi, type LabelSet, type Running } from './operator-harness.js';

const haveProm = requireTool('prometheus', '/usr/bin/prometheus');

let dev: DevApi;
let dir: string;
let kubeconfig: string;
const servers: http.Server[] = [];
const call = (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => dev.call(method, p, body);

/** A demo "pod" process: serves a fixed exposition on an ephemeral loopback port. */
async function demoServer(podName: string): Promise<number> {
  const body = demoExposition(podName);
  const s = http.createServer((q, r) => {
    if (q.url?.startsWith('/probe?')) {
      const u = new URL(q.url, 'http://x');
      r.setHeader('content-type', 'text/plain; version=0.0.4');
      return void r.end(`probe_success{module_seen="${u.searchParams.get('module')}",target_seen="${u.searchParams.get('target')}"} 1\nprobe_duration_seconds 0.25\n`);
    }
    if (q.url === '/secure' && q.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
      r.statusCode = 401;
      return void r.end('unauthorized\n');
    }
    r.setHeader('content-type', 'text/plain; version=0.0.4');
    r.end(body);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

/** A two-node cluster stand-in: node 0 owns the targets whose key names `address`, node 1 the others. */
function fakeCluster(self: 0 | 1, address: string): ClusterService {
  return {
    enabled: true,
    nodeName: `node-${self}`,
    advertiseAddress: '127.0.0.1:0',
    joinAddresses: [],
    status: () => ({ state: 'clustered', message: '', peers: ['node-0', 'node-1'] }),
    owns: (key) => key.includes(`__address__=${address}`) === (self === 0),
    onChange: () => () => undefined,
    peers: () => [],
  };
}

function start<A, E extends object>(def: ComponentDefinition<A, E>, args: A, cluster?: ClusterService): Running<E> {
  return startComponent(def, args, dir, cluster);
}

beforeAll(async () => {
  dev = await startDevApi('operator-monitors-', ['servicemonitors', 'podmonitors', 'probes']);
  dir = dev.dir;
  kubeconfig = dev.kubeconfig;
});

afterAll(async () => {
  for (const s of servers) s.close();
  await stopAll();
  await dev?.close();
});

(haveProm ? describe : describe.skip)('prometheus.operator monitors in the dev cluster, Prometheus 2.42 as the oracle', () => {
  it('a ServiceMonitor and a PodMonitor produce the series Prometheus produces from the equivalent scrape config; an invalid monitor is skipped with a health message', async () => {
    const ns = `mon-${process.pid}`;
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const pods = ['demo-a', 'demo-b'];
    const ports: number[] = [];
    for (const name of pods) {
      const port = await demoServer(name);
      ports.push(port);
      await call('POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'demo', team: 'blue' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'demo:1', ports: [{ name: 'metrics', containerPort: port }] }, { name: 'sidecar', image: 'side:1' }] },
      });
      await call('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [] } });
    }
    await call('POST', `/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'demo', labels: { app: 'demo', tier: 'web' } },
      spec: { selector: { app: 'demo' }, ports: [{ name: 'metrics', port: 80, targetPort: 'metrics' }] },
    });
    // One subset (and one EndpointSlice) per pod: their ports differ.
    for (const [i, p] of pods.entries()) {
      await call('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `demo-${i}`, labels: { 'kubernetes.io/service-name': 'demo' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: p, namespace: ns } }],
        ports: [{ name: 'metrics', port: ports[i]!, protocol: 'TCP' }],
      });
    }
    const b64 = (v: string): string => Buffer.from(v).toString('base64');
    await call('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'scrape-auth' }, data: { user: b64('alice'), pass: b64('s3cret') } });
    await call('POST', `/api/v1/namespaces/${ns}/endpoints`, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'demo', labels: { app: 'demo' } },
      subsets: pods.map((p, i) => ({ addresses: [{ ip: '127.0.0.1', nodeName: 'node-1', targetRef: { kind: 'Pod', name: p, namespace: ns } }], ports: [{ name: 'metrics', port: ports[i]!, protocol: 'TCP' }] })),
    });
    const smon = (name: string, relabelings: object[]): object => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name, labels: { release: 'test' } },
      spec: {
        selector: { matchLabels: { tier: 'web' } },
        targetLabels: ['tier'],
        podTargetLabels: ['team'],
        endpoints: [{ port: 'metrics', path: '/secure', basicAuth: { username: { name: 'scrape-auth', key: 'user' }, password: { name: 'scrape-auth', key: 'pass' } }, interval: '1s', scrapeTimeout: '1s', relabelings, metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'drop_me_.*', action: 'drop' }] }],
      },
    });
    await call('POST', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors`, smon('demo', [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node_name' }, { targetLabel: 'source', replacement: 'smon' }]));
    await call('POST', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/podmonitors`, {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'demo-pods', labels: { release: 'test' } },
      spec: {
        selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['blue', 'green'] }] },
        podMetricsEndpoints: [{ port: 'metrics', interval: '1s', scrapeTimeout: '1s', honorLabels: true, metricRelabelings: [{ sourceLabels: ['code'], regex: '5..', action: 'drop' }], relabelings: [{ action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)', replacement: 'pod_label_$1' }] }],
      },
    });

    await call('POST', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/probes`, {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Probe',
      metadata: { name: 'sites', labels: { release: 'test' } },
      spec: {
        jobName: 'blackbox',
        module: 'http_2xx',
        interval: '1s',
        scrapeTimeout: '1s',
        prober: { url: `127.0.0.1:${ports[0]!}` },
        targets: { staticConfig: { static: ['https://example.com', 'https://example.org'], labels: { env: 'prod' }, relabelingConfigs: [{ sourceLabels: ['__param_target'], regex: 'https://(.*)', targetLabel: 'site' }] } },
        metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'probe_duration_seconds', action: 'drop' }],
      },
    });
    const capture = new Capture();
    const common = { client: { kubeconfig_file: kubeconfig }, forward_to: [capture], namespaces: [ns], selector: { match_labels: { release: 'test' } } };
    const sm = start(serviceMonitors, argumentsSchema.parse(common));
    const pm = start(podMonitors, argumentsSchema.parse(common));
    const pr = start(probes, argumentsSchema.parse(common));
    // The same ServiceMonitor through EndpointSlices must give the same series.
    const sliceCapture = new Capture();
    const smSlices = start(serviceMonitors, argumentsSchema.parse({ ...common, forward_to: [sliceCapture], kubernetes_role: 'endpointslice' }));
    // The discovered targets the Prometheus Operator's kubernetes_sd_configs would give Prometheus.
    const epDisc = start(discoveryComponent, discoveryArgs.parse({ role: 'endpoints', kubeconfig_file: kubeconfig, namespaces: { names: [ns] } }));
    const podDisc = start(discoveryComponent, discoveryArgs.parse({ role: 'pod', kubeconfig_file: kubeconfig, namespaces: { names: [ns] } }));
    let prom: PromProc | undefined;
    try {
      const epTargets = await waitFor(() => {
        const t = (epDisc.exports() as DiscoveryExports | undefined)?.targets ?? [];
        return t.length === 2 ? t : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'endpoints targets' });
      const podTargets = await waitFor(() => {
        const t = (podDisc.exports() as DiscoveryExports | undefined)?.targets ?? [];
        return t.length === 4 ? t : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'pod targets (2 pods × web port + sidecar)' });

      // The jobs our components generated (their relabel rules are what Prometheus gets).
      const jobs = await waitFor(() => {
        const s = (sm.debug() as OperatorDebugInfo).targets;
        const p = (pm.debug() as OperatorDebugInfo).targets;
        return s.length === 2 && p.length === 2 ? { s, p } : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'scrape targets of both monitors' });
      expect(jobs.s.every((t) => t.job === `serviceMonitor/${ns}/demo/0`)).toBe(true);
      expect(jobs.p.every((t) => t.job === `podMonitor/${ns}/demo-pods/0`)).toBe(true);

      const { serviceMonitorJob, podMonitorJob, probeJob } = await import('../../collector/src/component/prometheus/operator/configgen.js');
      const scrapeOpts = argumentsSchema.parse(common).scrape;
      const o = { rules: [], scrape: scrapeOpts, scrapeClasses: [], secrets: dev.secrets };
      const smObj = (await call('GET', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors/demo`)) as never;
      const pmObj = (await call('GET', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/podmonitors/demo-pods`)) as never;
      const smJob = await serviceMonitorJob(smObj, (smObj as { spec: { endpoints: never[] } }).spec.endpoints[0]!, 0, 'endpoints', o);
      const prJob = await probeJob((await call('GET', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/probes/sites`)) as never, o);
      const prTargets = prJob.discovery.kind === 'static' ? prJob.discovery.targets : [];
      const pmJob = await podMonitorJob(pmObj, (pmObj as { spec: { podMetricsEndpoints: never[] } }).spec.podMetricsEndpoints[0]!, 0, o);
      const staticOf = (targets: readonly LabelSet[]): object[] => targets.map((t) => ({ targets: [t['__address__']], labels: Object.fromEntries(Object.entries(t).filter(([k]) => k !== '__address__')) }));
      const promCfg = {
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        scrape_configs: [
          {
            job_name: smJob.jobName,
            honor_labels: false,
            metrics_path: smJob.metricsPath,
            basic_auth: { username: smJob.http.basic_auth!.username, password: smJob.http.basic_auth!.password!.reveal() },
            static_configs: staticOf(epTargets), relabel_configs: promRelabel(smJob.relabelConfigs), metric_relabel_configs: promRelabel(smJob.metricRelabelConfigs),
          },
          { job_name: prJob.jobName, metrics_path: prJob.metricsPath, params: prJob.params, static_configs: staticOf(prTargets), relabel_configs: promRelabel(prJob.relabelConfigs), metric_relabel_configs: promRelabel(prJob.metricRelabelConfigs) },
          { job_name: pmJob.jobName, honor_labels: true, static_configs: staticOf(podTargets), relabel_configs: promRelabel(pmJob.relabelConfigs), metric_relabel_configs: promRelabel(pmJob.metricRelabelConfigs) },
        ],
      };
      prom = await startPrometheus(dir, 'oracle', toYaml(promCfg), 'server');

      // Compare once both sides have every series (two scrapes at 1 s).
      const result = await waitFor(async () => {
        const p = await storedSeries(prom!.base);
        return { want: sameSeries(p, capture.series), p };
      }, { timeoutMs: 30_000, intervalMs: 500, what: 'our series equal the oracle Prometheus series' });
      // Sanity: the comparison covers what the relabelings produce.
      const series = [...result.p.values()];
      const smDemo = series.filter((s) => s['__name__'] === 'demo_requests_total' && s['job'] === 'demo');
      expect(smDemo).toHaveLength(4);
      expect(smDemo[0]).toMatchObject({ namespace: ns, service: 'demo', endpoint: 'metrics', tier: 'web', team: 'blue', node_name: 'node-1', source: 'smon', container: 'web' });
      // Each monitor's metricRelabelings apply to its own job only.
      expect(series.filter((s) => s['__name__'] === 'drop_me_total').map((s) => s['job'])).toEqual([`${ns}/demo-pods`, `${ns}/demo-pods`]);
      const pmDemo = series.filter((s) => s['__name__'] === 'demo_requests_total' && s['job'] === `${ns}/demo-pods`);
      expect(pmDemo.map((s) => s['code'])).toEqual(['200', '200']);
      expect(pmDemo[0]).toMatchObject({ pod_label_app: 'demo', pod_label_team: 'blue', endpoint: 'metrics' });
      // The Probe scrapes the prober with module and target, one series set per static target.
      expect(series.filter((s) => s['__name__'] === 'probe_success').map((s) => [s['job'], s['instance'], s['site'], s['env'], s['namespace'], s['module_seen'], s['target_seen']]).sort()).toEqual([
        ['blackbox', 'https://example.com', 'example.com', 'prod', ns, 'http_2xx', 'https://example.com'],
        ['blackbox', 'https://example.org', 'example.org', 'prod', ns, 'http_2xx', 'https://example.org'],
      ]);
      expect(series.some((s) => s['__name__'] === 'probe_duration_seconds')).toBe(false);
      // honorLabels: the exposed job/instance win on the PodMonitor, become exported_* on the ServiceMonitor.
      expect(series.filter((s) => s['__name__'] === 'demo_info' && s['job'] === 'inner')).toHaveLength(2);
      expect(series.filter((s) => s['__name__'] === 'demo_info' && s['exported_job'] === 'inner')).toHaveLength(2);
      expect(sm.health().state).toBe('healthy');
      expect(series.filter((s) => s['__name__'] === 'up' && s['job'] === 'demo')).toHaveLength(2);
      const upValues = await (await fetch(`${prom!.base}/api/v1/query?query=${encodeURIComponent('up')}`)).json() as { data: { result: Array<{ value: [number, string] }> } };
      expect(upValues.data.result.map((r) => r.value[1])).toEqual(['1', '1', '1', '1', '1', '1']); // basic auth from the Secret works on both sides
      const smKeys = (m: Map<string, LabelSet>): string[] => [...m.entries()].filter(([, ls]) => ls['job'] === 'demo').map(([k]) => k).sort();
      await waitFor(() => {
        const a = smKeys(capture.series);
        const b = smKeys(sliceCapture.series);
        if (JSON.stringify(a) === JSON.stringify(b)) return true;
        throw new Error(`endpointslice role differs: ${JSON.stringify(b.filter((k) => !a.includes(k)))} vs ${JSON.stringify(a.filter((k) => !b.includes(k)))}`);
      }, { timeoutMs: 5000, intervalMs: 100, what: 'kubernetes_role = "endpointslice" gives the same series' });

      // A change that leaves the generated job equal keeps its loops: no staleness markers.
      const staleBefore = capture.stale.get('demo') ?? 0;
      const reconciled = (sm.debug() as OperatorDebugInfo).crds.find((c) => c.name === 'demo')!.last_reconcile;
      await call('PATCH', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors/demo`, { metadata: { annotations: { touched: 'yes' } } });
      const at = await waitFor(() => {
        const r = (sm.debug() as OperatorDebugInfo).crds.find((c) => c.name === 'demo')!.last_reconcile;
        return r !== reconciled ? r : undefined;
      }, { timeoutMs: 5000, intervalMs: 20, what: 'the annotated ServiceMonitor reconciled' });
      await waitFor(() => {
        const ts = (sm.debug() as OperatorDebugInfo).targets.filter((t) => t.job === `serviceMonitor/${ns}/demo/0`);
        return ts.length === 2 && ts.every((t) => t.last_scrape !== null && t.last_scrape > at) ? true : undefined;
      }, { timeoutMs: 5000, intervalMs: 50, what: 'a scrape after the reconcile' });
      expect(capture.stale.get('demo') ?? 0).toBe(staleBefore);

      // An invalid relabel rule: that monitor is skipped with a message, the others keep scraping.
      await call('POST', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors`, smon('broken', [{ sourceLabels: ['a'], regex: '(unclosed', targetLabel: 'b' }]));
      await waitFor(() => (sm.health().state === 'unhealthy' ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'unhealthy after the broken ServiceMonitor' });
      expect(sm.health().message).toContain(`ServiceMonitor ${ns}/broken`);
      expect(sm.health().message).toContain('regex');
      const dbg = sm.debug() as OperatorDebugInfo;
      expect(dbg.crds.find((c) => c.name === 'broken')?.reconcile_error).toContain('regex');
      expect(dbg.crds.find((c) => c.name === 'demo')?.reconcile_error).toBe('');
      expect(dbg.targets.filter((t) => t.job === `serviceMonitor/${ns}/demo/0` && t.health === 'up')).toHaveLength(2);
      const before = capture.series.size;
      capture.series.clear();
      await waitFor(() => (capture.series.size === before ? true : undefined), { timeoutMs: 5000, intervalMs: 100, what: 'the good monitors keep delivering every series' });
      // Deleting the broken monitor clears the message.
      await call('DELETE', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors/broken`);
      await waitFor(() => (sm.health().state === 'healthy' ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'healthy after deleting it' });

      // Clustering: two nodes split the PodMonitor's targets; each is scraped by exactly one.
      const nodes = [new Capture(), new Capture()];
      const clustered = ([0, 1] as const).map((i) => start(podMonitors, argumentsSchema.parse({ ...common, forward_to: [nodes[i]!], clustering: { enabled: true } }), fakeCluster(i, `127.0.0.1:${ports[0]!}`)));
      try {
        const ups = (c: Capture): string[] => [...c.series.values()].filter((ls) => ls['__name__'] === 'up').map((ls) => ls['pod']!).sort();
        await waitFor(() => {
          const a = ups(nodes[0]!);
          const b = ups(nodes[1]!);
          if (JSON.stringify(a) === JSON.stringify([pods[0]]) && JSON.stringify(b) === JSON.stringify([pods[1]])) return true;
          throw new Error(`node-0 scrapes ${JSON.stringify(a)}, node-1 scrapes ${JSON.stringify(b)}`);
        }, { timeoutMs: 10_000, intervalMs: 100, what: 'each pod scraped by exactly one of two clustered nodes' });
      } finally {
        await Promise.all(clustered.map((c) => c.stop()));
      }
    } finally {
      await Promise.all([sm.stop(), pm.stop(), pr.stop(), smSlices.stop(), epDisc.stop(), podDisc.stop()]);
      await prom?.stop();
    }
  }, 120_000);
});
