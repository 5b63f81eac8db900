/**
 * Shared informers (`common/kube/informer-pool.ts`) under `discovery.kubernetes`, against the dev
 * cluster's API server through a counting proxy: components that watch the same collection with
 * the same connection and selectors make ONE list and hold ONE watch; a component that leaves,
 * changes its selectors or breaks its own connection does not disturb the others; the last user's
 * departure closes the watch.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startApiServer, type RunningApiServer } from '../cluster/apiserver/index.js';
import { waitFor } from '../cluster/harness/wait.js';
import { callApi, runDiscovery, type RunningDiscovery, type Target } from './discovery-runner.js';
import { InformerPool, sharedInformers } from '../../collector/src/component/common/kube/informer-pool.js';
import { collectionPath, type KubeObject } from '../../collector/src/component/common/kube/client.js';

const K = '__meta_kubernetes_';

let api: RunningApiServer;
let dir: string;

beforeAll(async () => {
  api = await startApiServer({ bookmarkIntervalMs: 200, historySize: 200 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8sshared-e2e-'));
});

afterAll(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => callApi(api.url, method, p, body);

let nsCounter = 0;
async function namespace(): Promise<string> {
  const name = `shared-${process.pid}-${++nsCounter}`;
  await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

async function pod(ns: string, name: string, ip: string, labels: Record<string, string>): Promise<void> {
  await call('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
  });
  await call('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: 'Running', podIP: ip, hostIP: '192.168.0.10', conditions: [{ type: 'Ready', status: 'True' }] } });
}

async function slice(ns: string, name: string, ip: string, podName: string): Promise<void> {
  await call('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: podName, namespace: ns } }],
  });
}

const relabel = (ns: string, name: string, labels: Record<string, string>): Promise<Record<string, unknown>> => call('PATCH', `/api/v1/namespaces/${ns}/pods/${name}`, { metadata: { labels } });

/** A proxy in front of the API server that records every request and which responses are still open. */
interface CountingProxy {
  readonly url: string;
  /** Request paths with their query, in arrival order. */
  readonly requests: string[];
  /** List requests (not watches) of a collection path. */
  lists(p: string, labelSelector?: string): number;
  /** Watches of a collection path whose response is still open. */
  openWatches(p: string, labelSelector?: string): number;
  close(): Promise<void>;
}

async function countingProxy(target: string): Promise<CountingProxy> {
  const up = new URL(target);
  const requests: string[] = [];
  const open = new Map<http.ServerResponse, URL>();
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const preq = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (pres) => {
      res.writeHead(pres.statusCode ?? 502, pres.headers);
      open.set(res, new URL(req.url ?? '/', 'http://x'));
      res.on('close', () => open.delete(res));
      pres.pipe(res);
    });
    preq.on('error', () => res.destroy());
    res.on('close', () => preq.destroy());
    req.pipe(preq);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const matches = (u: URL, p: string, sel: string | undefined): boolean => u.pathname === p && (u.searchParams.get('labelSelector') ?? '') === (sel ?? '');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    lists: (p, sel) => requests.map((r) => new URL(r, 'http://x')).filter((u) => matches(u, p, sel) && u.searchParams.get('watch') !== 'true').length,
    openWatches: (p, sel) => [...open.values()].filter((u) => matches(u, p, sel) && u.searchParams.get('watch') === 'true').length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

type Running = RunningDiscovery;

const startDiscovery = (args: Record<string, unknown>): Running => runDiscovery('discovery.kubernetes.shared', dir, args);

const addrs = (ts: readonly Target[]): string[] => ts.map((t) => `${t['__address__']}|${t[`${K}pod_label_app`] ?? ''}`).sort();

async function follows(d: Running, pred: (t: readonly Target[]) => boolean, what: string, timeoutMs = 1000): Promise<readonly Target[]> {
  await waitFor(() => pred(d.targets()), { timeoutMs, intervalMs: 10, what: `${what}; targets: ${JSON.stringify(addrs(d.targets()))}` });
  return d.targets();
}

const hasApp = (ts: readonly Target[], addr: string, app: string): boolean => ts.some((t) => t['__address__'] === addr && t[`${K}pod_label_app`] === app);

describe('discovery.kubernetes shares informers between components', () => {
  it('two pod-role components and an endpointslice-role component: one list and one watch per collection; leaving closes the watch only with the last user', async () => {
    const ns = await namespace();
    await pod(ns, 'a', '10.9.0.1', { app: 'a' });
    await pod(ns, 'b', '10.9.0.2', { app: 'b' });
    await slice(ns, 'web-1', '10.9.0.1', 'a');
    const proxy = await countingProxy(api.url);
    const pods = collectionPath('', 'v1', 'pods', ns);
    const slices = collectionPath('discovery.k8s.io', 'v1', 'endpointslices', ns);
    const services = collectionPath('', 'v1', 'services', ns);
    const base = { api_server: proxy.url, namespaces: { names: [ns] } };
    const p1 = startDiscovery({ ...base, role: 'pod' });
    let p2: Running | undefined;
    let es: Running | undefined;
    try {
      await follows(p1, (t) => t.length === 2, 'first pod-role targets', 5000);
      expect(sharedInformers.stats().informers).toBeGreaterThanOrEqual(1);
      p2 = startDiscovery({ ...base, role: 'pod' });
      es = startDiscovery({ ...base, role: 'endpointslice' });
      await follows(p2, (t) => t.length === 2, 'second pod-role targets (replayed from the shared store)', 5000);
      await follows(es, (t) => t.length === 1 && t[0]?.[`${K}endpointslice_name`] === 'web-1', 'endpointslice targets', 5000);
      // The same objects give the same targets, byte for byte.
      expect(JSON.stringify(p2.targets())).toBe(JSON.stringify(p1.targets()));
      expect(proxy.lists(pods)).toBe(1);
      expect(proxy.openWatches(pods)).toBe(1);
      expect(proxy.lists(slices)).toBe(1);
      expect(proxy.lists(services)).toBe(1);

      // One watch event reaches every user within a second.
      await relabel(ns, 'a', { app: 'a2' });
      await Promise.all([p1, p2, es].map((d) => follows(d, (t) => hasApp(t, '10.9.0.1:8080', 'a2'), 'the relabelled pod')));

      await p1.stop();
      await relabel(ns, 'a', { app: 'a3' });
      await follows(p2, (t) => hasApp(t, '10.9.0.1:8080', 'a3'), 'p2 after p1 left');
      await follows(es, (t) => hasApp(t, '10.9.0.1:8080', 'a3'), 'es after p1 left');
      expect(proxy.lists(pods)).toBe(1);
      expect(proxy.openWatches(pods)).toBe(1);

      await p2.stop();
      await es.stop();
      await waitFor(() => proxy.openWatches(pods) + proxy.openWatches(slices) + proxy.openWatches(services) === 0, { timeoutMs: 5000, what: 'every watch closed after the last user left' });
    } finally {
      await Promise.all([p1.stop(), p2?.stop(), es?.stop()]);
      await proxy.close();
    }
  }, 30_000);

  it('a selector change moves one component to another informer without disturbing the other; changing back rejoins without a list', async () => {
    const ns = await namespace();
    await pod(ns, 'a', '10.9.1.1', { app: 'a' });
    await pod(ns, 'b', '10.9.1.2', { app: 'b' });
    const proxy = await countingProxy(api.url);
    const pods = collectionPath('', 'v1', 'pods', ns);
    const base = { api_server: proxy.url, namespaces: { names: [ns] }, role: 'pod' };
    const p1 = startDiscovery(base);
    const p2 = startDiscovery(base);
    try {
      await follows(p1, (t) => t.length === 2, 'p1 targets', 5000);
      await follows(p2, (t) => t.length === 2, 'p2 targets', 5000);
      expect(proxy.lists(pods)).toBe(1);
      const sharedWatchRequests = proxy.requests.filter((r) => r.startsWith(`${pods}?`) && r.includes('watch=true') && !r.includes('labelSelector')).length;

      await p2.update({ ...base, selectors: [{ role: 'pod', label: 'app=a' }] });
      await follows(p2, (t) => t.length === 1 && hasApp(t, '10.9.1.1:8080', 'a'), 'p2 with its label selector', 5000);
      expect(proxy.lists(pods, 'app=a')).toBe(1);
      expect(proxy.openWatches(pods, 'app=a')).toBe(1);
      // p1's informer was not restarted: no new list, no new watch, its watch still open.
      expect(proxy.lists(pods)).toBe(1);
      expect(proxy.openWatches(pods)).toBe(1);
      expect(proxy.requests.filter((r) => r.startsWith(`${pods}?`) && r.includes('watch=true') && !r.includes('labelSelector')).length).toBe(sharedWatchRequests);
      await relabel(ns, 'b', { app: 'b2' });
      await follows(p1, (t) => hasApp(t, '10.9.1.2:8080', 'b2'), 'p1 follows changes while p2 moved');

      // Back to no selector: p2 rejoins p1's informer (replayed, no list); the selector's informer stops.
      await p2.update(base);
      await follows(p2, (t) => t.length === 2 && hasApp(t, '10.9.1.2:8080', 'b2'), 'p2 back on the shared informer', 5000);
      expect(proxy.lists(pods)).toBe(1);
      await waitFor(() => proxy.openWatches(pods, 'app=a') === 0, { timeoutMs: 5000, what: 'the selector informer stopped with its last user' });
    } finally {
      await Promise.all([p1.stop(), p2.stop()]);
      await proxy.close();
    }
  }, 30_000);

  it("an error in one component's config does not affect the other", async () => {
    const ns = await namespace();
    await pod(ns, 'a', '10.9.2.1', { app: 'a' });
    const proxy = await countingProxy(api.url);
    const pods = collectionPath('', 'v1', 'pods', ns);
    const base = { api_server: proxy.url, namespaces: { names: [ns] }, role: 'pod' };
    const p1 = startDiscovery(base);
    const p2 = startDiscovery(base);
    // A server that refuses every request (a wrong token, say): 401 with a Status.
    const refusing = http.createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401, message: 'Unauthorized' }));
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    try {
      await follows(p1, (t) => t.length === 1, 'p1 targets', 5000);
      await follows(p2, (t) => t.length === 1, 'p2 targets', 5000);
      const requestsBefore = proxy.requests.length;

      // A config that fails validation at update: p2 keeps its arguments and informer.
      await expect(p2.update({ ...base, api_server: undefined, kubeconfig_file: path.join(dir, 'missing-kubeconfig') })).rejects.toThrow(/kubeconfig_file/);
      // A config that is valid but cannot work: p2 is unhealthy with the server's message, keeps its targets.
      await p2.update({ ...base, api_server: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`, bearer_token: 'wrong' });
      await waitFor(() => p2.health().state === 'unhealthy', { timeoutMs: 5000, what: `p2 unhealthy (health: ${JSON.stringify(p2.health())})` });
      expect(p2.health().message).toBe(`listing pods in namespace "${ns}": 401 Unauthorized: Unauthorized`);
      expect(addrs(p2.targets())).toEqual(['10.9.2.1:8080|a']);

      expect(p1.health().state).toBe('healthy');
      await relabel(ns, 'a', { app: 'a2' });
      await follows(p1, (t) => hasApp(t, '10.9.2.1:8080', 'a2'), 'p1 follows changes while p2 is broken');
      // p1's informer kept its list and watch: no request at all reached the good server since.
      expect(proxy.lists(pods)).toBe(1);
      expect(proxy.openWatches(pods)).toBe(1);
      expect(proxy.requests.length).toBe(requestsBefore);
    } finally {
      await Promise.all([p1.stop(), p2.stop()]);
      await proxy.close();
      refusing.closeAllConnections();
      await new Promise<void>((r) => refusing.close(() => r()));
    }
  }, 30_000);
});

describe('InformerPool', () => {
  it("a listener that throws gets the error on its own status; the informer and the other users go on", async () => {
    const ns = await namespace();
    await pod(ns, 'a', '10.9.3.1', { app: 'a' });
    const pool = new InformerPool({ initialBackoffMs: 10 });
    const conn = { server: new URL(api.url), settings: { follow_redirects: true }, source: 'test' };
    const spec = { path: collectionPath('', 'v1', 'pods', ns) };
    const seen: string[] = [];
    const statuses: string[] = [];
    const good = pool.acquire<KubeObject>(conn, spec, { onEvent: (t, o) => void seen.push(`${t} ${o.metadata.name} ${o.metadata.labels?.['app'] ?? ''}`) });
    await waitFor(() => good.synced, { timeoutMs: 5000, what: 'first list' });
    const bad = pool.acquire<KubeObject>(conn, spec, {
      onEvent: () => {
        throw new Error('boom');
      },
      onStatus: (s) => void statuses.push(s.ok ? 'ok' : s.error.message),
    });
    // The late user was replayed the store (and threw on it).
    expect(statuses).toEqual(['handling the add of a: boom']);
    expect(pool.stats()).toEqual({ informers: 1, users: 2 });
    try {
      await relabel(ns, 'a', { app: 'a2' });
      await waitFor(() => seen.includes('update a a2'), { timeoutMs: 2000, what: `the good user's event (seen ${JSON.stringify(seen)})` });
      await waitFor(() => statuses.includes('handling the update of a: boom'), { timeoutMs: 2000, what: `the bad user's status (${JSON.stringify(statuses)})` });
      await relabel(ns, 'a', { app: 'a3' });
      await waitFor(() => seen.includes('update a a3'), { timeoutMs: 2000, what: 'the watch still runs after the throw' });
      expect(good.get(`${ns}/a`)?.metadata.labels?.['app']).toBe('a3');
    } finally {
      await bad.release();
      await bad.release(); // idempotent: must not drop the good user
      expect(pool.stats()).toEqual({ informers: 1, users: 1 });
      await good.release();
      expect(pool.stats()).toEqual({ informers: 0, users: 0 });
    }
  }, 20_000);
});
