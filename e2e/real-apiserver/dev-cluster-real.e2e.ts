// `bin/dev-cluster --apiserver=real` as users run it: ready line, kubectl works against the real
// kube-apiserver, a pod runs on our kubelet with a pod network address, SIGTERM stops every pod,
// the control plane and the pod network. One control plane for the file.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimIpBlock } from '../cluster/harness/cluster.js';
import { kubectl } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';
import { IP } from '../cluster/kubelet/pod-network.js';
import { realClusterUnavailable } from '../cluster/real/real-cluster.js';

const built = fs.existsSync(path.join(repoRoot(), 'dist/e2e/cluster/dev-cluster.js'));
if (!built) {
  const msg = 'dist/e2e/cluster/dev-cluster.js is missing: run "npm run build" first (npm test does)';
  if (process.env['CI'] === 'true') throw new Error(msg);
  process.stderr.write(`SKIP: ${msg}\n`);
}
const skip = !built || realClusterUnavailable() !== undefined;

(skip ? describe.skip : describe)('bin/dev-cluster --apiserver=real', () => {
  it('prints ready, serves kubectl from the real server, runs a pod, and leaves nothing behind on SIGTERM', async () => {
    const t0 = Date.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-cluster-real-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    const block = claimIpBlock();
    const n = block.base.split('.')[1]!;
    const child = spawn(path.join(repoRoot(), 'bin/dev-cluster'), ['--apiserver=real', '--kubeconfig', kubeconfig, '--state-dir', path.join(dir, 'state'), '--pod-ip-base', block.base], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => /dev-cluster ready/.test(out), { timeoutMs: 90_000, what: `"ready" from bin/dev-cluster --apiserver=real (output: ${out})` });
      console.log(`bin/dev-cluster --apiserver=real ready in ${Date.now() - t0} ms`);
      const version = JSON.parse(await kubectl(['version', '-o', 'json'], { kubeconfig })) as { serverVersion: { gitVersion: string } };
      expect(version.serverVersion.gitVersion).toMatch(/^v1\.24\./);
      expect(await kubectl(['get', 'node', 'dev-node', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { kubeconfig })).toBe('True');

      // Ready means pods can be created at once: default/default exists.
      await kubectl(['run', 'sleeper', '--image=harness/node', '--command', '--', 'node', '-e', 'setInterval(() => {}, 1000)'], { kubeconfig });
      const status = await waitFor(async () => {
        const s = JSON.parse(await kubectl(['get', 'pod', 'sleeper', '-o', 'jsonpath={.status}'], { kubeconfig })) as { phase?: string; podIP?: string; containerStatuses?: { containerID?: string }[] };
        return s.phase === 'Running' && s.containerStatuses?.[0]?.containerID ? s : undefined;
      }, { timeoutMs: 30_000, what: 'sleeper Running' });
      expect(status.podIP).toMatch(new RegExp(`^10\\.${n === '96' ? '250' : n}\\.`));
      const pid = Number(/^local:\/\/(\d+)-/.exec(status.containerStatuses![0]!.containerID!)![1]);
      expect(() => process.kill(pid, 0)).not.toThrow();

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('dev-cluster stopped');
      expect(() => process.kill(pid, 0)).toThrow();
      expect(execFileSync(IP, ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(`alloybr${n === '96' ? '250' : n}:`);
      expect(execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`alloy-${n === '96' ? '250' : n}-`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      block.release();
      fs.rmSync(dir, { recursive: true, force: true });
      console.log(`dev-cluster-real.e2e.ts wall time: ${Date.now() - t0} ms`);
    }
  }, 150_000);
});
