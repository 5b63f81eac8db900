/**
 * ConfigMap volume timing of the dev kubelet, which must match a real node's: a ConfigMap change
 * reaches a pod's volume on the pod's periodic sync, or at once when the pod object changes
 * (labels, annotations, spec), never just because the ConfigMap changed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kubelet, type KubeletOptions } from './kubelet.js';
import { nodeImageRule } from './image-map.js';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.js';
import { KubeClient, RESOURCES } from '../harness/kube-client.js';
import type { ConfigMap, Pod } from '../harness/k8s-types.js';
import { waitFor } from '../harness/wait.js';

const pod = (name: string): Pod => ({
  metadata: { name, namespace: 'default' },
  spec: {
    terminationGracePeriodSeconds: 1,
    volumes: [{ name: 'cfg', configMap: { name: `cfg-${name}` } }],
    containers: [{ name: 'main', image: 'harness/node:20', command: ['node', '-e', 'setInterval(() => {}, 1000)'], volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] }],
  },
});

describe('Kubelet pod sync (ConfigMap volume timing)', () => {
  let api: FakeApiServer;
  let client: KubeClient;
  const kubelets: Kubelet[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    api = await startFakeApiServer();
    client = new KubeClient({ server: api.url });
  });
  afterAll(async () => {
    for (const k of kubelets) await k.stop();
    await api.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start(opts: Partial<KubeletOptions>, ipBase: string): Promise<Kubelet> {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-sync-'));
    dirs.push(stateDir);
    const k = new Kubelet({ server: api.url, stateDir, imageRules: [nodeImageRule()], timeScale: 0.02, ipBase, nodeName: `node-${ipBase}`, ...opts });
    kubelets.push(k);
    await k.start();
    return k;
  }

  async function runPod(k: Kubelet, name: string): Promise<() => string> {
    await client.create<ConfigMap>(RESOURCES.configmaps, 'default', { metadata: { name: `cfg-${name}` }, data: { a: 'v1' } });
    await client.create(RESOURCES.pods, 'default', { ...pod(name), spec: { ...pod(name).spec, nodeName: k.nodeName } });
    const file = await waitFor(async () => {
      const w = k.worker('default', name);
      const f = w && path.join(w.dir, 'volumes', 'cfg', 'a');
      return f !== undefined && fs.existsSync(f) ? f : undefined;
    }, { timeoutMs: 20_000, what: `${name} volume projected` });
    return () => fs.readFileSync(file!, 'utf8');
  }

  it('GIVEN the default (real kubelet) timing WHEN the ConfigMap changes THEN the volume keeps the old content until the pod object changes, then updates at once', async () => {
    const k = await start({}, '127.78');
    const read = await runPod(k, 'faithful');
    expect(read()).toBe('v1');
    await client.mergePatch(RESOURCES.configmaps, 'default', 'cfg-faithful', { data: { a: 'v2' } });
    // A real kubelet would take 60-90 s; wait long enough for the old 2 s shortcut to have fired.
    const deadline = Date.now() + 2500;
    while (Date.now() < deadline) {
      expect(read()).toBe('v1');
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = Date.now();
    await client.mergePatch(RESOURCES.pods, 'default', 'faithful', { metadata: { annotations: { nudge: '1' } } });
    await waitFor(async () => read() === 'v2', { timeoutMs: 5_000, what: 'v2 after the pod update' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('GIVEN a short sync period WHEN the ConfigMap changes THEN the periodic sync projects it without touching the pod', async () => {
    const k = await start({ podSyncPeriodMs: 300, podSyncJitter: 0.5 }, '127.79');
    const read = await runPod(k, 'periodic');
    await client.mergePatch(RESOURCES.configmaps, 'default', 'cfg-periodic', { data: { a: 'v2' } });
    await waitFor(async () => read() === 'v2', { timeoutMs: 5_000, what: 'v2 on the periodic sync' });
  });
});
