/**
 * Our kubelet attached to the real kube-apiserver (+ kube-controller-manager) as a node
 * (`useCluster({ apiserver: 'real' })`): it registers its Node under the Node authorizer, runs
 * the pods the real controllers create, writes their status, and gives each pod the bound
 * ServiceAccount token of a real kubelet, with which the pod reaches the real server over HTTPS.
 * On it, the operator deployed exactly as `kustomize/base` (its pod, its ServiceAccount, its RBAC)
 * reconciles Collectors whose pods run here: a config change reaches the running pods through the
 * reloader without a restart, and a collector pod's in-cluster `discovery.kubernetes` works with
 * the RBAC the operator derived and reports the 403 when the grant is withheld. `kubectl exec`,
 * `attach` and `port-forward` reach its pods through the real server (`kubectl-streaming.ts`).
 * One control plane for the file; it prints the wall time the file took.
 */
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { collectorYaml, componentIds, condition, getCollector, httpGet, listPods, unavailableReason } from '../operator/operator-harness.js';
import { waitFor } from '../cluster/harness/wait.js';
import { deployOperatorFromKustomize, operatorLog as operatorLogOf, podLog as podLogOf } from './real-operator.js';
import { realClusterUnavailable } from '../cluster/real/real-cluster.js';
import { kubectlStreamingJourneys } from './kubectl-streaming.js';

/** A refused request in the operator's log: the API server's 403 message says "forbidden", a bare one "HTTP 403" (not a bare 403, which log timestamps contain). */
const FORBIDDEN = /forbidden|HTTP 403/i;

const skip = realClusterUnavailable() !== undefined || unavailableReason() !== undefined;

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

  const podLog = (ns: string, pod: string): Promise<string> => podLogOf(cluster, ns, pod);

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
    expect(pod.ip).toMatch(/^10\.\d+\.\d+\.\d+$/);
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

    // kubectl logs: the real server proxies to the kubelet's /containerLogs endpoint.
    const logs = await cluster.kubectl(['logs', next.name, '-n', ns, '--tail=1']);
    expect(JSON.parse(logs.trim())).toMatchObject({ status: 200, sub: `system:serviceaccount:${ns}:prober` });
    const missing = await cluster.runKubectl(['logs', next.name, '-n', ns, '--previous']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`Error from server (BadRequest): previous terminated container "probe" in pod "${next.name}" not found`);
  }, 150_000);

  it('pods have their own network namespace and address, so the real endpoints controller fills the Service and a pod reaches it by name', async () => {
    const ns = await cluster.namespace('svc');
    const server = "require('node:http').createServer((q, s) => s.end('hello from ' + require('node:os').hostname())).listen(8080)";
    const client = `const get = () => require('node:http').get('http://web:80/', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => { console.log('GOT ' + b); setTimeout(get, 500); }); }).on('error', (e) => { console.log('ERR ' + e.message); setTimeout(get, 500); }); get();`;
    const objects = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: ns, labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'harness/node', command: ['node', '-e', server], ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: ns }, spec: { containers: [{ name: 'client', image: 'harness/node', command: ['node', '-e', client] }] } },
    ];
    await cluster.kubectl(['apply', '-f', '-'], objects.map((o) => `---\n${JSON.stringify(o)}\n`).join(''));
    const webIp = await waitFor(async () => {
      const p = JSON.parse(await cluster.kubectl(['get', 'pod', 'web', '-n', ns, '-o', 'json'])) as { status: { podIP?: string; conditions?: { type: string; status: string }[] } };
      return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status.podIP : undefined;
    }, { timeoutMs: 60_000, what: 'pod web Ready' });
    expect(webIp).toMatch(/^10\./);
    const endpoints = await waitFor(async () => {
      const e = JSON.parse(await cluster.kubectl(['get', 'endpoints', 'web', '-n', ns, '-o', 'json'])) as { subsets?: { addresses?: { ip: string; targetRef?: { name: string } }[]; ports?: { port: number }[] }[] };
      return e.subsets?.[0]?.addresses?.length ? e.subsets : undefined;
    }, { timeoutMs: 30_000, what: 'the Endpoints written by kube-controller-manager' });
    expect(endpoints).toStrictEqual([{ addresses: [expect.objectContaining({ ip: webIp, targetRef: expect.objectContaining({ name: 'web' }) })], ports: [expect.objectContaining({ port: 8080 })] }]);
    const reply = await httpGet(`http://${webIp}:8080/`);
    expect(reply).toStrictEqual({ status: 200, body: 'hello from web' });
    const line = await waitFor(async () => (await podLog(ns, 'client')).split('\n').find((l) => l.startsWith('GOT ')), { timeoutMs: 30_000, what: `the client pod's answer through the Service (pod: ${await cluster.kubectl(['get', 'pod', 'client', '-n', ns, '-o', 'jsonpath={.status}'])})` });
    expect(line).toBe('GOT hello from web');
  }, 120_000);

  describe('the operator deployed from kustomize/base', () => {
    const ns = 'alloy-system';
    const BASE = 'prometheus.exporter.self "alloy" { }\n';
    const NEXT = `${BASE}\nprometheus.relabel "after_reload" {\n  forward_to = []\n}\n`;
    const operatorLog = (): Promise<string> => operatorLogOf(cluster);

    beforeAll(() => deployOperatorFromKustomize(cluster), 120_000);

    it('reconciles a Collector whose pod runs here; a config change is reloaded in the running pod without a restart', async () => {
      await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, 'edge', { config: BASE, replicas: 1, clustering: { enabled: false } }));
      await waitFor(async () => condition(await getCollector(cluster, ns, 'edge'), 'Ready')?.status === 'True', { timeoutMs: 90_000, intervalMs: 250, what: `Collector edge Ready=True (operator log: ${await operatorLog()})` });
      const [before] = await listPods(cluster, ns, 'edge');
      expect(before).toMatchObject({ ready: true, ip: expect.stringMatching(/^10\./) });
      expect(await componentIds(before!.ip)).not.toContain('prometheus.relabel.after_reload');

      await cluster.kubectl(['patch', 'collector', 'edge', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { config: NEXT } })]);
      await waitFor(async () => (await componentIds(before!.ip)).includes('prometheus.relabel.after_reload'), { timeoutMs: 60_000, intervalMs: 200, what: 'the new config live in the running pod' });
      const [after] = await listPods(cluster, ns, 'edge');
      expect(after!.name).toBe(before!.name);
      expect(after!.containers).toStrictEqual(before!.containers);
      expect(await operatorLog()).not.toMatch(FORBIDDEN);
    }, 150_000);

    it("a collector pod's in-cluster discovery works with the RBAC the operator derived, and reports the 403 without it", async () => {
      const config = `discovery.kubernetes "pods" {\n  role = "pod"\n  namespaces {\n    names = ["${ns}"]\n  }\n}\n`;
      for (const [name, rbac] of [['granted', 'auto'], ['withheld', 'none']] as const) {
        await cluster.kubectl(['apply', '-f', '-'], collectorYaml(ns, name, { config, replicas: 1, clustering: { enabled: false }, rbac: { discovery: rbac } }));
      }
      const health = async (instance: string): Promise<{ state: string; message: string }> => {
        const pod = await waitFor(async () => (await listPods(cluster, ns, instance)).find((p) => p.ip !== '' && p.ready), { timeoutMs: 90_000, what: `a ready pod of Collector ${instance} (operator log: ${await operatorLog()})` });
        return waitFor(async () => {
          const r = await httpGet(`http://${pod.ip}:12345/api/v0/web/components/discovery.kubernetes.pods`);
          if (r.status !== 200) return undefined;
          const h = (JSON.parse(r.body) as { health: { state: string; message: string } }).health;
          return h.state === 'healthy' || /403/.test(h.message) ? h : undefined;
        }, { timeoutMs: 60_000, what: `discovery health in the pod of Collector ${instance}` });
      };
      expect(await health('granted')).toMatchObject({ state: 'healthy' });
      const withheld = await health('withheld');
      expect(withheld.state).toBe('unhealthy');
      expect(withheld.message).toContain('403 Forbidden');
      expect(withheld.message).toContain(`User "system:serviceaccount:${ns}:withheld" cannot list resource "pods" in API group "" in the namespace "${ns}"`);
    }, 200_000);
  });

  describe('kubectl exec, attach and port-forward through the real server', () => kubectlStreamingJourneys(() => cluster));
});
