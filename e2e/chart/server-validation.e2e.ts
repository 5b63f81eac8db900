/**
 * Every ci/*-values.yaml scenario passes the API server's own validation (`kubectl apply
 * --dry-run=server`: schemas plus semantic checks such as names, labels and selectors) on the
 * dev cluster. Objects of APIs the cluster does not serve (prometheus-operator's ServiceMonitor)
 * are left out and listed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { helmTemplateOk, parseManifests, REPO_ROOT } from '../../tools/helm-template/helm-template.js';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { unavailableReason } from './journey.js';

const SCENARIOS = fs.readdirSync(path.join(REPO_ROOT, 'charts/alloy/ci')).filter((f) => f.endsWith('-values.yaml')).sort();
const UNSERVED = new Set(['monitoring.coreos.com/v1']);

(unavailableReason() === undefined ? describe : describe.skip)('kubectl apply --dry-run=server of every chart scenario', () => {
  let cluster!: TestCluster;
  beforeAll(async () => {
    cluster = await useCluster();
    await cluster.kubectl(['create', 'namespace', 'monitoring']);
  }, 60_000);
  afterAll(async () => {
    if (cluster !== undefined) await cluster.stop();
  }, 60_000);

  test.each(SCENARIOS)('%s is accepted by the API server', async (scenario) => {
    const manifests = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--include-crds', '-f', `charts/alloy/ci/${scenario}`]));
    const served = manifests.filter((m) => !UNSERVED.has(String(m.object['apiVersion'])));
    const input = served.map((m) => `---\n${stringify(m.object)}`).join('');
    const r = await cluster.runKubectl(['apply', '--dry-run=server', '-f', '-'], input);
    expect({ scenario, code: r.code, stderr: r.stderr }).toStrictEqual({ scenario, code: 0, stderr: '' });
    expect(r.stdout.trim().split('\n')).toHaveLength(served.length);
  }, 60_000);
});
