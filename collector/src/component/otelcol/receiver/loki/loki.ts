/**
 * `otelcol.receiver.loki`: exports a Loki `receiver`; entries appended to it become OTLP log
 * records sent to `output.logs`, as Alloy converts them (with the OpenTelemetry Collector's
 * `ConvertEntryToLogRecord`):
 * - body = the line; time = the entry time (nanoseconds kept); observed time = now;
 * - attributes: `log.file.path` and `log.file.name` (basename) when a `filename` label exists,
 *   `loki.attribute.labels` listing every label name (so `otelcol.exporter.loki` turns them back
 *   into labels), then every label as a string attribute. Label names are listed in sorted order
 *   (upstream's order is Go map order, i.e. random).
 * One `append` becomes one request (one resource, one scope, a record per entry).
 * `append` resolves once every logs consumer took the records and rejects otherwise, so the
 * producer keeps the entries (a file source does not advance, an API source answers 5xx).
 * Structured metadata is not carried (upstream does not carry it either).
 */
import path from 'node:path';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { asCapsule } from '../../../../syntax/vm/value.js';
import type { LogEntry, LogsReceiver } from '../../../../loki/types.js';
import { Telemetry } from '../../../../otlp/data.js';
import type { KeyValue, LogRecord, LogsRequest } from '../../../../otlp/types.js';
import { fanOut, outputBlock, untilAborted } from '../../consumer.js';

export const argumentsSchema = z.object({
  output: outputBlock(),
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly receiver: LogsReceiver;
}

const HINT_ATTRIBUTES = 'loki.attribute.labels';

/** One OTLP log record per entry (see the header). */
export function entryToRecord(e: LogEntry, observedNs: bigint): LogRecord {
  const attributes: KeyValue[] = [];
  const put = (key: string, value: string): void => {
    const i = attributes.findIndex((kv) => kv.key === key);
    const kv = { key, value: { stringValue: value } };
    if (i >= 0) attributes[i] = kv;
    else attributes.push(kv);
  };
  const filename = e.labels.find((l) => l.name === 'filename');
  if (filename) {
    put('log.file.path', filename.value);
    put('log.file.name', path.basename(filename.value));
  }
  if (e.labels.length > 0) put(HINT_ATTRIBUTES, e.labels.map((l) => l.name).join(','));
  for (const l of e.labels) put(l.name, l.value);
  const ts = BigInt(e.timestampMs) * 1_000_000n + BigInt(e.timestampNanos);
  return {
    timeUnixNano: (ts === 0n ? observedNs : ts).toString(),
    observedTimeUnixNano: observedNs.toString(),
    body: { stringValue: e.line },
    attributes,
  };
}

/** The OTLP logs request for a batch of entries. */
export function entriesToRequest(entries: readonly LogEntry[], nowMs = Date.now()): LogsRequest {
  const observed = BigInt(Math.round(nowMs * 1000)) * 1000n;
  return { resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: {}, logRecords: entries.map((e) => entryToRecord(e, observed)) }] }] };
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.receiver.loki',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['receiver'],
  build: (opts, args) => {
    let current = args;
    const receiver = asCapsule<LogsReceiver>(
      {
        append: async (entries) => {
          if (entries.length === 0) return;
          await fanOut(current.output, Telemetry.of('logs', entriesToRequest(entries, performance.timeOrigin + performance.now())));
        },
      },
      'LogsReceiver',
    );
    opts.onStateChange({ receiver });
    return {
      run: async (signal) => {
        opts.setHealth('healthy', 'ready');
        await untilAborted(signal);
      },
      update: (a) => {
        current = a;
      },
    };
  },
};
