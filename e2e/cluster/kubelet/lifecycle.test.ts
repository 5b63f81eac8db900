// Container lifecycle rules of the kubelet against the fake API server: liveness restarts,
// startup probes, init containers, restartPolicy and phases, SIGKILL after the grace period.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kubelet } from './kubelet.js';
import { nodeImageRule } from './image-map.js';
import { KubeClient, RESOURCES } from '../harness/kube-client.js';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.js';
import type { Container, KubeObject, Pod, PodSpec } from '../harness/k8s-types.js';
import { waitFor } from '../harness/wait.js';

const node = (script: string, extra: Partial<Container> = {}, name = 'c'): Container => ({ name, image: 'harness/node', command: ['node', '-e', script], ...extra });

describe('Kubelet container lifecycle', () => {
  let api: FakeApiServer;
  let client: KubeClient;
  let kubelet: Kubelet;
  let stateDir: string;
  const create = (name: string, spec: PodSpec): Promise<Pod> => client.create<Pod>(RESOURCES.pods, 'default', { metadata: { name }, spec });
  const get = (name: string): Promise<Pod> => client.get<Pod>(RESOURCES.pods, 'default', name);
  const events = (): { reason: string; message: string; involvedObject: { name: string } }[] =>
    [...api.objects.entries()].filter(([k]) => k.startsWith('events/')).map(([, v]) => v as KubeObject & { reason: string; message: string; involvedObject: { name: string } });

  beforeAll(async () => {
    api = await startFakeApiServer();
    client = new KubeClient({ server: api.url });
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-life-'));
    kubelet = new Kubelet({ server: api.url, stateDir, imageRules: [nodeImageRule()], timeScale: 0.02, crashLoopBaseMs: 50, ipBase: '127.78' });
    await kubelet.start();
  });
  afterAll(async () => {
    await kubelet.stop();
    await api.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('restarts a container whose liveness probe fails, only after its startup probe passed', async () => {
    // Healthy for the first 5 liveness probes, then failing; startup probe passes from the 3rd try.
    const script = `let s = 0, l = 0; require('http').createServer((q, r) => {
      if (q.url === '/startup') { r.statusCode = ++s >= 3 ? 200 : 500; return r.end(); }
      r.statusCode = ++l <= 5 ? 200 : 500; r.end();
    }).listen(8080);`;
    await create('lively', {
      containers: [node(script, {
        startupProbe: { httpGet: { path: '/startup', port: 8080 }, periodSeconds: 1, failureThreshold: 30 },
        livenessProbe: { httpGet: { path: '/live', port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
      })],
      terminationGracePeriodSeconds: 1,
    });
    const cs = await waitFor(async () => {
      const c = (await get('lively')).status?.containerStatuses?.[0];
      return c && c.restartCount >= 1 && c.state.running ? c : undefined;
    }, { timeoutMs: 20_000, what: 'liveness restart' });
    expect(cs.lastState.terminated).toBeDefined();
    expect(events().some((e) => e.involvedObject.name === 'lively' && e.reason === 'Killing' && /failed liveness probe, will be restarted/.test(e.message))).toBe(true);
    expect(events().some((e) => e.involvedObject.name === 'lively' && e.reason === 'Unhealthy' && /^Startup probe failed/.test(e.message))).toBe(true);
  }, 30_000);

  it('runs init containers to completion first; restartPolicy decides phases', async () => {
    await create('with-init', {
      restartPolicy: 'Never',
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [node("require('fs').writeFileSync(process.argv[1], 'from-init')", { args: ['/work/f'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }, 'init')],
      containers: [node("process.exit(require('fs').readFileSync(process.argv[1], 'utf8') === 'from-init' ? 0 : 1)", { args: ['/work/f'], volumeMounts: [{ name: 'work', mountPath: '/work' }] })],
    });
    await create('failing', { restartPolicy: 'Never', containers: [node('process.exit(3)')] });
    await create('on-failure', { restartPolicy: 'OnFailure', containers: [node("const f = require('fs'); const p = require('os').tmpdir() + '/once-' + process.env.HOSTNAME; if (!f.existsSync(p)) { f.writeFileSync(p, '1'); process.exit(1); } f.rmSync(p);")] });

    const ok = await waitFor(async () => ((await get('with-init')).status?.phase === 'Succeeded' ? get('with-init') : undefined), { timeoutMs: 20_000, what: 'with-init Succeeded' });
    expect(ok.status!.initContainerStatuses![0]!.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(ok.status!.conditions!.find((c) => c.type === 'Initialized')!.status).toBe('True');

    const failed = await waitFor(async () => ((await get('failing')).status?.phase === 'Failed' ? get('failing') : undefined), { timeoutMs: 20_000, what: 'failing Failed' });
    expect(failed.status!.containerStatuses![0]!.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(failed.status!.containerStatuses![0]!.restartCount).toBe(0);

    const retried = await waitFor(async () => ((await get('on-failure')).status?.phase === 'Succeeded' ? get('on-failure') : undefined), { timeoutMs: 20_000, what: 'on-failure Succeeded after one retry' });
    expect(retried.status!.containerStatuses![0]!.restartCount).toBe(1);
    expect(retried.status!.containerStatuses![0]!.lastState.terminated!.exitCode).toBe(1);
  }, 30_000);

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over, while its sibling exits at once', async () => {
    // A second container that exits at once on SIGTERM: the grace timer must still kill the first.
    await create('stubborn', { terminationGracePeriodSeconds: 1, containers: [node("process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000); console.log('started')"), node('setInterval(() => {}, 1000)', {}, 'quick')] });
    await waitFor(async () => (await get('stubborn')).status?.containerStatuses?.[0]?.state.running, { what: 'stubborn running' });
    const pid = kubelet.worker('default', 'stubborn')!.pids()[0]!;
    const logDir = path.join(kubelet.worker('default', 'stubborn')!.dir, 'logs', 'c', '0.log');
    await waitFor(() => fs.existsSync(logDir) && fs.readFileSync(logDir, 'utf8').includes('started'), { what: 'stubborn installed its handler' });
    const t0 = Date.now();
    await client.delete(RESOURCES.pods, 'default', 'stubborn');
    await waitFor(async () => (await client.tryGet(RESOURCES.pods, 'default', 'stubborn')) === undefined, { timeoutMs: 20_000, what: 'stubborn gone' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});
