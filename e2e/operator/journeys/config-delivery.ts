/**
 * Config edit → new config live in every pod, on a kubelet with a real kubelet's ConfigMap
 * timing (volumes re-projected on each pod's periodic sync, `env.podSyncPeriodMs` (60 s by default)
 * + up to 50 % jitter, or when the pod object changes). Two operators in one run, each in its own namespace: one nudges pods after
 * a config change (annotation `alloy.dev/config-hash`, the default), one does not
 * (`--nudge-pods=false`). "Live" = every pod reports the new config's `alloy_config_hash`.
 * Prints both latencies (the figures in operator/README.md).
 */
import type { TestCluster } from '../../cluster/harness/cluster.js';
import type { JourneyEnv } from '../../cluster/harness/journey.test-support.js';
import { waitFor } from '../../cluster/harness/wait.js';
import { podHashCandidates } from '../../../operator/src/controller/collector-reconciler.js';
import { parseConfigHash } from '../../../operator/src/controller/pod-config-probe.js';
import { applyCrd, collectorYaml, condition, getCollector, httpGet, listPods, startOperator, type OperatorProcess } from '../operator-harness.js';

const config = (level: string) => `logging {\n  level = "${level}"\n}\nprometheus.exporter.self "alloy" { }\n`;
const REPLICAS = 2;

export function configDelivery(env: JourneyEnv): void {
  describe('operator: config delivery on a kubelet with real ConfigMap timing', () => {
    let cluster: TestCluster;
    const operators: OperatorProcess[] = [];

    const namespaces: string[] = [];

    beforeAll(async () => {
      cluster = env.cluster();
      await applyCrd(cluster);
    });
    afterAll(async () => {
      for (const o of operators) await o.stop();
      for (const ns of namespaces) await cluster.dropNamespace(ns);
    });

    async function collectorWithOperator(prefix: string, operatorArgs: string[]): Promise<string> {
      const ns = await cluster.namespace(prefix);
      namespaces.push(ns);
      operators.push(await startOperator(cluster.kubeconfig, ns, `${prefix}-0`, operatorArgs));
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'metrics', { config: config('info'), replicas: REPLICAS }));
      await waitFor(
        async () => {
          const c = await getCollector(cluster, ns, 'metrics');
          return condition(c, 'Ready')?.status === 'True' && c.status?.readyReplicas === REPLICAS ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250, what: `${ns}: Collector Ready with ${REPLICAS} replicas` },
      );
      return ns;
    }

    /** Edits the config and returns ms until every pod reports it. */
    async function editToLive(ns: string, level: string, timeoutMs: number): Promise<number> {
      const want = podHashCandidates(config(level));
      const pods = await listPods(cluster, ns, 'metrics');
      expect(pods).toHaveLength(REPLICAS);
      const t0 = Date.now();
      await cluster.kubectl(['patch', 'collector', 'metrics', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { config: config(level) } })]);
      await waitFor(
        async () => {
          for (const p of pods) {
            const hash = parseConfigHash((await httpGet(`http://${p.ip}:12345/metrics`)).body);
            if (hash === undefined || !want.has(hash)) return undefined;
          }
          return true;
        },
        { timeoutMs, intervalMs: 50, what: `${ns}: config level=${level} live in all ${REPLICAS} pods` },
      );
      return Date.now() - t0;
    }

    it('GIVEN the nudge THEN an edit is live in every pod within seconds; without it the kubelet period decides (one run, both figures printed)', async () => {
      const [nudged, plain] = await Promise.all([collectorWithOperator('cfg-nudge', []), collectorWithOperator('cfg-plain', ['--nudge-pods=false'])]);
      const period = env.podSyncPeriodMs;
      // Without the nudge: the kubelet's periodic sync (1-1.5 periods after the pod started, then every period).
      const plainRun = editToLive(plain, 'debug', 2.5 * period);
      // With the nudge: each of three edits in a row live within a third of the kubelet's minimum period.
      const nudgedMs: number[] = [];
      for (const level of ['debug', 'warn', 'info']) nudgedMs.push(await editToLive(nudged, level, Math.min(20_000, period / 3)));
      const plainMs = await plainRun;
      console.log(
        `config edit → live in all ${REPLICAS} pods (${env.apiserver} API server, kubelet pod sync ${period / 1000} s + 50 % jitter): ` +
          `nudge on ${nudgedMs.map((m) => (m / 1000).toFixed(1)).join(' s, ')} s; nudge off ${(plainMs / 1000).toFixed(1)} s`,
      );
    });

    it('GIVEN a converged Collector WHEN it is reconciled again (metadata-only change) THEN the operator applies nothing: managedFields and the applied hash match', async () => {
      // The nudging operator's Collector (other journeys on a shared cluster have their own namespaces).
      const ns = namespaces.find((n) => n.startsWith('cfg-nudge-'))!;
      const op = operators.find((o) => o.identity === 'cfg-nudge-0')!;
      const reconciles = async (): Promise<number> => {
        const text = (await httpGet(`${op.http}/metrics`)).body;
        return [...text.matchAll(/^controller_runtime_reconcile_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      };
      const before = await reconciles();
      const logAt = op.logs().length;
      await cluster.kubectl(['annotate', 'collector', 'metrics', '-n', ns, `touch=${Date.now()}`, '--overwrite']);
      await waitFor(async () => ((await reconciles()) > before ? true : undefined), { timeoutMs: 20_000, what: 'a reconcile after the annotation' });
      const applied = op.logs().slice(logAt).split('\n').filter((l) => /msg=applied\b/.test(l));
      expect(applied).toStrictEqual([]);
    });
  });
}
