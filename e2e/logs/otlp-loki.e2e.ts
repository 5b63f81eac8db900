// OTLP logs into Loki with real senders: the OpenTelemetry JS SDK's logs exporters (OTLP/gRPC and
// OTLP/HTTP protobuf) → `otelcol.receiver.otlp` → `otelcol.processor.attributes` (the hints of the
// `otelcol.exporter.loki` reference page's example) → `otelcol.exporter.loki` → `loki.write` → a
// Loki-compatible sink that decodes the snappy protobuf push.
// Journey: every record arrives once, in its stream (exporter/job/instance/level plus the hinted
// resource and record attributes as labels), with its nanosecond timestamp, and a JSON line holding
// body, trace/span IDs, severity text, the remaining attributes and resource attributes, and scope.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { labelsToRecord } from '../../collector/src/prom/labels/labels.js';
import { freePort, startAlloy, stopAll, until } from '../metrics/harness.js';

const config = (grpcPort: number, httpPort: number, sinkUrl: string): string => `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:${grpcPort}"
  }
  http {
    endpoint = "127.0.0.1:${httpPort}"
  }
  output {
    logs = [otelcol.processor.attributes.default.input]
  }
}

otelcol.processor.attributes "default" {
  action {
    key = "loki.attribute.labels"
    action = "insert"
    value = "event.domain, event.name"
  }

  action {
    key = "loki.resource.labels"
    action = "insert"
    value = "service.name, service.namespace"
  }

  output {
    logs = [otelcol.exporter.loki.default.input]
  }
}

otelcol.exporter.loki "default" {
  forward_to = [loki.write.local.receiver]
}

loki.write "local" {
  endpoint {
    url = "${sinkUrl}"
  }
}
`;

interface Sent {
  readonly id: string;
  readonly via: 'grpc' | 'http';
  readonly sec: number;
  readonly nanos: number;
  readonly severity: SeverityNumber;
  readonly traceId: string;
  readonly spanId: string;
}

describe('OTLP logs → otelcol.exporter.loki → loki.write (JS SDK senders)', () => {
  let dir: string;
  let sink: LokiSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-otlp-loki-'));
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every record with upstream labels, timestamps and JSON lines', async () => {
    const grpcPort = await freePort();
    const httpPort = await freePort();
    await startAlloy(dir, 'collector', config(grpcPort, httpPort, sink.url));
    const resource = resourceFromAttributes({ 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'pod-7', 'host.name': 'node-a' });
    const providers = {
      grpc: new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: new GrpcLogExporter({ url: `http://127.0.0.1:${grpcPort}` }) })] }),
      http: new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: new ProtoLogExporter({ url: `http://127.0.0.1:${httpPort}/v1/logs` }) })] }),
    };
    const sent: Sent[] = [];
    const severities = [SeverityNumber.INFO, SeverityNumber.WARN, SeverityNumber.ERROR2];
    for (let i = 0; i < 60; i++) {
      const via = i % 2 === 0 ? 'grpc' : 'http';
      const traceId = (i + 1).toString(16).padStart(32, 'a');
      const spanId = (i + 1).toString(16).padStart(16, 'b');
      const ctx = trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
      const s: Sent = { id: `r${i}`, via, sec: 1_700_000_000 + i, nanos: 123_456_789 - i, severity: severities[i % 3]!, traceId, spanId };
      sent.push(s);
      providers[via].getLogger('shop-logger', '1.2.3').emit({
        timestamp: [s.sec, s.nanos],
        severityNumber: s.severity,
        severityText: `sev-${i % 3}`,
        body: `order ${s.id} placed`,
        attributes: { 'event.domain': 'orders', 'event.name': i % 2 === 0 ? 'placed' : 'paid', id: s.id, 'amount.cents': i * 100 },
        context: ctx,
      });
    }
    await Promise.all([providers.grpc.forceFlush(), providers.http.forceFlush()]);
    await until(`60 entries at the sink (got ${sink.entries.length})`, () => sink.entries.length >= 60, 30_000);

    const level: Record<number, string> = { [SeverityNumber.INFO]: 'INFO', [SeverityNumber.WARN]: 'WARN', [SeverityNumber.ERROR2]: 'ERROR2' };
    const byId = new Map<string, (typeof sink.entries)[number]>();
    for (const e of sink.entries) {
      const line = JSON.parse(e.line) as { attributes: Record<string, unknown> };
      const id = line.attributes['id'] as string;
      expect(byId.has(id)).toBe(false);
      byId.set(id, e);
    }
    expect(byId.size).toBe(60);
    sent.forEach((s, i) => {
      const e = byId.get(s.id)!;
      expect(labelsToRecord(e.entry.labels)).toEqual({
        exporter: 'OTLP',
        job: 'shop/checkout',
        instance: 'pod-7',
        level: level[s.severity],
        service_name: 'checkout',
        service_namespace: 'shop',
        event_domain: 'orders',
        event_name: i % 2 === 0 ? 'placed' : 'paid',
      });
      expect(e.entry.timestampMs).toBe(s.sec * 1000 + Math.floor(s.nanos / 1e6));
      expect(e.entry.timestampNanos).toBe(s.nanos % 1e6);
      const line = JSON.parse(e.line) as Record<string, unknown>;
      expect(line).toEqual({
        body: `order ${s.id} placed`,
        traceid: s.traceId,
        spanid: s.spanId,
        severity: `sev-${i % 3}`,
        flags: 1,
        attributes: { id: s.id, 'amount.cents': i * 100 },
        resources: expect.objectContaining({ 'service.instance.id': 'pod-7', 'host.name': 'node-a' }) as unknown,
        instrumentation_scope: { name: 'shop-logger', version: '1.2.3' },
      });
      expect(Object.keys(line['resources'] as object)).not.toContain('service.name');
    });
    await Promise.all([providers.grpc.shutdown(), providers.http.shutdown()]);
  }, 90_000);
});
