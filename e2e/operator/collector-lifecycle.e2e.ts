/**
 * Journeys 1-4 and 6 of the operator issue on one cluster and one operator process:
 * apply → 3 Ready pods; config change reloads in place (same containers, same revision);
 * broken config is rejected with line:col while pods keep the old pipeline, fixing recovers;
 * scale 1 → 3 → 1 through the scale subresource; delete removes everything; every rendered pod
 * passes the Pod Security "restricted" checker.
 */
import { jest } from '@jest/globals';
import type { TestCluster } from '../cluster/harness/cluster.js';
import { useCluster } from '../cluster/harness/cluster.js';
import { waitFor } from '../cluster/harness/wait.js';
import { checkRestricted } from '../../operator/src/pod-security/restricted.js';
import { configContentHash } from '../../operator/src/controller/collector-reconciler.js';
import {
  applyCrd,
  collectorYaml,
  componentIds,
  condition,
  getCollector,
  httpGet,
  listPods,
  startOperator,
  unavailableReason,
  type OperatorProcess,
} from './operator-harness.js';

const skip = unavailableReason();
const d = skip === undefined ? describe : describe.skip;

const BASE = `logging {
  level  = "info"
  format = "logfmt"
}

prometheus.exporter.self "alloy" { }
`;
const WITH_SCRAPE = `${BASE}
prometheus.scrape "self" {
  targets    = prometheus.exporter.self.alloy.targets
  forward_to = []
}
`;
const BROKEN = WITH_SCRAPE.replace('level  = "info"', 'level  = "loud"');
const FIXED = `${BASE}
prometheus.relabel "fixed" {
  forward_to = []
}
`;

jest.setTimeout(180_000);

d('operator: Collector lifecycle on a cluster', () => {
  let cluster: TestCluster;
  let ns: string;
  let operator: OperatorProcess;
  const name = 'metrics';

  const readyPods = async (n: number) =>
    waitFor(
      async () => {
        const pods = await listPods(cluster, ns, name);
        return pods.length === n && pods.every((p) => p.ready) ? pods : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `${n} Ready pods of ${name}` },
    );
  const everyPodRuns = async (component: string, present: boolean) => {
    const pods = await listPods(cluster, ns, name);
    return waitFor(
      async () => {
        for (const p of pods) if ((await componentIds(p.ip)).includes(component) !== present) return false;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `${component} ${present ? 'running' : 'gone'} in every pod` },
    );
  };

  beforeAll(async () => {
    cluster = await useCluster();
    ns = await cluster.namespace('op-life');
    await applyCrd(cluster);
    operator = await startOperator(cluster.kubeconfig, ns, 'op-life-0');
  });

  afterAll(async () => {
    if (operator !== undefined) {
      const metrics = (await httpGet(`${operator.http}/metrics`)).body;
      const num = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? NaN);
      const count = num(/^controller_runtime_reconcile_time_seconds_count\{controller="collector"\} (\S+)$/m);
      const sum = num(/^controller_runtime_reconcile_time_seconds_sum\{controller="collector"\} (\S+)$/m);
      const errors = num(/^controller_runtime_reconcile_errors_total\{controller="collector"\} (\S+)$/m);
      const failures = operator.logs().split('\n').filter((l) => l.includes('reconcile failed'));
      console.log(`operator: ${count} reconciles, mean ${((sum / count) * 1000).toFixed(1)} ms, ${Number.isNaN(errors) ? 0 : errors} errors${failures.map((f) => `\n  ${f}`).join('')}`);
    }
    await operator?.stop();
    await cluster?.stop();
  });

  it('journey 1: kubectl apply a Collector → objects created → 3 pods Ready → Ready=True, readyReplicas=3', async () => {
    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config: BASE, replicas: 3 }));
    const c = await waitFor(
      async () => {
        const c = await getCollector(cluster, ns, name);
        return condition(c, 'Ready')?.status === 'True' && c.status?.readyReplicas === 3 ? c : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'Collector Ready=True with readyReplicas=3' },
    );
    expect(condition(c, 'ConfigValid')).toMatchObject({ status: 'True' });
    expect(condition(c, 'Degraded')).toMatchObject({ status: 'False' });
    expect(c.status?.observedGeneration).toBe(c.metadata.generation);
    const owned = JSON.parse(await cluster.kubectl(['get', 'statefulsets,services,configmaps,serviceaccounts', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json'])) as {
      items: Array<{ kind: string; metadata: { name: string; ownerReferences?: Array<{ uid: string; controller?: boolean }> } }>;
    };
    expect(owned.items.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toStrictEqual([
      'ConfigMap/metrics-config',
      'Service/metrics',
      'Service/metrics-cluster',
      'ServiceAccount/metrics',
      'StatefulSet/metrics',
    ]);
    for (const o of owned.items) expect(o.metadata.ownerReferences).toStrictEqual([expect.objectContaining({ uid: c.metadata.uid, controller: true })]);
    const pods = await readyPods(3);
    for (const p of pods) expect(await componentIds(p.ip)).toContain('prometheus.exporter.self.alloy');
  });

  it('journey 6: every pod the operator rendered passes Pod Security "restricted"', async () => {
    const live = JSON.parse(await cluster.kubectl(['get', 'statefulsets,pods', '-n', ns, '-o', 'json'])) as { items: unknown[] };
    expect(live.items.length).toBeGreaterThanOrEqual(4);
    expect(checkRestricted(live.items)).toStrictEqual([]);
  });

  it('journey 2: a config change is live in every pod without a restart or a new revision', async () => {
    const stsBefore = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { metadata: { generation: number }; status: { updateRevision: string } };
    const before = await listPods(cluster, ns, name);
    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config: WITH_SCRAPE, replicas: 3 }));
    const started = Date.now();
    await everyPodRuns('prometheus.scrape.self', true);
    console.log(`config change live in all 3 pods ${Date.now() - started} ms after kubectl apply returned`);
    const after = await listPods(cluster, ns, name);
    expect(after.map((p) => [p.name, p.containers])).toStrictEqual(before.map((p) => [p.name, p.containers]));
    const stsAfter = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as typeof stsBefore;
    expect(stsAfter.status.updateRevision).toBe(stsBefore.status.updateRevision);
    expect(stsAfter.metadata.generation).toBe(stsBefore.metadata.generation);
    // status.configHash: sha256 of the config the pods run (Alloy's alloy_config_hash), once all reloaded.
    await waitFor(
      async () => {
        const c = await getCollector(cluster, ns, name);
        return c.status?.observedGeneration === c.metadata.generation && c.status.configHash === configContentHash(WITH_SCRAPE) && condition(c, 'Progressing')?.status === 'False';
      },
      { timeoutMs: 30_000, what: 'status.configHash of the new config with Progressing=False' },
    );
    const cm = JSON.parse(await cluster.kubectl(['get', 'configmap', 'metrics-config', '-n', ns, '-o', 'json'])) as { data: Record<string, string> };
    expect(cm.data['config.alloy']).toBe(WITH_SCRAPE);
  });

  it('journey 3: a broken config is rejected naming line and column; pods keep the old pipeline; fixing recovers', async () => {
    const before = await listPods(cluster, ns, name);
    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config: BROKEN, replicas: 3 }));
    const c = await waitFor(
      async () => {
        const c = await getCollector(cluster, ns, name);
        return condition(c, 'ConfigValid')?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 30_000, what: 'ConfigValid=False' },
    );
    expect(condition(c, 'ConfigValid')).toMatchObject({ reason: 'InvalidConfig' });
    expect(condition(c, 'ConfigValid')!.message).toMatch(/config\.alloy:2:\d+: .*level/);
    expect(condition(c, 'Degraded')).toMatchObject({ status: 'True', reason: 'ConfigRejected' });
    const events = await cluster.kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name}`, '-o', 'json']);
    expect(events).toContain('InvalidConfig');
    const cm = JSON.parse(await cluster.kubectl(['get', 'configmap', 'metrics-config', '-n', ns, '-o', 'json'])) as { data: Record<string, string> };
    expect(cm.data['config.alloy']).toBe(WITH_SCRAPE);
    for (const p of await listPods(cluster, ns, name)) expect(await componentIds(p.ip)).toContain('prometheus.scrape.self');
    expect((await listPods(cluster, ns, name)).map((p) => p.containers)).toStrictEqual(before.map((p) => p.containers));

    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config: FIXED, replicas: 3 }));
    await waitFor(
      async () => {
        const c = await getCollector(cluster, ns, name);
        return condition(c, 'ConfigValid')?.status === 'True' && condition(c, 'Degraded')?.status === 'False';
      },
      { timeoutMs: 30_000, what: 'ConfigValid=True after the fix' },
    );
    await everyPodRuns('prometheus.relabel.fixed', true);
    await everyPodRuns('prometheus.scrape.self', false);
  });

  it('a non-config spec change (podAnnotations) rolls the pods as usual', async () => {
    const before = await listPods(cluster, ns, name);
    const stsBefore = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { status: { updateRevision: string } };
    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config: FIXED, replicas: 3, podAnnotations: { 'example.com/rollout': '2' } }));
    await waitFor(
      async () => {
        const sts = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { status: { updateRevision: string; currentRevision: string; updatedReplicas?: number; readyReplicas?: number } };
        const s = sts.status;
        return s.updateRevision !== stsBefore.status.updateRevision && s.currentRevision === s.updateRevision && s.updatedReplicas === 3 && s.readyReplicas === 3;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the StatefulSet to roll to a new revision' },
    );
    const after = await readyPods(3);
    for (const [i, p] of after.entries()) expect(p.containers['alloy']!.id).not.toBe(before[i]!.containers['alloy']!.id);
    await waitFor(async () => condition(await getCollector(cluster, ns, name), 'Ready')?.status === 'True', { timeoutMs: 30_000, what: 'Ready=True after the rollout' });
  });

  it('a storage change (immutable in a StatefulSet) recreates the StatefulSet and rolls the pods onto per-ordinal claims', async () => {
    const spec = { config: FIXED, replicas: 3, podAnnotations: { 'example.com/rollout': '2' }, storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } };
    const oldUid = (JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { metadata: { uid: string } }).metadata.uid;
    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, spec));
    await waitFor(
      async () => {
        const sts = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { metadata: { uid: string }; spec: { volumeClaimTemplates?: unknown[] }; status: { readyReplicas?: number; updatedReplicas?: number } };
        return sts.metadata.uid !== oldUid && sts.spec.volumeClaimTemplates?.length === 1 && sts.status.updatedReplicas === 3 && sts.status.readyReplicas === 3;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'a recreated StatefulSet with a volumeClaimTemplate, rolled out' },
    );
    const podList = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json'])) as {
      items: Array<{ metadata: { name: string }; spec: { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> } }>;
    };
    const claims = podList.items.map((p) => p.spec.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).sort();
    expect(claims).toStrictEqual(['data-metrics-0', 'data-metrics-1', 'data-metrics-2']);
    await readyPods(3);
    await waitFor(async () => condition(await getCollector(cluster, ns, name), 'Ready')?.status === 'True', { timeoutMs: 30_000, what: 'Ready=True after the recreate' });
  });

  it('journey 4: scale 1 → 3 → 1 with kubectl scale; delete removes everything it owned', async () => {
    for (const n of [1, 3, 1]) {
      await cluster.kubectl(['scale', `collector/${name}`, '-n', ns, `--replicas=${n}`]);
      await readyPods(n);
      await waitFor(
        async () => {
          const c = await getCollector(cluster, ns, name);
          return c.status?.readyReplicas === n && c.status.replicas === n && condition(c, 'Ready')?.status === 'True';
        },
        { timeoutMs: 60_000, intervalMs: 250, what: `status readyReplicas=${n}` },
      );
    }
    await cluster.kubectl(['delete', 'collector', name, '-n', ns]);
    await waitFor(
      async () => {
        const out = await cluster.kubectl(['get', 'statefulsets,services,configmaps,serviceaccounts,pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'name']);
        return out.trim() === '';
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'every object of the Collector to be gone' },
    );
  });
});
