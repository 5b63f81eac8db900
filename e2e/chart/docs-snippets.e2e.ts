/**
 * The docs' Helm procedures on the dev cluster, each installed as its own release: default values
 * (DaemonSet), clustering (StatefulSet + headless Service), Method 1 (config in values), Method 2
 * (`kubectl create configmap … --from-file` run verbatim, then `configMap.create: false`) and the
 * non-root security contexts. Every install must reach Ready.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helmTemplateOk } from '../../tools/helm-template/helm-template.js';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL } from '../cluster/harness/kubectl.js';
import { spawn } from 'node:child_process';
import { reach } from '../cluster/harness/reach.js';
import { componentIds, eventually, unavailableReason, waitReady, type PodState } from './journey.js';

const DOCS_CONFIG = '// Write your Alloy config here:\nlogging {\n  level = "info"\n  format = "logfmt"\n}\n';

(unavailableReason() === undefined ? describe : describe.skip)('docs Helm procedures on the dev cluster', () => {
  let cluster!: TestCluster;
  beforeAll(async () => {
    cluster = await useCluster();
  }, 60_000);
  afterAll(async () => {
    if (cluster !== undefined) await cluster.stop();
  }, 60_000);

  // The chart's default config is upstream's (discovery.kubernetes in-cluster). The dev cluster
  // serves its API over plain HTTP and issues no service account tokens, so in-cluster clients
  // cannot connect there: installs that would use the default config get this overlay instead.
  const devClusterConfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'docs-config-')), 'values.yaml');
  fs.writeFileSync(devClusterConfig, `alloy:\n  configMap:\n    content: |-\n${DOCS_CONFIG.trimEnd().split('\n').map((l) => `      ${l}`).join('\n')}\n`);
  const install = async (release: string, ns: string, valuesFile: string, overlay?: string): Promise<void> => {
    const rendered = helmTemplateOk([release, 'charts/alloy', '--namespace', ns, '-f', valuesFile, ...(overlay ? ['-f', overlay] : []), '--include-crds']);
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], rendered);
  };
  const ready = (ns: string, release: string, count: number): Promise<PodState[]> => waitReady(cluster, ns, `app.kubernetes.io/instance=${release}`, count);

  test('default values: a DaemonSet pod with alloy and config-reloader becomes Ready', async () => {
    const ns = await cluster.namespace('docs-default');
    const defaults = helmTemplateOk(['docs-default', 'charts/alloy', '--namespace', ns, '-f', 'charts/alloy/ci/default-values.yaml']);
    expect(defaults).toContain('discovery.kubernetes "endpointslices" {');
    await install('docs-default', ns, 'charts/alloy/ci/default-values.yaml', devClusterConfig);
    const p = await ready(ns, 'docs-default', 1);
    expect(Object.keys(p[0]!.containers).sort()).toStrictEqual(['alloy', 'config-reloader']);
  }, 120_000);

  test('clustering on an existing statefulset install: helm upgrade adds the headless Service and both pods join one cluster', async () => {
    const ns = await cluster.namespace('docs-cluster');
    // "Before you begin": an existing installation with controller.type statefulset, then
    // `helm upgrade -f values.yaml` adding alloy.clustering.enabled.
    const existing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'docs-cluster-')), 'values.yaml');
    fs.writeFileSync(existing, 'controller:\n  type: statefulset\n  replicas: 2\n');
    await install('docs-cluster', ns, existing, devClusterConfig);
    await ready(ns, 'docs-cluster', 2);
    await install('docs-cluster', ns, 'charts/alloy/ci/clustering-values.yaml', devClusterConfig);
    await eventually('pods rolled to the clustered spec', async () => {
      const sts = JSON.parse(await cluster.kubectl(['get', 'statefulset', '-n', ns, 'docs-cluster-alloy', '-o', 'json'])) as { status: { updatedReplicas?: number; readyReplicas?: number; currentRevision?: string; updateRevision?: string } };
      const st = sts.status;
      return st.updatedReplicas === 2 && st.readyReplicas === 2 && st.currentRevision === st.updateRevision ? true : undefined;
    }, 90_000);
    const p = await ready(ns, 'docs-cluster', 2);
    expect(p.map((x) => x.name).sort()).toStrictEqual(['docs-cluster-alloy-0', 'docs-cluster-alloy-1']);
    const svc = JSON.parse(await cluster.kubectl(['get', 'service', '-n', ns, 'docs-cluster-alloy-cluster', '-o', 'json'])) as { spec: { clusterIP: string } };
    expect(svc.spec.clusterIP).toBe('None');
    // "Click Clustering in the navigation bar. Ensure that all expected nodes appear": the UI's
    // data, /api/v0/web/peers, lists both pods on each of them.
    for (const pod of p) {
      await eventually(`${pod.name} sees 2 peers`, async () => {
        const r = await reach(cluster, ns, `pod/${pod.name}`, 12345);
        try {
          const res = await fetch(`${r.url}/api/v0/web/peers`, { signal: AbortSignal.timeout(3000) });
          const peers = (await res.json()) as { name: string }[];
          return peers.length === 2 ? peers : undefined;
        } finally {
          r.close();
        }
      }, 60_000);
    }
  }, 120_000);

  test('Method 1: alloy.configMap.content with a logging block runs', async () => {
    const ns = await cluster.namespace('docs-m1');
    await install('docs-m1', ns, 'charts/alloy/ci/config-content-values.yaml');
    const p = await ready(ns, 'docs-m1', 1);
    expect(await componentIds(cluster, ns, p[0]!.name)).toStrictEqual([]);
  }, 120_000);

  test('Method 2: `kubectl create configmap … "--from-file=config.alloy=./config.alloy"` then configMap.create: false', async () => {
    const ns = await cluster.namespace('docs-m2');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-m2-'));
    fs.writeFileSync(path.join(dir, 'config.alloy'), DOCS_CONFIG);
    // The docs' command, verbatim but for <NAMESPACE>, run from the directory holding config.alloy.
    const created = await new Promise<string>((resolve, reject) => {
      const child = spawn(KUBECTL, ['create', 'configmap', '--namespace', ns, 'alloy-config', '--from-file=config.alloy=./config.alloy'], { cwd: dir, env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl create configmap failed: ${out}`))));
    });
    expect(created).toContain('configmap/alloy-config created');
    await install('docs-m2', ns, 'charts/alloy/ci/existing-config-values.yaml');
    await ready(ns, 'docs-m2', 1);
  }, 120_000);

  test('non-root snippet: alloy as 473:473 and the reloader as 65534 become Ready', async () => {
    const ns = await cluster.namespace('docs-nonroot');
    await install('docs-nonroot', ns, 'charts/alloy/ci/nonroot-values.yaml', devClusterConfig);
    await ready(ns, 'docs-nonroot', 1);
  }, 120_000);
});
