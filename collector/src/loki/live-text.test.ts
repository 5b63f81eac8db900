import { processLiveLine, relabelLiveLine, rfc3339Nano, structuredMetadataJson } from './live-text.js';

describe('live-debugging text of log entries', () => {
  it('writes timestamps as Go RFC3339Nano in UTC (no trailing zeros)', () => {
    expect(rfc3339Nano(1_714_557_600_000)).toBe('2024-05-01T10:00:00Z');
    expect(rfc3339Nano(1_714_557_600_500)).toBe('2024-05-01T10:00:00.5Z');
    expect(rfc3339Nano(1_714_557_600_000, 1)).toBe('2024-05-01T10:00:00.000000001Z');
    expect(rfc3339Nano(-1)).toBe('1969-12-31T23:59:59.999Z');
  });

  it('writes structured metadata as a JSON object with sorted keys', () => {
    expect(structuredMetadataJson(undefined)).toBe('{}');
    expect(structuredMetadataJson([{ name: 'z', value: '1' }, { name: 'a', value: '"q"' }])).toBe('{"a":"\\"q\\"","z":"1"}');
  });

  it('formats loki.process and loki.relabel lines', () => {
    const e = { labels: [{ name: 'job', value: 'x' }], line: 'hello', timestampMs: 0, timestampNanos: 0 };
    expect(processLiveLine('IN', e)).toBe('[IN]: timestamp: 1970-01-01T00:00:00Z, entry: hello, labels: {job="x"}, structured_metadata: {}');
    expect(relabelLiveLine(e, null)).toBe('entry: hello, labels: {job="x"} => {}');
  });
});
