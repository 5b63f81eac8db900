/**
 * `otelcol.exporter.loki`: converts OTLP logs into Loki entries for `forward_to` (`loki.*`
 * receivers), as Alloy does with the OpenTelemetry Collector's `pkg/translator/loki`:
 * - labels: `exporter="OTLP"`, `job` (`service.namespace/service.name`), `instance`
 *   (`service.instance.id`), `level` from the severity number (`INFO`, `WARN2`, ...; an existing
 *   `level` attribute wins), plus the attributes named by the hints `loki.resource.labels`
 *   (resource attributes; the hint may sit on the resource or the record) and
 *   `loki.attribute.labels` (record attributes). A hint is a comma-separated string or a list;
 *   a dotted name that is not an attribute is looked up inside map attributes. Label names are
 *   normalized as Prometheus labels (`host.name` → `host_name`, `2x` → `key_2x`, `_x` → `key_x`);
 *   attributes promoted to labels, and the hints, are removed from the line;
 * - line: `loki.format` (resource first, then record) `json` (default), `logfmt` or `raw` (the
 *   body as a string), encoded byte for byte as upstream (see `encode.ts`);
 * - timestamp: the record's time, else its observed time, else now.
 * A record that cannot be converted (unknown format, NaN in JSON, invalid logfmt key) is dropped
 * and counted, as upstream. `consume` resolves once every `forward_to` receiver accepted the
 * entries and rejects retryably otherwise; other signals are refused (permanent error).
 */
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { capsule } from '../../../../syntax/vm/schema.js';
import { labelsFromRecord, labelsToString } from '../../../../prom/labels/labels.js';
import { isLogsReceiver, type Labels, type LogEntry, type LogsReceiver } from '../../../../loki/types.js';
import type { Telemetry } from '../../../../otlp/data.js';
import type { AnyValue, InstrumentationScope, KeyValue, LogRecord, LogsRequest } from '../../../../otlp/types.js';
import { ConsumerError, consumerComponent, unsupported, type Consumer } from '../../consumer.js';
import { asString, bodyToKeyvals, goJsonMap, goJsonString, goJsonValue, int64Text, kindOf, marshalLogfmt, replaceOrAppend, valueToKeyvals, type KeyVal } from './encode.js';

export const argumentsSchema = z.object({
  forward_to: z.array(capsule<LogsReceiver>('LogsReceiver', isLogsReceiver)),
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

const HINT_ATTRIBUTES = 'loki.attribute.labels';
const HINT_RESOURCES = 'loki.resource.labels';
const HINT_TENANT = 'loki.tenant';
const HINT_FORMAT = 'loki.format';
const HINTS = new Set([HINT_ATTRIBUTES, HINT_RESOURCES, HINT_TENANT, HINT_FORMAT]);

const LEVELS = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];

const get = (attrs: readonly KeyValue[], key: string): AnyValue | null | undefined => attrs.find((kv) => kv.key === key)?.value;
const present = (attrs: readonly KeyValue[], key: string): boolean => attrs.some((kv) => kv.key === key);

/** Prometheus label normalization of the OpenTelemetry translator (`NormalizeLabel`). */
export function normalizeLabel(name: string): string {
  if (name === '') return name;
  const out = name.replace(/[^\p{L}\p{Nd}]/gu, '_');
  if (/^[0-9]/.test(out)) return `key_${out}`;
  if (out.startsWith('_') && !out.startsWith('__')) return `key${out}`;
  return out;
}

/** An attribute by name, or by a dotted path into map attributes (longest existing prefix first). */
function lookup(attr: string, attrs: readonly KeyValue[]): AnyValue | null | undefined {
  if (present(attrs, attr)) return get(attrs, attr) ?? null;
  const seg = attr.split('.');
  for (let i = 0; i < seg.length - 1; i++) {
    const left = seg.slice(0, seg.length - i - 1).join('.');
    const right = seg.slice(seg.length - i - 1).join('.');
    const v = lookup(left, attrs);
    if (v !== undefined && kindOf(v) === 'map') return lookup(right, v!.kvlistValue!.values);
  }
  return undefined;
}

function hintNames(hint: AnyValue | null | undefined): string[] {
  const k = kindOf(hint);
  if (k === 'str') return hint!.stringValue!.split(',');
  if (k === 'array') return hint!.arrayValue!.values.map((v) => (kindOf(v) === 'str' ? v.stringValue! : asString(v)));
  return [asString(hint)];
}

function selectLabels(attrs: readonly KeyValue[], hint: AnyValue | null | undefined, into: Map<string, string>): void {
  for (const raw of hintNames(hint)) {
    const name = raw.trim();
    const v = lookup(name, attrs);
    if (v !== undefined) into.set(name, asString(v));
  }
}

/** The record's attributes with the `level` attribute and hint added (the translator's `addLogLevelAttributeAndHint`). */
function withLevel(lr: LogRecord): KeyValue[] {
  const attrs = lr.attributes.slice();
  const sev = lr.severityNumber ?? 0;
  if (sev === 0) return attrs;
  const hi = attrs.findIndex((kv) => kv.key === HINT_ATTRIBUTES);
  if (hi < 0) attrs.push({ key: HINT_ATTRIBUTES, value: { stringValue: 'level' } });
  else {
    const h = attrs[hi]!.value;
    const k = kindOf(h);
    if (k === 'array') attrs[hi] = { key: HINT_ATTRIBUTES, value: { arrayValue: { values: [...h!.arrayValue!.values, { stringValue: 'level' }] } } };
    else if (k === 'str') attrs[hi] = { key: HINT_ATTRIBUTES, value: { stringValue: `${h!.stringValue!},level` } };
  }
  if (!present(attrs, 'level')) attrs.push({ key: 'level', value: { stringValue: LEVELS[sev] ?? '' } });
  return attrs;
}

const hexOrEmpty = (id: Uint8Array | undefined): string => (id && id.length > 0 && id.some((b) => b !== 0) ? Buffer.from(id).toString('hex') : '');

/** The translator's JSON line. */
function encodeJson(lr: LogRecord, attrs: readonly KeyValue[], res: readonly KeyValue[], scope: InstrumentationScope | null | undefined): string {
  const parts: string[] = [];
  if (kindOf(lr.body) !== 'empty') parts.push(`"body":${goJsonValue(lr.body)}`);
  const tid = hexOrEmpty(lr.traceId);
  if (tid) parts.push(`"traceid":${goJsonString(tid)}`);
  const sid = hexOrEmpty(lr.spanId);
  if (sid) parts.push(`"spanid":${goJsonString(sid)}`);
  if (lr.severityText) parts.push(`"severity":${goJsonString(lr.severityText)}`);
  if (lr.flags) parts.push(`"flags":${lr.flags >>> 0}`);
  if (attrs.length > 0) parts.push(`"attributes":${goJsonMap(attrs)}`);
  if (res.length > 0) parts.push(`"resources":${goJsonMap(res)}`);
  if (scope?.name) parts.push(`"instrumentation_scope":{"name":${goJsonString(scope.name)}${scope.version ? `,"version":${goJsonString(scope.version)}` : ''}}`);
  return `{${parts.join(',')}}`;
}

/** The translator's logfmt line. */
function encodeLogfmt(lr: LogRecord, attrs: readonly KeyValue[], res: readonly KeyValue[], scope: InstrumentationScope | null | undefined): string {
  const kvs: KeyVal[] = bodyToKeyvals(lr.body);
  const tid = hexOrEmpty(lr.traceId);
  if (tid) replaceOrAppend(kvs, { key: 'traceID', keyIsBytes: false, value: tid, raw: false });
  const sid = hexOrEmpty(lr.spanId);
  if (sid) replaceOrAppend(kvs, { key: 'spanID', keyIsBytes: false, value: sid, raw: false });
  if (lr.severityText) replaceOrAppend(kvs, { key: 'severity', keyIsBytes: false, value: lr.severityText, raw: false });
  if (lr.flags) replaceOrAppend(kvs, { key: 'flags', keyIsBytes: false, value: String(lr.flags >>> 0), raw: true });
  for (const kv of attrs) kvs.push(...valueToKeyvals(`attribute_${kv.key}`, kv.value));
  for (const kv of res) kvs.push(...valueToKeyvals(`resource_${kv.key}`, kv.value));
  if (scope?.name) {
    kvs.push({ key: 'instrumentation_scope_name', keyIsBytes: false, value: scope.name, raw: false });
    if (scope.version) kvs.push({ key: 'instrumentation_scope_version', keyIsBytes: false, value: scope.version, raw: false });
  }
  return marshalLogfmt(kvs);
}

/** Nanoseconds since the epoch as Loki entry time fields. */
function entryTime(lr: LogRecord, nowMs: number): { timestampMs: number; timestampNanos: number } {
  for (const t of [lr.timeUnixNano, lr.observedTimeUnixNano]) {
    const ns = BigInt(int64Text(t));
    if (ns !== 0n) return { timestampMs: Number(ns / 1_000_000n), timestampNanos: Number(ns % 1_000_000n) };
  }
  return { timestampMs: nowMs, timestampNanos: 0 };
}

export interface Converted {
  readonly entries: LogEntry[];
  /** Records that could not be converted, with the reason. */
  readonly failed: string[];
}

/**
 * Converts one OTLP logs request. `streams` caches one `Labels` object per label set so
 * consumers can key per-stream state by identity.
 */
export function convertLogs(req: LogsRequest, streams: Map<string, Labels> = new Map(), nowMs = Date.now()): Converted {
  const entries: LogEntry[] = [];
  const failed: string[] = [];
  for (const rl of req.resourceLogs) {
    const resAttrs = rl.resource?.attributes ?? [];
    for (const sl of rl.scopeLogs) {
      for (const lr of sl.logRecords) {
        try {
          const attrs = withLevel(lr);
          const fmtHint = present(resAttrs, HINT_FORMAT) ? get(resAttrs, HINT_FORMAT) : present(attrs, HINT_FORMAT) ? get(attrs, HINT_FORMAT) : { stringValue: 'json' };
          const format = asString(fmtHint);
          const labels = new Map<string, string>([['exporter', 'OTLP']]);
          const name = present(resAttrs, 'service.name') ? asString(get(resAttrs, 'service.name')) : undefined;
          if (name !== undefined) labels.set('job', present(resAttrs, 'service.namespace') ? `${asString(get(resAttrs, 'service.namespace'))}/${name}` : name);
          if (present(resAttrs, 'service.instance.id')) labels.set('instance', asString(get(resAttrs, 'service.instance.id')));
          if (present(resAttrs, HINT_RESOURCES)) selectLabels(resAttrs, get(resAttrs, HINT_RESOURCES), labels);
          if (present(attrs, HINT_RESOURCES)) selectLabels(resAttrs, get(attrs, HINT_RESOURCES), labels);
          if (present(attrs, HINT_ATTRIBUTES)) selectLabels(attrs, get(attrs, HINT_ATTRIBUTES), labels);
          const keep = (kv: KeyValue): boolean => !HINTS.has(kv.key) && !labels.has(kv.key);
          const lineAttrs = attrs.filter(keep);
          const lineRes = resAttrs.filter(keep);
          let line: string;
          if (format === 'json') line = encodeJson(lr, lineAttrs, lineRes, sl.scope);
          else if (format === 'logfmt') line = encodeLogfmt(lr, lineAttrs, lineRes, sl.scope);
          else if (format === 'raw') line = asString(lr.body);
          else throw new Error(`invalid format ${format}. Expected one of: json, logfmt, raw`);
          const rec: Record<string, string> = {};
          for (const [k, v] of labels) rec[normalizeLabel(k)] = v;
          let ls = labelsFromRecord(rec);
          const key = labelsToString(ls);
          const cached = streams.get(key);
          if (cached) ls = cached;
          else {
            if (streams.size >= 10_000) streams.clear();
            streams.set(key, ls);
          }
          entries.push({ labels: ls, line, ...entryTime(lr, nowMs) });
        } catch (err: unknown) {
          failed.push(err instanceof Error ? err.message : String(err));
        }
      }
    }
  }
  return { entries, failed };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.exporter.loki',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => {
    const total = new Counter({ name: 'otelcol_exporter_loki_entries_total', help: 'Total number of log entries passed through the converter', registers: [opts.registry] });
    const failedC = new Counter({ name: 'otelcol_exporter_loki_entries_failed', help: 'Total number of log entries failed to convert', registers: [opts.registry] });
    const processed = new Counter({ name: 'otelcol_exporter_loki_entries_processed', help: 'Total number of log entries successfully converted', registers: [opts.registry] });
    const streams = new Map<string, Labels>();
    return consumerComponent(opts, args, async (current, data: Telemetry) => {
      if (data.signal !== 'logs') throw unsupported(opts.id, data.signal);
      const { entries, failed } = convertLogs(data.request as LogsRequest, streams);
      total.inc(entries.length + failed.length);
      processed.inc(entries.length);
      if (failed.length > 0) {
        failedC.inc(failed.length);
        opts.logger.error('failed to convert log to loki entry', { component: opts.id, dropped: failed.length, err: failed[0] });
      }
      if (entries.length === 0) return;
      try {
        await Promise.all(current.forward_to.map((r) => r.append(entries)));
      } catch (err: unknown) {
        throw new ConsumerError(`${opts.id}: ${err instanceof Error ? err.message : String(err)}`, true);
      }
    });
  },
};
