import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { Telemetry } from '../../../../otlp/data.js';
import type { Span, TracesRequest } from '../../../../otlp/types.js';
import { hex } from '../../../../otlp/json.js';
import { component as receiver, type OtlpReceiver } from '../../receiver/otlp/otlp.js';
import { CaptureConsumer, eventually, runComponent, silentLogger, type Running } from '../../otelcol.test-support.js';
import { argumentsSchema, endpointsOf, LoadBalancingExporter, serviceRef, type Exports } from './loadbalancing.js';

interface Downstream {
  readonly sink: CaptureConsumer;
  readonly addr: string;
  readonly r: Running<OtlpReceiver, Record<string, never>>;
}

async function downstream(endpoint = '127.0.0.1:0'): Promise<Downstream> {
  const sink = new CaptureConsumer();
  const r = await runComponent<never, Record<string, never>, OtlpReceiver>(receiver as never, { grpc: { endpoint }, output: { traces: [sink], logs: [sink] } });
  await eventually(() => r.health().state === 'healthy', 5000, 'downstream listening');
  return { sink, addr: r.component.addresses().grpc!, r };
}

/** `n` traces of 5–20 spans, delivered as requests that mix spans of many traces. */
function makeTraces(n: number, ids: Buffer[] = Array.from({ length: n }, (): Buffer => randomBytes(16))): { requests: Telemetry[]; spansPerTrace: Map<string, number>; ids: Buffer[] } {
  const spans: Span[] = [];
  const spansPerTrace = new Map<string, number>();
  for (const traceId of ids) {
    const k = 5 + Math.floor(Math.random() * 16);
    spansPerTrace.set(traceId.toString('hex'), k);
    for (let i = 0; i < k; i++) spans.push({ traceId, spanId: randomBytes(8), name: `op${i}`, startTimeUnixNano: 1, endTimeUnixNano: 2, attributes: [] });
  }
  for (let i = spans.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [spans[i], spans[j]] = [spans[j]!, spans[i]!];
  }
  const requests: Telemetry[] = [];
  for (let i = 0; i < spans.length; i += 200) requests.push(Telemetry.of('traces', { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'edge' } }] }, scopeSpans: [{ spans: spans.slice(i, i + 200) }] }] }));
  return { requests, spansPerTrace, ids };
}

/** trace ID → (downstream index → span count), over what each sink received. */
function landed(ds: readonly Downstream[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  ds.forEach((d, i) => {
    for (const t of d.sink.received)
      for (const rs of (t.request as TracesRequest).resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) {
            const id = hex(s.traceId);
            const m = out.get(id) ?? new Map<number, number>();
            m.set(i, (m.get(i) ?? 0) + 1);
            out.set(id, m);
          }
  });
  return out;
}

function lb(cfg: Record<string, unknown>, ejectMs = 60_000): { exp: LoadBalancingExporter; input: () => Exports['input']; stop: () => Promise<void> } {
  let exports: Exports | undefined;
  const exp = new LoadBalancingExporter(
    { id: 'otelcol.exporter.loadbalancing.t', logger: silentLogger, registry: new Registry(), dataPath: '', onStateChange: (e) => (exports = e), setHealth: () => undefined, getService: () => { throw new Error('none'); } },
    argumentsSchema.parse(cfg),
    { ejectMs, lookup: async () => ['127.0.0.1'] },
  );
  const ac = new AbortController();
  const running = exp.run(ac.signal);
  return { exp, input: () => exports!.input, stop: async () => { ac.abort(); await running; } };
}

const proto = (extra: Record<string, unknown> = {}) => ({ otlp: { client: { tls: { insecure: true } }, retry: { initial_interval: '20ms', max_interval: '100ms' }, ...extra } });

describe('otelcol.exporter.loadbalancing', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('lands every trace complete on exactly one backend; a 4th backend moves about 1/4 of the traces, all to it', async () => {
    const ds = await Promise.all([downstream(), downstream(), downstream()]);
    ds.forEach((d) => cleanup.push(() => d.r.stop()));
    const l = lb({ resolver: { static: { hostnames: ds.map((d) => d.addr) } }, protocol: proto() });
    cleanup.push(l.stop);
    const first = makeTraces(1000);
    for (const req of first.requests) await l.input().consume(req);
    const total = [...first.spansPerTrace.values()].reduce((a, b) => a + b, 0);
    await eventually(() => ds.reduce((s, d) => s + d.sink.count('traces'), 0) === total, 15_000, 'all spans delivered');
    const before = landed(ds);
    expect(before.size).toBe(1000);
    for (const [id, where] of before) {
      expect(where.size).toBe(1);
      expect([...where.values()][0]).toBe(first.spansPerTrace.get(id));
    }
    const perBackend = [0, 1, 2].map((i) => [...before.values()].filter((w) => w.has(i)).length);
    for (const n of perBackend) expect(n).toBeGreaterThan(200);

    const d4 = await downstream();
    cleanup.push(() => d4.r.stop());
    const all = [...ds, d4];
    l.exp.update(argumentsSchema.parse({ resolver: { static: { hostnames: all.map((d) => d.addr) } }, protocol: proto() }));
    for (const d of all) d.sink.received.length = 0;
    const second = makeTraces(1000, first.ids);
    for (const req of second.requests) await l.input().consume(req);
    const total2 = [...second.spansPerTrace.values()].reduce((a, b) => a + b, 0);
    await eventually(() => all.reduce((s, d) => s + d.sink.count('traces'), 0) === total2, 15_000, 'all spans delivered after scale-up');
    const after = landed(all);
    let moved = 0;
    for (const [id, where] of after) {
      expect(where.size).toBe(1);
      const now = [...where.keys()][0]!;
      const was = [...before.get(id)!.keys()][0]!;
      if (now !== was) {
        moved++;
        expect(now).toBe(3);
      }
    }
    expect(moved / 1000).toBeLessThanOrEqual(0.35);
    expect(moved / 1000).toBeGreaterThan(0.1);
  }, 60_000);

  it('re-routes what it acknowledged for a backend that died, losing no span', async () => {
    const ds = await Promise.all([downstream(), downstream(), downstream()]);
    cleanup.push(() => Promise.all(ds.map((d) => d.r.stop())).then(() => undefined));
    const l = lb({ resolver: { static: { hostnames: ds.map((d) => d.addr) } }, protocol: proto() });
    cleanup.push(l.stop);
    await ds[1]!.r.stop();
    const { requests, spansPerTrace } = makeTraces(300);
    for (const req of requests) await l.input().consume(req); // acknowledged (queued)
    const total = [...spansPerTrace.values()].reduce((a, b) => a + b, 0);
    await eventually(() => ds[0]!.sink.count('traces') + ds[2]!.sink.count('traces') === total, 20_000, 'every acknowledged span delivered to the live backends');
    const where = landed(ds);
    expect(where.size).toBe(300);
    for (const [id, m] of where) expect([...m.values()].reduce((a, b) => a + b, 0)).toBe(spansPerTrace.get(id));
    expect(l.exp.endpoints()).toEqual([ds[0]!.addr, ds[2]!.addr].sort());
  }, 60_000);

  it('re-routes with the backend queue disabled too, before acknowledging', async () => {
    const ds = await Promise.all([downstream(), downstream()]);
    cleanup.push(() => Promise.all(ds.map((d) => d.r.stop())).then(() => undefined));
    const l = lb({ resolver: { static: { hostnames: ds.map((d) => d.addr) } }, protocol: proto({ queue: { enabled: false } }) });
    cleanup.push(l.stop);
    await ds[0]!.r.stop();
    const { requests, spansPerTrace } = makeTraces(100);
    for (const req of requests) await l.input().consume(req);
    expect(ds[1]!.sink.count('traces')).toBe([...spansPerTrace.values()].reduce((a, b) => a + b, 0));
  }, 30_000);

  it('follows the dns resolver and routes by service', async () => {
    const d = await downstream('127.0.0.1:0');
    cleanup.push(() => d.r.stop());
    const port = d.addr.split(':')[1]!;
    const l = lb({ routing_key: 'service', resolver: { dns: { hostname: 'downstream.test', port, interval: '50ms' } }, protocol: proto() });
    cleanup.push(l.stop);
    await eventually(() => l.exp.endpoints().length === 1, 5000, 'dns resolution');
    expect(l.exp.endpoints()).toEqual([`127.0.0.1:${port}`]);
    const { requests } = makeTraces(10);
    await l.input().consume(requests[0]!);
    await eventually(() => d.sink.count('traces') === requests[0]!.count, 5000, 'delivery');
    expect(d.sink.received[0]!.encode()).toEqual(requests[0]!.encode());
  });

  it('rejects unsupported resolvers and routing keys with the fix', () => {
    const aws = argumentsSchema.safeParse({ resolver: { aws_cloud_map: { namespace: 'x', service_name: 'y' } } });
    expect(JSON.stringify(aws.error?.issues)).toMatch(/use resolver.kubernetes or resolver.dns/);
    expect(argumentsSchema.safeParse({ resolver: {} }).success).toBe(false);
  });

  it('reads the kubernetes resolver block with upstream defaults and derives endpoints as upstream', () => {
    const k = argumentsSchema.parse({ resolver: { kubernetes: { service: 'lb-svc.observability' } } }).resolver.kubernetes!;
    expect(k).toEqual({ service: 'lb-svc.observability', ports: [4317], timeout: 1000, return_hostnames: false });
    expect(argumentsSchema.safeParse({ resolver: { kubernetes: { service: 'x', ports: [] } } }).success).toBe(false);
    expect(serviceRef('lb-svc.observability')).toEqual({ name: 'lb-svc', namespace: 'observability' });
    expect(serviceRef('lb-svc', undefined)).toEqual({ name: 'lb-svc', namespace: 'default' });
    expect(serviceRef('lb-svc', 'mine')).toEqual({ name: 'lb-svc', namespace: 'mine' });
    const eps = [{ metadata: { name: 'lb-svc', namespace: 'obs' }, subsets: [{ addresses: [{ ip: '10.0.0.2', hostname: 'c-1' }, { ip: '10.0.0.1' }, { ip: 'fd00::1', hostname: 'c-2' }] }] }];
    expect(endpointsOf(eps, [4317, 55690], false)).toEqual(['10.0.0.1:4317', '10.0.0.1:55690', '10.0.0.2:4317', '10.0.0.2:55690', '[fd00::1]:4317', '[fd00::1]:55690']);
    expect(endpointsOf(eps, [4317], true)).toEqual(['c-1.lb-svc.obs:4317', 'c-2.lb-svc.obs:4317']);
  });
});
