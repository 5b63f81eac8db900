// `otelcol.exporter.loadbalancing` with `resolver.dns` against the dev cluster's headless Service,
// all collectors real pods of our image: an edge pod (`otelcol.receiver.otlp` →
// loadbalancing, `dns { hostname = "downstream" }`) and a 3-replica StatefulSet behind the
// headless Service `downstream` (`otelcol.receiver.otlp` → attributes tagging the pod name →
// `otelcol.exporter.otlp`) → an OTLP/gRPC sink in this process. Senders: the OpenTelemetry JS SDK.
// The edge resolves `downstream` through the dev cluster's DNS (the kubelet's resolution table,
// served to pod processes by its preload: ready pod IPs of the headless Service), not through a
// DNS server on the wire; everything else is as on a real node.
// Journey: every trace lands whole on exactly one downstream pod, and all three pods get traces.
import fs from 'node:fs';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { claimIpBlock, useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { KUBECTL, requireTool } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import type { Pod } from '../cluster/harness/k8s-types.js';
import { component as receiver, type OtlpReceiver } from '../../collector/src/component/otelcol/receiver/otlp/otlp.js';
import { CaptureConsumer, eventually, runComponent, type Running } from '../../collector/src/component/otelcol/otelcol.test-support.js';
import type { Telemetry } from '../../collector/src/otlp/data.js';
import { freePort } from '../metrics/harness.js';

const built = fs.existsSync(path.join(repoRoot(), 'dist/collector/src/cli/main.js'));
if (!built && process.env.CI === 'true') throw new Error('dist/ is missing: run "npm run build" so dev-cluster pods can run bin/alloy');
const haveKubectl = requireTool('kubectl', KUBECTL);

const edgeConfig = `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "0.0.0.0:4317"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.default.input]
  }
}

otelcol.exporter.loadbalancing "default" {
  routing_key = "traceID"
  resolver {
    dns {
      hostname = "downstream"
      port     = "4317"
      interval = "1s"
    }
  }
  protocol {
    otlp {
      client {
        tls {
          insecure = true
        }
      }
    }
  }
}
`;

const downstreamConfig = (sink: string): string => `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "0.0.0.0:4317"
  }
  output {
    traces = [otelcol.processor.attributes.tag.input]
  }
}

otelcol.processor.attributes "tag" {
  action {
    key    = "downstream"
    value  = sys.env("POD_NAME")
    action = "insert"
  }
  output {
    traces = [otelcol.exporter.otlp.sink.input]
  }
}

otelcol.exporter.otlp "sink" {
  client {
    endpoint = "${sink}"
    tls {
      insecure = true
    }
  }
}
`;

const alloyContainer = {
  name: 'alloy',
  image: 'docker.io/grafana/alloy:v1.5.0',
  args: ['run', '/etc/alloy/config.alloy', '--storage.path=/tmp/alloy', '--server.http.listen-addr=0.0.0.0:12345'],
  env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
  ports: [{ name: 'otlp-grpc', containerPort: 4317 }],
  readinessProbe: { httpGet: { path: '/-/ready', port: 12345 }, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 1 },
  volumeMounts: [{ name: 'config', mountPath: '/etc/alloy' }],
};

const manifests = (ns: string, sink: string): object[] => [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'edge', namespace: ns }, data: { 'config.alloy': edgeConfig } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'downstream', namespace: ns }, data: { 'config.alloy': downstreamConfig(sink) } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'downstream', namespace: ns }, spec: { clusterIP: 'None', selector: { app: 'downstream' }, ports: [{ name: 'otlp-grpc', port: 4317, targetPort: 4317 }] } },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'downstream', namespace: ns },
    spec: {
      replicas: 3,
      podManagementPolicy: 'Parallel',
      serviceName: 'downstream',
      selector: { matchLabels: { app: 'downstream' } },
      template: { metadata: { labels: { app: 'downstream' } }, spec: { containers: [alloyContainer], volumes: [{ name: 'config', configMap: { name: 'downstream' } }] } },
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'edge', namespace: ns },
    spec: { replicas: 1, selector: { matchLabels: { app: 'edge' } }, template: { metadata: { labels: { app: 'edge' } }, spec: { containers: [alloyContainer], volumes: [{ name: 'config', configMap: { name: 'edge' } }] } } },
  },
];

(built && haveKubectl ? describe : describe.skip)('otelcol.exporter.loadbalancing resolver.dns on the dev cluster', () => {
  let cluster: TestCluster;
  let ns: string;
  let block: { base: string; release(): void };
  let sink: { consumer: CaptureConsumer; r: Running<OtlpReceiver, Record<string, never>> };

  beforeAll(async () => {
    cluster = await useCluster({ forceLocal: true });
    ns = await cluster.namespace('lbdns');
    block = claimIpBlock();
    const consumer = new CaptureConsumer();
    const r = await runComponent<never, Record<string, never>, OtlpReceiver>(receiver as never, { grpc: { endpoint: `${block.base}.250.1:${await freePort()}` }, output: { traces: [consumer] } });
    await eventually(() => r.health().state === 'healthy', 10_000, 'sink listening');
    sink = { consumer, r };
  }, 60_000);
  afterAll(async () => {
    await sink?.r.stop();
    block?.release();
    await cluster?.stop();
  });

  it('routes every trace whole to one of the headless Service pods', async () => {
    await cluster.kubectl(['apply', '-f', '-'], manifests(ns, sink.r.component.addresses().grpc!).map((m) => JSON.stringify(m)).join('\n'));
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/downstream', '--timeout=180s']);
    await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/edge', '--timeout=180s']);
    const pods = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=edge', '-o', 'json'])) as { items: Pod[] }).items;
    const edgeIp = pods[0]!.status!.podIP!;
    // The edge resolves the headless name every second; on a busy machine it may have started while
    // only some downstream pods had addresses. Send once its ring holds all three.
    const downIps = (JSON.parse(await cluster.kubectl(['-n', ns, 'get', 'pods', '-l', 'app=downstream', '-o', 'json'])) as { items: Pod[] }).items.map((p) => p.status!.podIP!);
    expect(downIps).toHaveLength(3);
    await eventually(async () => {
      const r = await fetch(`http://${edgeIp}:12345/api/v0/web/components/otelcol.exporter.loadbalancing.default`).catch(() => undefined);
      const text = r?.ok ? await r.text() : '';
      return downIps.every((ip) => text.includes(`${ip}:4317`));
    }, 60_000, 'the edge ring holding the three downstream pods');

    const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop' }), spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://${edgeIp}:4317` }), maxExportBatchSize: 200 })] });
    const tracer = provider.getTracer('e2e');
    const spansPerTrace = new Map<string, number>();
    for (let t = 0; t < 120; t++) {
      const root = tracer.startSpan(`root-${t}`);
      const ctx = trace.setSpan(context.active(), root);
      const n = 2 + (t % 5);
      for (let i = 0; i < n; i++) tracer.startSpan(`child-${i}`, {}, ctx).end();
      root.end();
      spansPerTrace.set(root.spanContext().traceId, n + 1);
    }
    await provider.forceFlush();
    const total = [...spansPerTrace.values()].reduce((a, b) => a + b, 0);
    await eventually(() => sink.consumer.count('traces') >= total, 60_000, `${total} spans at the sink`);

    const where = new Map<string, Set<string>>();
    let spans = 0;
    for (const t of sink.consumer.received as Telemetry<'traces'>[])
      for (const rs of t.request.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) {
            spans++;
            const id = Buffer.from(s.traceId!).toString('hex');
            const pod = s.attributes.find((a) => a.key === 'downstream')?.value?.stringValue ?? '?';
            if (!where.has(id)) where.set(id, new Set());
            where.get(id)!.add(pod);
          }
    expect(spans).toBe(total);
    expect([...where.keys()].sort()).toEqual([...spansPerTrace.keys()].sort());
    expect([...where.values()].every((pods) => pods.size === 1)).toBe(true);
    expect(new Set([...where.values()].map((p) => [...p][0])).size).toBe(3);
    expect(new Set([...where.values()].flatMap((p) => [...p]))).toEqual(new Set(['downstream-0', 'downstream-1', 'downstream-2']));
    await provider.shutdown();
  }, 300_000);
});
