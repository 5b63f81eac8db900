// Workload controllers + kubelet on the real in-process API server, driven with the real kubectl.
import { useCluster, type TestCluster } from '../harness/cluster.js';
import { requireTool, KUBECTL } from '../harness/kubectl.js';
import { Informer } from '../harness/informer.js';
import { KubeClient, RESOURCES } from '../harness/kube-client.js';
import type { Pod, StatefulSet } from '../harness/k8s-types.js';
import { waitFor } from '../harness/wait.js';
import { isPodReady } from './common.js';
import { reach } from '../harness/reach.js';

const haveKubectl = requireTool('kubectl', KUBECTL);
const describeIf = haveKubectl ? describe : describe.skip;

const SERVER = "require('http').createServer((q, r) => r.end(process.env.VERSION)).listen(8080, () => console.log('up ' + process.env.VERSION))";
// Counts its starts in a file on the claim volume (path given as argv[1]) and serves VERSION:count.
const COUNTER = "const fs = require('fs'); const f = process.argv[1]; const n = (fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0) + 1; fs.writeFileSync(f, String(n)); require('http').createServer((q, r) => r.end(process.env.VERSION + ':' + n)).listen(8080, () => console.log('up ' + process.env.VERSION))";

function container(version: string): Record<string, unknown> {
  return {
    name: 'app',
    image: 'harness/node:1',
    command: ['node', '-e', SERVER],
    env: [{ name: 'VERSION', value: version }],
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
  };
}

describeIf('workload controllers on the dev cluster', () => {
  let cluster: TestCluster;
  let client: KubeClient;
  let ns: string;
  const ac = new AbortController();
  let pods: Informer<Pod>;
  const log: string[] = [];

  beforeAll(async () => {
    cluster = await useCluster({ forceLocal: true, timeScale: 0.05 });
    client = new KubeClient({ server: cluster.local!.url });
    ns = await cluster.namespace('wl');
    pods = new Informer<Pod>(client, RESOURCES.pods, { namespace: ns });
    pods.on((ev, p, old) => {
      if (ev === 'add') log.push(`create ${p.metadata.name} ready:${pods.list().filter((x) => isPodReady(x)).map((x) => x.metadata.name).sort().join(',')}`);
      if (ev === 'update' && p.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp) log.push(`delete ${p.metadata.name}`);
    });
    void pods.run(ac.signal);
    await pods.waitSynced();
  }, 30_000);

  afterAll(async () => {
    ac.abort();
    await cluster?.stop();
  });

  it('StatefulSet: ordinal names, OrderedReady scale 1→3→1, rolling update by revision highest ordinal first', async () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 1,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 2, containers: [{ ...container('v1'), command: ['node', '-e', COUNTER, '/data/starts'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    };
    await cluster.kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } }));
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(sts));
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/web', '--timeout=60s']);
    await cluster.kubectl(['-n', ns, 'scale', 'statefulset/web', '--replicas=3']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/web', '--timeout=60s']);
    expect(log.filter((l) => l.startsWith('create'))).toEqual(['create web-0 ready:', 'create web-1 ready:web-0', 'create web-2 ready:web-0,web-1']);

    log.length = 0;
    await cluster.kubectl(['-n', ns, 'scale', 'statefulset/web', '--replicas=1']);
    await waitFor(() => pods.list().length === 1, { what: 'scaled down to 1' });
    expect(log).toEqual(['delete web-2', 'delete web-1']);
    expect(pods.list()[0]!.metadata.name).toBe('web-0');

    await cluster.kubectl(['-n', ns, 'scale', 'statefulset/web', '--replicas=3']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/web', '--timeout=60s']);
    const before = await client.get<StatefulSet>(RESOURCES.statefulsets, ns, 'web');
    expect(before.status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3 });
    expect(before.status!.currentRevision).toBe(before.status!.updateRevision);

    log.length = 0;
    await cluster.kubectl(['-n', ns, 'set', 'env', 'statefulset/web', 'VERSION=v2']);
    const out = await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/web', '--timeout=60s']);
    // The API server defaults rollingUpdate.partition to 0, so kubectl reports a partitioned roll out.
    expect(out).toMatch(/(partitioned roll out complete: 3 new pods have been updated|rolling update complete 3 pods at revision)/);
    const after = await client.get<StatefulSet>(RESOURCES.statefulsets, ns, 'web');
    expect(after.status!.updateRevision).not.toBe(before.status!.updateRevision);
    expect(after.status!.currentRevision).toBe(after.status!.updateRevision);
    expect(log.filter((l) => l.startsWith('delete'))).toEqual(['delete web-2', 'delete web-1', 'delete web-0']);
    for (const p of pods.list()) {
      expect(p.metadata.labels!['controller-revision-hash']).toBe(after.status!.updateRevision);
      expect(p.metadata.ownerReferences![0]).toMatchObject({ kind: 'StatefulSet', name: 'web', controller: true });
      // v2, and the start counter on the claim volume survived the pod's replacement.
      expect(await (await fetch(`http://${p.status!.podIP}:8080/`)).text()).toMatch(/^v2:[2-9]$/);
    }
    const pvcs = await cluster.kubectl(['-n', ns, 'get', 'pvc', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(pvcs.split(' ').sort()).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
    const ep = JSON.parse(await waitFor(async () => {
      const s = await cluster.kubectl(['-n', ns, 'get', 'endpoints', 'web', '-o', 'json']);
      return (JSON.parse(s) as { subsets?: { addresses?: unknown[] }[] }).subsets?.[0]?.addresses?.length === 3 ? s : undefined;
    }, { what: 'endpoints with 3 ready addresses' })) as { subsets: { addresses: { hostname: string; ip: string }[]; ports: { port: number }[] }[] };
    expect(ep.subsets[0]!.addresses.map((a) => a.hostname).sort()).toEqual(['web-0', 'web-1', 'web-2']);
    expect(ep.subsets[0]!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const slices = JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])) as { items: { endpoints: unknown[] }[] };
    expect(slices.items[0]!.endpoints).toHaveLength(3);
    await cluster.kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } }));
    const pdb = await waitFor(async () => {
      const o = JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pdb', 'web', '-o', 'json'])) as { status?: Record<string, unknown> };
      return o.status?.expectedPods === 3 ? o.status : undefined;
    }, { what: 'PodDisruptionBudget status' });
    expect(pdb).toMatchObject({ currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
    const revs = await cluster.kubectl(['-n', ns, 'get', 'controllerrevisions', '-o', 'name']);
    expect(revs.trim().split('\n')).toHaveLength(2);
    expect(await cluster.kubectl(['-n', ns, 'logs', 'web-2'])).toContain('up v2');
  }, 90_000);

  it('Deployment rolls through ReplicaSets; DaemonSet runs one pod on the node', async () => {
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: ns },
      spec: { replicas: 2, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { terminationGracePeriodSeconds: 2, containers: [container('d1')] } } },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(deploy));
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=60s']);
    await cluster.kubectl(['-n', ns, 'set', 'env', 'deployment/api', 'VERSION=d2']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=60s']);
    const rs = JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'rs', '-o', 'json'])) as { items: { metadata: { name: string; annotations: Record<string, string> }; spec: { replicas: number } }[] };
    expect(rs.items).toHaveLength(2);
    expect(rs.items.map((r) => [r.metadata.annotations['deployment.kubernetes.io/revision'], r.spec.replicas]).sort()).toEqual([['1', 0], ['2', 2]]);
    const apiPods = await waitFor(() => {
      const l = pods.list().filter((p) => p.metadata.labels?.app === 'api');
      return l.length === 2 && l.every((p) => !p.metadata.deletionTimestamp) ? l : undefined;
    }, { what: 'two api pods' });
    for (const p of apiPods) expect(await (await fetch(`http://${p.status!.podIP}:8080/`)).text()).toBe('d2');
    await cluster.kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 'http' }] } }));
    const viaSvc = await waitFor(() => reach(cluster, ns, 'svc/api', 80), { what: 'service api has endpoints' });
    expect(await (await fetch(viaSvc.url)).text()).toBe('d2');
    viaSvc.close();
    const viaPod = await reach(cluster, ns, `pod/${apiPods[0]!.metadata.name}`, 8080);
    expect(await (await fetch(viaPod.url)).text()).toBe('d2');

    // rollout undo re-uses the first ReplicaSet (now revision 3) instead of creating a third.
    await cluster.kubectl(['-n', ns, 'rollout', 'undo', 'deployment/api']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=60s']);
    const undone = JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'rs', '-o', 'json'])) as typeof rs;
    expect(undone.items.map((r) => [r.metadata.name, r.metadata.annotations['deployment.kubernetes.io/revision'], r.spec.replicas]).sort()).toEqual(
      rs.items.map((r) => [r.metadata.name, r.metadata.annotations['deployment.kubernetes.io/revision'] === '1' ? '3' : '2', r.metadata.annotations['deployment.kubernetes.io/revision'] === '1' ? 2 : 0]).sort(),
    );

    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: ns },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [container('a1')] } } },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ds));
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'daemonset/agent', '--timeout=60s']);
    const agents = pods.list().filter((p) => p.metadata.labels?.app === 'agent');
    expect(agents).toHaveLength(1);
    expect(agents[0]!.spec.nodeName).toBe('dev-node');
    await cluster.kubectl(['-n', ns, 'set', 'env', 'daemonset/agent', 'VERSION=a2']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'daemonset/agent', '--timeout=60s']);
    const rolled = await waitFor(() => {
      const l = pods.list().filter((p) => p.metadata.labels?.app === 'agent' && !p.metadata.deletionTimestamp);
      return l.length === 1 && l[0]!.metadata.name !== agents[0]!.metadata.name && isPodReady(l[0]!) ? l[0] : undefined;
    }, { what: 'daemonset pod replaced' });
    expect(await (await fetch(`http://${rolled.status!.podIP}:8080/`)).text()).toBe('a2');
  }, 90_000);
});
