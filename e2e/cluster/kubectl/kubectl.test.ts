/**
 * The machine's real kubectl (v1.32) against the test API server: the verb-by-verb journey
 * (`kubectl-journey.test-support.ts`, also run on the real kube-apiserver by
 * `e2e/real-apiserver/journeys.e2e.ts`) on the in-process dev cluster, and `kubectl exec` against
 * the bare API server with a scripted exec provider (our kubelet does not serve exec yet, so exec
 * is proven for the test server's streaming only). Needs `kubectl`; under CI=true a missing kubectl
 * fails the suite, otherwise the suite is skipped with the reason printed.
 */
import { jest } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type RunningApiServer } from '../apiserver/index.js';
import { runJourneys } from '../harness/journey.test-support.js';
import { kubectlImageRules, kubectlJourney } from './kubectl-journey.test-support.js';

const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';
const found = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
const hasKubectl = found.status === 0;
if (!hasKubectl) {
  if (process.env['CI'] === 'true') {
    throw new Error(`kubectl is required for e2e/cluster/kubectl tests under CI=true but "${KUBECTL} version --client" failed: ${found.error?.message ?? found.stderr}. Install it (apt-get install kubectl) or set KUBECTL.`);
  }
  console.warn(`skipping kubectl tests: "${KUBECTL}" not found (${found.error?.message ?? found.stderr}); install kubectl to run them`);
}
const suite = hasKubectl ? describe : describe.skip;

jest.setTimeout(120_000);

runJourneys({ apiserver: 'test', forceLocal: true, imageRules: kubectlImageRules(), ...(hasKubectl ? {} : { skip: 'kubectl not found' }) }, [kubectlJourney]);

let srv: RunningApiServer;
let dir: string;
let kubeconfig: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

suite('kubectl exec against the test API server (scripted exec provider)', () => {
  beforeAll(async () => {
    srv = await startApiServer({});
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-exec-'));
    kubeconfig = srv.kubeconfig(path.join(dir, 'kubeconfig'));
    srv.setPodExecProvider((ns, pod, container, command, io) => {
      if (pod === 'not-running') return undefined;
      return new Promise<number>((resolve) => {
        const [cmd, ...args] = command;
        if (cmd === 'echo') {
          io.stdout.write(`${[ns, pod, container, ...args].join(' ')}\n`);
          resolve(0);
        } else if (cmd === 'cat' && io.stdin) {
          io.stdin.on('data', (d: Buffer) => io.stdout.write(d.toString('utf8').toUpperCase()));
          io.stdin.on('end', () => resolve(0));
        } else {
          io.stderr.write(`${String(cmd)}: not found\n`);
          resolve(127);
        }
      });
    });
    await ok(['run', 'logger', '--image=busybox:1.36', '--restart=Never']);
    await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: two\nspec:\n  containers:\n  - {name: a, image: x:1}\n  - {name: b, image: x:1}\n');
  });

  afterAll(async () => {
    await srv?.close();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('exec runs through the exec provider: output, stdin and exit codes', async () => {
    expect(await ok(['exec', 'logger', '--', 'echo', 'hi', 'there'])).toBe('default logger logger hi there\n');
    expect(await ok(['exec', '-i', 'two', '-c', 'b', '--', 'cat'], 'loud\n')).toBe('LOUD\n');
    const missing = await kubectl(['exec', 'logger', '--', 'nope']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('nope: not found');
    expect(missing.stderr).toContain('command terminated with exit code 127');
  });
});
