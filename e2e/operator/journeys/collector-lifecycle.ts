/**
 * Journeys 1-4 and 6 of the operator issue on one cluster and one operator process:
 * apply → 3 Ready pods that are cluster peers of each other; a config change reloads in place
 * (same containers, same revision) while a series scraped every second and remote-written to a
 * loopback sink has no gap, and the new pipeline's series arrive;
 * broken config is rejected with line:col while pods keep the old pipeline, fixing recovers;
 * scale 1 → 3 → 1 through the scale subresource; delete removes everything; every rendered pod
 * passes the Pod Security "restricted" checker.
 */
import type { TestCluster } from '../../cluster/harness/cluster.js';
import type { JourneyEnv } from '../../cluster/harness/journey.test-support.js';
import { waitFor } from '../../cluster/harness/wait.js';
import { reach } from '../../cluster/harness/reach.js';
import { checkRestricted } from '../../../operator/src/pod-security/restricted.js';
import { configContentHash } from '../../../operator/src/controller/collector-reconciler.js';
import {
  applyCrd,
  collectorYaml,
  componentIds,
  condition,
  getCollector,
  httpGet,
  listPods,
  startOperator,
 
  type OperatorProcess,
} from '../operator-harness.js';
import { largestGap, startRemoteWriteSink, type RemoteWriteSink } from '../remote-write-sink.js';

/** Scrape interval of the continuously sent series; the gap bound is 2.5 × this. */
const INTERVAL_MS = 1000;

/**
 * Every config scrapes the pod's own metrics each second into `prometheus.remote_write.sink`
 * (series `up`, labelled with the pod name); WITH_SCRAPE adds a second pipeline whose series carry
 * `pipeline="new"`.
 */
function configs(sinkUrl: string) {
  const base = `logging {
  level  = "info"
  format = "logfmt"
}

prometheus.exporter.self "alloy" { }

prometheus.scrape "steady" {
  targets         = prometheus.exporter.self.alloy.targets
  scrape_interval = "${INTERVAL_MS / 1000}s"
  scrape_timeout  = "${INTERVAL_MS / 1000}s"
  forward_to      = [prometheus.remote_write.sink.receiver]
}

prometheus.remote_write "sink" {
  external_labels = { pod = sys.env("POD_NAME") }
  endpoint {
    url = "${sinkUrl}"
    queue_config {
      batch_send_deadline = "250ms"
    }
  }
}
`;
  const withScrape = `${base}
prometheus.scrape "self" {
  targets         = prometheus.exporter.self.alloy.targets
  scrape_interval = "${INTERVAL_MS / 1000}s"
  scrape_timeout  = "${INTERVAL_MS / 1000}s"
  forward_to      = [prometheus.relabel.mark.receiver]
}

prometheus.relabel "mark" {
  forward_to = [prometheus.remote_write.sink.receiver]
  rule {
    target_label = "pipeline"
    replacement  = "new"
  }
}
`;
  return {
    BASE: base,
    WITH_SCRAPE: withScrape,
    BROKEN: withScrape.replace('level  = "info"', 'level  = "loud"'),
    FIXED: `${base}
prometheus.relabel "fixed" {
  forward_to = []
}
`,
  };
}

export function collectorLifecycle(env: JourneyEnv): void {
  describe('operator: Collector lifecycle', () => {
    let cluster: TestCluster;
    let ns: string;
    let operator: OperatorProcess;
    let sink: RemoteWriteSink;
    let BASE: string, WITH_SCRAPE: string, BROKEN: string, FIXED: string;
    const name = 'metrics';

    const readyPods = async (n: number) =>
      waitFor(
        async () => {
          const pods = await listPods(cluster, ns, name);
          if (pods.length === n && pods.every((p) => p.ready)) return pods;
          throw new Error(`pods ${JSON.stringify(pods.map((p) => [p.name, p.ready]))}`);
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
      cluster = env.cluster();
      // Key `<pod>/<pipeline>` for the `up` series the configs send; other series are not kept.
      sink = await startRemoteWriteSink((labels) => {
        let metric: string | undefined, pod: string | undefined, pipeline = 'steady';
        for (const l of labels) {
          if (l.name === '__name__') metric = l.value;
          else if (l.name === 'pod') pod = l.value;
          else if (l.name === 'pipeline') pipeline = l.value;
        }
        return metric === 'up' && pod !== undefined ? `${pod}/${pipeline}` : undefined;
      }, env.hostForPods());
      ({ BASE, WITH_SCRAPE, BROKEN, FIXED } = configs(sink.url));
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
      if (ns !== undefined) await cluster.dropNamespace(ns);
      await sink?.close();
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
      // The pods join one Alloy cluster through the headless peer Service: each lists all three.
      const names = pods.map((p) => p.name).sort();
      for (const p of pods) {
        const r = await reach(cluster, ns, `pod/${p.name}`, 12345);
        try {
          await waitFor(
            async () => {
              const { status, body } = await httpGet(`${r.url}/api/v0/web/peers`);
              if (status !== 200) throw new Error(`HTTP ${status}: ${body}`);
              const peers = (JSON.parse(body) as Array<{ name: string }>).map((x) => x.name).sort();
              if (JSON.stringify(peers) !== JSON.stringify(names)) throw new Error(`peers ${JSON.stringify(peers)}`);
              return true;
            },
            { timeoutMs: 60_000, intervalMs: 250, what: `${p.name} to list ${names.join(', ')} as cluster peers` },
          );
        } finally {
          r.close();
        }
      }
    });

    it('journey 6: every pod the operator rendered passes Pod Security "restricted"', async () => {
      const live = JSON.parse(await cluster.kubectl(['get', 'statefulsets,pods', '-n', ns, '-o', 'json'])) as { items: unknown[] };
      expect(live.items.length).toBeGreaterThanOrEqual(4);
      expect(checkRestricted(live.items)).toStrictEqual([]);
    });

    it('a Collector with both config and configMapRef is refused by the API server with the CRD rule message', async () => {
      const r = await cluster.runKubectl(['apply', '-f', '-'], collectorYaml(ns, 'both', { config: BASE, configMapRef: { name: 'other' }, replicas: 1 }));
      expect(r.code).not.toBe(0);
      // The value is printed as "object" by the test server (and Kubernetes >= 1.28) and as the Go map by v1.24.
      expect(r.stderr).toMatch(/The Collector "both" is invalid: spec: Invalid value: ("object"|map\[string\]interface \{\}\{.*\}): set exactly one of spec\.config or spec\.configMapRef\n/s);
      expect((await cluster.runKubectl(['get', 'collector', 'both', '-n', ns])).code).not.toBe(0);
    });

    it('journey 2: a config change is live in every pod without a restart or a new revision', async () => {
      const stsBefore = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { metadata: { generation: number }; status: { updateRevision: string } };
      const before = await listPods(cluster, ns, name);
      const steady = (pod: string) => sink.samples(`${pod}/steady`);
      // Data flows before the change: a few samples of the steady series from every pod.
      await waitFor(() => before.every((p) => steady(p.name).length >= 3), { timeoutMs: 60_000, intervalMs: 100, what: `samples of up{pod=...} from ${before.map((p) => p.name).join(', ')} at the sink (rejected bodies: ${sink.rejected})` });
      const applyAt = Date.now();
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config: WITH_SCRAPE, replicas: 3 }));
      const started = Date.now();
      await everyPodRuns('prometheus.scrape.self', true);
      console.log(`config change live in all 3 pods ${Date.now() - started} ms after kubectl apply returned`);
      // The new pipeline's series arrive from every pod.
      await waitFor(() => before.every((p) => sink.samples(`${p.name}/new`).length > 0), { timeoutMs: 60_000, intervalMs: 100, what: 'up{pipeline="new"} from every pod at the sink' });
      // The reload window: from the apply until every pod sends the new pipeline's series, plus two
      // intervals. The steady series must have samples past its end, with no gap over 2.5 intervals.
      const windowEnd = Math.max(...before.map((p) => Math.min(...sink.samples(`${p.name}/new`).map((x) => x.t)))) + 2 * INTERVAL_MS;
      await waitFor(() => before.every((p) => steady(p.name).some((x) => x.t >= windowEnd)), { timeoutMs: 60_000, intervalMs: 100, what: 'steady samples past the reload window from every pod' });
      for (const p of before) {
        const { gapMs, at } = largestGap(steady(p.name), applyAt, windowEnd);
        console.log(`${p.name}: largest gap of the 1s series across the reload window (${windowEnd - applyAt} ms): ${gapMs} ms`);
        expect([p.name, gapMs <= 2.5 * INTERVAL_MS ? 'no gap' : `${gapMs} ms without samples after ${new Date(at).toISOString()}`]).toStrictEqual([p.name, 'no gap']);
        expect(steady(p.name).filter((x) => x.stale && x.t >= applyAt && x.t <= windowEnd)).toStrictEqual([]);
      }
      expect(sink.rejected).toBe(0);
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

    // The recreated StatefulSet adopts the orphaned pods and cannot add the claim volume to them
    // (pod specs are immutable: both servers' StatefulSet controllers stop at the first such pod
    // with FailedUpdate); the operator replaces them, lowest ordinal first, one at a time.
    it('a storage change (immutable in a StatefulSet) recreates the StatefulSet and rolls the pods onto per-ordinal claims', async () => {
      const spec = { config: FIXED, replicas: 3, podAnnotations: { 'example.com/rollout': '2' }, storage: { volumeClaimTemplate: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } };
      const oldUid = (JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { metadata: { uid: string } }).metadata.uid;
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, spec));
      await waitFor(
        async () => {
          const sts = JSON.parse(await cluster.kubectl(['get', 'statefulset', name, '-n', ns, '-o', 'json'])) as { metadata: { uid: string }; spec: { volumeClaimTemplates?: unknown[] }; status: { readyReplicas?: number; updatedReplicas?: number } };
          if (sts.metadata.uid !== oldUid && sts.spec.volumeClaimTemplates?.length === 1 && sts.status.updatedReplicas === 3 && sts.status.readyReplicas === 3) return true;
          const pods = await cluster.kubectl(['get', 'pods,pvc', '-n', ns, '-o', 'wide']);
          const podStatus = await cluster.kubectl(['get', 'pods', '-n', ns, '-o', 'custom-columns=NAME:.metadata.name,UID:.metadata.uid,DELETING:.metadata.deletionTimestamp,OWNER:.metadata.ownerReferences[0].uid,CONDITIONS:.status.conditions[*].status,READY:.status.containerStatuses[*].ready,CONTAINERS:.status.containerStatuses[*].containerID']);
          const events = await cluster.kubectl(['get', 'events', '-n', ns, '-o', 'custom-columns=KIND:.involvedObject.kind,NAME:.involvedObject.name,UID:.involvedObject.uid,REASON:.reason,MESSAGE:.message']);
          throw new Error(`StatefulSet ${sts.metadata.uid} (old ${oldUid}), status ${JSON.stringify(sts.status)}\n${pods}\n${podStatus}\n${events}`);
        },
        { timeoutMs: 120_000, intervalMs: 250, what: 'a recreated StatefulSet with a volumeClaimTemplate, rolled out' },
      );
      const podList = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json'])) as {
        items: Array<{ metadata: { name: string }; spec: { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> } }>;
      };
      const claims = podList.items.map((p) => p.spec.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).sort();
      expect(claims).toStrictEqual(['data-metrics-0', 'data-metrics-1', 'data-metrics-2']);
      const events = JSON.parse(await cluster.kubectl(['get', 'events', '-n', ns, '-o', 'json'])) as { items: Array<{ reason?: string; message?: string }> };
      const replaced = events.items.filter((e) => e.reason === 'PodReplaced').map((e) => /^pod (\S+) /.exec(e.message ?? '')?.[1]);
      expect(replaced.sort()).toStrictEqual(['metrics-0', 'metrics-1', 'metrics-2']);
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
}
