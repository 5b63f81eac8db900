/**
 * `informer_sync_timeout` of `prometheus.operator.*` against the dev API server behind a fault
 * proxy, with Alloy's semantics: the informers' first list must complete within the timeout;
 * when it does not (the list hangs, is refused, or the resource is not served) the component
 * stops what it started, reports unhealthy with Alloy's message naming the Go type, and runs
 * again after a pause (30 s in Alloy, shortened here through `timing.retryDelayMs`) until the
 * informers sync, which clears the message. A failure after the initial sync does not count
 * against the timeout: the component keeps running with the server's message.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../cluster/harness/wait.js';
import { argumentsSchema } from '../../collector/src/component/prometheus/operator/arguments.js';
import { operatorComponent, type OperatorDebugInfo } from '../../collector/src/component/prometheus/operator/operator.js';
import { Capture, startComponent, startDevApi, type DevApi } from './operator-harness.js';
import { faultProxy, type FaultProxy } from './fault-proxy.js';

const RETRY_MS = 400;
const serviceMonitors = operatorComponent('prometheus.operator.servicemonitors', 'ServiceMonitor', 'generally-available', { retryDelayMs: RETRY_MS });
const podMonitors = operatorComponent('prometheus.operator.podmonitors', 'PodMonitor', 'generally-available', { retryDelayMs: RETRY_MS });
const probes = operatorComponent('prometheus.operator.probes', 'Probe', 'generally-available', { retryDelayMs: RETRY_MS });

const timeoutMessage = (goType: string): string =>
  `failed to configure informers: timeout exceeded while configuring informers. Check the connection to the Kubernetes API is stable and that Alloy has appropriate RBAC permissions for ${goType}`;

let dev: DevApi;
let proxy: FaultProxy;
const servers: http.Server[] = [];
const isMonitoringList = (url: string): boolean => url.startsWith('/apis/monitoring.coreos.com/') && !url.includes('watch=true');

beforeAll(async () => {
  // PodMonitor's CRD is left out on purpose: its resource is not served.
  dev = await startDevApi('operator-sync-', ['servicemonitors', 'probes']);
  proxy = await faultProxy(dev.api.url, {
    affects: (url) => url.startsWith('/apis/monitoring.coreos.com/'),
    forbidden: (url) => {
      const resource = /\/(servicemonitors|podmonitors|probes)/.exec(url)?.[1] ?? 'servicemonitors';
      return `${resource}.monitoring.coreos.com is forbidden: User "system:serviceaccount:mon:alloy" cannot list resource "${resource}" in API group "monitoring.coreos.com" at the cluster scope`;
    },
  });
});

afterAll(async () => {
  for (const s of servers) s.close();
  await proxy?.close();
  await dev?.close();
});

async function namespace(name: string): Promise<string> {
  const ns = `${name}-${process.pid}`;
  await dev.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  return ns;
}

const args = (ns: string, capture: Capture): ReturnType<typeof argumentsSchema.parse> =>
  argumentsSchema.parse({ client: { api_server: proxy.url }, forward_to: [capture], namespaces: [ns], informer_sync_timeout: '1s' });

describe('prometheus.operator.* informer_sync_timeout', () => {
  it('a list that hangs: unhealthy with Alloy message after the timeout, retried, healthy once the list answers; later failures do not restart it', async () => {
    const ns = await namespace('sync-hang');
    await dev.call('POST', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors`, {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, endpoints: [{ port: 'metrics' }] },
    });
    proxy.mode = 'hang';
    const listsBefore = proxy.received.filter(isMonitoringList).length;
    const started = Date.now();
    const sm = startComponent(serviceMonitors, args(ns, new Capture()), dev.dir);
    try {
      await waitFor(() => (sm.health().message === timeoutMessage('*v1.ServiceMonitor') ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'the sync timeout message' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950); // not before informer_sync_timeout
      expect(sm.health().state).toBe('unhealthy');
      // The next run starts after the pause, lists again, and keeps the message while it hangs.
      await waitFor(() => (proxy.received.filter(isMonitoringList).length - listsBefore >= 2 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'a second list from the retried run' });
      expect(sm.health().message).toBe(timeoutMessage('*v1.ServiceMonitor'));

      proxy.mode = 'pass';
      await waitFor(() => (sm.health().state === 'healthy' ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'healthy once the list answers' });
      const crds = await waitFor(() => {
        const c = (sm.debug() as OperatorDebugInfo).crds;
        return c.length === 1 ? c : undefined;
      }, { timeoutMs: 5000, intervalMs: 20, what: 'the ServiceMonitor discovered' });
      expect(crds[0]).toMatchObject({ namespace: ns, name: 'web', reconcile_error: '' });

      // After the initial sync, a refused re-watch is the server's message, and the run goes on.
      proxy.mode = 'forbid';
      await waitFor(() => (sm.health().message.includes('cannot list resource "servicemonitors"') ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'the 403 of the re-watch' });
      const listsAtForbid = proxy.passed.filter(isMonitoringList).length;
      const afterTimeout = Date.now() + 1000 + 2 * RETRY_MS;
      await waitFor(() => (Date.now() > afterTimeout ? true : undefined), { timeoutMs: 5000, intervalMs: 50, what: 'past the sync timeout and a retry pause' });
      expect(sm.health().message).not.toContain('failed to configure informers');
      expect((sm.debug() as OperatorDebugInfo).crds.map((c) => c.name)).toEqual(['web']);
      proxy.mode = 'pass';
      await waitFor(() => (sm.health().state === 'healthy' ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'healthy again' });
      // Recovered by the informer's own retry; the same run kept its store (at most one relist).
      expect(proxy.passed.filter(isMonitoringList).length - listsAtForbid).toBeLessThanOrEqual(1);
    } finally {
      proxy.mode = 'pass';
      await sm.stop();
    }
  }, 60_000);

  it('a refused list: the server message during the timeout, then Alloy message; scrapes once the list is allowed', async () => {
    const ns = await namespace('sync-forbid');
    const target = http.createServer((_q, r) => {
      r.setHeader('content-type', 'text/plain; version=0.0.4');
      r.end('probe_success 1\n');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    servers.push(target);
    const port = (target.address() as AddressInfo).port;
    await dev.call('POST', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/probes`, {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Probe',
      metadata: { name: 'site' },
      spec: { jobName: 'blackbox', module: 'http_2xx', interval: '1s', scrapeTimeout: '1s', prober: { url: `127.0.0.1:${port}` }, targets: { staticConfig: { static: ['https://example.com'] } } },
    });
    proxy.mode = 'forbid';
    const capture = new Capture();
    const pr = startComponent(probes, args(ns, capture), dev.dir);
    try {
      await waitFor(() => (pr.health().message.includes('cannot list resource "probes"') ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'the 403 while within the timeout' });
      await waitFor(() => (pr.health().message === timeoutMessage('*v1.Probe') ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'the sync timeout message' });
      expect(pr.health().state).toBe('unhealthy');
      expect(capture.series.size).toBe(0);

      proxy.mode = 'pass';
      await waitFor(() => (pr.health().state === 'healthy' ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'healthy once the list is allowed' });
      const series = await waitFor(() => {
        const s = [...capture.series.values()].find((l) => l['__name__'] === 'probe_success');
        return s;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'probe_success scraped' });
      expect(series).toMatchObject({ job: 'blackbox', instance: 'https://example.com' });
    } finally {
      proxy.mode = 'pass';
      await pr.stop();
    }
  }, 30_000);

  it('a resource that is not served (CRD not installed): Alloy "no matches for kind" after the timeout', async () => {
    const ns = await namespace('sync-nocrd');
    const pm = startComponent(podMonitors, args(ns, new Capture()), dev.dir);
    try {
      const message = await waitFor(() => (pm.health().message.startsWith('failed to configure informers') ? pm.health().message : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'the sync failure' });
      expect(message).toContain('failed to configure informers: no matches for kind "PodMonitor" in version "monitoring.coreos.com/v1"');
      expect(message).toContain('crds/monitoring.coreos.com/');
      expect(pm.health().state).toBe('unhealthy');
    } finally {
      await pm.stop();
    }
  }, 30_000);
});
