// A pod's life seen through the real kubectl on the in-process dev cluster: ConfigMap updates
// through the ..data swap, subPath copies, localhost shared by a pod's containers, logs (-c, -f,
// --previous), restarts after an outside SIGKILL, readiness, describe events, graceful delete.
import { spawn } from 'node:child_process';
import { useCluster, type TestCluster } from '../harness/cluster.js';
import { KUBECTL, requireTool } from '../harness/kubectl.js';
import { waitFor } from '../harness/wait.js';
import type { Pod } from '../harness/k8s-types.js';

const haveKubectl = requireTool('kubectl', KUBECTL);

// main: logs the mounted config (directory mount | subPath mount) whenever it changes, serves it
// on port 8080 (no host: all interfaces), and turns ready on the third readiness probe.
const MAIN = `
const fs = require('fs');
let last = '';
let hits = 0;
setInterval(() => {
  const now = fs.readFileSync(process.argv[1], 'utf8') + '|' + fs.readFileSync(process.argv[2], 'utf8');
  if (now !== last) { console.log('config ' + now); last = now; }
}, 20);
require('http').createServer((q, r) => {
  if (q.url === '/ready') { r.statusCode = ++hits >= 3 ? 200 : 503; return r.end(); }
  r.end(last);
}).listen(8080);
`;
// sidecar: calls the main container through localhost, like the config reloader does.
const SIDECAR = `
setInterval(async () => {
  try { console.log('sidecar saw ' + await (await fetch('http://localhost:8080/')).text()); } catch (e) { console.log('sidecar error ' + e.cause?.code); }
}, 50);
`;

(haveKubectl ? describe : describe.skip)('kubelet through kubectl', () => {
  let cluster: TestCluster;
  let ns: string;
  const pod = (): Promise<Pod> => cluster.kubectl(['-n', ns, 'get', 'pod', 'app', '-o', 'json']).then((s) => JSON.parse(s) as Pod);

  beforeAll(async () => {
    cluster = await useCluster({ forceLocal: true, timeScale: 0.05, configSyncDelayMs: 100 });
    ns = await cluster.namespace('kl');
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('config updates, subPath, localhost, logs, restarts, readiness and deletion', async () => {
    await cluster.kubectl(['-n', ns, 'create', 'configmap', 'cfg', '--from-literal=config.alloy=v1']);
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: ns },
      spec: {
        terminationGracePeriodSeconds: 3,
        volumes: [{ name: 'config', configMap: { name: 'cfg' } }],
        containers: [
          {
            name: 'main',
            image: 'harness/node',
            command: ['node', '-e', MAIN, '/etc/alloy/config.alloy', '/etc/pinned/config.alloy'],
            volumeMounts: [
              { name: 'config', mountPath: '/etc/alloy' },
              { name: 'config', mountPath: '/etc/pinned/config.alloy', subPath: 'config.alloy' },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
            securityContext: { runAsUser: 473, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
          },
          { name: 'sidecar', image: 'harness/node', command: ['node', '-e', SIDECAR] },
        ],
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
    await cluster.kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod/app', '--timeout=30s']);
    const ready = await pod();
    expect(ready.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True');

    expect(await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main'])).toContain('config v1|v1');
    expect(await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main', '--timestamps'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z config v1\|v1$/m);
    expect(await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'sidecar', '--tail=1'])).toMatch(/^sidecar [^\n]*\n$/);
    expect(await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main', '--since=1h'])).toContain('config v1|v1');
    expect(await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main', '--limit-bytes=6'])).toBe('config');
    await waitFor(async () => (await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'sidecar'])).includes('sidecar saw v1|v1'), { what: 'sidecar reaches main via localhost' });

    // kubectl edit-style update: the running process sees the new content; the subPath copy does not change.
    const cm = await cluster.kubectl(['-n', ns, 'create', 'configmap', 'cfg', '--from-literal=config.alloy=v2', '--dry-run=client', '-o', 'json']);
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], cm);
    await waitFor(async () => (await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main'])).includes('config v2|v1'), { timeoutMs: 20_000, what: 'config v2 observed, subPath still v1' });

    // Follow the log while the main process is killed behind the kubelet's back: the stream ends with the instance.
    const follow = spawn(KUBECTL, ['-n', ns, 'logs', '-f', 'app', '-c', 'main'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    const followEnd = new Promise<number | null>((r) => follow.on('exit', (c) => r(c)));
    await waitFor(() => followed.includes('config v2|v1'), { what: 'kubectl logs -f output' });
    const pid = Number(/^local:\/\/(\d+)-/.exec(ready.status!.containerStatuses!.find((c) => c.name === 'main')!.containerID!)![1]);
    process.kill(pid, 'SIGKILL');
    expect(await followEnd).toBe(0);

    const restarted = await waitFor(async () => {
      const p = await pod();
      const cs = p.status!.containerStatuses!.find((c) => c.name === 'main')!;
      return cs.restartCount === 1 && cs.state.running ? cs : undefined;
    }, { what: 'main restarted' });
    expect(restarted.lastState.terminated!.exitCode).toBe(137);
    // A restarted container gets a fresh subPath copy, like a new bind mount.
    await waitFor(async () => (await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main'])).includes('config v2|v2'), { what: 'restarted instance sees v2 via subPath' });
    expect(await cluster.kubectl(['-n', ns, 'logs', 'app', '-c', 'main', '--previous'])).toContain('config v2|v1');
    const table = await cluster.kubectl(['-n', ns, 'get', 'pod', 'app']);
    expect(table).toMatch(/app\s+\d\/2\s+Running\s+1/);

    const describe = await cluster.kubectl(['-n', ns, 'describe', 'pod', 'app']);
    expect(describe).toMatch(/Started\s+.*Started container main/);
    expect(describe).toMatch(/Unhealthy\s+.*Readiness probe failed/);

    const pid2 = Number(/^local:\/\/(\d+)-/.exec(restarted.containerID!)![1]);
    expect(() => process.kill(pid2, 0)).not.toThrow();
    await cluster.kubectl(['-n', ns, 'delete', 'pod', 'app', '--timeout=30s']);
    expect(() => process.kill(pid2, 0)).toThrow();
    expect(cluster.local!.kubelet.pids()).toEqual([]);
  }, 60_000);
});
