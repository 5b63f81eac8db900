/**
 * The docs' Kubernetes logs example ("Collect Kubernetes logs and forward them to Loki":
 * discovery.kubernetes role pod → discovery.relabel → loki.source.kubernetes with clustering →
 * loki.process → loki.write) run by a 3-replica Collector on the real kube-apiserver
 * (`useCluster({ apiserver: 'real' })`): the operator deployed from `kustomize/base` reconciles it
 * into clustered pods that authenticate with their own ServiceAccount token and only the RBAC the
 * operator derived (cluster-wide pods and pods/log, since the example names no namespace). Pod logs
 * travel the real path: pods/log on the real server, proxied to our kubelet's HTTPS endpoint.
 *
 * Five demo pods print numbered lines; one pod's container is killed mid-way and restarted by the
 * kubelet. Every line of every run (read back with `kubectl logs` and `--previous`) must reach the
 * Loki sink on the pods' gateway exactly once, with the labels the docs' relabel rules promise,
 * and each container must be tailed by exactly one collector. Prints lines sent/received/
 * duplicated and the wall time.
 */
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { waitFor } from '../cluster/harness/wait.js';
import { realClusterUnavailable } from '../cluster/real/real-cluster.js';
import { collectorYaml, condition, getCollector, httpGet, listPods, unavailableReason, type PodView } from '../operator/operator-harness.js';
import { OPERATOR_NAMESPACE, deployOperatorFromKustomize, operatorLog, podLog } from '../real-apiserver/real-operator.js';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';

const skip = realClusterUnavailable() !== undefined || unavailableReason() !== undefined;

const PODS = 5;
const LINES = 300;
const CLUSTER_NAME = 'real-apiserver';
/** Prints `run=<id> n=<i>` for i = 1..LINES, one every 40 ms, then idles. */
const SCRIPT = `const run = Math.random().toString(36).slice(2, 8); let i = 0;
const t = setInterval(() => { i++; console.log('run=' + run + ' n=' + i); if (i >= ${LINES}) { clearInterval(t); setInterval(() => undefined, 60000); } }, 40);`;

/** The docs' example, verbatim but for the placeholders, the write endpoint and the clustering block. */
function docsConfig(sinkUrl: string): string {
  return `loki.write "default" {
  endpoint {
    url = ${JSON.stringify(sinkUrl)}
  }
}

// discovery.kubernetes allows you to find scrape targets from Kubernetes resources.
// It watches cluster state and ensures targets are continually synced with what is currently running in your cluster.
discovery.kubernetes "pod" {
  role = "pod"
}

// discovery.relabel rewrites the label set of the input targets by applying one or more relabeling rules.
// If no rules are defined, then the input targets are exported as-is.
discovery.relabel "pod_logs" {
  targets = discovery.kubernetes.pod.targets

  // Label creation - "namespace" field from "__meta_kubernetes_namespace"
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    action = "replace"
    target_label = "namespace"
  }

  // Label creation - "pod" field from "__meta_kubernetes_pod_name"
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    action = "replace"
    target_label = "pod"
  }

  // Label creation - "container" field from "__meta_kubernetes_pod_container_name"
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    action = "replace"
    target_label = "container"
  }

  // Label creation -  "app" field from "__meta_kubernetes_pod_label_app_kubernetes_io_name"
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    action = "replace"
    target_label = "app"
  }

  // Label creation -  "job" field from "__meta_kubernetes_namespace" and "__meta_kubernetes_pod_container_name"
  // Concatenate values __meta_kubernetes_namespace/__meta_kubernetes_pod_container_name
  rule {
    source_labels = ["__meta_kubernetes_namespace", "__meta_kubernetes_pod_container_name"]
    action = "replace"
    target_label = "job"
    separator = "/"
    replacement = "$1"
  }

  // Label creation - "container" field from "__meta_kubernetes_pod_uid" and "__meta_kubernetes_pod_container_name"
  // Concatenate values __meta_kubernetes_pod_uid/__meta_kubernetes_pod_container_name.log
  rule {
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    action = "replace"
    target_label = "__path__"
    separator = "/"
    replacement = "/var/log/pods/*$1/*.log"
  }

  // Label creation -  "container_runtime" field from "__meta_kubernetes_pod_container_id"
  rule {
    source_labels = ["__meta_kubernetes_pod_container_id"]
    action = "replace"
    target_label = "container_runtime"
    regex = "^(\\\\S+):\\\\/\\\\/.+$"
    replacement = "$1"
  }
}

// loki.source.kubernetes tails logs from Kubernetes containers using the Kubernetes API.
loki.source.kubernetes "pod_logs" {
  targets    = discovery.relabel.pod_logs.output
  forward_to = [loki.process.pod_logs.receiver]
  clustering {
    enabled = true
  }
}

// loki.process receives log entries from other Loki components, applies one or more processing stages,
// and forwards the results to the list of receivers in the component's arguments.
loki.process "pod_logs" {
  stage.static_labels {
      values = {
        cluster = ${JSON.stringify(CLUSTER_NAME)},
      }
  }

  forward_to = [loki.write.default.receiver]
}
`;
}

type Runs = Map<string, Map<string, number[]>>; // pod → run id → numbers in arrival order

/** Parses `run=<id> n=<i>` lines (optionally behind a kubectl `--timestamps` prefix) per pod. */
function addRun(m: Runs, pod: string, line: string): void {
  const r = /run=(\w+) n=(\d+)$/.exec(line);
  if (!r) return;
  const byRun = m.get(pod) ?? new Map<string, number[]>();
  byRun.set(r[1]!, [...(byRun.get(r[1]!) ?? []), Number(r[2])]);
  m.set(pod, byRun);
}

const count = (m: Runs): number => [...m.values()].reduce((a, byRun) => a + [...byRun.values()].reduce((b, n) => b + n.length, 0), 0);

(skip ? describe.skip : describe)('the docs Kubernetes logs example on the real kube-apiserver, run by a 3-replica Collector from the operator', () => {
  let cluster!: TestCluster;
  const t0 = Date.now();
  const sink = new LokiSink();

  beforeAll(async () => {
    cluster = await useCluster({ apiserver: 'real', podSyncPeriodMs: 2000 });
    console.log(`real cluster ready in ${Date.now() - t0} ms`);
    await sink.start(0, cluster.real!.podGateway);
    await deployOperatorFromKustomize(cluster);
    console.log(`operator from kustomize/base ready at ${Date.now() - t0} ms`);
  }, 150_000);
  afterAll(async () => {
    await sink.stop();
    await cluster?.stop();
    console.log(`operator-real.e2e.ts wall time: ${Date.now() - t0} ms`);
  }, 60_000);

  const received = (ns: string): Runs => {
    const m: Runs = new Map();
    for (const e of sink.entries) {
      if (!e.stream.includes(`namespace="${ns}"`)) continue;
      addRun(m, /pod="([^"]+)"/.exec(e.stream)?.[1] ?? '?', e.line);
    }
    return m;
  };

  /** `kubectl logs` through the real server (pods/log proxied to our kubelet's /containerLogs). */
  const kubectlLogs = async (ns: string, pod: string, previous = false): Promise<string[]> =>
    (await cluster.kubectl(['logs', pod, '-n', ns, ...(previous ? ['--previous'] : [])])).split('\n').filter((l) => l !== '');

  /** Containers (`<ns>/<pod>`) in `ns` a collector pod tails now, from its component debug info. */
  const owned = async (pod: PodView, ns: string): Promise<string[]> => {
    const r = await httpGet(`http://${pod.ip}:12345/api/v0/web/components/loki.source.kubernetes.pod_logs`);
    if (r.status !== 200) throw new Error(`components API of ${pod.name}: ${r.status} ${r.body}`);
    const info = JSON.parse(r.body) as { debugInfo: AlloyJSONStatement[]; health: { state: string; message: string } };
    if (info.health.state !== 'healthy') throw new Error(`loki.source.kubernetes in ${pod.name}: ${info.health.state}: ${info.health.message}`);
    const debug = plainOfBody(info.debugInfo) as { targets: Array<{ container: string }> };
    return debug.targets.map((t) => t.container.split(':')[0]!).filter((c) => c.startsWith(`${ns}/`));
  };

  it('delivers every line of five pods exactly once with the promised labels, a restarted container included', async () => {
    const tStart = Date.now();
    const ns = await cluster.namespace('logs-demo');

    // 1. The operator reconciles the Collector: three clustered pods under the derived RBAC.
    await cluster.kubectl(['apply', '-f', '-'], collectorYaml(OPERATOR_NAMESPACE, 'pod-logs', { config: docsConfig(sink.url), replicas: 3, clustering: { enabled: true } }));
    const collectors = await waitFor(async () => {
      const pods = await listPods(cluster, OPERATOR_NAMESPACE, 'pod-logs');
      return pods.length === 3 && pods.every((p) => p.ready && p.ip !== '') ? pods : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250, what: 'three ready collector pods' }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\noperator log:\n${await operatorLog(cluster)}`);
    });
    expect(condition(await getCollector(cluster, OPERATOR_NAMESPACE, 'pod-logs'), 'Ready')?.status).toBe('True');
    // The collector pods authenticate as the Collector's own ServiceAccount (no kubeconfig is handed to pods here).
    expect((await cluster.kubectl(['get', 'pods', '-n', OPERATOR_NAMESPACE, '-l', 'app.kubernetes.io/instance=pod-logs', '-o', 'jsonpath={.items[*].spec.serviceAccountName}'])).split(' ')).toStrictEqual(['pod-logs', 'pod-logs', 'pod-logs']);
    const rbac = await cluster.kubectl(['get', 'serviceaccount', 'pod-logs', '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.metadata.annotations.alloy\\.dev/granted-access}']);
    // The cluster forms before any demo pod exists, so ownership is settled when tailing starts.
    await waitFor(async () => {
      for (const c of collectors) {
        const r = await httpGet(`http://${c.ip}:12345/api/v0/web/peers`);
        if (r.status !== 200 || (JSON.parse(r.body) as unknown[]).length !== 3) return false;
      }
      return true;
    }, { timeoutMs: 60_000, intervalMs: 250, what: 'every collector pod to see 3 cluster peers' });
    const tCollectors = Date.now();

    // 2. Five demo pods log; p0's container is killed mid-way and restarted by the kubelet.
    for (let i = 0; i < PODS; i++) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${i}`, namespace: ns, labels: { 'app.kubernetes.io/name': 'log-demo' } },
        spec: { restartPolicy: 'Always', containers: [{ name: 'app', image: 'harness/node', command: ['node', '-e', SCRIPT] }] },
      };
      await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    }
    // Read from the kubelet directly here: the kill must land mid-run, sooner than a kubectl round trip.
    // The kill also waits until a collector tails p0 (its lines reach the sink): the lines of a
    // container that ends before any tailer attached are only in its previous log, which our
    // loki.source.kubernetes does not read, and a loaded machine can attach late.
    await waitFor(async () => (received(ns).get('p0')?.size ?? 0) > 0 && (await podLog(cluster, ns, 'p0')).split('\n').length > 30, {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: 'p0 to print 30 lines and a collector to forward some of them',
    });
    const worker = cluster.real!.kubelet.worker(ns, 'p0')!;
    const [pid] = worker.pids();
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => {
      const p = JSON.parse(await cluster.kubectl(['get', 'pod', 'p0', '-n', ns, '-o', 'json'])) as { status: { containerStatuses?: { restartCount: number; ready: boolean }[] } };
      return p.status.containerStatuses?.[0]?.restartCount === 1 && p.status.containerStatuses[0].ready;
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'p0 restarted once and running' });

    // 3. What the pods wrote, read back through the real server: every current run complete, p0's previous run cut short.
    const sent: Runs = new Map();
    await waitFor(async () => {
      sent.clear();
      for (let i = 0; i < PODS; i++) for (const l of await kubectlLogs(ns, `p${i}`)) addRun(sent, `p${i}`, l);
      return sent.size === PODS && [...sent.values()].every((byRun) => [...byRun.values()].every((n) => n.length === LINES));
    }, { timeoutMs: 60_000, intervalMs: 200, what: `every pod's current run to print ${LINES} lines` });
    for (const l of await kubectlLogs(ns, 'p0', true)) addRun(sent, 'p0', l);
    const p0Runs = [...sent.get('p0')!.values()];
    expect(p0Runs).toHaveLength(2);
    const killedAt = Math.min(...p0Runs.map((n) => n.length));
    expect(killedAt).toBeGreaterThanOrEqual(30);
    expect(killedAt).toBeLessThan(LINES);
    for (const [pod, byRun] of sent) for (const n of byRun.values()) expect({ pod, n }).toEqual({ pod, n: Array.from({ length: n.length }, (_, k) => k + 1) });
    const sentCount = count(sent);

    // 4. Everything arrives; then the sink stays quiet for the namespace (a late repeat would show here).
    const summary = (): string => JSON.stringify([...received(ns)].map(([p, rs]) => [p, [...rs.values()].map((n) => n.length)]));
    await waitFor(() => {
      const got = received(ns);
      return [...sent].every(([pod, byRun]) => [...byRun].every(([run, n]) => new Set(got.get(pod)?.get(run) ?? []).size === n.length));
    }, { timeoutMs: 60_000, intervalMs: 200, what: `all ${sentCount} lines at the sink (so far: ${summary()})` }).catch((e: unknown) => {
      throw new Error(`${String(e)}; at the end: ${summary()}`);
    });
    const tDelivered = Date.now();
    let last = -1;
    let stableSince = Date.now();
    await waitFor(() => {
      const n = count(received(ns));
      if (n !== last) [last, stableSince] = [n, Date.now()];
      return Date.now() - stableSince >= 2000;
    }, { timeoutMs: 30_000, intervalMs: 100, what: 'the sink to stay quiet for 2 s' });
    const got = received(ns);
    const receivedCount = count(got);
    const duplicated = receivedCount - [...got.values()].reduce((a, byRun) => a + [...byRun.values()].reduce((b, n) => b + new Set(n).size, 0), 0);
    console.log(
      `docs logs example, 3 collectors on the real server: lines sent ${sentCount}, received ${receivedCount}, duplicated ${duplicated}; ` +
        `p0 killed after line ${killedAt} and restarted; collectors clustered in ${tCollectors - tStart} ms, all lines delivered ${tDelivered - tCollectors} ms after the pods were created; RBAC granted: ${rbac}`,
    );
    // Exactly once: the same runs, each with exactly the numbers sent.
    expect(new Map([...got].map(([pod, byRun]) => [pod, new Map([...byRun].map(([run, n]) => [run, [...n].sort((a, b) => a - b)]))]))).toEqual(sent);
    expect(duplicated).toBe(0);

    // 5. The labels the docs' relabel rules promise, on every stream of the namespace.
    const expectedStreams = await Promise.all(
      Array.from({ length: PODS }, async (_, i) => {
        const id = await cluster.kubectl(['get', 'pod', `p${i}`, '-n', ns, '-o', 'jsonpath={.status.containerStatuses[0].containerID}']);
        const runtime = /^(\S+):\/\/.+$/.exec(id)?.[1];
        expect(runtime).toBeDefined();
        return `{app="log-demo", cluster="${CLUSTER_NAME}", container="app", container_runtime="${runtime!}", instance="${ns}/p${i}:app", job="${ns}/app", namespace="${ns}", pod="p${i}"}`;
      }),
    );
    expect([...new Set(sink.entries.filter((e) => e.stream.includes(`namespace="${ns}"`)).map((e) => e.stream))].sort()).toEqual(expectedStreams.sort());

    // 6. Each container tailed by exactly one collector, and the work is spread.
    const owners = await Promise.all(collectors.map((c) => owned(c, ns)));
    expect(owners.flat().sort()).toEqual(Array.from({ length: PODS }, (_, i) => `${ns}/p${i}`));
    expect(owners.filter((o) => o.length > 0).length).toBeGreaterThan(1);
    console.log(`ownership: ${collectors.map((c, i) => `${c.name}: ${owners[i]!.map((o) => o.split('/')[1]).join(',') || '-'}`).join('; ')}`);
    expect(await operatorLog(cluster)).not.toMatch(/forbidden|403/i);
    console.log(`journey took ${Date.now() - tStart} ms (file so far ${Date.now() - t0} ms)`);
  }, 170_000);
});
