/**
 * Helpers for operator journeys: run `bin/operator` processes, read Collectors and pods through
 * kubectl, query a collector pod's component list over its pod IP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { repoRoot } from '../cluster/harness/paths.js';
import { KUBECTL } from '../cluster/harness/kubectl.js';
import type { TestCluster } from '../cluster/harness/cluster.js';
import { waitFor } from '../cluster/harness/wait.js';

/** Why the journeys cannot run here; throws under CI=true. */
export function unavailableReason(): string | undefined {
  let reason: string | undefined;
  if (!fs.existsSync(KUBECTL)) reason = `kubectl not found at ${KUBECTL}; apt-get install kubectl or set KUBECTL`;
  else if (!fs.existsSync(path.join(repoRoot(), 'dist/operator/src/main.js')) || !fs.existsSync(path.join(repoRoot(), 'dist/collector/src/cli/main.js'))) {
    reason = 'dist/ is missing: run "npm run build" (the operator and the pods run from dist/)';
  }
  if (reason !== undefined && process.env['CI'] === 'true') throw new Error(`operator journey cannot run: ${reason}`);
  if (reason !== undefined) console.warn(`SKIP operator journey: ${reason}`);
  return reason;
}

export interface OperatorProcess {
  readonly identity: string;
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` of /metrics, /healthz, /readyz. */
  readonly http: string;
  logs(): string;
  /** SIGTERM (graceful) or SIGKILL; resolves with the exit code. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
}

export async function startOperator(kubeconfig: string, namespace: string, identity: string, extra: readonly string[] = []): Promise<OperatorProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot(), 'bin/operator'),
      'run',
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${namespace}`,
      `--leader-election-namespace=${namespace}`,
      `--identity=${identity}`,
      '--http-listen-address=127.0.0.1:0',
      '--log-format=logfmt',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const http = await waitFor(() => /http=(127\.0\.0\.1:\d+)/.exec(out)?.[1], { timeoutMs: 20_000, what: `operator ${identity} to start (log: ${out.slice(-500)})` });
  return {
    identity,
    child,
    http: `http://${http}`,
    logs: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface CollectorView {
  metadata: { name: string; generation: number; uid: string };
  status?: { conditions?: Condition[]; readyReplicas?: number; replicas?: number; observedGeneration?: number; configHash?: string };
}

export async function getCollector(cluster: TestCluster, ns: string, name: string): Promise<CollectorView> {
  return JSON.parse(await cluster.kubectl(['get', 'collector', name, '-n', ns, '-o', 'json'])) as CollectorView;
}

export function condition(c: CollectorView, type: string): Condition | undefined {
  return c.status?.conditions?.find((x) => x.type === type);
}

export interface PodView {
  name: string;
  ip: string;
  ready: boolean;
  containers: Record<string, { id: string; restarts: number }>;
}

export async function listPods(cluster: TestCluster, ns: string, instance: string): Promise<PodView[]> {
  const list = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${instance}`, '-o', 'json'])) as {
    items: Array<{
      metadata: { name: string; deletionTimestamp?: string };
      status?: { podIP?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ name: string; containerID?: string; restartCount: number }> };
    }>;
  };
  return list.items
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => ({
      name: p.metadata.name,
      ip: p.status?.podIP ?? '',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      containers: Object.fromEntries((p.status?.containerStatuses ?? []).map((c) => [c.name, { id: c.containerID ?? '', restarts: c.restartCount }])),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** GET over a fresh connection (no keep-alive socket outlives the journey). */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

/** Component ids a collector pod runs (`/api/v0/web/components`). */
export async function componentIds(podIp: string): Promise<string[]> {
  const url = `http://${podIp}:12345/api/v0/web/components`;
  const { status, body } = await httpGet(url);
  if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}`);
  return (JSON.parse(body) as Array<{ id: string }>).map((c) => c.id).sort();
}

/** A Collector manifest for `kubectl apply -f -`. */
export function collectorYaml(ns: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name, namespace: ns }, spec });
}

export async function applyCrd(cluster: TestCluster): Promise<void> {
  await cluster.kubectl(['apply', '-f', path.join(repoRoot(), 'crds/collectors.alloy.dev.yaml')]);
  await waitFor(async () => (await cluster.runKubectl(['get', 'collectors', '-A'])).code === 0, { timeoutMs: 20_000, what: 'the Collector CRD to be served' });
}
