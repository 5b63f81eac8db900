// bin/dev-cluster as users run it: start, kubectl works, a pod runs, SIGTERM stops everything.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KUBECTL, kubectl, requireTool, runKubectl } from './harness/kubectl.js';
import { repoRoot } from './harness/paths.js';
import { waitFor } from './harness/wait.js';

const built = fs.existsSync(path.join(repoRoot(), 'dist/e2e/cluster/dev-cluster.js'));
if (!built) {
  const msg = 'dist/e2e/cluster/dev-cluster.js is missing: run "npm run build" first (npm test does)';
  if (process.env.CI === 'true') throw new Error(msg);
  process.stderr.write(`SKIP: ${msg}\n`);
}
const haveKubectl = requireTool('kubectl', KUBECTL);

(built && haveKubectl ? describe : describe.skip)('bin/dev-cluster', () => {
  it('prints ready with the kubeconfig path, serves kubectl, runs pods, and leaves no process behind on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-cluster-bin-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    const child = spawn(path.join(repoRoot(), 'bin/dev-cluster'), ['--kubeconfig', kubeconfig, '--state-dir', path.join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => /ready/.test(out), { timeoutMs: 20_000, what: `"ready" from bin/dev-cluster (output: ${out})` });
      expect(out).toContain(kubeconfig);
      expect(await kubectl(['get', 'ns', '-o', 'name'], { kubeconfig })).toContain('namespace/default');

      await kubectl(['run', 'sleeper', '--image=harness/node', '--command', '--', 'node', '-e', 'setInterval(() => {}, 1000)'], { kubeconfig });
      const containerID = await waitFor(async () => (await kubectl(['get', 'pod', 'sleeper', '-o', 'jsonpath={.status.containerStatuses[0].containerID}'], { kubeconfig })).trim(), { timeoutMs: 20_000, what: 'sleeper running' });
      const pid = Number(/^local:\/\/(\d+)-/.exec(containerID)![1]);
      expect(() => process.kill(pid, 0)).not.toThrow();
      // kubectl exec runs in the pod through the test API server (WebSocket v5) and the kubelet.
      const exec = await runKubectl(['exec', '-i', 'sleeper', '--', 'sh', '-c', 'echo "$HOSTNAME"; cat; echo oops >&2; exit 2'], { kubeconfig, input: 'from stdin\n' });
      expect(exec).toEqual({ stdout: 'sleeper\nfrom stdin\n', stderr: expect.stringContaining('oops\n') as unknown as string, code: 2 });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('dev-cluster stopped');
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('pod processes exit on their own when the dev cluster is SIGKILLed (no orphans)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-cluster-kill-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    const child = spawn(path.join(repoRoot(), 'bin/dev-cluster'), ['--kubeconfig', kubeconfig, '--state-dir', path.join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => /ready/.test(out), { timeoutMs: 20_000, what: 'ready' });
      await kubectl(['run', 'orphan-candidate', '--image=harness/node', '--command', '--', 'node', '-e', 'setInterval(() => {}, 1000)'], { kubeconfig });
      const containerID = await waitFor(async () => (await kubectl(['get', 'pod', 'orphan-candidate', '-o', 'jsonpath={.status.containerStatuses[0].containerID}'], { kubeconfig })).trim(), { timeoutMs: 20_000, what: 'pod running' });
      const pid = Number(/^local:\/\/(\d+)-/.exec(containerID)![1]);
      child.kill('SIGKILL');
      await waitFor(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, { timeoutMs: 10_000, what: `pod process ${pid} to exit after its kubelet died` });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
