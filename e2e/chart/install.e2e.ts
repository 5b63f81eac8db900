/**
 * Journey: `helm install` (render with bin/helm-template + kubectl apply) into the dev cluster,
 * pods Ready; `helm upgrade` with a changed alloy.configMap.content reloads in place (same pod,
 * container IDs and restart counts; the new component is active); a changed image tag rolls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helmTemplateOk } from '../../tools/helm-template/helm-template.js';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { componentIds, eventually, pods, unavailableReason, waitReady, type PodState } from './journey.js';

const SELECTOR = 'app.kubernetes.io/instance=alloy,app.kubernetes.io/name=alloy';
const V1 = 'logging {\n  level = "info"\n}';
const V2 = 'logging {\n  level = "debug"\n}\n\nprometheus.exporter.self "chart_e2e" { }';

function values(content: string, tag?: string, reloader = true): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-e2e-'));
  const file = path.join(dir, 'values.yaml');
  const indented = content.split('\n').map((l) => `      ${l}`).join('\n');
  fs.writeFileSync(file, `controller:\n  type: deployment\nalloy:\n  configMap:\n    content: |-\n${indented}\n${tag !== undefined ? `image:\n  tag: ${tag}\n` : ''}${reloader ? '' : 'configReloader:\n  enabled: false\n'}`);
  return file;
}

(unavailableReason() === undefined ? describe : describe.skip)('chart install and upgrade on the dev cluster', () => {
  let cluster!: TestCluster;
  let ns = '';
  let before: PodState[] = [];
  const helmUpgrade = async (valuesFile: string): Promise<void> => {
    const rendered = helmTemplateOk(['alloy', 'charts/alloy', '--namespace', ns, '-f', valuesFile, '--is-upgrade', '--include-crds']);
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], rendered);
  };

  beforeAll(async () => {
    // No operator touches these pods after a config change: a real kubelet would take 60-90 s,
    // so this journey shortens the pod sync period explicitly.
    cluster = await useCluster({ podSyncPeriodMs: 1000 });
    ns = await cluster.namespace('chart');
  }, 60_000);
  afterAll(async () => {
    if (cluster !== undefined) {
      await cluster.runKubectl(['delete', 'clusterrole,clusterrolebinding', 'alloy', '--ignore-not-found']);
      await cluster.stop();
    }
  }, 60_000);

  test('install: the pod becomes Ready with containers alloy and config-reloader', async () => {
    await helmUpgrade(values(V1));
    before = await waitReady(cluster, ns, SELECTOR, 1);
    expect(Object.keys(before[0]!.containers).sort()).toStrictEqual(['alloy', 'config-reloader']);
  }, 90_000);

  test('upgrade with new alloy.configMap.content: config reloaded in place, no restart', async () => {
    await helmUpgrade(values(V2));
    await eventually('new component active', async () => ((await componentIds(cluster, ns, before[0]!.name)).includes('prometheus.exporter.self.chart_e2e') ? true : undefined), 60_000);
    const after = await pods(cluster, ns, SELECTOR);
    expect(after.map((p) => [p.uid, p.containers])).toStrictEqual(before.map((p) => [p.uid, p.containers]));
  }, 90_000);

  test('upgrade with a new image tag: the pod is replaced', async () => {
    await helmUpgrade(values(V2, 'v0.0.2-e2e'));
    const rolled = await eventually('pod replaced and Ready', async () => {
      const p = await pods(cluster, ns, SELECTOR);
      return p.length === 1 && p[0]!.ready && p[0]!.uid !== before[0]!.uid ? p : undefined;
    }, 90_000);
    expect(rolled[0]!.uid).not.toBe(before[0]!.uid);
  }, 120_000);

  test('alloy.secret: a config in a Secret reloads in place too', async () => {
    const ns2 = await cluster.namespace('chart-secret');
    const secretValues = (content: string): string => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chart-secret-')), 'values.yaml');
      fs.writeFileSync(file, `controller:\n  type: deployment\nalloy:\n  secret:\n    create: true\n    content: |-\n${content.split('\n').map((l) => `      ${l}`).join('\n')}\n`);
      return file;
    };
    const apply = async (file: string): Promise<void> => {
      await cluster.kubectl(['apply', '-n', ns2, '-f', '-'], helmTemplateOk(['alloy', 'charts/alloy', '--namespace', ns2, '-f', file, '--include-crds']));
    };
    await apply(secretValues(V1));
    const first = await waitReady(cluster, ns2, SELECTOR, 1);
    await apply(secretValues(V2));
    await eventually('new component active', async () => ((await componentIds(cluster, ns2, first[0]!.name)).includes('prometheus.exporter.self.chart_e2e') ? true : undefined), 60_000);
    expect((await pods(cluster, ns2, SELECTOR)).map((p) => [p.uid, p.containers])).toStrictEqual(first.map((p) => [p.uid, p.containers]));
  }, 150_000);

  test('with configReloader.enabled: false a config change rolls the pod instead (checksum/config)', async () => {
    await helmUpgrade(values(V2, 'v0.0.2-e2e', false));
    const single = await eventually('pod without the reloader Ready', async () => {
      const p = await pods(cluster, ns, SELECTOR);
      return p.length === 1 && p[0]!.ready && Object.keys(p[0]!.containers).join() === 'alloy' ? p : undefined;
    }, 90_000);
    await helmUpgrade(values(V1, 'v0.0.2-e2e', false));
    await eventually('pod replaced after the config change', async () => {
      const p = await pods(cluster, ns, SELECTOR);
      return p.length === 1 && p[0]!.ready && p[0]!.uid !== single[0]!.uid ? p : undefined;
    }, 90_000);
  }, 200_000);
});
