/**
 * Every chart scenario (ci/*-values.yaml and the vendored upstream cases) passes the API server's own validation (`kubectl apply
 * --dry-run=server`: schemas plus semantic checks such as names, labels and selectors) on the
 * dev cluster. Objects of APIs the cluster does not serve (prometheus-operator's ServiceMonitor)
 * are left out and listed.
 */
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { unavailableReason } from './journey.js';
import { INVALID_SCENARIOS, SCENARIOS, servedScenario, unknownFields } from './scenarios.js';

(unavailableReason() === undefined ? describe : describe.skip)('kubectl apply --dry-run=server of every chart scenario', () => {
  let cluster!: TestCluster;
  beforeAll(async () => {
    cluster = await useCluster();
    await cluster.kubectl(['create', 'namespace', 'monitoring']);
  }, 60_000);
  afterAll(async () => {
    if (cluster !== undefined) await cluster.stop();
  }, 60_000);

  test.each(SCENARIOS)('%s is accepted by the API server (or refused only for the invalid fields of upstream\'s own values)', async (scenario) => {
    const { yaml, count, namespaces } = servedScenario(scenario);
    for (const ns of namespaces) {
      const c = await cluster.runKubectl(['create', 'namespace', ns]);
      if (c.code !== 0 && !c.stderr.includes('AlreadyExists')) throw new Error(`kubectl create namespace ${ns}: ${c.stderr}`);
    }
    const r = await cluster.runKubectl(['apply', '--dry-run=server', '-f', '-'], yaml);
    const invalid = INVALID_SCENARIOS.get(scenario);
    if (invalid !== undefined) {
      // Upstream's own values for this case are not valid objects; the refusal names exactly those fields.
      expect({ code: r.code === 0 ? 0 : 'refused', unknown: unknownFields(r.stderr) }).toStrictEqual({ code: 'refused', unknown: [...invalid].sort() });
      return;
    }
    expect({ scenario, code: r.code, stderr: r.stderr }).toStrictEqual({ scenario, code: 0, stderr: '' });
    expect(r.stdout.trim().split('\n')).toHaveLength(count);
  }, 60_000);
});
