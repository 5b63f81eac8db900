/**
 * The monitoring.coreos.com CRDs of `crds/monitoring.coreos.com/` on a real kube-apiserver: they
 * install with `kubectl apply --server-side` and become Established (client-side apply of the
 * ScrapeConfig CRD is refused: its last-applied copy exceeds the 256 KiB annotation limit), ServiceMonitor/PodMonitor/Probe/ScrapeConfig objects written for
 * the Prometheus Operator are accepted with their nested blocks kept, a wrong top-level type (and,
 * for ScrapeConfigs, a bad scheme or HTTP SD URL) is refused by the server, and `prometheus.operator.servicemonitors` lists and watches them there (a
 * monitor with an invalid relabel rule is reported in its health and debug info, a fixed one
 * clears it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import { kubectl, runKubectl } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';
import { realControlPlaneUnavailable, startRealControlPlane, type RealControlPlane } from '../cluster/real/control-plane.js';
import { argumentsSchema } from '../../collector/src/component/prometheus/operator/arguments.js';
import { component as serviceMonitors } from '../../collector/src/component/prometheus/operator/servicemonitors/servicemonitors.js';
import type { OperatorComponent, OperatorDebugInfo } from '../../collector/src/component/prometheus/operator/operator.js';

const skip = realControlPlaneUnavailable() !== undefined;

(skip ? describe.skip : describe)('monitoring.coreos.com CRDs on a real kube-apiserver', () => {
  let cp!: RealControlPlane;
  const k = (args: readonly string[], input?: string): Promise<string> => kubectl(args, { kubeconfig: cp.kubeconfigPath, input });
  const kr = (args: readonly string[], input?: string) => runKubectl(args, { kubeconfig: cp.kubeconfigPath, input });

  beforeAll(async () => {
    cp = await startRealControlPlane();
    // Server-side: the ScrapeConfig CRD is too large for client-side apply's last-applied annotation.
    await k(['apply', '--server-side', '-f', path.join(repoRoot(), 'crds/monitoring.coreos.com')]);
    // Polled rather than `kubectl wait`, which fails while a just-created CRD has no conditions yet.
    for (const r of ['servicemonitors', 'podmonitors', 'probes', 'scrapeconfigs']) {
      await waitFor(async () => ((await k(['get', 'crd', `${r}.monitoring.coreos.com`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).trim() === 'True' ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: `${r} Established` });
    }
    await k(['create', 'namespace', 'mon']);
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  const sm = (name: string, relabelings: object[] = []): string =>
    JSON.stringify({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name, namespace: 'mon', labels: { release: 'test' } },
      spec: {
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
        namespaceSelector: { matchNames: ['mon'] },
        endpoints: [{ port: 'metrics', interval: '15s', scrapeTimeout: '10s', tlsConfig: { ca: { secret: { name: 'ca', key: 'ca.crt' } }, serverName: 'web' }, relabelings, metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'go_.*', action: 'drop' }] }],
        targetLabels: ['team'],
        sampleLimit: 1000,
      },
    });

  it('refuses a client-side kubectl apply of the ScrapeConfig CRD (its last-applied copy exceeds the annotation limit)', async () => {
    const r = await kr(['apply', '-f', path.join(repoRoot(), 'crds/monitoring.coreos.com/scrapeconfigs.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('metadata.annotations: Too long: must have at most 262144 bytes');
  }, 60_000);

  it('accepts Prometheus Operator resources with their nested blocks, and refuses a wrong top-level type', async () => {
    await k(['apply', '-f', '-'], sm('web'));
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'pods', namespace: 'mon' }, spec: { selector: { matchLabels: { app: 'web' } }, podMetricsEndpoints: [{ port: 'metrics', honorLabels: true }] } }));
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'monitoring.coreos.com/v1', kind: 'Probe', metadata: { name: 'site', namespace: 'mon' }, spec: { module: 'http_2xx', prober: { url: 'blackbox:9115' }, targets: { staticConfig: { static: ['https://example.com'] } } } }));
    const got = JSON.parse(await k(['get', 'smon', 'web', '-n', 'mon', '-o', 'json'])) as { spec: { endpoints: Array<{ tlsConfig: unknown; metricRelabelings: unknown[] }>; sampleLimit: number } };
    expect(got.spec.endpoints[0]!.tlsConfig).toEqual({ ca: { secret: { name: 'ca', key: 'ca.crt' } }, serverName: 'web' });
    expect(got.spec.sampleLimit).toBe(1000);
    expect((await k(['get', 'pmon,prb', '-n', 'mon', '-o', 'name'])).trim().split('\n').sort()).toEqual(['podmonitor.monitoring.coreos.com/pods', 'probe.monitoring.coreos.com/site']);
    const r = await kr(['create', '--validate=false', '-f', '-'], JSON.stringify({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'bad', namespace: 'mon' }, spec: { selector: {}, sampleLimit: 'lots' } }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.sampleLimit.*must be of type integer/);
  }, 60_000);

  it('accepts ScrapeConfigs (v1alpha1) with their SD lists kept, and refuses a bad scheme or HTTP SD URL', async () => {
    const scfg = (name: string, spec: object): string => JSON.stringify({ apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'ScrapeConfig', metadata: { name, namespace: 'mon' }, spec });
    await k(['apply', '-f', '-'], scfg('sc', { staticConfigs: [{ targets: ['a:1'], labels: { env: 'prod' } }], httpSDConfigs: [{ url: 'http://sd:8080/targets', refreshInterval: '30s', basicAuth: { username: { name: 'c', key: 'u' }, password: { name: 'c', key: 'p' } } }], consulSDConfigs: [{ server: 'consul:8500' }], scheme: 'HTTPS', scrapeInterval: '30s', relabelings: [{ targetLabel: 'x', replacement: 'y' }] }));
    const got = JSON.parse(await k(['get', 'scfg', 'sc', '-n', 'mon', '-o', 'json'])) as { spec: { httpSDConfigs: Array<{ basicAuth: unknown }>; consulSDConfigs: unknown[]; staticConfigs: unknown[] } };
    expect(got.spec.httpSDConfigs[0]!.basicAuth).toEqual({ username: { name: 'c', key: 'u' }, password: { name: 'c', key: 'p' } });
    expect(got.spec.consulSDConfigs).toEqual([{ server: 'consul:8500' }]);
    expect(got.spec.staticConfigs).toEqual([{ targets: ['a:1'], labels: { env: 'prod' } }]);
    const badScheme = await kr(['create', '--validate=false', '-f', '-'], scfg('bad-scheme', { scheme: 'gopher' }));
    expect(badScheme.code).not.toBe(0);
    expect(badScheme.stderr).toMatch(/spec\.scheme.*Unsupported value: "gopher"/);
    const badUrl = await kr(['create', '--validate=false', '-f', '-'], scfg('bad-url', { httpSDConfigs: [{ url: 'sd:8080' }] }));
    expect(badUrl.code).not.toBe(0);
    expect(badUrl.stderr).toMatch(/spec\.httpSDConfigs(\[0\])?\.url.*should match/);
  }, 60_000);

  it('prometheus.operator.servicemonitors lists and watches them, reporting a broken monitor until it is fixed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'monitor-crds-'));
    let health = { state: 'unknown', message: '' };
    const c = serviceMonitors.build(
      {
        id: 'prometheus.operator.servicemonitors.real',
        logger: winston.createLogger({ silent: true }),
        registry: new Registry(),
        dataPath: dir,
        onStateChange: () => undefined,
        setHealth: (state, message) => (health = { state, message }),
        getService: () => {
          throw new Error('no services');
        },
      },
      argumentsSchema.parse({ client: { kubeconfig_file: cp.kubeconfigPath }, forward_to: [], namespaces: ['mon'], selector: { match_labels: { release: 'test' } } }),
    ) as OperatorComponent;
    const ac = new AbortController();
    const done = c.run(ac.signal);
    try {
      // `web` references a Secret that does not exist: skipped with the reason.
      await waitFor(() => (c.debugInfo() as OperatorDebugInfo).crds.find((x) => x.name === 'web')?.reconcile_error.match(/secrets "ca" not found/), { timeoutMs: 15_000, what: 'web reconciled' });
      expect(c.currentHealth().message).toContain('ServiceMonitor mon/web skipped');
      await k(['create', 'secret', 'generic', 'ca', '-n', 'mon', '--from-literal=ca.crt=PEM']);
      await k(['apply', '-f', '-'], sm('web', [{ targetLabel: 'x', replacement: 'y' }])); // a change re-reads the Secret
      await waitFor(() => ((c.debugInfo() as OperatorDebugInfo).crds.find((x) => x.name === 'web')?.reconcile_error === '' ? true : undefined), { timeoutMs: 15_000, what: 'web fixed' });
      await waitFor(() => (c.currentHealth().state === 'healthy' ? true : undefined), { timeoutMs: 5000, what: `healthy (${JSON.stringify(health)})` });
      await k(['apply', '-f', '-'], sm('broken', [{ sourceLabels: ['a'], regex: '(', targetLabel: 'b' }]));
      await waitFor(() => (c.currentHealth().message.includes('ServiceMonitor mon/broken skipped') ? true : undefined), { timeoutMs: 15_000, what: 'broken reported' });
      expect((c.debugInfo() as OperatorDebugInfo).crds.find((x) => x.name === 'web')?.reconcile_error).toBe('');
    } finally {
      ac.abort();
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
