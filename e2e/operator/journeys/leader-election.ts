/**
 * Journey 5: two operator replicas share a Lease. One leads and reconciles, the other stands by
 * (ready, writing nothing); SIGKILL the leader (no release) → the standby acquires the Lease after
 * it expires and reconciles a change made meanwhile.
 */
import type { TestCluster } from '../../cluster/harness/cluster.js';
import type { JourneyEnv } from '../../cluster/harness/journey.test-support.js';
import { waitFor } from '../../cluster/harness/wait.js';
import { applyCrd, collectorYaml, condition, getCollector, httpGet, startOperator, type OperatorProcess } from '../operator-harness.js';

const CONFIG = 'prometheus.exporter.self "alloy" { }\n';
const LEASE_FLAGS = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms'];

export function leaderElection(env: JourneyEnv): void {
  describe('operator: leader election with two replicas', () => {
    let cluster: TestCluster;
    let ns: string;
    const operators: OperatorProcess[] = [];

    beforeAll(async () => {
      cluster = env.cluster();
      ns = await cluster.namespace('op-leader');
      await applyCrd(cluster);
    });

    afterAll(async () => {
      for (const o of operators) await o.stop('SIGKILL');
      if (ns !== undefined) await cluster.dropNamespace(ns);
    });

    const holder = async (): Promise<string | undefined> => {
      const r = await cluster.runKubectl(['get', 'lease', 'alloy-operator', '-n', ns, '-o', 'jsonpath={.spec.holderIdentity}']);
      return r.code === 0 && r.stdout !== '' ? r.stdout : undefined;
    };

    it('journey 5: one replica leads; killing it hands over to the other, which reconciles a change', async () => {
      operators.push(await startOperator(cluster.kubeconfig, ns, 'op-a', LEASE_FLAGS), await startOperator(cluster.kubeconfig, ns, 'op-b', LEASE_FLAGS));
      const first = await waitFor(holder, { timeoutMs: 20_000, what: 'a Lease holder' });
      const leader = operators.find((o) => o.identity === first)!;
      const standby = operators.find((o) => o.identity !== first)!;

      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'ha', { config: CONFIG, replicas: 1, clustering: { enabled: false } }));
      await waitFor(async () => condition(await getCollector(cluster, ns, 'ha'), 'Ready')?.status === 'True', { timeoutMs: 60_000, intervalMs: 250, what: 'Ready=True under the first leader' });
      expect(leader.logs()).toContain('msg=applied');
      expect(standby.logs()).not.toContain('msg=applied');
      expect(standby.logs()).not.toContain('became leader');
      for (const o of operators) expect((await httpGet(`${o.http}/readyz`)).status).toBe(200);
      const metrics = (await httpGet(`${leader.http}/metrics`)).body;
      expect(metrics).toMatch(/leader_election_master_status\{name="alloy-operator"\} 1/);

      await leader.stop('SIGKILL');
      const killedAt = Date.now();
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'ha', { config: CONFIG, replicas: 2, clustering: { enabled: false } }));
      await waitFor(async () => (await holder()) === standby.identity, { timeoutMs: 30_000, intervalMs: 200, what: `${standby.identity} to take the Lease` });
      console.log(`standby took over ${Date.now() - killedAt} ms after the leader was killed (lease duration 4s)`);
      const c = await waitFor(
        async () => {
          const c = await getCollector(cluster, ns, 'ha');
          if (c.status?.observedGeneration === c.metadata.generation && c.status.readyReplicas === 2 && condition(c, 'Ready')?.status === 'True') return c;
          const pods = await cluster.kubectl(['get', 'statefulsets,pods', '-n', ns, '-o', 'wide']);
          throw new Error(`generation ${c.metadata.generation}, status ${JSON.stringify(c.status)}\n${pods}\nnew leader's log:\n${standby.logs().slice(-1500)}`);
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'the new leader to reconcile replicas=2' },
      );
      expect(c.status?.replicas).toBe(2);
      expect(standby.logs()).toContain('became leader');

      // Graceful stop: exit 0 and the Lease is handed back (empty holder) for the next replica.
      expect(await standby.stop('SIGTERM')).toBe(0);
      expect(await holder()).toBeUndefined();
      expect(standby.logs()).toContain('released the lease');
    });
  });
}
