// `otelcol.exporter.loadbalancing` with `resolver.kubernetes` against the dev cluster's API
// server: a Service without selector whose Endpoints this test manages (as an operator or a
// headless StatefulSet would change them), pointing at three in-process OTLP/gRPC receivers on
// distinct loopback IPs (a reserved 127.N block) and one port. The resolver lists and watches the
// Endpoints (no polling), routes every trace whole to one ready address, follows additions and
// removals, ignores not-ready addresses, and reads `return_hostnames`.
// Not covered: in-cluster auth from inside a pod (the connection comes from the dev cluster's
// kubeconfig through the resolver's connection hook; the in-cluster path is `resolveConnection`,
// tested in component/common/kube).
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { claimIpBlock, useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { loadKubeconfig } from '../../collector/src/component/common/kube/config.js';
import { Telemetry } from '../../collector/src/otlp/data.js';
import type { Span } from '../../collector/src/otlp/types.js';
import { component as receiver, type OtlpReceiver } from '../../collector/src/component/otelcol/receiver/otlp/otlp.js';
import { argumentsSchema, LoadBalancingExporter } from '../../collector/src/component/otelcol/exporter/loadbalancing/loadbalancing.js';
import type { Consumer } from '../../collector/src/component/otelcol/consumer.js';
import { CaptureConsumer, eventually, runComponent, silentLogger, type Running } from '../../collector/src/component/otelcol/otelcol.test-support.js';
import { freePort } from '../metrics/harness.js';

let cluster: TestCluster;
let ns: string;
let block: { base: string; release(): void };
const receivers: Array<{ sink: CaptureConsumer; r: Running<OtlpReceiver, Record<string, never>>; ip: string }> = [];
let port: number;

beforeAll(async () => {
  cluster = await useCluster({ forceLocal: true });
  ns = await cluster.namespace('lbk8s');
  block = claimIpBlock();
  port = await freePort();
  for (let i = 1; i <= 3; i++) {
    const ip = `${block.base}.200.${i}`;
    const sink = new CaptureConsumer();
    const r = await runComponent<never, Record<string, never>, OtlpReceiver>(receiver as never, { grpc: { endpoint: `${ip}:${port}` }, output: { traces: [sink] } });
    await eventually(() => r.health().state === 'healthy', 10_000, `receiver on ${ip}`);
    receivers.push({ sink, r, ip });
  }
}, 90_000);

afterAll(async () => {
  for (const x of receivers) await x.r.stop();
  block?.release();
  await cluster?.stop();
});

async function setEndpoints(ready: readonly string[], notReady: readonly string[] = [], hostnames = false): Promise<void> {
  const addr = (ip: string, i: number): string => `{"ip": "${ip}"${hostnames ? `, "hostname": "collector-${i}"` : ''}}`;
  const yaml = `apiVersion: v1
kind: Service
metadata:
  name: downstream
  namespace: ${ns}
spec:
  clusterIP: None
  ports:
    - name: otlp-grpc
      port: ${port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: downstream
  namespace: ${ns}
subsets:
  - addresses: [${ready.map(addr).join(', ')}]
    notReadyAddresses: [${notReady.map((ip, i) => addr(ip, i + 10)).join(', ')}]
    ports:
      - name: otlp-grpc
        port: ${port}
`;
  await cluster.kubectl(['apply', '-f', '-'], yaml);
}

function traces(n: number): { requests: Telemetry[]; ids: string[] } {
  const ids: string[] = [];
  const spans: Span[] = [];
  for (let t = 0; t < n; t++) {
    const traceId = randomBytes(16);
    ids.push(traceId.toString('hex'));
    for (let i = 0; i < 5; i++) spans.push({ traceId, spanId: randomBytes(8), name: `op${i}`, startTimeUnixNano: 1, endTimeUnixNano: 2, attributes: [] });
  }
  const requests: Telemetry[] = [];
  for (let i = 0; i < spans.length; i += 100) requests.push(Telemetry.of('traces', { resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: spans.slice(i, i + 100) }] }] }));
  return { requests, ids };
}

/** Trace ID → the receiver IPs that got spans of it. */
function placement(): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const x of receivers)
    for (const t of x.sink.received)
      for (const rs of (t as Telemetry<'traces'>).request.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) {
            const id = Buffer.from(s.traceId!).toString('hex');
            if (!m.has(id)) m.set(id, new Set());
            m.get(id)!.add(x.ip);
          }
  return m;
}

function exporter(returnHostnames = false): { exp: LoadBalancingExporter; send: (t: Telemetry) => Promise<void>; stop: () => Promise<void> } {
  const args = argumentsSchema.parse({ resolver: { kubernetes: { service: `downstream.${ns}`, ports: [port], return_hostnames: returnHostnames } }, protocol: { otlp: { client: { tls: { insecure: true } } } } });
  let input: Consumer | undefined;
  const opts = {
    id: 'otelcol.exporter.loadbalancing.k8s',
    logger: silentLogger,
    registry: new Registry(),
    dataPath: '/nonexistent',
    onStateChange: (e: { input: Consumer }) => (input = e.input),
    setHealth: () => undefined,
    getService: () => {
      throw new Error('no services in this test');
    },
  };
  const exp = new LoadBalancingExporter(opts as never, args, { kubeConnection: () => loadKubeconfig(cluster.kubeconfig) });
  const ac = new AbortController();
  const running = exp.run(ac.signal);
  return {
    exp,
    send: (t) => input!.consume(t),
    stop: async () => {
      ac.abort();
      await running;
    },
  };
}

describe('otelcol.exporter.loadbalancing resolver.kubernetes (dev cluster API)', () => {
  it('follows the Service Endpoints and keeps every trace whole on one ready address', async () => {
    const [a, b, c] = receivers.map((x) => x.ip);
    await setEndpoints([a!, b!], [c!]);
    const lb = exporter();
    try {
      await eventually(() => lb.exp.endpoints().join() === [`${a}:${port}`, `${b}:${port}`].sort().join(), 15_000, 'the two ready addresses');
      const first = traces(200);
      for (const r of first.requests) await lb.send(r);
      await eventually(() => receivers.reduce((s, x) => s + x.sink.count('traces'), 0) === 1000, 20_000, '1000 spans delivered');
      let p = placement();
      expect([...p.values()].every((ips) => ips.size === 1)).toBe(true);
      expect(receivers[2]!.sink.count('traces')).toBe(0); // not ready: never used
      expect(receivers[0]!.sink.count('traces')).toBeGreaterThan(0);
      expect(receivers[1]!.sink.count('traces')).toBeGreaterThan(0);

      // c becomes ready: the watch adds it without polling.
      const t0 = Date.now();
      await setEndpoints([a!, b!, c!]);
      await eventually(() => lb.exp.endpoints().length === 3, 10_000, 'the third address');
      const addMs = Date.now() - t0;
      const second = traces(300);
      for (const r of second.requests) await lb.send(r);
      await eventually(() => receivers.reduce((s, x) => s + x.sink.count('traces'), 0) === 2500, 20_000, '2500 spans delivered');
      p = placement();
      expect(second.ids.every((id) => p.get(id)?.size === 1)).toBe(true);
      expect(receivers[2]!.sink.count('traces')).toBeGreaterThan(0);

      // a is removed from the Service.
      await setEndpoints([b!, c!]);
      await eventually(() => lb.exp.endpoints().join() === [`${b}:${port}`, `${c}:${port}`].sort().join(), 10_000, 'a removed');
      expect(addMs).toBeLessThan(10_000);
    } finally {
      await lb.stop();
    }
  }, 120_000);

  it('with return_hostnames resolves <hostname>.<service>.<namespace> of each ready address', async () => {
    const [a, b] = receivers.map((x) => x.ip);
    await setEndpoints([a!, b!], [], true);
    const lb = exporter(true);
    try {
      await eventually(() => lb.exp.endpoints().length === 2, 15_000, 'two hostnames');
      expect([...lb.exp.endpoints()].sort()).toEqual([`collector-0.downstream.${ns}:${port}`, `collector-1.downstream.${ns}:${port}`]);
    } finally {
      await lb.stop();
    }
  }, 60_000);
});
