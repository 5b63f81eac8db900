/**
 * `kubectl exec`, `attach` and `port-forward` (kubectl 1.32) through the real kube-apiserver to
 * pods run by our kubelet (`useCluster({ apiserver: 'real' })`): kubectl tries WebSockets, the
 * kubelet refuses them, kubectl falls back to SPDY/3.1, which the API server proxies to the
 * kubelet's `/exec`, `/attach` and `/portForward` endpoints. Commands run in the container's
 * network and mount namespaces; exit codes, stdin, stderr and a TTY reach kubectl as on a real
 * node. The kubelet endpoints refuse callers other than the API server.
 * Registered inside `real-kubelet.e2e.ts` so the journeys share its control plane.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import type { TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL } from '../cluster/harness/kubectl.js';
import { waitFor } from '../cluster/harness/wait.js';

/** The container: echoes what arrives on its stdin, ticks on stdout and stderr. */
const SHELL_POD = `
process.stdin.on('data', (d) => console.log('echo: ' + d.toString().trim()));
let n = 0;
setInterval(() => { n++; console.log('tick ' + n); console.error('tock ' + n); }, 300);
`;
/** An HTTP server bound to the pod's localhost only: answers with the path and the request body's length. */
const WEB_POD = `
require('node:http').createServer((req, res) => {
  let size = 0;
  req.on('data', (c) => (size += c.length));
  req.on('end', () => res.end(req.method + ' ' + req.url + ' ' + size));
}).listen(8080, '127.0.0.1');
`;

interface Proc {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  readonly exited: Promise<number>;
}

/** Registers the journeys (call inside a describe whose beforeAll starts `cluster()` with `apiserver: 'real'`). */
export function kubectlStreamingJourneys(current: () => TestCluster): void {
  let cluster!: TestCluster;
  let ns = '';
  const procs: ChildProcess[] = [];

  /** Starts kubectl (or `cmd`) with the cluster's kubeconfig, collecting its output. */
  const start = (cmd: string, args: readonly string[]): Proc => {
    const child = spawn(cmd, [...args], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    procs.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
    return { child, out: () => out, err: () => err, exited };
  };
  /** Polls `cond` for up to 20 s; the timeout error carries `observed()` read at that moment. */
  const until = (cond: () => boolean, observed: () => string): Promise<true> =>
    waitFor(
      () => {
        if (!cond()) throw new Error(observed());
        return true as const;
      },
      { timeoutMs: 20_000 },
    );
  const exec = (args: readonly string[], input?: string) => cluster.runKubectl(['exec', '-n', ns, ...args], input);

  beforeAll(async () => {
    cluster = current();
    ns = await cluster.namespace('streaming');
    const pod = (name: string, script: string, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec: { containers: [{ name: 'main', image: 'harness/node', command: ['node', '-e', script], ...extra }] },
      });
    await cluster.kubectl(['apply', '-f', '-'], pod('shell', SHELL_POD, { stdin: true }));
    await cluster.kubectl(['apply', '-f', '-'], pod('web', WEB_POD, { readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }));
    await cluster.kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod/shell', 'pod/web', '--timeout=60s']);
  }, 180_000);

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  it('exec prints the command output and exits 0', async () => {
    const r = await exec(['shell', '--', 'echo', 'hello', 'from exec']);
    expect(r.stdout).toBe('hello from exec\n');
    expect(r.code).toBe(0);
  });

  it("exec propagates the command's exit code", async () => {
    const r = await exec(['shell', '--', 'sh', '-c', 'echo partial; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('partial\n');
    expect(r.stderr).toContain('command terminated with exit code 3');
  });

  it('exec -i pipes stdin to the command, and its end reaches the command as EOF', async () => {
    const r = await exec(['-i', 'shell', '--', 'sh', '-c', 'tr a-z A-Z; echo done'], 'first line\nsecond line\n');
    expect(r.stdout).toBe('FIRST LINE\nSECOND LINE\ndone\n');
    expect(r.code).toBe(0);
  });

  it('exec keeps stderr apart from stdout', async () => {
    const r = await exec(['shell', '--', 'sh', '-c', 'echo to-out; echo to-err >&2']);
    expect(r.stdout).toBe('to-out\n');
    expect(r.stderr).toContain('to-err\n');
    expect(r.stderr).not.toContain('to-out');
  });

  it("exec runs in the container's network and mount namespaces", async () => {
    const podIP = (await cluster.kubectl(['get', 'pod', '-n', ns, 'shell', '-o', 'jsonpath={.status.podIP}'])).trim();
    const r = await exec(['shell', '--', 'sh', '-c', 'cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; ip -4 -o addr show eth0']);
    expect(r.code).toBe(0);
    const [namespaceFile, addr] = r.stdout.split('\n');
    expect(namespaceFile).toBe(ns);
    expect(addr).toContain(`inet ${podIP}/16`);
  });

  it('exec of a missing command fails with the runtime\'s error', async () => {
    const r = await exec(['shell', '--', 'no-such-command']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('executable file not found in $PATH');
  });

  it('exec -it runs the command on a terminal of the client\'s size and passes the exit code on', async () => {
    // kubectl only asks for a TTY when its own stdin is a terminal: util-linux script gives it one.
    const p = start('/usr/bin/script', ['-q', '-e', '-c', `stty rows 41 cols 123; ${KUBECTL} exec -it -n ${ns} shell -- sh -c 'tty; stty size; exit 5'`, '/dev/null']);
    const code = await p.exited;
    expect(p.out()).toMatch(/\/dev\/pts\/\d+\r\n41 123\r\n/);
    expect(code).toBe(5);
  }, 30_000);

  it("attach streams the running container's output from now on, and -i feeds its stdin", async () => {
    const p = start(KUBECTL, ['attach', '-i', '-n', ns, 'shell']);
    await until(() => /tick \d+/.test(p.out()), () => `no output through attach: ${p.out()} ${p.err()}`);
    // Output only from the moment of attaching, as on a real node (the logs hold the earlier ticks).
    const firstTick = Number(/tick (\d+)/.exec(p.out())![1]);
    expect(firstTick).toBeGreaterThan(1);
    expect(p.err()).toMatch(/tock \d+/);
    p.child.stdin!.write('ping through attach\n');
    await until(() => p.out().includes('echo: ping through attach'), () => `stdin did not reach the container: ${p.out()}`);
    p.child.stdin!.end();
    p.child.kill('SIGTERM');
    await p.exited;
    // The container keeps running after the client detached.
    const again = await exec(['shell', '--', 'true']);
    expect(again.code).toBe(0);
  }, 60_000);

  it("port-forward reaches a server bound to the pod's localhost", async () => {
    const p = start(KUBECTL, ['port-forward', '-n', ns, 'pod/web', '0:8080']);
    await until(() => /Forwarding from 127\.0\.0\.1:\d+/.test(p.out()), () => `port-forward did not start: ${p.out()} ${p.err()}`);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(p.out())![1]);
    const get = await fetch(`http://127.0.0.1:${port}/first`);
    expect(await get.text()).toBe('GET /first 0');
    // A body larger than SPDY's initial window (64 KiB) and many frames.
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const post = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body });
    expect(await post.text()).toBe(`POST /upload ${body.length}`);
    const parallel = await Promise.all([1, 2, 3, 4].map((i) => fetch(`http://127.0.0.1:${port}/p${i}`, { headers: { connection: 'close' } }).then((r) => r.text())));
    expect(parallel).toEqual(['GET /p1 0', 'GET /p2 0', 'GET /p3 0', 'GET /p4 0']);
    p.child.kill('SIGTERM');
    await p.exited;
  }, 60_000);

  it("port-forward to a port nothing listens on reports the kubelet's error", async () => {
    const p = start(KUBECTL, ['port-forward', '-n', ns, 'pod/web', '0:9999']);
    await until(() => /Forwarding from 127\.0\.0\.1:\d+/.test(p.out()), () => `port-forward did not start: ${p.out()} ${p.err()}`);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(p.out())![1]);
    await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    await until(() => p.err().includes('error forwarding port 9999 to pod web_'), () => p.err());
    expect(p.err()).toContain('connect ECONNREFUSED 127.0.0.1:9999');
    p.child.kill('SIGTERM');
    await p.exited;
  }, 60_000);

  it('the kubelet refuses exec without a client certificate (401) and from a user other than the API server (403)', async () => {
    const node = JSON.parse(await cluster.kubectl(['get', 'node', 'dev-node', '-o', 'json'])) as { status: { daemonEndpoints: { kubeletEndpoint: { Port: number } } } };
    const port = node.status.daemonEndpoints.kubeletEndpoint.Port;
    const cp = cluster.real!.controlPlane;
    const upgrade = (cert?: { certPem: string; keyPem: string }): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = https.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/exec/${ns}/shell/main?command=id&output=1`,
          ca: cp.caPem,
          ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
          headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io' },
        });
        req.on('upgrade', () => reject(new Error('the kubelet upgraded an unauthorized exec')));
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await upgrade()).toEqual({ status: 401, body: 'Unauthorized' });
    const stranger = cp.clientCertificate('someone', ['system:authenticated']);
    const r = await upgrade(stranger);
    expect(r.status).toBe(403);
    expect(r.body).toBe('Forbidden (user=someone, verb=create, resource=nodes, subresource=proxy)');
  });

  it('the API server refuses exec to a user without pods/exec', async () => {
    await cluster.kubectl(['create', 'serviceaccount', 'viewer', '-n', ns]);
    await cluster.kubectl(['create', 'rolebinding', 'viewer', '-n', ns, '--clusterrole=view', `--serviceaccount=${ns}:viewer`]);
    const token = (await cluster.kubectl(['create', 'token', 'viewer', '-n', ns])).trim();
    const kubeconfig = cluster.real!.controlPlane.tokenKubeconfig(`viewer-${ns}`, token);
    const p = start(KUBECTL, ['--kubeconfig', kubeconfig, 'exec', '-n', ns, 'shell', '--', 'true']);
    expect(await p.exited).toBe(1);
    expect(p.err()).toContain(`cannot create resource "pods/exec" in API group "" in the namespace "${ns}"`);
  });
}
