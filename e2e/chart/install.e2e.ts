/**
 * Journey: `helm install` (render + kubectl apply) into the dev cluster, pods Ready; `helm
 * upgrade` with a changed alloy.configMap.content reloads in place (same container IDs and
 * restart counts, new component active); a changed image tag rolls the pods.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helmTemplateOk } from '../../tools/helm-template/helm-template.js';
import { clusterDescribe, componentIds, eventually, pods, startCluster, type Cluster, type PodState } from './dev-cluster.js';

const NS = `chart-e2e-${process.pid}`;
const SELECTOR = 'app.kubernetes.io/instance=alloy,app.kubernetes.io/name=alloy';

function values(content: string, tag?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-e2e-'));
  const file = path.join(dir, 'values.yaml');
  const indented = content.split('\n').map((l) => `      ${l}`).join('\n');
  fs.writeFileSync(file, `controller:\n  type: deployment\nalloy:\n  configMap:\n    content: |-\n${indented}\n${tag !== undefined ? `image:\n  tag: ${tag}\n` : ''}`);
  return file;
}

function upgrade(cluster: Cluster, valuesFile: string): void {
  const rendered = helmTemplateOk(['alloy', 'charts/alloy', '--namespace', NS, '-f', valuesFile, '--is-upgrade']);
  cluster.kubectl(['apply', '-n', NS, '-f', '-'], rendered);
}

const V1 = 'logging {\n  level = "info"\n}';
const V2 = 'logging {\n  level = "debug"\n}\n\nprometheus.exporter.self "chart_e2e" { }';

clusterDescribe()('chart install and upgrade on the dev cluster', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
    cluster.kubectl(['create', 'namespace', NS]);
  }, 90_000);
  afterAll(async () => {
    try {
      cluster.kubectl(['delete', 'namespace', NS, '--wait=false']);
    } finally {
      await cluster.stop();
    }
  }, 30_000);

  let before: PodState[];

  test('install: pods become Ready', async () => {
    upgrade(cluster, values(V1));
    before = await eventually('alloy pod Ready', () => {
      const p = pods(cluster, NS, SELECTOR);
      return p.length === 1 && p[0]!.ready ? p : undefined;
    });
    expect(Object.keys(before[0]!.containers).sort()).toStrictEqual(['alloy', 'config-reloader']);
  }, 90_000);

  test('upgrade with new alloy.configMap.content: config reloaded in place, no restart', async () => {
    upgrade(cluster, values(V2));
    const ip = before[0]!.podIP!;
    await eventually('new component active', async () => ((await componentIds(ip)).includes('prometheus.exporter.self.chart_e2e') ? true : undefined), 60_000);
    const after = pods(cluster, NS, SELECTOR);
    expect(after.map((p) => [p.uid, p.containers])).toStrictEqual(before.map((p) => [p.uid, p.containers]));
  }, 90_000);

  test('upgrade with a new image tag: pods roll', async () => {
    upgrade(cluster, values(V2, 'v0.0.2-e2e'));
    const rolled = await eventually('pods replaced', () => {
      const p = pods(cluster, NS, SELECTOR);
      return p.length === 1 && p[0]!.ready && p[0]!.uid !== before[0]!.uid ? p : undefined;
    }, 90_000);
    expect(rolled[0]!.uid).not.toBe(before[0]!.uid);
  }, 120_000);
});
