/**
 * Our kubelet attached to the real kube-apiserver (+ kube-controller-manager) as a node
 * (`useCluster({ apiserver: 'real' })`): it registers its Node under the Node authorizer, runs
 * the pods the real controllers create, writes their status, and gives each pod the bound
 * ServiceAccount token of a real kubelet, with which the pod reaches the real server over HTTPS.
 * One control plane for the file; it prints the wall time the file took.
 */
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { waitFor } from '../cluster/harness/wait.js';
import { realClusterUnavailable } from '../cluster/real/real-cluster.js';

const skip = realClusterUnavailable() !== undefined;

/** A pod script: reads the in-cluster identity files and calls the API server with them. */
const PROBE = `
const fs = require('node:fs');
const https = require('node:https');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
const token = fs.readFileSync(dir + '/token', 'utf8');
const ca = fs.readFileSync(dir + '/ca.crt');
const ns = fs.readFileSync(dir + '/namespace', 'utf8');
const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const url = 'https://' + process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT + '/api/v1/namespaces/' + ns + '/configmaps';
https.get(url, { ca, headers: { authorization: 'Bearer ' + token } }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => {
    console.log(JSON.stringify({ ns, sub: claims.sub, pod: claims['kubernetes.io'] && claims['kubernetes.io'].pod, status: res.statusCode, message: JSON.parse(body).message || '' }));
    setInterval(() => {}, 1000);
  });
}).on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
`;

(skip ? describe.skip : describe)('our kubelet on the real kube-apiserver', () => {
  let cluster!: TestCluster;
  const t0 = Date.now();

  beforeAll(async () => {
    cluster = await useCluster({ apiserver: 'real', podSyncPeriodMs: 2000 });
    console.log(`real cluster (etcd, kube-apiserver, kube-controller-manager, kubelet) ready in ${Date.now() - t0} ms`);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    console.log(`real-kubelet.e2e.ts wall time: ${Date.now() - t0} ms`);
  }, 60_000);

  const podLog = async (ns: string, pod: string): Promise<string> => {
    const stream = cluster.real!.kubelet.logProvider(ns, pod, undefined, { follow: false, previous: false });
    if (!stream) return '';
    let out = '';
    for await (const chunk of stream) out += String(chunk);
    return out;
  };

  it('registers a Ready Node with its node identity', async () => {
    const node = JSON.parse(await cluster.kubectl(['get', 'node', 'dev-node', '-o', 'json'])) as { status: { conditions: { type: string; status: string }[] }; metadata: { managedFields: { manager: string }[] } };
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    // The Node authorizer confines the node identity: it may not read a Secret no pod of it uses.
    const ns = await cluster.namespace('node-authz');
    await cluster.kubectl(['create', 'secret', 'generic', 'unrelated', '-n', ns, '--from-literal=a=b']);
    const r = await cluster.real!.kubelet.client.request('GET', `/api/v1/namespaces/${ns}/secrets/unrelated`).then(() => 'allowed', (e: unknown) => String(e));
    expect(r).toMatch(/forbidden: User "system:node:dev-node" cannot get resource "secrets"/);
    expect(r).toMatch(/no relationship found between node 'dev-node' and this object/);
  });

  it("runs a Deployment's pod with its bound ServiceAccount token; the pod reaches the real server in cluster, refused until a Role grants it", async () => {
    const ns = await cluster.namespace('sa-token');
    await cluster.kubectl(['create', 'serviceaccount', 'prober', '-n', ns]);
    await cluster.kubectl(['create', 'configmap', 'probe', '-n', ns, `--from-literal=probe.js=${PROBE}`]);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'prober', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'prober' } },
        template: {
          metadata: { labels: { app: 'prober' } },
          spec: {
            serviceAccountName: 'prober',
            containers: [{ name: 'probe', image: 'harness/node', command: ['node', '/probe/probe.js'], volumeMounts: [{ name: 'probe', mountPath: '/probe' }] }],
            volumes: [{ name: 'probe', configMap: { name: 'probe' } }],
          },
        },
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(deployment));
    const running = async (): Promise<{ name: string; uid: string; ip: string } | undefined> => {
      const pods = JSON.parse(await cluster.kubectl(['get', 'pods', '-n', ns, '-l', 'app=prober', '-o', 'json'])) as { items: { metadata: { name: string; uid: string; deletionTimestamp?: string }; spec: { nodeName?: string; volumes: { name: string }[] }; status: { phase?: string; podIP?: string } }[] };
      const p = pods.items.find((i) => i.status.phase === 'Running' && !i.metadata.deletionTimestamp);
      return p && p.spec.nodeName === 'dev-node' ? { name: p.metadata.name, uid: p.metadata.uid, ip: p.status.podIP ?? '' } : undefined;
    };
    const pod = await waitFor(running, { timeoutMs: 60_000, what: `a Running prober pod (events: ${await cluster.kubectl(['get', 'events', '-n', ns, '-o', 'custom-columns=R:.reason,M:.message']).catch(() => '')})` });
    expect(pod.ip).toMatch(/^127\./);
    const first = await waitFor(async () => {
      const line = (await podLog(ns, pod.name)).trim().split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
    }, { timeoutMs: 30_000, what: 'the probe output' });
    expect(first).toStrictEqual({
      ns,
      sub: `system:serviceaccount:${ns}:prober`,
      pod: { name: pod.name, uid: pod.uid },
      status: 403,
      message: `configmaps is forbidden: User "system:serviceaccount:${ns}:prober" cannot list resource "configmaps" in API group "" in the namespace "${ns}"`,
    });

    await cluster.kubectl(['create', 'role', 'read-cm', '-n', ns, '--verb=list', '--resource=configmaps']);
    await cluster.kubectl(['create', 'rolebinding', 'read-cm', '-n', ns, '--role=read-cm', `--serviceaccount=${ns}:prober`]);
    await cluster.kubectl(['delete', 'pod', pod.name, '-n', ns, '--wait=false']);
    const next = await waitFor(async () => {
      const p = await running();
      return p && p.uid !== pod.uid ? p : undefined;
    }, { timeoutMs: 60_000, what: 'the replacement pod Running' });
    const granted = await waitFor(async () => {
      const line = (await podLog(ns, next.name)).trim().split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
    }, { timeoutMs: 30_000, what: 'the probe output of the replacement pod' });
    expect(granted).toMatchObject({ status: 200, pod: { name: next.name, uid: next.uid } });
  }, 150_000);
});
