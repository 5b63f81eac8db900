import { formatDiagnostics } from '../../../../syntax/index.js';
import { defaultRegistry } from '../../../registry.js';
import { validateConfig } from '../../../../runtime/validate.js';
import { labelsFromRecord, labelsToRecord } from '../../../../prom/labels/labels.js';
import type { LogEntry } from '../../../../loki/types.js';
import { Telemetry } from '../../../../otlp/data.js';
import type { LogsRequest } from '../../../../otlp/types.js';
import { CaptureConsumer, officialDecode, runComponent } from '../../otelcol.test-support.js';
import { convertLogs } from '../../exporter/loki/loki.js';
import { component, entriesToRequest, type Exports } from './loki.js';

const entry = (labels: Record<string, string>, line: string, ms = 1_700_000_000_123, ns = 456_789): LogEntry => ({ labels: labelsFromRecord(labels), line, timestampMs: ms, timestampNanos: ns });

describe('otelcol.receiver.loki', () => {
  it('converts entries as upstream: body, nanosecond time, file attributes, label hint and label attributes', () => {
    const req = entriesToRequest([entry({ filename: '/var/log/app/a.log', job: 'app', 'loki.format': 'logfmt' }, 'level=info msg=hi')], 1_800_000_000_000);
    const wire = officialDecode('logs', Telemetry.of('logs', req).encode());
    expect(wire).toEqual({
      resourceLogs: [
        {
          resource: {},
          scopeLogs: [
            {
              scope: {},
              logRecords: [
                {
                  timeUnixNano: '1700000000123456789',
                  observedTimeUnixNano: '1800000000000000000',
                  body: { stringValue: 'level=info msg=hi' },
                  attributes: [
                    { key: 'log.file.path', value: { stringValue: '/var/log/app/a.log' } },
                    { key: 'log.file.name', value: { stringValue: 'a.log' } },
                    { key: 'loki.attribute.labels', value: { stringValue: 'filename,job,loki.format' } },
                    { key: 'filename', value: { stringValue: '/var/log/app/a.log' } },
                    { key: 'job', value: { stringValue: 'app' } },
                    { key: 'loki.format', value: { stringValue: 'logfmt' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('uses the observed time for entries without a time and omits the hint without labels', () => {
    const rec = entriesToRequest([entry({}, 'x', 0, 0)], 5_000).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(rec.timeUnixNano).toBe('5000000000');
    expect(rec.attributes).toEqual([]);
  });

  it('round-trips through otelcol.exporter.loki: the labels come back (loki.format too, as upstream), the format hint is honoured', () => {
    const e = entry({ filename: '/tmp/foo.txt', 'loki.format': 'logfmt', service: 'shop' }, 'level=info msg="order placed"');
    const { entries, failed } = convertLogs(entriesToRequest([e]));
    expect(failed).toEqual([]);
    expect(labelsToRecord(entries[0]!.labels)).toEqual({ exporter: 'OTLP', filename: '/tmp/foo.txt', loki_format: 'logfmt', service: 'shop' });
    expect(entries[0]!.line).toBe('level=info msg="order placed" attribute_log.file.path=/tmp/foo.txt attribute_log.file.name=foo.txt');
    expect([entries[0]!.timestampMs, entries[0]!.timestampNanos]).toEqual([e.timestampMs, e.timestampNanos]);
  });

  it('forwards appended entries to output.logs and refuses them while the consumer refuses', async () => {
    const sink = new CaptureConsumer();
    const r = await runComponent<unknown, Exports>(component as never, { output: { logs: [sink] } });
    try {
      await r.exports().receiver.append([entry({ a: '1' }, 'one'), entry({ a: '2' }, 'two')]);
      expect(sink.count('logs')).toBe(2);
      const req = sink.received[0]!.request as LogsRequest;
      expect(req.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => l.body?.stringValue)).toEqual(['one', 'two']);
      sink.fail = { retryable: true, message: 'full' };
      await expect(r.exports().receiver.append([entry({ a: '3' }, 'three')])).rejects.toThrow('full');
      expect(r.health().state).toBe('healthy');
    } finally {
      await r.stop();
    }
  });

  it("validates the reference page's example", async () => {
    const src = `loki.source.file "default" {
  targets = [
    {__path__ = "/tmp/foo.txt", "loki.format" = "logfmt"},
    {__path__ = "/tmp/bar.txt", "loki.format" = "json"},
  ]
  forward_to = [otelcol.receiver.loki.default.receiver]
}

otelcol.receiver.loki "default" {
  output {
    logs = [otelcol.exporter.otlphttp.default.input]
  }
}

otelcol.exporter.otlphttp "default" {
  client {
    endpoint = "http://127.0.0.1:4318"
  }
}
`;
    const sources = new Map([['example.alloy', src]]);
    expect(formatDiagnostics((await validateConfig(sources, { registry: defaultRegistry() })), sources)).toBe('');
    const missing = new Map([['bad.alloy', 'otelcol.receiver.loki "x" {}\n']]);
    expect(formatDiagnostics((await validateConfig(missing, { registry: defaultRegistry() })), missing)).toMatch(/output/);
  });
});
