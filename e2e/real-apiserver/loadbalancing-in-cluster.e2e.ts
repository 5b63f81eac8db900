/**
 * `otelcol.exporter.loadbalancing` `resolver.kubernetes` with in-cluster auth against a real
 * kube-apiserver (RBAC on): the connection is built exactly as inside a pod
 * (`KUBERNETES_SERVICE_HOST/PORT` + a service account directory holding a TokenRequest token,
 * `ca.crt` and `namespace`), for a ServiceAccount bound to a Role granting get/list/watch on
 * endpoints — the rule the reference page asks for. The resolver lists and watches the Service's
 * Endpoints and follows an edit; without the RoleBinding it reports the component unhealthy with
 * the server's 403. Addresses are non-loopback (the real server refuses 127.x endpoints) and never
 * dialled: what is checked is the resolved endpoint set.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { kubectl } from '../cluster/harness/kubectl.js';
import { realControlPlaneUnavailable, startRealControlPlane, type RealControlPlane } from '../cluster/real/control-plane.js';
import { resolveConnection } from '../../collector/src/component/common/kube/config.js';
import { argumentsSchema, LoadBalancingExporter } from '../../collector/src/component/otelcol/exporter/loadbalancing/loadbalancing.js';
import { eventually, silentLogger } from '../../collector/src/component/otelcol/otelcol.test-support.js';

const skip = realControlPlaneUnavailable();
if (skip && process.env.CI !== 'true') process.stderr.write(`SKIP: ${skip}\n`);

const endpoints = (ns: string, ips: readonly string[]): string => `apiVersion: v1
kind: Endpoints
metadata:
  name: downstream
  namespace: ${ns}
subsets:
  - addresses: [${ips.map((ip) => `{"ip": "${ip}"}`).join(', ')}]
    ports:
      - name: otlp-grpc
        port: 4317
`;

(skip ? describe.skip : describe)('resolver.kubernetes with in-cluster auth on a real kube-apiserver', () => {
  let cp!: RealControlPlane;
  let dir: string;
  const ns = 'lb';
  const k = (args: readonly string[], input?: string): Promise<string> => kubectl(args, { kubeconfig: cp.kubeconfigPath, input });

  beforeAll(async () => {
    cp = await startRealControlPlane();
    dir = mkdtempSync(path.join(os.tmpdir(), 'lb-incluster-'));
    await k(['create', 'namespace', ns]);
    await k(['-n', ns, 'create', 'serviceaccount', 'edge']);
    await k(['-n', ns, 'create', 'role', 'lb-resolver', '--verb=get,list,watch', '--resource=endpoints']);
    await k(['apply', '-f', '-'], `apiVersion: v1\nkind: Service\nmetadata:\n  name: downstream\n  namespace: ${ns}\nspec:\n  clusterIP: None\n  ports:\n    - name: otlp-grpc\n      port: 4317\n`);
    await k(['apply', '-f', '-'], endpoints(ns, ['10.1.0.2', '10.1.0.1']));
    // The service account directory a pod of ServiceAccount lb/edge would see.
    const token = (await k(['-n', ns, 'create', 'token', 'edge', '--duration=1h'])).trim();
    writeFileSync(path.join(dir, 'token'), token);
    writeFileSync(path.join(dir, 'ca.crt'), cp.caPem);
    writeFileSync(path.join(dir, 'namespace'), ns);
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function start(): { exp: LoadBalancingExporter; health: () => { state: string; message: string }; stop: () => Promise<void> } {
    const api = new URL(cp.url);
    let health = { state: 'unknown', message: '' };
    const opts = {
      id: 'otelcol.exporter.loadbalancing.edge',
      logger: silentLogger,
      registry: new Registry(),
      dataPath: '/nonexistent',
      onStateChange: () => undefined,
      setHealth: (state: string, message: string) => (health = { state, message }),
      getService: () => {
        throw new Error('no services in this test');
      },
    };
    const args = argumentsSchema.parse({ resolver: { kubernetes: { service: `downstream.${ns}` } }, protocol: { otlp: { client: { tls: { insecure: true } } } } });
    const exp = new LoadBalancingExporter(opts as never, args, { kubeConnection: () => resolveConnection({ env: { KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port }, serviceAccountDir: dir }) });
    const ac = new AbortController();
    const running = exp.run(ac.signal);
    return {
      exp,
      health: () => health,
      stop: async () => {
        ac.abort();
        await running;
      },
    };
  }

  it('is refused with a 403 named in its health until the Role is bound', async () => {
    const lb = start();
    try {
      await eventually(() => lb.health().state === 'unhealthy', 20_000, 'unhealthy without RBAC');
      expect(lb.health().message).toMatch(/resolver\.kubernetes: watching Endpoints lb\/downstream failed/);
      expect(lb.health().message).toMatch(/403|forbidden/i);
      expect(lb.exp.endpoints()).toEqual([]);
    } finally {
      await lb.stop();
    }
  }, 60_000);

  it('lists and watches the Endpoints with the service account token once bound, and recovers its health', async () => {
    const lb = start();
    await eventually(() => lb.health().state === 'unhealthy', 20_000, 'unhealthy before the binding');
    await k(['-n', ns, 'create', 'rolebinding', 'lb-resolver', '--role=lb-resolver', `--serviceaccount=${ns}:edge`]);
    try {
      await eventually(() => lb.exp.endpoints().join() === '10.1.0.1:4317,10.1.0.2:4317', 30_000, 'the two addresses');
      await k(['apply', '-f', '-'], endpoints(ns, ['10.1.0.1', '10.1.0.3']));
      await eventually(() => lb.exp.endpoints().join() === '10.1.0.1:4317,10.1.0.3:4317', 15_000, 'the edited addresses');
      expect(lb.health()).toEqual({ state: 'healthy', message: '2 backend(s): 10.1.0.1:4317, 10.1.0.3:4317' });
    } finally {
      await lb.stop();
    }
  }, 90_000);
});
