/**
 * `otelcol.processor.attributes`: applies `action` blocks in order to the attributes of every
 * span, log record and metric data point (insert, update, upsert, delete, hash, extract,
 * convert), optionally only to items matched by `include` and not matched by `exclude`.
 *
 * Contracts:
 * - Input data is never changed: the processor works on its own decoded copy.
 * - `from_context = "metadata.<key>"` reads the client metadata kept by a receiver's
 *   `include_metadata` (values joined with ";"); `auth.*` context is not available here and
 *   such actions do nothing, as upstream does for a missing key.
 * - `hash` is SHA-1 (hex) of the value's string form; `extract` takes Go-style named groups
 *   (`(?P<name>...)`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { block, blocks } from '../../../../syntax/vm/schema.js';
import { Telemetry } from '../../../../otlp/data.js';
import type { AnyValue, InstrumentationScope, KeyValue, LogsRequest, MetricsRequest, Resource, TracesRequest } from '../../../../otlp/types.js';
import { consumerComponent, debugMetricsBlock, fanOut, outputBlock, type Consumer } from '../../consumer.js';
import { telemetryPublisher } from '../../live-debugging.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const actionSchema = z
  .object({
    key: z.string().default(''),
    action: z.enum(['insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert']),
    value: scalar.optional(),
    pattern: z.string().default(''),
    from_attribute: z.string().default(''),
    from_context: z.string().default(''),
    converted_type: z.enum(['int', 'double', 'string', '']).default(''),
  })
  .superRefine((a, ctx) => {
    const sources = [a.value !== undefined, a.from_attribute !== '', a.from_context !== ''].filter(Boolean).length;
    if (['insert', 'update', 'upsert'].includes(a.action)) {
      if (!a.key) ctx.addIssue({ code: 'custom', message: `action "${a.action}" needs key` });
      if (sources !== 1) ctx.addIssue({ code: 'custom', message: `action "${a.action}" on ${JSON.stringify(a.key)} needs exactly one of value, from_attribute or from_context` });
    }
    if ((a.action === 'delete' || a.action === 'hash') && !a.key && !a.pattern) ctx.addIssue({ code: 'custom', message: `action "${a.action}" needs key or pattern` });
    if (a.action === 'extract' && (!a.key || !a.pattern)) ctx.addIssue({ code: 'custom', message: 'action "extract" needs key and pattern (with named groups)' });
    if (a.action === 'convert' && (!a.key || !a.converted_type)) ctx.addIssue({ code: 'custom', message: 'action "convert" needs key and converted_type (int, double or string)' });
    for (const p of [a.pattern]) {
      if (!p) continue;
      try {
        new RegExp(goRegex(p));
      } catch (err: unknown) {
        ctx.addIssue({ code: 'custom', message: `invalid pattern ${JSON.stringify(p)}: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
  });

const kvMatch = z.object({ key: z.string(), value: scalar.optional() });

const matchSchema = z.object({
  match_type: z.enum(['strict', 'regexp']),
  services: z.array(z.string()).default([]),
  span_names: z.array(z.string()).default([]),
  span_kinds: z.array(z.string()).default([]),
  log_bodies: z.array(z.string()).default([]),
  log_severity_texts: z.array(z.string()).default([]),
  metric_names: z.array(z.string()).default([]),
  attribute: blocks(kvMatch).default([]),
  resource: blocks(kvMatch).default([]),
  library: blocks(z.object({ name: z.string(), version: z.string().optional() })).default([]),
  regexp: block(z.object({ cacheenabled: z.boolean().default(false), cachemaxnumentries: z.number().int().default(0) })).optional(),
  log_severity: z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined) ctx.addIssue({ code: 'custom', message: 'log_severity matching is not supported by this collector yet; match log_severity_texts instead' });
    }),
});

export const argumentsSchema = z.object({
  action: blocks(actionSchema).default([]),
  include: block(matchSchema).optional(),
  exclude: block(matchSchema).optional(),
  output: outputBlock(),
  debug_metrics: debugMetricsBlock,
});

export type Arguments = z.output<typeof argumentsSchema>;
type Action = z.output<typeof actionSchema>;
type Match = z.output<typeof matchSchema>;
export interface Exports {
  readonly input: Consumer;
}

/** Go/RE2 named groups `(?P<n>...)` → JavaScript `(?<n>...)`. */
function goRegex(p: string): string {
  return p.replace(/\(\?P</g, '(?<');
}

function toAny(v: string | number | boolean): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

export function anyToString(v: AnyValue | null | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined && v.stringValue !== null && Object.prototype.hasOwnProperty.call(v, 'stringValue')) return v.stringValue;
  if (Object.prototype.hasOwnProperty.call(v, 'intValue') && v.intValue !== undefined) return String(v.intValue);
  if (Object.prototype.hasOwnProperty.call(v, 'doubleValue') && v.doubleValue !== undefined) return String(v.doubleValue);
  if (Object.prototype.hasOwnProperty.call(v, 'boolValue') && v.boolValue !== undefined) return String(v.boolValue);
  if (v.bytesValue && Object.prototype.hasOwnProperty.call(v, 'bytesValue')) return Buffer.from(v.bytesValue).toString('base64');
  if (v.arrayValue && Object.prototype.hasOwnProperty.call(v, 'arrayValue')) return JSON.stringify(v.arrayValue.values.map(anyToString));
  if (v.kvlistValue && Object.prototype.hasOwnProperty.call(v, 'kvlistValue')) return JSON.stringify(Object.fromEntries(v.kvlistValue.values.map((kv) => [kv.key, anyToString(kv.value)])));
  return typeof v.stringValue === 'string' ? v.stringValue : '';
}

function convert(v: AnyValue, to: 'int' | 'double' | 'string'): AnyValue | undefined {
  const s = anyToString(v);
  if (to === 'string') return { stringValue: s };
  if (Object.prototype.hasOwnProperty.call(v, 'boolValue')) return to === 'int' ? { intValue: v.boolValue ? 1 : 0 } : { doubleValue: v.boolValue ? 1 : 0 };
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) return undefined;
  return to === 'int' ? { intValue: Math.trunc(n) } : { doubleValue: n };
}

interface Ctx {
  readonly metadata: ReadonlyMap<string, readonly string[]> | undefined;
}

/** Applies the actions to one attribute list, in place (the list belongs to our copy). */
function applyActions(attrs: KeyValue[], actions: readonly Action[], ctx: Ctx): void {
  const find = (k: string): number => attrs.findIndex((a) => a.key === k);
  for (const a of actions) {
    const i = a.key ? find(a.key) : -1;
    switch (a.action) {
      case 'insert':
      case 'update':
      case 'upsert': {
        if (a.action === 'insert' && i >= 0) break;
        if (a.action === 'update' && i < 0) break;
        let v: AnyValue | undefined;
        if (a.value !== undefined) v = toAny(a.value);
        else if (a.from_attribute) v = attrs[find(a.from_attribute)]?.value ?? undefined;
        else if (a.from_context.startsWith('metadata.')) {
          const vals = ctx.metadata?.get(a.from_context.slice('metadata.'.length).toLowerCase());
          if (vals && vals.length > 0) v = { stringValue: vals.join(';') };
        }
        if (v === undefined) break;
        if (i >= 0) attrs[i] = { key: a.key, value: v };
        else attrs.push({ key: a.key, value: v });
        break;
      }
      case 'delete':
      case 'hash': {
        const re = a.pattern ? new RegExp(goRegex(a.pattern)) : undefined;
        for (let j = attrs.length - 1; j >= 0; j--) {
          const kv = attrs[j]!;
          if (kv.key !== a.key && !(re && re.test(kv.key))) continue;
          if (a.action === 'delete') attrs.splice(j, 1);
          else attrs[j] = { key: kv.key, value: { stringValue: createHash('sha1').update(anyToString(kv.value)).digest('hex') } };
        }
        break;
      }
      case 'extract': {
        if (i < 0) break;
        const m = new RegExp(goRegex(a.pattern)).exec(anyToString(attrs[i]!.value));
        if (!m?.groups) break;
        for (const [k, v] of Object.entries(m.groups)) {
          if (v === undefined) continue;
          const j = find(k);
          if (j >= 0) attrs[j] = { key: k, value: { stringValue: v } };
          else attrs.push({ key: k, value: { stringValue: v } });
        }
        break;
      }
      case 'convert': {
        if (i < 0 || !attrs[i]!.value) break;
        const v = convert(attrs[i]!.value!, a.converted_type as 'int' | 'double' | 'string');
        if (v) attrs[i] = { key: a.key, value: v };
        break;
      }
    }
  }
}

interface Item {
  readonly attributes: KeyValue[];
  readonly resource: Resource | null | undefined;
  readonly scope: InstrumentationScope | null | undefined;
  readonly spanName?: string;
  readonly spanKind?: number;
  readonly logBody?: AnyValue | null;
  readonly severityText?: string;
  readonly metricName?: string;
}

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];

function matches(m: Match, item: Item): boolean {
  const eq = (pattern: string, v: string): boolean => (m.match_type === 'strict' ? pattern === v : new RegExp(pattern).test(v));
  const any = (patterns: readonly string[], v: string | undefined): boolean => v !== undefined && patterns.some((p) => eq(p, v));
  const kvs = (want: readonly z.output<typeof kvMatch>[], have: readonly KeyValue[]): boolean =>
    want.every((w) => {
      const kv = have.find((h) => h.key === w.key);
      return kv !== undefined && (w.value === undefined || eq(String(w.value), anyToString(kv.value)));
    });
  if (m.services.length > 0 && !any(m.services, anyToString(item.resource?.attributes.find((a) => a.key === 'service.name')?.value))) return false;
  if (m.span_names.length > 0 && !any(m.span_names, item.spanName)) return false;
  if (m.span_kinds.length > 0 && !any(m.span_kinds, item.spanKind !== undefined ? SPAN_KINDS[item.spanKind] : undefined)) return false;
  if (m.log_bodies.length > 0 && !any(m.log_bodies, item.logBody ? anyToString(item.logBody) : undefined)) return false;
  if (m.log_severity_texts.length > 0 && !any(m.log_severity_texts, item.severityText)) return false;
  if (m.metric_names.length > 0 && !any(m.metric_names, item.metricName)) return false;
  if (!kvs(m.attribute, item.attributes)) return false;
  if (!kvs(m.resource, item.resource?.attributes ?? [])) return false;
  if (m.library.length > 0 && !m.library.some((l) => eq(l.name, item.scope?.name ?? '') && (l.version === undefined || eq(l.version, item.scope?.version ?? '')))) return false;
  return true;
}

/** The item's attribute list, replacing the shared frozen empty list protobufjs uses for absent fields. */
function own(o: { attributes: KeyValue[] }): KeyValue[] {
  if (Object.isFrozen(o.attributes)) o.attributes = [];
  return o.attributes;
}

function* items(t: Telemetry): Generator<Item> {
  if (t.signal === 'traces') {
    for (const rs of (t.request as TracesRequest).resourceSpans)
      for (const ss of rs.scopeSpans) for (const s of ss.spans) yield { attributes: own(s), resource: rs.resource, scope: ss.scope, spanName: s.name, spanKind: s.kind ?? 0 };
  } else if (t.signal === 'logs') {
    for (const rl of (t.request as LogsRequest).resourceLogs)
      for (const sl of rl.scopeLogs) for (const l of sl.logRecords) yield { attributes: own(l), resource: rl.resource, scope: sl.scope, logBody: l.body, severityText: l.severityText ?? '' };
  } else {
    for (const rm of (t.request as MetricsRequest).resourceMetrics)
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) {
          const points = [m.gauge, m.sum, m.histogram, m.exponentialHistogram, m.summary].flatMap((b) => (b?.dataPoints ?? []) as { attributes: KeyValue[] }[]);
          for (const p of points) yield { attributes: own(p), resource: rm.resource, scope: sm.scope, metricName: m.name };
        }
  }
}

/** The processed copy of `data` (input untouched). */
export function processAttributes(args: Arguments, data: Telemetry): Telemetry {
  if (args.action.length === 0) return data;
  const copy = Telemetry.decode(data.signal, data.encode(), data.metadata);
  const ctx: Ctx = { metadata: data.metadata };
  for (const item of items(copy)) {
    if (args.include && !matches(args.include, item)) continue;
    if (args.exclude && matches(args.exclude, item)) continue;
    applyActions(item.attributes, args.action, ctx);
  }
  return Telemetry.of(copy.signal, copy.request, copy.metadata);
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.processor.attributes',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => {
    const publish = telemetryPublisher(opts);
    return consumerComponent(opts, args, (current, data) => {
      const out = processAttributes(current, data);
      publish(out);
      return fanOut(current.output, out);
    });
  },
};
