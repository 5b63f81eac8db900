// The kubelet against the small fake API server: real child processes, real loopback IPs, real
// HTTP probes; only the API server is a stand-in (journeys with kubectl use the real one).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kubelet } from './kubelet.js';
import { nodeImageRule } from './image-map.js';
import { KubeClient, RESOURCES } from '../harness/kube-client.js';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.js';
import type { ConfigMap, Pod, Service } from '../harness/k8s-types.js';
import { waitFor } from '../harness/wait.js';

// A pod process: HTTP server on 0.0.0.0:8080 reporting its view of the world.
const SERVER = `
const http = require('http'), fs = require('fs'), os = require('os'), dns = require('dns');
let ready = false;
process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });
http.createServer(async (q, r) => {
  const u = new URL(q.url, 'http://x');
  try {
    if (u.pathname === '/ready') { r.statusCode = ready ? 200 : 503; return r.end(); }
    if (u.pathname === '/become-ready') { ready = true; return r.end('ok'); }
    if (u.pathname === '/resolve') return dns.lookup(u.searchParams.get('name'), { all: true }, (e, a) => r.end(JSON.stringify(e ? { error: e.code } : a.map((x) => x.address))));
    if (u.pathname === '/fetch') { const res = await fetch(u.searchParams.get('url')); return r.end(await res.text()); }
    r.end(JSON.stringify({ host: os.hostname(), msg: process.argv[3], cfg: fs.readFileSync(process.argv[1], 'utf8'), sub: fs.readFileSync(process.argv[2], 'utf8') }));
  } catch (e) { r.statusCode = 500; r.end(String(e)); }
}).listen(8080, '0.0.0.0', () => console.log('listening'));
`;

function podSpec(name: string): Pod {
  return {
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: {
      hostname: name,
      subdomain: 'web',
      terminationGracePeriodSeconds: 5,
      volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
      containers: [
        {
          name: 'main',
          image: 'harness/node:20',
          command: ['node', '-e', SERVER],
          args: ['/etc/cfg/a', '/etc/sub/a', '$(MSG)'],
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'MSG', value: 'ip=$(POD_IP) $$(LITERAL)' },
          ],
          ports: [{ name: 'http', containerPort: 8080 }],
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/cfg' },
            { name: 'cfg', mountPath: '/etc/sub/a', subPath: 'a' },
          ],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
        },
      ],
    },
  };
}

describe('Kubelet (against a fake API server)', () => {
  let api: FakeApiServer;
  let client: KubeClient;
  let kubelet: Kubelet;
  let stateDir: string;
  const getPod = (name: string): Promise<Pod> => client.get<Pod>(RESOURCES.pods, 'default', name);
  const podGet = async (ip: string, p = '/'): Promise<string> => (await fetch(`http://${ip}:8080${p}`)).text();

  beforeAll(async () => {
    api = await startFakeApiServer();
    client = new KubeClient({ server: api.url });
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-test-'));
    kubelet = new Kubelet({ server: api.url, stateDir, imageRules: [nodeImageRule()], timeScale: 0.02, crashLoopBaseMs: 50, configSyncDelayMs: 50, ipBase: '127.77', nodeLeaseRenewMs: 200 });
    await kubelet.start();
  });

  afterAll(async () => {
    const pids = kubelet.pids();
    await kubelet.stop();
    await api.close();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs two pods binding 0.0.0.0:8080 on their own IPs, with env, volumes, probes, DNS, logs, restarts and graceful deletion', async () => {
    await client.create<ConfigMap>(RESOURCES.configmaps, 'default', { metadata: { name: 'cfg' }, data: { a: 'v1' } });
    await client.create<Service>(RESOURCES.services, 'default', { metadata: { name: 'web' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 8080 }] } });
    await client.create<Service>(RESOURCES.services, 'default', { metadata: { name: 'websvc' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } });
    await client.create(RESOURCES.pods, 'default', podSpec('p1'));
    await client.create(RESOURCES.pods, 'default', podSpec('p2'));

    // Bound by the kubelet, running, each with its own IP.
    const [p1, p2] = await Promise.all(['p1', 'p2'].map((n) => waitFor(async () => {
      const p = await getPod(n);
      return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state.running ? p : undefined;
    }, { timeoutMs: 20_000, what: `${n} Running` })));
    expect(p1!.spec.nodeName).toBe('dev-node');
    const ip1 = p1!.status!.podIP!;
    const ip2 = p2!.status!.podIP!;
    expect(ip1).toMatch(/^127\.77\.\d+\.\d+$/);
    expect(ip2).not.toBe(ip1);
    expect(p1!.status!.containerStatuses![0]!.containerID).toMatch(/^local:\/\/\d+-\d+$/);

    // Both listen on "0.0.0.0:8080", each on its own pod IP; env and $(VAR) expansion as Kubernetes does.
    const v1 = JSON.parse(await waitFor(() => podGet(ip1), { what: 'p1 serving', timeoutMs: 20_000 })) as Record<string, string>;
    expect(v1).toEqual({ host: 'p1', msg: `ip=${ip1} $(LITERAL)`, cfg: 'v1', sub: 'v1' });
    expect(JSON.parse(await waitFor(() => podGet(ip2), { what: 'p2 serving', timeoutMs: 20_000 })).host).toBe('p2');

    // Readiness gates Ready.
    expect((await getPod('p1')).status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');
    await podGet(ip1, '/become-ready');
    await waitFor(async () => (await getPod('p1')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', { what: 'p1 Ready' });
    expect((await getPod('p2')).status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');
    await podGet(ip2, '/become-ready');
    await waitFor(async () => (await getPod('p2')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', { what: 'p2 Ready' });

    // DNS from inside a pod: headless service, per-pod names, search path, localhost, ClusterIP routing.
    const resolve = async (name: string): Promise<string[]> => JSON.parse(await podGet(ip1, `/resolve?name=${encodeURIComponent(name)}`)) as string[];
    await waitFor(async () => (await resolve('web')).length === 2, { what: 'headless service has 2 endpoints' });
    expect((await resolve('web.default.svc.cluster.local')).sort()).toEqual([ip1, ip2].sort());
    expect(await resolve('p2.web.default.svc.cluster.local')).toEqual([ip2]);
    expect(await resolve('p2.web')).toEqual([ip2]);
    expect(await resolve('websvc.default.svc')).toEqual(['10.96.0.10']);
    expect(await resolve('localhost')).toEqual([ip1]);
    expect(JSON.parse(await podGet(ip1, `/fetch?url=${encodeURIComponent('http://localhost:8080/')}`)).host).toBe('p1');
    const viaSvc = JSON.parse(await podGet(ip1, `/fetch?url=${encodeURIComponent('http://websvc:80/')}`)) as { host: string };
    expect(['p1', 'p2']).toContain(viaSvc.host);

    // ConfigMap update reaches the pod through the ..data swap; the subPath copy does not change.
    const w1 = kubelet.worker('default', 'p1')!;
    const volDir = path.join(w1.dir, 'volumes', 'cfg');
    const before = fs.readlinkSync(path.join(volDir, '..data'));
    expect(before).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect(fs.readlinkSync(path.join(volDir, 'a'))).toBe('..data/a');
    await client.mergePatch(RESOURCES.configmaps, 'default', 'cfg', { data: { a: 'v2' } });
    await waitFor(async () => JSON.parse(await podGet(ip1)).cfg === 'v2', { what: 'config v2 visible in pod' });
    expect(JSON.parse(await podGet(ip1)).sub).toBe('v1');
    expect(fs.readlinkSync(path.join(volDir, '..data'))).not.toBe(before);
    expect(fs.readdirSync(volDir).filter((f) => f.startsWith('..2')).length).toBe(1);

    // Logs of the current instance.
    const logs = await streamText(kubelet.logProvider('default', 'p1', 'main', { follow: false, previous: false })!);
    expect(logs).toContain('listening');

    // A process killed behind the kubelet's back is restarted; restartCount and lastState show it.
    const pid = w1.pids()[0]!;
    process.kill(pid, 'SIGKILL');
    const restarted = await waitFor(async () => {
      const p = await getPod('p1');
      const cs = p.status?.containerStatuses?.[0];
      return cs && cs.restartCount === 1 && cs.state.running ? cs : undefined;
    }, { timeoutMs: 20_000, what: 'p1 restarted' });
    expect(restarted.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(restarted.containerID).not.toBe(p1!.status!.containerStatuses![0]!.containerID);
    await waitFor(() => podGet(ip1, '/become-ready'), { what: 'restarted p1 serving' });
    const previous = await streamText(kubelet.logProvider('default', 'p1', 'main', { follow: false, previous: true })!);
    expect(previous).toContain('listening');

    // Graceful deletion: SIGTERM reaches the process, then the pod object goes away.
    const pid2 = kubelet.worker('default', 'p2')!.pids()[0]!;
    const logFile = path.join(kubelet.worker('default', 'p2')!.dir, 'logs', 'main', '0.log');
    let sawTerm = false;
    const watcher = setInterval(() => {
      if (fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('got SIGTERM')) sawTerm = true;
    }, 5);
    await client.delete(RESOURCES.pods, 'default', 'p2');
    await waitFor(async () => (await client.tryGet(RESOURCES.pods, 'default', 'p2')) === undefined, { what: 'p2 deleted' });
    clearInterval(watcher);
    expect(sawTerm).toBe(true);
    expect(() => process.kill(pid2, 0)).toThrow();
    await waitFor(async () => (await resolve('web')).length === 1, { what: 'p2 out of DNS' });
  }, 60_000);

  it('fails a pod whose image it cannot run with ErrImagePull naming the image', async () => {
    await client.create<Pod>(RESOURCES.pods, 'default', { metadata: { name: 'nginx' }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } });
    const cs = await waitFor(async () => (await getPod('nginx')).status?.containerStatuses?.[0]?.state.waiting?.reason === 'ErrImagePull' ? (await getPod('nginx')).status!.containerStatuses![0] : undefined, { what: 'ErrImagePull' });
    expect(cs.state.waiting!.message).toContain('image "nginx:1.27"');
    expect(cs.state.waiting!.message).toContain('harness/node');
    expect((await getPod('nginx')).status!.phase).toBe('Pending');
  }, 30_000);

  it('renews its node Lease, owned by its Node (the heartbeat kube-controller-manager watches)', async () => {
    type Lease = { metadata: { ownerReferences?: Array<{ kind: string; name: string; uid: string }> }; spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string } };
    const leases = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true, kind: 'Lease' } as const;
    const first = await waitFor(() => client.tryGet<Lease & Pod>(leases, 'kube-node-lease', kubelet.nodeName), { what: 'the node Lease' });
    const node = await client.get<Pod>(RESOURCES.nodes, undefined, kubelet.nodeName);
    expect(first.spec).toMatchObject({ holderIdentity: kubelet.nodeName, leaseDurationSeconds: 40 });
    expect(first.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(first.metadata.ownerReferences).toStrictEqual([{ apiVersion: 'v1', kind: 'Node', name: kubelet.nodeName, uid: node.metadata.uid }]);
    await waitFor(async () => (await client.get<Lease & Pod>(leases, 'kube-node-lease', kubelet.nodeName)).spec.renewTime > first.spec.renewTime, { timeoutMs: 5_000, what: 'a renewed renewTime' });
  });

  it('writes a pod status again when another writer changed what the kubelet owns (the node lifecycle controller marking it not Ready)', async () => {
    await client.create<Pod>(RESOURCES.pods, 'default', { metadata: { name: 'steady' }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'harness/node:20', command: ['node', '-e', 'setInterval(() => {}, 1000)'] }] } });
    const ready = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const before = await waitFor(async () => { const p = await getPod('steady'); return ready(p) ? p : undefined; }, { timeoutMs: 20_000, what: 'steady Ready' });
    const marked = before.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'NodeNotReady' } : c));
    await client.mergePatch(RESOURCES.pods, 'default', 'steady', { status: { conditions: marked } }, 'status');
    const after = await waitFor(async () => { const p = await getPod('steady'); return ready(p) ? p : undefined; }, { timeoutMs: 10_000, what: 'Ready=True written again' });
    expect(after.status!.containerStatuses![0]!.containerID).toBe(before.status!.containerStatuses![0]!.containerID);
    await client.delete(RESOURCES.pods, 'default', 'steady');
  }, 30_000);
});

async function streamText(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}
