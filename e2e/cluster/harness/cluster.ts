/**
 * Gives an e2e journey a cluster: the one `KUBECONFIG` points at when set (a real cluster; the
 * journey must then only use kubectl/the API), otherwise a fresh in-process dev cluster with a
 * random pod IP block so parallel Jest workers never collide. Journeys create their own namespace
 * (`namespace()`) and delete it at the end, so they run unchanged on a shared real cluster.
 * Local defaults favour fast tests (probe periods/delays ×0.1, CrashLoopBackOff from 200 ms) but
 * keep a real node's ConfigMap timing: volumes are re-projected on the pod's periodic sync (60 s
 * plus jitter) or when the pod object changes. Journeys that need fast propagation without
 * anything touching the pods set `podSyncPeriodMs` (or `configSyncDelayMs`) themselves.
 * `apiserver: 'real'` starts the real control plane instead of the test API server and attaches
 * the same kubelet to it as a node (`../real/real-cluster.ts`); check `realClusterUnavailable()`
 * first. It ignores `KUBECONFIG`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startDevCluster, type DevCluster, type DevClusterOptions } from '../dev-cluster.js';
import { startRealCluster, waitForServiceAccount, type RealCluster } from '../real/real-cluster.js';
import { defaultImageRules, reloaderImageRules, nodeImageRule } from '../kubelet/image-map.js';
import { kubectl, runKubectl, type KubectlResult } from './kubectl.js';
import { repoRoot } from './paths.js';

export interface TestCluster {
  readonly kubeconfig: string;
  /** Present only for the in-process dev cluster. */
  readonly local?: DevCluster;
  /** Present only with `apiserver: 'real'`. */
  readonly real?: RealCluster;
  kubectl(args: readonly string[], input?: string): Promise<string>;
  runKubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** Creates a uniquely named namespace (`<prefix>-<random>`), deleted by `stop()`. */
  namespace(prefix: string): Promise<string>;
  /**
   * Deletes a namespace made by `namespace()` without waiting (its pods stop in the background):
   * journeys sharing one cluster call it when done so the next journey gets the machine's CPU.
   */
  dropNamespace(ns: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Reserves a pod IP block `127.N` (N 10-249) for this process with an exclusive lock file in the
 * temp directory, so concurrent Jest workers and test runs never hand out the same pod IPs. Locks
 * of dead processes are taken over. `preferred` (10-249) is tried first.
 */
export function claimIpBlock(preferred?: number): { base: string; release(): void } {
  const start = preferred !== undefined ? preferred - 10 : Math.floor(Math.random() * 240);
  for (let i = 0; i < 240; i++) {
    const n = 10 + ((start + i) % 240);
    const lock = path.join(os.tmpdir(), `dev-cluster-ip-127.${n}.lock`);
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    } catch {
      const owner = Number(fs.readFileSync(lock, 'utf8'));
      if (owner === process.pid || alive(owner)) continue;
      fs.writeFileSync(lock, String(process.pid));
    }
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      try {
        if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock, { force: true });
      } catch {
        // already gone
      }
    };
    return { base: `127.${n}`, release };
  }
  throw new Error('no free pod IP block 127.10-249: remove stale dev-cluster-ip-*.lock files from the temp directory');
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface UseClusterOptions extends DevClusterOptions {
  /** Use the in-process cluster even when KUBECONFIG is set. */
  readonly forceLocal?: boolean;
  /** `test`: our API server (fast default); `real`: etcd + the real kube-apiserver and kube-controller-manager. @default 'test' */
  readonly apiserver?: 'test' | 'real';
}

export async function useCluster(opts: UseClusterOptions = {}): Promise<TestCluster> {
  const { forceLocal, apiserver, ...clusterOpts } = opts;
  const external = process.env.KUBECONFIG && !forceLocal && apiserver !== 'real' ? process.env.KUBECONFIG : undefined;
  let local: DevCluster | undefined;
  let real: RealCluster | undefined;
  let tmp: string | undefined;
  let kubeconfig: string;
  let ipBlock: { base: string; release(): void } | undefined;
  if (external) kubeconfig = external;
  else {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-cluster-'));
    const start = apiserver === 'real' ? startRealCluster : startDevCluster;
    const started = await start({
      kubeconfigPath: path.join(tmp, 'kubeconfig'),
      stateDir: path.join(tmp, 'state'),
      ipBase: (ipBlock = claimIpBlock()).base,
      imageRules: [...defaultImageRules(repoRoot()), ...reloaderImageRules(repoRoot()), nodeImageRule()],
      timeScale: 0.1,
      crashLoopBaseMs: 200,
      shutdownGraceSeconds: 5,
      ...clusterOpts,
    }).catch((e: unknown) => {
      ipBlock?.release();
      throw e;
    });
    if ('apiServer' in started) local = started;
    else real = started;
    kubeconfig = started.kubeconfigPath;
  }
  const namespaces: string[] = [];
  const run = (args: readonly string[], input?: string): Promise<KubectlResult> => runKubectl(args, { kubeconfig, input });
  return {
    kubeconfig,
    local,
    real,
    kubectl: (args, input) => kubectl(args, { kubeconfig, input }),
    runKubectl: run,
    async namespace(prefix) {
      const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
      await kubectl(['create', 'namespace', ns], { kubeconfig });
      namespaces.push(ns);
      // On the real server pods are refused until the namespace's ServiceAccount exists.
      if (real) await waitForServiceAccount(real.admin, ns);
      return ns;
    },
    async dropNamespace(ns) {
      const i = namespaces.indexOf(ns);
      if (i < 0) throw new Error(`dropNamespace: ${ns} was not made by namespace()`);
      namespaces.splice(i, 1);
      const r = await run(['delete', 'namespace', ns, '--wait=false']);
      if (r.code !== 0 && !r.stderr.includes('NotFound')) throw new Error(`kubectl delete namespace ${ns}: ${r.stderr}`);
    },
    async stop() {
      if (external) {
        for (const ns of namespaces) await run(['delete', 'namespace', ns, '--wait=false']);
        return;
      }
      await local?.stop();
      await real?.stop();
      ipBlock?.release();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
