/**
 * Journey: one `helm install` with operator.enabled, then `kubectl apply` of a Collector works:
 * the CRD is established, the operator pod is Ready and reconciles the Collector (from
 * kustomize/overlays/collector) into Ready collector pods; editing its config.alloy and
 * re-applying reloads them in place.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helmTemplateOk, REPO_ROOT } from '../../tools/helm-template/helm-template.js';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { componentIds, eventually, pods, unavailableReason, waitReady, type PodState } from './journey.js';

const COLLECTOR_PODS = 'app.kubernetes.io/instance=alloy,app.kubernetes.io/name=alloy';

(unavailableReason() === undefined ? describe : describe.skip)('chart operator.enabled on the dev cluster', () => {
  let cluster!: TestCluster;
  let ns = '';
  let overlay = '';
  let before: PodState[] = [];
  beforeAll(async () => {
    cluster = await useCluster();
    ns = await cluster.namespace('alloy-op');
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-overlay-'));
    fs.cpSync(path.join(REPO_ROOT, 'kustomize/overlays/collector'), overlay, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    if (cluster === undefined) return;
    await cluster.runKubectl(['delete', '-k', overlay, '--wait=false']);
    await cluster.stop();
  }, 60_000);

  test('helm install: CRD established and the operator pod Ready', async () => {
    const rendered = helmTemplateOk(['op', 'charts/alloy', '--namespace', ns, '--set', 'operator.enabled=true', '--include-crds']);
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], rendered);
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/collectors.alloy.dev', '--timeout=30s']);
    await waitReady(cluster, ns, 'app.kubernetes.io/component=operator', 1);
  }, 120_000);

  test('kubectl apply -k overlays/collector: the operator runs the Collector', async () => {
    await cluster.kubectl(['apply', '-k', overlay]);
    before = await waitReady(cluster, 'monitoring', COLLECTOR_PODS, 1);
  }, 120_000);

  test('edit config.alloy and re-apply: reloaded in place, no rollout', async () => {
    fs.appendFileSync(path.join(overlay, 'config.alloy'), '\nprometheus.exporter.self "operator_e2e" { }\n');
    await cluster.kubectl(['apply', '-k', overlay]);
    await eventually('new component active', async () => ((await componentIds(cluster, 'monitoring', before[0]!.name)).includes('prometheus.exporter.self.operator_e2e') ? true : undefined), 60_000);
    const after = await pods(cluster, 'monitoring', COLLECTOR_PODS);
    expect(after.map((p) => [p.uid, p.containers])).toStrictEqual(before.map((p) => [p.uid, p.containers]));
  }, 90_000);
});
