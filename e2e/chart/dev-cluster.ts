/**
 * Access to a cluster for journeys: `KUBECONFIG` when set, else `bin/dev-cluster` started in a
 * temp dir (it prints `ready` once serving and writes `.local/kubeconfig`). `available()` says why
 * a journey cannot run; under `CI=true` a missing cluster or kubectl is a failure, not a skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../tools/helm-template/helm-template.js';

export const DEV_CLUSTER_BIN = path.join(REPO_ROOT, 'bin/dev-cluster');

/** Undefined when a cluster can be used; otherwise the reason it cannot. */
export function unavailableReason(): string | undefined {
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error !== undefined) return 'kubectl is not on PATH';
  if (process.env['KUBECONFIG'] !== undefined) return undefined;
  if (!fs.existsSync(DEV_CLUSTER_BIN)) return 'bin/dev-cluster does not exist yet and KUBECONFIG is not set';
  return undefined;
}

/** `describe` or `describe.skip` with the reason printed; throws under CI=true. */
export function clusterDescribe(): jest.Describe {
  const reason = unavailableReason();
  if (reason === undefined) return describe;
  if (process.env['CI'] === 'true') throw new Error(`cluster journey cannot run: ${reason}`);
  console.warn(`skipping cluster journey: ${reason}`);
  return describe.skip;
}

export interface Cluster {
  readonly kubeconfig: string;
  kubectl(args: readonly string[], input?: string): string;
  stop(): Promise<void>;
}

export async function startCluster(timeoutMs = 60_000): Promise<Cluster> {
  let child: ChildProcess | undefined;
  let kubeconfig = process.env['KUBECONFIG'];
  if (kubeconfig === undefined) {
    child = spawn(DEV_CLUSTER_BIN, [], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const proc = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bin/dev-cluster did not print "ready" within ${timeoutMs} ms:\n${log}`)), timeoutMs);
      const onData = (b: Buffer): void => {
        log += b.toString();
        if (/^ready\b/m.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bin/dev-cluster exited with ${code}:\n${log}`));
      });
    });
    kubeconfig = path.join(REPO_ROOT, '.local/kubeconfig');
  }
  const cfg = kubeconfig;
  return {
    kubeconfig: cfg,
    kubectl(args, input) {
      const r = spawnSync('kubectl', [`--kubeconfig=${cfg}`, ...args], { encoding: 'utf8', input, cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      if (child?.pid === undefined || child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}

export interface PodState {
  readonly name: string;
  readonly uid: string;
  readonly ready: boolean;
  readonly podIP: string | undefined;
  /** container name → containerID/restartCount */
  readonly containers: Record<string, { id: string; restarts: number }>;
}

export function pods(cluster: Cluster, namespace: string, selector: string): PodState[] {
  const list = JSON.parse(cluster.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as {
    items: {
      metadata: { name: string; uid: string; deletionTimestamp?: string };
      status?: {
        podIP?: string;
        conditions?: { type: string; status: string }[];
        containerStatuses?: { name: string; containerID?: string; restartCount: number }[];
      };
    }[];
  };
  return list.items
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      podIP: p.status?.podIP,
      containers: Object.fromEntries((p.status?.containerStatuses ?? []).map((c) => [c.name, { id: c.containerID ?? '', restarts: c.restartCount }])),
    }));
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e: unknown) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Component ids the collector at `podIP` currently runs (`/api/v0/web/components`). */
export async function componentIds(podIP: string, port = 12345): Promise<string[]> {
  const res = await fetch(`http://${podIP}:${port}/api/v0/web/components`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET /api/v0/web/components: ${res.status}`);
  const body = (await res.json()) as unknown;
  const list = Array.isArray(body) ? body : [];
  return list.map((c: unknown) => String((c as { localID?: string; id?: string }).localID ?? (c as { id?: string }).id ?? ''));
}
