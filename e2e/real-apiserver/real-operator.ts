/**
 * Helpers for journeys on `useCluster({ apiserver: 'real' })`: deploy the operator exactly as
 * `kustomize/base` renders it (its pod, ServiceAccount and RBAC), and read a container's log from
 * our kubelet.
 */
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import type { TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';

/** Namespace `kustomize/base` deploys the operator to. */
export const OPERATOR_NAMESPACE = 'alloy-system';

/** The container log of `ns/pod` (its first container, current instance) as the kubelet wrote it; '' when none. */
export async function podLog(cluster: TestCluster, ns: string, pod: string): Promise<string> {
  const stream = cluster.real!.kubelet.logProvider(ns, pod, undefined, { follow: false, previous: false });
  if (!stream) return '';
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** The last 3000 characters of the operator pod's log (for failure messages). */
export async function operatorLog(cluster: TestCluster): Promise<string> {
  const pods = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', OPERATOR_NAMESPACE, '-l', 'app.kubernetes.io/component=operator', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
  const name = pods.items[0]?.metadata.name;
  return name ? (await podLog(cluster, OPERATOR_NAMESPACE, name)).slice(-3000) : '(no operator pod)';
}

/** Applies `kubectl kustomize kustomize/base` server-side and waits for the operator Deployment to be ready. */
export async function deployOperatorFromKustomize(cluster: TestCluster, timeoutMs = 90_000): Promise<void> {
  const rendered = execFileSync(KUBECTL, ['kustomize', `${repoRoot()}/kustomize/base`], { encoding: 'utf8' });
  const docs = parseAllDocuments(rendered).map((d) => d.toJSON() as { kind: string } | null).filter((d) => d !== null);
  if (!docs.some((d) => d.kind === 'Deployment')) throw new Error('kustomize/base renders no Deployment');
  await cluster.kubectl(['apply', '--server-side', '--field-manager=journey', '-f', '-'], docs.map((d) => `---\n${JSON.stringify(d)}\n`).join(''));
  let events = '';
  await waitFor(async () => {
    const r = await cluster.runKubectl(['get', 'deployment', 'alloy-operator', '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.status.readyReplicas}']);
    if (r.stdout.trim() === '1') return true;
    events = await cluster.kubectl(['get', 'events', '-n', OPERATOR_NAMESPACE, '-o', 'custom-columns=R:.reason,M:.message']).catch(() => '');
    return undefined;
  }, { timeoutMs, intervalMs: 250, what: 'the operator Deployment ready' }).catch((e: unknown) => {
    throw new Error(`${String(e)}\nevents:\n${events}`);
  });
}
