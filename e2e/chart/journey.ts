/**
 * Journey helpers over the shared harness (`e2e/cluster/harness`): the cluster comes from
 * `useCluster()` (KUBECONFIG, or an in-process dev cluster), kubectl runs asynchronously (the
 * in-process API server shares this event loop), pods are reached with `reach()`. Pods run
 * `bin/alloy`, which needs `npm run build` first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../tools/helm-template/helm-template.js';
import type { TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL, requireTool } from '../cluster/harness/kubectl.js';
import { reach } from '../cluster/harness/reach.js';

/** Undefined when a cluster journey can run; otherwise why not (thrown under CI=true). */
export function unavailableReason(): string | undefined {
  if (!requireTool('kubectl', KUBECTL)) return 'kubectl is missing';
  if (process.env['KUBECONFIG'] === undefined && !fs.existsSync(path.join(REPO_ROOT, 'dist/collector/src/cli/main.js'))) {
    const reason = 'dist/ is missing: run "npm run build" so dev-cluster pods can run bin/alloy';
    if (process.env['CI'] === 'true') throw new Error(`cluster journey cannot run: ${reason}`);
    console.warn(`skipping cluster journey: ${reason}`);
    return reason;
  }
  return undefined;
}

export interface PodState {
  readonly name: string;
  readonly uid: string;
  readonly ready: boolean;
  /** container name → containerID and restartCount */
  readonly containers: Record<string, { id: string; restarts: number }>;
}

export async function pods(cluster: TestCluster, namespace: string, selector: string): Promise<PodState[]> {
  const list = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as {
    items: {
      metadata: { name: string; uid: string; deletionTimestamp?: string };
      status?: { conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; containerID?: string; restartCount: number }[] };
    }[];
  };
  return list.items
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
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
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Component ids the `alloy` container of pod `name` currently runs (`/api/v0/web/components`). */
export async function componentIds(cluster: TestCluster, namespace: string, name: string, port = 12345): Promise<string[]> {
  const r = await reach(cluster, namespace, `pod/${name}`, port);
  try {
    const res = await fetch(`${r.url}/api/v0/web/components`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`GET /api/v0/web/components: ${res.status}`);
    const body = (await res.json()) as unknown;
    return (Array.isArray(body) ? body : []).map((c: unknown) => String((c as { localID?: string; id?: string }).localID ?? (c as { id?: string }).id ?? ''));
  } finally {
    r.close();
  }
}

/** Pod status and recent logs of every pod in `namespace`, for failure messages. */
export async function podDiagnostics(cluster: TestCluster, namespace: string): Promise<string> {
  const out: string[] = [];
  const list = await cluster.runKubectl(['get', 'pods', '-n', namespace, '-o', 'wide']);
  out.push(list.stdout + list.stderr);
  const names = (await cluster.runKubectl(['get', 'pods', '-n', namespace, '-o', 'name'])).stdout.split('\n').filter((n) => n !== '');
  for (const n of names) {
    const logs = await cluster.runKubectl(['logs', '-n', namespace, n, '--all-containers', '--tail=20']);
    out.push(`--- ${n}\n${logs.stdout}${logs.stderr}`);
  }
  return out.join('\n');
}

/** Waits until exactly `count` pods matching `selector` are Ready; on timeout the error carries pod diagnostics. */
export async function waitReady(cluster: TestCluster, namespace: string, selector: string, count: number, timeoutMs = 90_000): Promise<PodState[]> {
  try {
    return await eventually(`${count} pod(s) ${selector} Ready in ${namespace}`, async () => {
      const p = await pods(cluster, namespace, selector);
      return p.length === count && p.every((x) => x.ready) ? p : undefined;
    }, timeoutMs);
  } catch (e: unknown) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${await podDiagnostics(cluster, namespace)}`);
  }
}
