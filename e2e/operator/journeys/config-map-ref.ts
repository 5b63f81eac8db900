/**
 * A Collector reading its config from a user's ConfigMap (`configMapRef`): edits to that
 * ConfigMap are validated and reach the running pod by reload; a spec naming both `config` and
 * `configMapRef` is refused (by the API server's CEL rule, or by the operator as InvalidSpec).
 */
import type { TestCluster } from '../../cluster/harness/cluster.js';
import type { JourneyEnv } from '../../cluster/harness/journey.test-support.js';
import { waitFor } from '../../cluster/harness/wait.js';
import { applyCrd, collectorYaml, componentIds, condition, getCollector, listPods, startOperator, type OperatorProcess } from '../operator-harness.js';

const BASE = 'prometheus.exporter.self "alloy" { }\n';
const NEXT = `${BASE}
prometheus.relabel "from_user_cm" {
  forward_to = []
}
`;

const configMap = (ns: string, config: string) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'user-cfg', namespace: ns }, data: { 'main.alloy': config } });

export function configMapRef(env: JourneyEnv): void {
  describe('operator: Collector with configMapRef', () => {
    let cluster: TestCluster;
    let ns: string;
    let operator: OperatorProcess;

    beforeAll(async () => {
      cluster = env.cluster();
      ns = await cluster.namespace('op-cmref');
      await applyCrd(cluster);
      operator = await startOperator(cluster.kubeconfig, ns, 'op-cmref-0');
    });

    afterAll(async () => {
      await operator?.stop();
      if (ns !== undefined) await cluster.dropNamespace(ns);
    });

    it('GIVEN a user ConfigMap WHEN it is edited THEN the running pod reloads the validated config', async () => {
      await cluster.kubectl(['apply', '-f', '-'], configMap(ns, BASE));
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'cmref', { configMapRef: { name: 'user-cfg', key: 'main.alloy' }, replicas: 1, clustering: { enabled: false } }));
      await waitFor(async () => condition(await getCollector(cluster, ns, 'cmref'), 'Ready')?.status === 'True', { timeoutMs: 60_000, intervalMs: 250, what: 'Ready=True' });
      const [before] = await listPods(cluster, ns, 'cmref');

      await cluster.kubectl(['apply', '-f', '-'], configMap(ns, NEXT));
      await waitFor(async () => (await componentIds(before!.ip)).includes('prometheus.relabel.from_user_cm'), { timeoutMs: 30_000, intervalMs: 100, what: 'the edited ConfigMap to be live in the pod' });
      const [after] = await listPods(cluster, ns, 'cmref');
      expect(after!.containers).toStrictEqual(before!.containers);

      await cluster.kubectl(['apply', '-f', '-'], configMap(ns, `${NEXT}\nprometheus.relabel "broken" {\n`));
      const c = await waitFor(
        async () => {
          const c = await getCollector(cluster, ns, 'cmref');
          return condition(c, 'ConfigValid')?.status === 'False' ? c : undefined;
        },
        { timeoutMs: 30_000, what: 'ConfigValid=False for the broken user ConfigMap' },
      );
      expect(condition(c, 'ConfigValid')!.message).toMatch(/^ConfigMap user-cfg main\.alloy:\d+:\d+: /);
      expect(await componentIds(before!.ip)).toContain('prometheus.relabel.from_user_cm');
    });

    it('GIVEN both config and configMapRef THEN the spec is refused with the rule named', async () => {
      const r = await cluster.runKubectl(['apply', '-f', '-'], collectorYaml(ns, 'both', { config: BASE, configMapRef: { name: 'user-cfg' } }));
      if (r.code !== 0) {
        expect(r.stderr).toContain('set exactly one of spec.config or spec.configMapRef');
        return;
      }
      const c = await waitFor(
        async () => {
          const c = await getCollector(cluster, ns, 'both');
          return condition(c, 'ConfigValid')?.reason === 'InvalidSpec' ? c : undefined;
        },
        { timeoutMs: 30_000, what: 'ConfigValid=False reason=InvalidSpec' },
      );
      expect(condition(c, 'ConfigValid')!.message).toContain('set exactly one of spec.config or spec.configMapRef');
      expect((await cluster.kubectl(['get', 'statefulsets', '-n', ns, '-l', 'app.kubernetes.io/instance=both', '-o', 'name'])).trim()).toBe('');
    });

    it('GIVEN a Kubernetes field the API server rejects THEN Degraded=ApplyFailed carries the server message; fixing it recovers', async () => {
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'badres', { config: BASE, replicas: 1, clustering: { enabled: false }, resources: { limits: { cpu: 'lots' } } }));
      const c = await waitFor(
        async () => {
          const c = await getCollector(cluster, ns, 'badres');
          return condition(c, 'Degraded')?.reason === 'ApplyFailed' ? c : undefined;
        },
        { timeoutMs: 30_000, what: 'Degraded=True reason=ApplyFailed' },
      );
      // Both the real and the test API server refuse it while decoding, with this text.
      expect(condition(c, 'Degraded')!.message).toMatch(/StatefulSet .*badres.*quantities must match the regular expression/);
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'badres', { config: BASE, replicas: 1, clustering: { enabled: false }, resources: { limits: { cpu: '100m' } } }));
      await waitFor(async () => condition(await getCollector(cluster, ns, 'badres'), 'Ready')?.status === 'True', { timeoutMs: 60_000, intervalMs: 250, what: 'Ready=True after fixing resources' });
    });
  });
}
