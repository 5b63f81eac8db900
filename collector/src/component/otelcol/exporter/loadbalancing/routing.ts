/**
 * Splits a `Telemetry` by routing key onto hash-ring owners (`otelcol.exporter.loadbalancing`).
 * Keys: `traceID` (spans and log records by trace ID), `service` (resource `service.name`),
 * `resource` (all resource attributes), `metric` (metric name), `streamID` (resource, metric name
 * and data point attributes). Resource and scope are repeated in every part that needs them.
 * A request whose items all go to one owner is passed on unchanged (its received bytes reused).
 */
import { hashString, type HashRing } from '../../../../cluster/hash-ring.js';
import { metricPointCount, Telemetry, type Signal } from '../../../../otlp/data.js';
import { hex } from '../../../../otlp/json.js';
import type { KeyValue, LogsRequest, Metric, MetricsRequest, Resource, ResourceLogs, ResourceMetrics, ResourceSpans, TracesRequest } from '../../../../otlp/types.js';
import { anyToString } from '../../processor/attributes/attributes.js';

export type RoutingKey = 'traceID' | 'service' | 'resource' | 'metric' | 'streamID';

/** Which routing keys each signal supports, as upstream. */
export const SUPPORTED: Record<Signal, readonly RoutingKey[]> = {
  traces: ['traceID', 'service'],
  logs: ['traceID', 'service'],
  metrics: ['service', 'resource', 'metric', 'streamID'],
};

const attrsKey = (kvs: readonly KeyValue[] | undefined): string =>
  (kvs ?? [])
    .map((kv) => `${kv.key}=${anyToString(kv.value)}`)
    .sort()
    .join(',');
const serviceOf = (r: Resource | null | undefined): string => anyToString(r?.attributes.find((a) => a.key === 'service.name')?.value);

/** Groups items by owner index; `put` receives (owner, resource index, scope index, item). */
class Parts {
  readonly #by = new Map<number, Map<number, Map<number, unknown[]>>>();
  put(owner: number, ri: number, si: number, item: unknown): void {
    let r = this.#by.get(owner);
    if (!r) this.#by.set(owner, (r = new Map()));
    let s = r.get(ri);
    if (!s) r.set(ri, (s = new Map()));
    let list = s.get(si);
    if (!list) s.set(si, (list = []));
    list.push(item);
  }
  get owners(): number[] {
    return [...this.#by.keys()];
  }
  entries(): IterableIterator<[number, Map<number, Map<number, unknown[]>>]> {
    return this.#by.entries();
  }
}

/**
 * Splits `data` by owner. Returns owner index → part; an empty ring gives an empty map.
 * @throws Error when `key` does not apply to the data's signal.
 */
export function route(data: Telemetry, key: RoutingKey, ring: HashRing): Map<number, Telemetry> {
  const out = new Map<number, Telemetry>();
  if (ring.nodes.length === 0 || data.count === 0) return out;
  if (!SUPPORTED[data.signal].includes(key)) throw new Error(`routing_key "${key}" does not apply to ${data.signal} (use ${SUPPORTED[data.signal].join(' or ')})`);
  const owner = (k: string): number => ring.lookupIndex(hashString(k));
  const parts = new Parts();
  if (data.signal === 'traces') {
    const rss = (data.request as TracesRequest).resourceSpans;
    rss.forEach((rs, ri) => {
      const svc = key === 'service' ? owner(serviceOf(rs.resource)) : -1;
      rs.scopeSpans.forEach((ss, si) => ss.spans.forEach((s) => parts.put(svc >= 0 ? svc : owner(hex(s.traceId)), ri, si, s)));
    });
    if (parts.owners.length === 1) return new Map([[parts.owners[0]!, data]]);
    for (const [o, byRes] of parts.entries()) {
      const top: ResourceSpans[] = [...byRes].map(([ri, byScope]) => {
        const rs = rss[ri]!;
        return { resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [...byScope].map(([si, spans]) => ({ scope: rs.scopeSpans[si]!.scope, schemaUrl: rs.scopeSpans[si]!.schemaUrl, spans: spans as ResourceSpans['scopeSpans'][number]['spans'] })) };
      });
      out.set(o, Telemetry.of('traces', { resourceSpans: top }, data.metadata));
    }
  } else if (data.signal === 'logs') {
    const rls = (data.request as LogsRequest).resourceLogs;
    rls.forEach((rl, ri) => {
      const svc = key === 'service' ? owner(serviceOf(rl.resource)) : -1;
      rl.scopeLogs.forEach((sl, si) => sl.logRecords.forEach((l, li) => parts.put(svc >= 0 ? svc : owner(l.traceId && l.traceId.length > 0 ? hex(l.traceId) : `${ri}/${si}/${li}/${String(l.timeUnixNano)}`), ri, si, l)));
    });
    if (parts.owners.length === 1) return new Map([[parts.owners[0]!, data]]);
    for (const [o, byRes] of parts.entries()) {
      const top: ResourceLogs[] = [...byRes].map(([ri, byScope]) => {
        const rl = rls[ri]!;
        return { resource: rl.resource, schemaUrl: rl.schemaUrl, scopeLogs: [...byScope].map(([si, recs]) => ({ scope: rl.scopeLogs[si]!.scope, schemaUrl: rl.scopeLogs[si]!.schemaUrl, logRecords: recs as ResourceLogs['scopeLogs'][number]['logRecords'] })) };
      });
      out.set(o, Telemetry.of('logs', { resourceLogs: top }, data.metadata));
    }
  } else {
    const rms = (data.request as MetricsRequest).resourceMetrics;
    rms.forEach((rm, ri) => {
      const resKey = key === 'service' ? serviceOf(rm.resource) : attrsKey(rm.resource?.attributes);
      rm.scopeMetrics.forEach((sm, si) =>
        sm.metrics.forEach((m) => {
          if (metricPointCount(m) === 0) return;
          if (key === 'streamID') {
            for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const) {
              const body = m[kind] as { dataPoints: { attributes: KeyValue[] }[] } | null | undefined;
              if (!body) continue;
              const byOwner = new Map<number, unknown[]>();
              for (const p of body.dataPoints) {
                const o = owner(`${resKey}|${m.name}|${attrsKey(p.attributes)}`);
                const l = byOwner.get(o) ?? [];
                l.push(p);
                byOwner.set(o, l);
              }
              for (const [o, points] of byOwner) parts.put(o, ri, si, { name: m.name, description: m.description, unit: m.unit, metadata: m.metadata, [kind]: { ...body, dataPoints: points } } as Metric);
            }
          } else parts.put(owner(key === 'metric' ? m.name : resKey), ri, si, m);
        }),
      );
    });
    if (parts.owners.length === 1 && key !== 'streamID') return new Map([[parts.owners[0]!, data]]);
    for (const [o, byRes] of parts.entries()) {
      const top: ResourceMetrics[] = [...byRes].map(([ri, byScope]) => {
        const rm = rms[ri]!;
        return { resource: rm.resource, schemaUrl: rm.schemaUrl, scopeMetrics: [...byScope].map(([si, metrics]) => ({ scope: rm.scopeMetrics[si]!.scope, schemaUrl: rm.scopeMetrics[si]!.schemaUrl, metrics: metrics as Metric[] })) };
      });
      out.set(o, Telemetry.of('metrics', { resourceMetrics: top }, data.metadata));
    }
  }
  return out;
}
