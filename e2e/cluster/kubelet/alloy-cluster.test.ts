// Our real collector image on the dev cluster, configured the way the upstream chart does it
// (no --cluster.advertise-address; join via the headless Service; upstream reloader image):
// the pods form one cluster under their own hostnames and pod IPs, and a ConfigMap edit is
// reloaded in place by the sidecar without a restart.
import fs from 'node:fs';
import path from 'node:path';
import { useCluster, type TestCluster } from '../harness/cluster.js';
import { KUBECTL, requireTool } from '../harness/kubectl.js';
import { repoRoot } from '../harness/paths.js';
import { waitFor } from '../harness/wait.js';
import type { Pod } from '../harness/k8s-types.js';

const built = fs.existsSync(path.join(repoRoot(), 'dist/collector/src/cli/main.js'));
if (!built) {
  const msg = 'dist/ is missing: run "npm run build" so dev-cluster pods can run bin/alloy';
  if (process.env.CI === 'true') throw new Error(msg);
  process.stderr.write(`SKIP: ${msg}\n`);
}
const haveKubectl = requireTool('kubectl', KUBECTL);

const manifests = (ns: string): object[] => [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'alloy', namespace: ns }, data: { 'config.alloy': 'logging {\n  level = "info"\n}\n' } },
  {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'alloy-cluster', namespace: ns },
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'alloy' }, ports: [{ name: 'http', port: 12345, targetPort: 12345 }] },
  },
  {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'alloy', namespace: ns },
    spec: {
      replicas: 3,
      podManagementPolicy: 'Parallel',
      serviceName: 'alloy-cluster',
      selector: { matchLabels: { app: 'alloy' } },
      template: {
        metadata: { labels: { app: 'alloy' } },
        spec: {
          securityContext: { runAsUser: 473, runAsGroup: 473, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'alloy',
              image: 'docker.io/grafana/alloy:v1.5.0',
              args: ['run', '/etc/alloy/config.alloy', '--storage.path=/tmp/alloy', '--server.http.listen-addr=0.0.0.0:12345', '--cluster.enabled=true', '--cluster.join-addresses=alloy-cluster'],
              env: [{ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
              ports: [{ name: 'http-metrics', containerPort: 12345 }],
              readinessProbe: { httpGet: { path: '/-/ready', port: 12345 }, initialDelaySeconds: 10, timeoutSeconds: 1 },
              volumeMounts: [{ name: 'config', mountPath: '/etc/alloy' }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
            {
              name: 'config-reloader',
              image: 'quay.io/prometheus-operator/prometheus-config-reloader:v0.81.0',
              args: ['--watched-dir=/etc/alloy', '--reload-url=http://localhost:12345/-/reload'],
              volumeMounts: [{ name: 'config', mountPath: '/etc/alloy' }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: 'alloy' } }],
        },
      },
    },
  },
];

(built && haveKubectl ? describe : describe.skip)('alloy pods on the dev cluster', () => {
  let cluster: TestCluster;
  let ns: string;

  beforeAll(async () => {
    cluster = await useCluster({ forceLocal: true, configSyncDelayMs: 100 });
    ns = await cluster.namespace('alloy');
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('form one cluster by headless-service DNS with inferred pod addresses, and reload an edited ConfigMap in place', async () => {
    await cluster.kubectl(['apply', '-f', '-'], manifests(ns).map((m) => JSON.stringify(m)).join('\n'));
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/alloy', '--timeout=120s']);
    const pods = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=alloy', '-o', 'json'])) as { items: Pod[] }).items;
    const ips = Object.fromEntries(pods.map((p) => [p.metadata.name!, p.status!.podIP!]));
    expect(Object.keys(ips).sort()).toEqual(['alloy-0', 'alloy-1', 'alloy-2']);

    for (const [name, ip] of Object.entries(ips)) {
      const peers = await waitFor(async () => {
        const list = (await (await fetch(`http://${ip}:12345/api/v0/web/peers`)).json()) as { name: string; addr: string; isSelf: boolean }[];
        return list.length === 3 ? list : undefined;
      }, { timeoutMs: 60_000, what: `${name} to see 3 peers` });
      expect(peers.map((p) => p.name).sort()).toEqual(['alloy-0', 'alloy-1', 'alloy-2']);
      expect(peers.find((p) => p.isSelf)).toMatchObject({ name, addr: `${ip}:12345` });
    }

    const before = pods.map((p) => p.status!.containerStatuses!.map((c) => `${c.name}:${c.containerID}:${c.restartCount}`).sort().join(',')).sort();
    const edited = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'alloy', namespace: ns }, data: { 'config.alloy': 'logging {\n  level = "debug"\n}\n' } };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(edited));
    for (const name of Object.keys(ips)) {
      await waitFor(async () => (await cluster.kubectl(['-n', ns, 'logs', name, '-c', 'config-reloader'])).includes('reloaded'), { timeoutMs: 60_000, what: `${name} reloaded by its sidecar` });
    }
    const after = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=alloy', '-o', 'json'])) as { items: Pod[] }).items
      .map((p) => p.status!.containerStatuses!.map((c) => `${c.name}:${c.containerID}:${c.restartCount}`).sort().join(',')).sort();
    expect(after).toEqual(before);
  }, 240_000);
});
