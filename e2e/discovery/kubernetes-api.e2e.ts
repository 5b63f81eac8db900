/**
 * `discovery.kubernetes` against the dev cluster's API server (in-process, real HTTP, list +
 * watch): for every role a varied set of objects is created, the exported targets are checked,
 * objects are changed and the targets must follow within one second. A fault proxy in front of
 * the API server answers 403, drops connections and forces expired watches (410) to check health
 * reporting, kept targets and recovery without restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type RunningApiServer } from '../cluster/apiserver/index.js';
import { waitFor } from '../cluster/harness/wait.js';
import { callApi, runDiscovery, type RunningDiscovery, type Target } from './discovery-runner.js';
import { faultProxy } from './fault-proxy.js';

const K = '__meta_kubernetes_';

let api: RunningApiServer;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  api = await startApiServer({ bookmarkIntervalMs: 200, historySize: 50 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8sdisc-e2e-'));
  kubeconfig = api.kubeconfig(path.join(dir, 'kubeconfig'));
});

afterAll(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, p: string, body?: unknown, base = api.url): Promise<Record<string, unknown>> => callApi(base, method, p, body);

const create = (p: string, obj: Record<string, unknown>): Promise<Record<string, unknown>> => call('POST', p, obj);
const patch = (p: string, obj: unknown): Promise<Record<string, unknown>> => call('PATCH', p, obj);

let nsCounter = 0;
async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const name = `disc-${process.pid}-${++nsCounter}`;
  await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  return name;
}

type Running = RunningDiscovery;

const startDiscovery = (args: Record<string, unknown>): Running => runDiscovery('discovery.kubernetes.test', dir, args, { kubeconfig_file: kubeconfig });

/** Waits (≤ 1 s unless told) until `pred` holds for the exported targets; returns them. */
async function follows(d: Running, pred: (t: readonly Target[]) => boolean, what: string, timeoutMs = 1000): Promise<readonly Target[]> {
  await waitFor(() => pred(d.targets()), { timeoutMs, intervalMs: 10, what: `${what}; targets: ${JSON.stringify(d.targets().map((t) => t['__address__']))}` });
  return d.targets();
}

const byAddr = (ts: readonly Target[], addr: string): Target[] => ts.filter((t) => t['__address__'] === addr);

function podBody(name: string, o: { labels?: Record<string, string>; annotations?: Record<string, string>; node?: string; containers: unknown[]; initContainers?: unknown[] }): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: o.labels ?? {}, annotations: o.annotations ?? {} },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: o.containers, ...(o.initContainers ? { initContainers: o.initContainers } : {}) },
  };
}

async function setPodStatus(ns: string, name: string, ip: string, ready: boolean, phase = 'Running'): Promise<void> {
  await patch(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
    status: { phase, podIP: ip, hostIP: '192.168.0.10', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], containerStatuses: [] },
  });
}

describe('discovery.kubernetes against the dev cluster API server', () => {
  it('pod role: multi-container pods, named and unnamed ports, init containers, not-ready pods; follows label changes and deletions', async () => {
    const ns = await namespace();
    const d = startDiscovery({ role: 'pod', namespaces: { names: [ns] } });
    try {
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('web', {
        labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
        annotations: { 'prometheus.io/scrape': 'true' },
        containers: [
          { name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090, protocol: 'UDP' }] },
          { name: 'sidecar', image: 'side:1' },
        ],
        initContainers: [{ name: 'init', image: 'init:1' }],
      }));
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('db', { labels: { app: 'db' }, containers: [{ name: 'db', image: 'db:1', ports: [{ name: 'sql', containerPort: 5432 }] }] }));
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('noip', { containers: [{ name: 'c', image: 'c:1', ports: [{ containerPort: 1 }] }] }));
      await setPodStatus(ns, 'web', '10.1.0.1', true);
      await setPodStatus(ns, 'db', '10.1.0.2', false);
      const ts = await follows(d, (t) => t.length === 5, 'five pod targets', 5000);
      const http = byAddr(ts, '10.1.0.1:8080')[0]!;
      expect(http).toMatchObject({
        [`${K}namespace`]: ns,
        [`${K}pod_name`]: 'web',
        [`${K}pod_ip`]: '10.1.0.1',
        [`${K}pod_ready`]: 'true',
        [`${K}pod_phase`]: 'Running',
        [`${K}pod_label_app`]: 'web',
        [`${K}pod_labelpresent_app_kubernetes_io_part_of`]: 'true',
        [`${K}pod_annotation_prometheus_io_scrape`]: 'true',
        [`${K}pod_annotationpresent_prometheus_io_scrape`]: 'true',
        [`${K}pod_container_name`]: 'app',
        [`${K}pod_container_image`]: 'app:1',
        [`${K}pod_container_port_name`]: 'http',
        [`${K}pod_container_port_number`]: '8080',
        [`${K}pod_container_port_protocol`]: 'TCP',
        [`${K}pod_container_init`]: 'false',
      });
      expect(byAddr(ts, '10.1.0.1:9090')[0]).toMatchObject({ [`${K}pod_container_port_name`]: '', [`${K}pod_container_port_protocol`]: 'UDP' });
      expect(byAddr(ts, '10.1.0.1').map((t) => [t[`${K}pod_container_name`], t[`${K}pod_container_init`]])).toEqual([['sidecar', 'false'], ['init', 'true']]);
      expect(byAddr(ts, '10.1.0.2:5432')[0]).toMatchObject({ [`${K}pod_ready`]: 'false', [`${K}pod_container_port_name`]: 'sql' });
      expect(d.health().state).toBe('healthy');

      await patch(`/api/v1/namespaces/${ns}/pods/db`, { metadata: { labels: { app: 'database' } } });
      await follows(d, (t) => byAddr(t, '10.1.0.2:5432')[0]?.[`${K}pod_label_app`] === 'database', 'label change');
      await setPodStatus(ns, 'noip', '10.1.0.3', true);
      await follows(d, (t) => byAddr(t, '10.1.0.3:1').length === 1, 'pod IP assigned');
      await call('DELETE', `/api/v1/namespaces/${ns}/pods/web?gracePeriodSeconds=0`);
      await follows(d, (t) => t.every((x) => x[`${K}pod_name`] !== 'web') && t.length === 2, 'pod deleted');
    } finally {
      await d.stop();
    }
  });

  it('pod role with selectors and attach_metadata: only matching pods, node and namespace metadata that follow their objects', async () => {
    const ns = await namespace({ team: 'a' });
    await create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${ns}`, labels: { zone: 'z1' }, annotations: { note: 'x' } } });
    const d = startDiscovery({
      role: 'pod',
      namespaces: { names: [ns] },
      selectors: [{ role: 'pod', label: 'app=web', field: `spec.nodeName=node-${ns}` }],
      attach_metadata: { node: true, namespace: true },
    });
    try {
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('a', { labels: { app: 'web' }, node: `node-${ns}`, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] }));
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('b', { labels: { app: 'api' }, node: `node-${ns}`, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] }));
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('c', { labels: { app: 'web' }, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] }));
      for (const [p, ip] of [['a', '10.2.0.1'], ['b', '10.2.0.2'], ['c', '10.2.0.3']] as const) await setPodStatus(ns, p, ip, true);
      let ts = await follows(d, (t) => t.length === 1, 'one selected pod', 5000);
      expect(ts[0]).toMatchObject({
        __address__: '10.2.0.1:80',
        [`${K}node_name`]: `node-${ns}`,
        [`${K}node_label_zone`]: 'z1',
        [`${K}node_annotation_note`]: 'x',
        [`${K}namespace_label_team`]: 'a',
        [`${K}namespace_labelpresent_team`]: 'true',
      });
      await patch(`/api/v1/nodes/node-${ns}`, { metadata: { labels: { zone: 'z2' } } });
      await follows(d, (t) => t[0]?.[`${K}node_label_zone`] === 'z2', 'node label change');
      await patch(`/api/v1/namespaces/${ns}`, { metadata: { labels: { team: 'b' } } });
      await follows(d, (t) => t[0]?.[`${K}namespace_label_team`] === 'b', 'namespace label change');
      await patch(`/api/v1/namespaces/${ns}/pods/b`, { metadata: { labels: { app: 'web' } } });
      ts = await follows(d, (t) => t.length === 2, 'pod entering the label selector');
      expect(ts.map((t) => t['__address__']).sort()).toEqual(['10.2.0.1:80', '10.2.0.2:80']);
    } finally {
      await d.stop();
    }
  });

  it('service role: ClusterIP multi-port, ExternalName, LoadBalancer; follows port changes', async () => {
    const ns = await namespace();
    const d = startDiscovery({ role: 'service', namespaces: { names: [ns] } });
    try {
      await create(`/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { tier: 'front' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }] } });
      await create(`/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.org', ports: [{ port: 443 }] } });
      await create(`/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', selector: { app: 'lb' }, ports: [{ port: 8443 }] } });
      const ts = await follows(d, (t) => t.length === 4, 'four service targets', 5000);
      const web = byAddr(ts, `web.${ns}.svc:80`)[0]!;
      expect(web).toMatchObject({ [`${K}service_name`]: 'web', [`${K}service_port_name`]: 'http', [`${K}service_port_protocol`]: 'TCP', [`${K}service_type`]: 'ClusterIP', [`${K}service_label_tier`]: 'front' });
      expect(web[`${K}service_cluster_ip`]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(byAddr(ts, `web.${ns}.svc:53`)[0]).toMatchObject({ [`${K}service_port_protocol`]: 'UDP' });
      expect(byAddr(ts, `ext.${ns}.svc:443`)[0]).toMatchObject({ [`${K}service_type`]: 'ExternalName', [`${K}service_external_name`]: 'example.org' });
      expect(byAddr(ts, `ext.${ns}.svc:443`)[0]![`${K}service_cluster_ip`]).toBeUndefined();
      expect(byAddr(ts, `lb.${ns}.svc:8443`)[0]).toHaveProperty(`${K}service_loadbalancer_ip`, '');
      await patch(`/api/v1/namespaces/${ns}/services/web`, { spec: { ports: [{ name: 'http', port: 81, targetPort: 8080 }] } });
      await follows(d, (t) => byAddr(t, `web.${ns}.svc:81`).length === 1 && byAddr(t, `web.${ns}.svc:80`).length === 0 && t.length === 3, 'port change');
      // New arguments (another namespace) restart the informers; the exports switch over.
      const other = await namespace();
      await create(`/api/v1/namespaces/${other}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'solo' }, spec: { selector: { app: 'solo' }, ports: [{ port: 9 }] } });
      await d.update({ role: 'service', namespaces: { names: [other] } });
      await follows(d, (t) => t.length === 1 && t[0]?.['__address__'] === `solo.${other}.svc:9`, 'update to another namespace', 5000);
    } finally {
      await d.stop();
    }
  });

  it('endpoints and endpointslice roles: pod-backed addresses, ready/not-ready, conditions; follow pod and slice changes', async () => {
    const ns = await namespace();
    await create(`/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { svc: 'yes' } }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    await create(`/api/v1/namespaces/${ns}/pods`, podBody('web-1', { labels: { app: 'web' }, containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9100 }] }], initContainers: [{ name: 'proxy', image: 'envoy', ports: [{ name: 'admin', containerPort: 15000 }] }] }));
    await setPodStatus(ns, 'web-1', '10.3.0.1', true);
    const ref = (name: string) => ({ kind: 'Pod', name, namespace: ns });
    await create(`/api/v1/namespaces/${ns}/endpoints`, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web' },
      subsets: [{ addresses: [{ ip: '10.3.0.1', targetRef: ref('web-1'), nodeName: 'dev-node' }], notReadyAddresses: [{ ip: '10.3.0.9' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
    });
    await create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.3.0.1'], conditions: { ready: true, serving: true, terminating: false }, targetRef: ref('web-1'), nodeName: 'dev-node', zone: 'z1' },
        { addresses: ['10.3.0.9'], conditions: { ready: false, serving: false, terminating: true } },
      ],
    });
    const eps = startDiscovery({ role: 'endpoints', namespaces: { names: [ns] } });
    const sl = startDiscovery({ role: 'endpointslice', namespaces: { names: [ns] } });
    try {
      let e = await follows(eps, (t) => t.length === 4, 'endpoints targets', 5000);
      expect(byAddr(e, '10.3.0.1:8080')[0]).toMatchObject({
        [`${K}endpoints_name`]: 'web',
        [`${K}service_name`]: 'web',
        [`${K}service_label_svc`]: 'yes',
        [`${K}endpoint_ready`]: 'true',
        [`${K}endpoint_node_name`]: 'dev-node',
        [`${K}endpoint_address_target_kind`]: 'Pod',
        [`${K}pod_name`]: 'web-1',
        [`${K}pod_container_name`]: 'app',
        [`${K}pod_container_port_name`]: 'http',
      });
      expect(byAddr(e, '10.3.0.9:8080')[0]).toMatchObject({ [`${K}endpoint_ready`]: 'false' });
      expect(byAddr(e, '10.3.0.1:9100')[0]).toMatchObject({ [`${K}pod_container_port_name`]: 'metrics', [`${K}pod_container_init`]: 'false' });
      expect(byAddr(e, '10.3.0.1:15000')[0]).toMatchObject({ [`${K}pod_container_name`]: 'proxy', [`${K}pod_container_init`]: 'true' });
      let s = await follows(sl, (t) => t.length === 4, 'endpointslice targets', 5000);
      expect(byAddr(s, '10.3.0.1:8080')[0]).toMatchObject({
        [`${K}endpointslice_name`]: 'web-abc',
        [`${K}endpointslice_address_type`]: 'IPv4',
        [`${K}endpointslice_endpoint_conditions_ready`]: 'true',
        [`${K}endpointslice_endpoint_conditions_serving`]: 'true',
        [`${K}endpointslice_endpoint_conditions_terminating`]: 'false',
        [`${K}endpointslice_endpoint_zone`]: 'z1',
        [`${K}endpointslice_endpoint_node_name`]: 'dev-node',
        [`${K}service_name`]: 'web',
        [`${K}pod_name`]: 'web-1',
      });
      expect(byAddr(s, '10.3.0.9:8080')[0]).toMatchObject({ [`${K}endpointslice_endpoint_conditions_ready`]: 'false', [`${K}endpointslice_endpoint_conditions_terminating`]: 'true' });

      await setPodStatus(ns, 'web-1', '10.3.0.1', false);
      await follows(eps, (t) => byAddr(t, '10.3.0.1:8080')[0]?.[`${K}pod_ready`] === 'false', 'pod readiness (endpoints)');
      await follows(sl, (t) => byAddr(t, '10.3.0.1:8080')[0]?.[`${K}pod_ready`] === 'false', 'pod readiness (endpointslice)');
      await patch(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/web-abc`, { endpoints: [{ addresses: ['10.3.0.2'], conditions: { ready: true } }] });
      s = await follows(sl, (t) => t.length === 1 && byAddr(t, '10.3.0.2:8080').length === 1, 'slice change');
      await patch(`/api/v1/namespaces/${ns}/services/web`, { metadata: { labels: { svc: 'changed' } } });
      await follows(sl, (t) => t[0]?.[`${K}service_label_svc`] === 'changed', 'service label (endpointslice)');
      e = await follows(eps, (t) => t[0]?.[`${K}service_label_svc`] === 'changed', 'service label (endpoints)');
      expect(e).toHaveLength(4);
    } finally {
      await eps.stop();
      await sl.stop();
    }
  });

  it('ingress role: TLS and paths; follows rule changes', async () => {
    const ns = await namespace();
    const d = startDiscovery({ role: 'ingress', namespaces: { names: [ns] } });
    try {
      await create(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'shop', annotations: { 'a/b': 'c' } },
        spec: {
          ingressClassName: 'nginx',
          tls: [{ hosts: ['*.example.com'], secretName: 's' }],
          rules: [
            { host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }, { path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } }] } },
            { host: 'plain.org', http: { paths: [{ path: '/x', pathType: 'Exact', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
          ],
        },
      });
      const ts = await follows(d, (t) => t.length === 3, 'ingress targets', 5000);
      expect(ts.map((t) => [t['__address__'], t[`${K}ingress_scheme`], t[`${K}ingress_path`]])).toEqual([
        ['shop.example.com', 'https', '/'],
        ['shop.example.com', 'https', '/api'],
        ['plain.org', 'http', '/x'],
      ]);
      expect(ts[0]).toMatchObject({ [`${K}ingress_name`]: 'shop', [`${K}ingress_class_name`]: 'nginx', [`${K}ingress_annotation_a_b`]: 'c' });
      await patch(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/shop`, { spec: { tls: [] } });
      await follows(d, (t) => t.length === 3 && t.every((x) => x[`${K}ingress_scheme`] === 'http'), 'TLS removed');
    } finally {
      await d.stop();
    }
  });

  it('node role: several address types; follows address changes; node selector', async () => {
    const name = `n-${process.pid}`;
    await create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { pool: 'gpu' } },
      spec: { providerID: 'kind://x' },
      status: { addresses: [{ type: 'Hostname', address: name }, { type: 'ExternalIP', address: '203.0.113.9' }, { type: 'InternalIP', address: '10.9.0.9' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
    });
    const d = startDiscovery({ role: 'node', selectors: [{ role: 'node', label: 'pool=gpu' }] });
    try {
      const ts = await follows(d, (t) => t.length === 1, 'one selected node', 5000);
      expect(ts[0]).toStrictEqual({
        __address__: '10.9.0.9:10250',
        instance: name,
        [`${K}node_name`]: name,
        [`${K}node_provider_id`]: 'kind://x',
        [`${K}node_label_pool`]: 'gpu',
        [`${K}node_labelpresent_pool`]: 'true',
        [`${K}node_address_Hostname`]: name,
        [`${K}node_address_ExternalIP`]: '203.0.113.9',
        [`${K}node_address_InternalIP`]: '10.9.0.9',
      });
      await patch(`/api/v1/nodes/${name}/status`, { status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.10' }] } });
      await follows(d, (t) => t[0]?.['__address__'] === '203.0.113.10:10250', 'address change');
    } finally {
      await d.stop();
    }
  });
});

describe('discovery.kubernetes API failures', () => {
  it('403 and API down: unhealthy with the server message, last targets kept; an expired watch (410) relists; recovers without restart', async () => {
    const ns = await namespace();
    await create(`/api/v1/namespaces/${ns}/pods`, podBody('p', { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] }));
    await setPodStatus(ns, 'p', '10.4.0.1', true);
    const proxy = await faultProxy(api.url);
    const d = startDiscovery({ role: 'pod', kubeconfig_file: undefined, api_server: proxy.url, namespaces: { names: [ns] } });
    try {
      await follows(d, (t) => t.length === 1, 'initial target', 5000);
      expect(d.health().state).toBe('healthy');

      proxy.mode = 'forbid';
      // The open watch is cut first ("socket hang up"); the retried watch gets the 403.
      await waitFor(() => d.health().state === 'unhealthy' && d.health().message.includes('403 Forbidden'), { timeoutMs: 10_000, what: `unhealthy with the 403 (health: ${JSON.stringify(d.health())})` });
      expect(d.health().message).toBe(`watching pods in namespace "${ns}": 403 Forbidden: pods is forbidden: User "system:serviceaccount:mon:alloy" cannot list resource "pods" in API group "" in the namespace "x"`);
      expect(d.targets().map((t) => t['__address__'])).toEqual(['10.4.0.1:80']);

      proxy.mode = 'down';
      // While the API is unreachable, more changes than the server keeps in its watch history:
      // the resumed watch gets 410 Gone and the discovery must relist.
      for (let i = 0; i < 60; i++) await patch(`/api/v1/namespaces/${ns}/pods/p`, { metadata: { annotations: { n: String(i) } } });
      await create(`/api/v1/namespaces/${ns}/pods`, podBody('q', { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 81 }] }] }));
      await setPodStatus(ns, 'q', '10.4.0.2', true);
      expect(d.health().state).toBe('unhealthy');
      expect(d.targets().map((t) => t['__address__'])).toEqual(['10.4.0.1:80']);

      proxy.mode = 'pass';
      // Recovery waits for the informer's backoff (≤ 30 s cap, here a few seconds).
      await follows(d, (t) => t.length === 2 && byAddr(t, '10.4.0.1:80')[0]?.[`${K}pod_annotation_n`] === '59', 'relisted targets', 40_000);
      await waitFor(() => d.health().state === 'healthy', { timeoutMs: 5000, what: 'healthy again' });
      const lists = proxy.passed.filter((u) => !u.includes('watch=true'));
      expect(lists).toHaveLength(2); // the first list, and the relist after the resumed watch got 410 Gone
    } finally {
      await d.stop();
      await proxy.close();
    }
  }, 60_000);
});
