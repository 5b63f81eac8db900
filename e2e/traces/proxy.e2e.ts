// The docs' traces proxy layer with real processes: 2 edge collectors (`otelcol.receiver.otlp` →
// `otelcol.exporter.loadbalancing`, static resolver, routing by trace ID, as in the upstream
// reference's edge example) → 3 downstream collectors (`otelcol.receiver.otlp` →
// `otelcol.processor.attributes` tagging the downstream → `otelcol.processor.batch` →
// `otelcol.exporter.otlp`) → an OTLP/gRPC sink in this process that decodes with the official
// generated definitions. Senders are the OpenTelemetry JS SDK's OTLP/gRPC exporters; every trace
// has spans sent through both edges.
// Journey: 1,000 traces of 5–20 spans land complete on exactly one downstream; a 4th downstream
// added by reload moves <= 35% of re-sent trace IDs, all to it; one downstream killed (SIGKILL):
// no span the edges acknowledged is lost.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { serviceDefinition } from '../../collector/src/otlp/grpc.js';
import { officialDecode } from '../../collector/src/component/otelcol/otelcol.test-support.js';
import { freePort, startAlloy, stopAll, until, type AlloyProc } from '../metrics/harness.js';

type Obj = Record<string, unknown>;

const edgeConfig = (port: number, downstreams: readonly number[]): string => `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:${port}"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.default.input]
  }
}

otelcol.exporter.loadbalancing "default" {
  routing_key = "traceID"
  resolver {
    static {
      hostnames = [${downstreams.map((p) => `"127.0.0.1:${p}"`).join(', ')}]
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

const downstreamConfig = (name: string, port: number, sinkPort: number): string => `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:${port}"
  }
  output {
    traces = [otelcol.processor.attributes.tag.input]
  }
}

otelcol.processor.attributes "tag" {
  action {
    key    = "downstream"
    value  = "${name}"
    action = "insert"
  }
  output {
    traces = [otelcol.processor.batch.default.input]
  }
}

otelcol.processor.batch "default" {
  timeout = "100ms"
  output {
    traces = [otelcol.exporter.otlp.sink.input]
  }
}

otelcol.exporter.otlp "sink" {
  client {
    endpoint = "127.0.0.1:${sinkPort}"
    tls {
      insecure = true
    }
  }
}
`;

interface Landed {
  readonly traceId: string;
  readonly downstream: string;
}

/** An OTLP/gRPC trace sink: span ID → where it came through. */
async function startSink(): Promise<{ port: number; spans: Map<string, Landed>; stop: () => Promise<void> }> {
  const spans = new Map<string, Landed>();
  const server = new grpc.Server();
  server.addService(serviceDefinition('traces'), {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const req = officialDecode('traces', call.request);
      for (const rs of (req['resourceSpans'] as Obj[] | undefined) ?? [])
        for (const ss of (rs['scopeSpans'] as Obj[] | undefined) ?? [])
          for (const s of (ss['spans'] as Obj[] | undefined) ?? []) {
            const tag = ((s['attributes'] as Obj[] | undefined) ?? []).find((a) => a['key'] === 'downstream');
            spans.set(s['spanId'] as string, { traceId: s['traceId'] as string, downstream: ((tag?.['value'] as Obj | undefined)?.['stringValue'] as string) ?? '?' });
          }
      cb(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, spans, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

/** Counts the spans whose export the edge acknowledged. */
class Acked implements SpanExporter {
  readonly ids = new Set<string>();
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], cb: (r: ExportResult) => void): void {
    this.inner.export(spans, (r) => {
      if (r.code === ExportResultCode.SUCCESS) for (const s of spans) this.ids.add(s.spanContext().spanId);
      cb(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** Two SDK providers, one per edge, sharing a queue of trace IDs for root spans. */
function senders(edgePorts: readonly number[], nextTraceId: () => string) {
  const acked = edgePorts.map((p) => new Acked(new OTLPTraceExporter({ url: `http://127.0.0.1:${p}` })));
  const providers = acked.map(
    (exporter) =>
      new TracerProvider({
        idGenerator: { generateTraceId: nextTraceId, generateSpanId: () => randomBytes(8).toString('hex') },
        spanProcessors: [new BatchSpanProcessor({ exporter, maxExportBatchSize: 256, scheduledDelayMillis: 50, maxQueueSize: 100_000 })],
      }),
  );
  /** Sends `n` traces of 5–20 spans; the root through edge 0, children alternating edges. Returns spans per trace. */
  const send = async (n: number): Promise<Map<string, number>> => {
    const perTrace = new Map<string, number>();
    const tracers = providers.map((p) => p.getTracer('proxy-e2e'));
    for (let t = 0; t < n; t++) {
      const root = tracers[0]!.startSpan('root');
      const ctx = trace.setSpan(context.active(), root);
      const k = 5 + Math.floor(Math.random() * 16);
      for (let i = 1; i < k; i++) tracers[i % 2]!.startSpan(`child-${i}`, {}, ctx).end();
      root.end();
      perTrace.set(root.spanContext().traceId, k);
    }
    await Promise.all(providers.map((p) => p.forceFlush()));
    return perTrace;
  };
  return { send, acked, shutdown: () => Promise.all(providers.map((p) => p.shutdown())) };
}

describe('traces proxy layer (2 edges → loadbalancing → 3 downstream → sink)', () => {
  let dir: string;
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps traces whole per downstream, moves few on scale-up, and loses no acknowledged span when a downstream dies', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-traces-'));
    const sink = await startSink();
    const dPorts = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const downs: AlloyProc[] = [];
    for (let i = 0; i < 3; i++) downs.push(await startAlloy(dir, `down${i}`, downstreamConfig(`d${i}`, dPorts[i]!, sink.port)));
    const ePorts = await Promise.all([freePort(), freePort()]);
    const edges: AlloyProc[] = [];
    for (let i = 0; i < 2; i++) edges.push(await startAlloy(dir, `edge${i}`, edgeConfig(ePorts[i]!, dPorts.slice(0, 3))));

    let replay: string[] = [];
    const nextTraceId = (): string => replay.shift() ?? randomBytes(16).toString('hex');
    const sdk = senders(ePorts, nextTraceId);

    const check = (perTrace: Map<string, number>): Map<string, string> => {
      const where = new Map<string, Set<string>>();
      const count = new Map<string, number>();
      for (const s of sink.spans.values()) {
        if (!perTrace.has(s.traceId)) continue;
        where.set(s.traceId, (where.get(s.traceId) ?? new Set()).add(s.downstream));
        count.set(s.traceId, (count.get(s.traceId) ?? 0) + 1);
      }
      const owner = new Map<string, string>();
      for (const [id, k] of perTrace) {
        expect({ id, spans: count.get(id) }).toEqual({ id, spans: k });
        expect({ id, downstreams: where.get(id)!.size }).toEqual({ id, downstreams: 1 });
        owner.set(id, [...where.get(id)!][0]!);
      }
      return owner;
    };
    const arrived = (perTrace: Map<string, number>): number => [...sink.spans.values()].filter((s) => perTrace.has(s.traceId)).length;
    const total = (perTrace: Map<string, number>): number => [...perTrace.values()].reduce((a, b) => a + b, 0);

    // 1. 1,000 traces through both edges.
    const first = await sdk.send(1000);
    await until('phase 1 spans at the sink', () => arrived(first) === total(first), 60_000);
    const owner1 = check(first);
    for (const d of ['d0', 'd1', 'd2']) expect([...owner1.values()].filter((o) => o === d).length).toBeGreaterThan(200);

    // 2. A 4th downstream, added to both edges by reload; the same trace IDs again.
    downs.push(await startAlloy(dir, 'down3', downstreamConfig('d3', dPorts[3]!, sink.port)));
    for (let i = 0; i < 2; i++) {
      writeFileSync(path.join(dir, `edge${i}.alloy`), edgeConfig(ePorts[i]!, dPorts));
      const res = await fetch(`${edges[i]!.base}/-/reload`, { method: 'POST' });
      expect(res.status).toBe(200);
    }
    sink.spans.clear();
    replay = [...first.keys()];
    const second = await sdk.send(1000);
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    await until('phase 2 spans at the sink', () => arrived(second) === total(second), 60_000);
    const owner2 = check(second);
    const moved = [...owner2].filter(([id, o]) => owner1.get(id) !== o);
    expect(moved.length / 1000).toBeLessThanOrEqual(0.35);
    for (const [, o] of moved) expect(o).toBe('d3');

    // 3. Kill one downstream; nothing the edges acknowledged may be lost.
    await downs[1]!.kill9();
    sink.spans.clear();
    for (const a of sdk.acked) a.ids.clear();
    const third = await sdk.send(1000);
    const ackedIds = new Set(sdk.acked.flatMap((a) => [...a.ids]));
    expect(ackedIds.size).toBe(total(third));
    await until('phase 3 acknowledged spans at the sink', () => [...ackedIds].every((id) => sink.spans.has(id)), 60_000);
    expect([...sink.spans.values()].some((s) => s.downstream === 'd1')).toBe(false);
    await sdk.shutdown();
    await sink.stop();
  }, 240_000);
});
