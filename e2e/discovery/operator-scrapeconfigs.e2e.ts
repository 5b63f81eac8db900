/**
 * `prometheus.operator.scrapeconfigs` against the dev cluster's API server, with Prometheus 2.42
 * as the oracle. The ScrapeConfig CRD from `crds/` is installed; two demo targets (HTTP servers on
 * loopback) are described by one ScrapeConfig with `staticConfigs` (basic auth from a Secret,
 * relabelings that read `__meta_kubernetes_scrapeconfig_*`, metricRelabelings) and by another
 * with `httpSDConfigs` pointing at a local HTTP SD server (relabelings that read `__meta_url`,
 * honorLabels), and by a third with `kubernetesSDConfigs` (role Pod, a label selector) over two
 * pods whose IP and container ports are those servers. Prometheus is given the jobs our generator
 * made for them, as `static_configs` (for the Kubernetes job: the targets `discovery.kubernetes`
 * reports, with their `__meta_kubernetes_*` labels, since Debian's Prometheus has no Kubernetes
 * SD) and `http_sd_configs`, with the same relabel and metric relabel configs, scraping the same servers;
 * the series our component produces must equal the series Prometheus stores (names and labels).
 * Then: a target removed from the HTTP SD answer is dropped (staleness markers); a ScrapeConfig
 * with an invalid relabel rule is skipped with a health message naming it while the others keep
 * scraping; a ScrapeConfig with a discovery list that is not converted (`consulSDConfigs`) is
 * reported by name while its static targets are scraped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify as toYaml } from 'yaml';
import { waitFor } from '../cluster/harness/wait.js';
import { requireTool } from '../cluster/harness/kubectl.js';
import { startPrometheus, stopAll, type PromProc } from '../metrics/harness.js';
import { argumentsSchema as discoveryArgs, component as discoveryComponent, type Exports as DiscoveryExports } from '../../collector/src/component/discovery/kubernetes/kubernetes.js';
import { argumentsSchema } from '../../collector/src/component/prometheus/operator/arguments.js';
import { httpScrapeConfigJob, kubernetesScrapeConfigJob, staticScrapeConfigJob, type ScrapeConfig } from '../../collector/src/component/prometheus/operator/configgen-scrapeconfig.js';
import type { GeneratorOptions } from '../../collector/src/component/prometheus/operator/configgen.js';
import type { OperatorDebugInfo } from '../../collector/src/component/prometheus/operator/operator.js';
import { component as scrapeConfigs } from '../../collector/src/component/prometheus/operator/scrapeconfigs/scrapeconfigs.js';
import { Capture, demoExposition, promRelabel, promSeries, sameSeries, startComponent, startDevApi, type DevApi } from './operator-harness.js';

const haveProm = requireTool('prometheus', '/usr/bin/prometheus');

let dev: DevApi;
const servers: http.Server[] = [];
const call = (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => dev.call(method, p, body);

async function listen(s: http.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

/** A demo target: a fixed exposition on `/metrics`, the same behind basic auth on `/secure`. */
function demoServer(name: string): Promise<number> {
  const body = demoExposition(name, 'job="inner",instance="inner:1",env="exposed"');
  return listen(
    http.createServer((q, r) => {
      if (q.url?.startsWith('/secure') && q.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
        r.statusCode = 401;
        return void r.end('unauthorized\n');
      }
      r.setHeader('content-type', 'text/plain; version=0.0.4');
      r.end(body);
    }),
  );
}

beforeAll(async () => {
  dev = await startDevApi('operator-scrapeconfigs-', ['scrapeconfigs']);
});

afterAll(async () => {
  for (const s of servers) s.close();
  await stopAll();
  await dev?.close();
});

(haveProm ? describe : describe.skip)('prometheus.operator.scrapeconfigs in the dev cluster, Prometheus 2.42 as the oracle', () => {
  it('static, HTTP SD and Kubernetes SD ScrapeConfigs produce the series Prometheus produces from the equivalent scrape configs; broken and unsupported resources are reported by name', async () => {
    const ns = `scfg-${process.pid}`;
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const ports = [await demoServer('demo-a'), await demoServer('demo-b')];
    const addr = (i: number): string => `127.0.0.1:${ports[i]!}`;

    // The HTTP SD server both sides poll.
    let sdGroups: object[] = [
      { targets: [addr(0)], labels: { env: 'prod', team: 'a' } },
      { targets: [addr(1)], labels: { env: 'dev' } },
    ];
    const sdRequests: http.IncomingHttpHeaders[] = [];
    const sdPort = await listen(
      http.createServer((q, r) => {
        sdRequests.push(q.headers);
        r.setHeader('content-type', 'application/json');
        r.end(JSON.stringify(sdGroups));
      }),
    );
    const sdUrl = `http://127.0.0.1:${sdPort}/targets`;

    const b64 = (v: string): string => Buffer.from(v).toString('base64');
    await call('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'scrape-auth' }, data: { user: b64('alice'), pass: b64('s3cret') } });
    const scfg = (name: string, spec: object): object => ({ apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'ScrapeConfig', metadata: { name, labels: { release: 'test' } }, spec });
    const base = `/apis/monitoring.coreos.com/v1alpha1/namespaces/${ns}/scrapeconfigs`;
    await call(
      'POST',
      base,
      scfg('fixed', {
        staticConfigs: [{ targets: [addr(0), addr(1)], labels: { env: 'prod', tier: 'web' } }],
        scrapeInterval: '1s',
        scrapeTimeout: '1s',
        metricsPath: '/secure',
        scheme: 'HTTP',
        basicAuth: { username: { name: 'scrape-auth', key: 'user' }, password: { name: 'scrape-auth', key: 'pass' } },
        relabelings: [
          { sourceLabels: ['__meta_kubernetes_scrapeconfig_namespace', '__meta_kubernetes_scrapeconfig_name'], separator: '/', targetLabel: 'scrapeconfig' },
          { sourceLabels: ['__address__'], regex: '.*:(\\d+)', replacement: 'port-$1', targetLabel: 'port' },
        ],
        metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'drop_me_.*', action: 'drop' }],
      }),
    );
    await call(
      'POST',
      base,
      scfg('discovered', {
        httpSDConfigs: [{ url: sdUrl, refreshInterval: '1s' }],
        scrapeInterval: '1s',
        scrapeTimeout: '1s',
        honorLabels: true,
        relabelings: [{ sourceLabels: ['__meta_url'], targetLabel: 'sd_url' }, { action: 'labelmap', regex: 'team', replacement: 'owner' }],
        metricRelabelings: [{ sourceLabels: ['code'], regex: '5..', action: 'drop' }],
      }),
    );
    // Two pods whose container port is a demo server; a third pod the ScrapeConfig's selector leaves out.
    for (const [i, name] of ['demo-a', 'demo-b', 'other-pod'].entries()) {
      await call('POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: i < 2 ? 'demo' : 'other', team: 'blue' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'demo:1', ports: [{ name: 'metrics', containerPort: ports[i % 2]! }] }] },
      });
      await call('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [] } });
    }
    await call(
      'POST',
      base,
      scfg('pods', {
        kubernetesSDConfigs: [{ role: 'Pod', namespaces: { names: [ns] }, selectors: [{ role: 'Pod', label: 'app=demo' }] }],
        scrapeInterval: '1s',
        scrapeTimeout: '1s',
        relabelings: [
          { sourceLabels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
          { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
          { action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)', replacement: 'pod_label_$1' },
        ],
      }),
    );
    // Not selected by the component's selector: never scraped.
    await call('POST', base, { ...scfg('other', { staticConfigs: [{ targets: [addr(0)] }], scrapeInterval: '1s', scrapeTimeout: '1s' }), metadata: { name: 'other', labels: { release: 'elsewhere' } } });

    const capture = new Capture();
    const args = argumentsSchema.parse({ client: { kubeconfig_file: dev.kubeconfig }, forward_to: [capture], namespaces: [ns], selector: { match_labels: { release: 'test' } }, rule: [{ target_label: 'cluster', replacement: 'dev' }] });
    const sc = startComponent(scrapeConfigs, args, dev.dir);
    // The targets Prometheus's kubernetes_sd_configs would give Prometheus for the Kubernetes job.
    const podDisc = startComponent(discoveryComponent, discoveryArgs.parse({ role: 'pod', kubeconfig_file: dev.kubeconfig, namespaces: { names: [ns] }, selectors: [{ role: 'pod', label: 'app=demo' }] }), dev.dir);
    let prom: PromProc | undefined;
    try {
      const jobsSeen = await waitFor(() => {
        const t = (sc.debug() as OperatorDebugInfo).targets;
        return t.length === 6 ? t : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'the targets of the three ScrapeConfigs' });
      expect([...new Set(jobsSeen.map((t) => t.job))].sort()).toEqual([`scrapeConfig/${ns}/discovered/http/0`, `scrapeConfig/${ns}/fixed/static/0`, `scrapeConfig/${ns}/pods/kubernetes/0`]);
      const podTargets = await waitFor(() => {
        const t = (podDisc.exports() as DiscoveryExports | undefined)?.targets ?? [];
        return t.length === 2 ? t : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'the selected pods discovered' });
      expect(sdRequests[0]).toMatchObject({ accept: 'application/json', 'x-prometheus-refresh-interval-seconds': '1' });

      // The jobs our generator makes for these objects are what Prometheus gets.
      const o: GeneratorOptions = { rules: args.rule, scrape: args.scrape, scrapeClasses: [], secrets: dev.secrets };
      const fixed = (await call('GET', `${base}/fixed`)) as unknown as ScrapeConfig;
      const discovered = (await call('GET', `${base}/discovered`)) as unknown as ScrapeConfig;
      const staticJob = await staticScrapeConfigJob(fixed, fixed.spec!.staticConfigs![0]!, 0, o);
      const httpJob = await httpScrapeConfigJob(discovered, discovered.spec!.httpSDConfigs![0]!, 0, o);
      const podsObj = (await call('GET', `${base}/pods`)) as unknown as ScrapeConfig;
      const kubeJob = await kubernetesScrapeConfigJob(podsObj, podsObj.spec!.kubernetesSDConfigs![0]!, 0, o);
      const sc0 = fixed.spec!.staticConfigs![0]!;
      const promCfg = {
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        scrape_configs: [
          {
            job_name: staticJob.jobName,
            scheme: staticJob.scheme,
            metrics_path: staticJob.metricsPath,
            basic_auth: { username: staticJob.http.basic_auth!.username, password: staticJob.http.basic_auth!.password!.reveal() },
            static_configs: [{ targets: sc0.targets, labels: sc0.labels }],
            relabel_configs: promRelabel(staticJob.relabelConfigs),
            metric_relabel_configs: promRelabel(staticJob.metricRelabelConfigs),
          },
          {
            job_name: httpJob.jobName,
            honor_labels: true,
            metrics_path: httpJob.metricsPath,
            http_sd_configs: [{ url: sdUrl, refresh_interval: '1s' }],
            relabel_configs: promRelabel(httpJob.relabelConfigs),
            metric_relabel_configs: promRelabel(httpJob.metricRelabelConfigs),
          },
          {
            job_name: kubeJob.jobName,
            static_configs: podTargets.map((t) => ({ targets: [t['__address__']], labels: Object.fromEntries(Object.entries(t).filter(([k]) => k !== '__address__')) })),
            relabel_configs: promRelabel(kubeJob.relabelConfigs),
            metric_relabel_configs: promRelabel(kubeJob.metricRelabelConfigs),
          },
        ],
      };
      prom = await startPrometheus(dev.dir, 'oracle', toYaml(promCfg), 'server');

      const result = await waitFor(async () => {
        const p = await promSeries(prom!.base);
        return { want: sameSeries(p, capture.series), p };
      }, { timeoutMs: 30_000, intervalMs: 500, what: 'our series equal the oracle Prometheus series' });
      // Sanity: the comparison covers what the generated and the resource's relabelings produce.
      const series = [...result.p.values()];
      const fixedJob = `scrapeConfig/${ns}/fixed/static/0`;
      const httpJobName = `scrapeConfig/${ns}/discovered/http/0`;
      const fixedDemo = series.filter((s) => s['__name__'] === 'demo_requests_total' && s['job'] === fixedJob);
      expect(fixedDemo).toHaveLength(4);
      expect(fixedDemo.find((s) => s['instance'] === addr(0))).toMatchObject({ env: 'prod', tier: 'web', cluster: 'dev', scrapeconfig: `${ns}/fixed`, port: `port-${ports[0]!}` });
      expect(series.some((s) => s['__name__'] === 'drop_me_total' && s['job'] === fixedJob)).toBe(false);
      expect(series.filter((s) => s['__name__'] === 'drop_me_total' && s['job'] === httpJobName)).toHaveLength(2);
      const httpDemo = series.filter((s) => s['__name__'] === 'demo_requests_total' && s['job'] === httpJobName);
      expect(httpDemo.map((s) => [s['instance'], s['code'], s['env'], s['sd_url'], s['owner'] ?? ''])).toEqual(
        expect.arrayContaining([
          [addr(0), '200', 'prod', sdUrl, 'a'],
          [addr(1), '200', 'dev', sdUrl, ''],
        ]),
      );
      expect(httpDemo).toHaveLength(2);
      // honorLabels: the exposed labels win on the HTTP SD job, become exported_* on the static one.
      expect(series.filter((s) => s['__name__'] === 'demo_info' && s['job'] === 'inner' && s['env'] === 'exposed')).toHaveLength(2);
      expect(series.filter((s) => s['__name__'] === 'demo_info' && s['exported_job'] === 'inner' && s['exported_env'] === 'exposed')).toHaveLength(2);
      const up = (await (await fetch(`${prom!.base}/api/v1/query?query=${encodeURIComponent('up')}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      expect(up.data.result.map((r) => r.value[1])).toEqual(['1', '1', '1', '1', '1', '1']); // basic auth from the Secret works on both sides
      const podUps = series.filter((s) => s['__name__'] === 'up' && s['job'] === `scrapeConfig/${ns}/pods/kubernetes/0`);
      expect(podUps.map((s) => [s['pod'], s['pod_label_app'], s['pod_label_team'], s['instance']]).sort()).toEqual([
        ['demo-a', 'demo', 'blue', addr(0)],
        ['demo-b', 'demo', 'blue', addr(1)],
      ]);
      expect(series.some((s) => s['__name__'] === 'up' && s['instance'] === addr(0) && s['job']?.includes('/other/'))).toBe(false);
      expect(sc.health().state).toBe('healthy');

      // A target removed from the HTTP SD answer is dropped: its series go stale.
      sdGroups = [{ targets: [addr(0)], labels: { env: 'prod', team: 'a' } }];
      await waitFor(() => {
        const ups = [...capture.series.values()].filter((s) => s['__name__'] === 'up' && s['job'] === httpJobName).map((s) => s['instance']);
        return ups.length === 1 && ups[0] === addr(0) ? true : undefined;
      }, { timeoutMs: 10_000, intervalMs: 100, what: 'the removed HTTP SD target dropped' });
      expect(capture.stale.get(httpJobName) ?? 0).toBeGreaterThan(0);

      // An invalid relabel rule: that ScrapeConfig is skipped with a message, the others keep scraping.
      await call('POST', base, scfg('broken', { staticConfigs: [{ targets: [addr(1)] }], relabelings: [{ sourceLabels: ['a'], regex: '(unclosed', targetLabel: 'b' }] }));
      await waitFor(() => (sc.health().state === 'unhealthy' ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'unhealthy after the broken ScrapeConfig' });
      expect(sc.health().message).toContain(`ScrapeConfig ${ns}/broken skipped: ScrapeConfig ${ns}/broken staticConfigs[0]`);
      expect(sc.health().message).toContain('regex');
      const dbg = sc.debug() as OperatorDebugInfo;
      expect(dbg.crds.find((c) => c.name === 'broken')?.reconcile_error).toContain('regex');
      expect(dbg.crds.find((c) => c.name === 'fixed')?.reconcile_error).toBe('');
      expect(dbg.targets.filter((t) => t.job === fixedJob && t.health === 'up')).toHaveLength(2);
      const before = capture.series.size;
      capture.series.clear();
      await waitFor(() => (capture.series.size === before ? true : undefined), { timeoutMs: 5000, intervalMs: 100, what: 'the good ScrapeConfigs keep delivering every series' });
      await call('DELETE', `${base}/broken`);
      await waitFor(() => (sc.health().state === 'healthy' ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'healthy after deleting it' });

      // A discovery list upstream does not convert is reported by name; the static targets are scraped.
      await call('POST', base, scfg('mixed', { staticConfigs: [{ targets: [addr(1)], labels: { which: 'mixed' } }], consulSDConfigs: [{ server: '127.0.0.1:8500' }], scrapeInterval: '1s', scrapeTimeout: '1s' }));
      await waitFor(() => (sc.health().state === 'unhealthy' ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'unhealthy after the ScrapeConfig with consulSDConfigs' });
      expect(sc.health().message).toContain(`ScrapeConfig ${ns}/mixed partly skipped: ScrapeConfig ${ns}/mixed: consulSDConfigs is not supported`);
      await waitFor(() => ([...capture.series.values()].some((s) => s['__name__'] === 'up' && s['which'] === 'mixed' && s['job'] === `scrapeConfig/${ns}/mixed/static/0`) ? true : undefined), { timeoutMs: 5000, intervalMs: 100, what: 'the static targets of the partly converted ScrapeConfig scraped' });
      // Removing the unsupported list clears the message.
      await call('PUT', `${base}/mixed`, { ...((await call('GET', `${base}/mixed`)) as { metadata: object; spec: Record<string, unknown> }), spec: { staticConfigs: [{ targets: [addr(1)], labels: { which: 'mixed' } }], scrapeInterval: '1s', scrapeTimeout: '1s' } });
      await waitFor(() => (sc.health().state === 'healthy' ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'healthy after removing consulSDConfigs' });
    } finally {
      await Promise.all([sc.stop(), podDisc.stop()]);
      await prom?.stop();
    }
  }, 120_000);
});

