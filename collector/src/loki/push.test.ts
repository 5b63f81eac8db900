import { compress, uncompress } from '../prom/snappy/snappy.js';
import { formatStreamLabels, parseStreamLabels, StreamLabelsCache } from './labels.js';
import { decodePushJson, groupStreams, PushDecodeError, PushRequestDecoder, PushRequestEncoder } from './push.js';
import { parseNanoString, timestampToNanoString, type LogEntry } from './types.js';

const job = parseStreamLabels('{job="varlogs", filename="/var/log/a.log"}');

describe('stream labels', () => {
  it('parses Prometheus label syntax with escapes, sorted', () => {
    expect(parseStreamLabels('{b="x\\"y\\n", a=`raw\\`}')).toStrictEqual([
      { name: 'a', value: 'raw\\' },
      { name: 'b', value: 'x"y\n' },
    ]);
    expect(parseStreamLabels('{}')).toStrictEqual([]);
    expect(formatStreamLabels(job)).toBe('{filename="/var/log/a.log", job="varlogs"}');
  });

  it('names the problem in malformed selectors', () => {
    expect(() => parseStreamLabels('job="x"')).toThrow(/must start with "\{"/);
    expect(() => parseStreamLabels('{job=x}')).toThrow(/quoted value for label job/);
    expect(() => parseStreamLabels('{a="1", a="2"}')).toThrow(/duplicate label name a/);
    expect(() => parseStreamLabels('{a="1"')).toThrow(/expected "," or "}"/);
  });

  it('keeps identity for repeated strings', () => {
    const c = new StreamLabelsCache(2);
    const a = c.parse('{a="1"}');
    expect(c.parse('{a="1"}')).toBe(a);
    expect(c.fromRecord({ a: '1' })).toBe(a);
  });
});

describe('push protobuf', () => {
  it('round-trips streams, nanosecond timestamps, unicode and structured metadata', () => {
    const other = parseStreamLabels('{job="other"}');
    const entries: LogEntry[] = [
      { labels: job, line: 'first line', timestampMs: 1_700_000_000_123, timestampNanos: 456_789 },
      { labels: other, line: 'ünïcødé ✓', timestampMs: 1_700_000_001_000, timestampNanos: 0 },
      { labels: job, line: '', timestampMs: 1_700_000_002_000, timestampNanos: 1, structuredMetadata: [{ name: 'trace_id', value: 'abc' }] },
    ];
    const body = new PushRequestEncoder().encode(groupStreams(entries, formatStreamLabels));
    const wire = uncompress(compress(body));
    const got = new PushRequestDecoder().decode(wire);
    // Grouped by stream, order kept inside each stream.
    expect(got).toStrictEqual([entries[0], entries[2], entries[1]]);
    expect(got[0]!.labels).toBe(got[1]!.labels);
  });

  it('rejects truncated and label-less bodies with a reason', () => {
    const body = new PushRequestEncoder().encode([{ labels: '{a="1"}', entries: [{ labels: job, line: 'x', timestampMs: 1, timestampNanos: 0 }] }]);
    expect(() => new PushRequestDecoder().decode(body.subarray(0, body.length - 2))).toThrow(PushDecodeError);
    const noLabels = new PushRequestEncoder().encode([{ labels: '', entries: [{ labels: job, line: 'x', timestampMs: 1, timestampNanos: 0 }] }]);
    expect(() => new PushRequestDecoder().decode(Buffer.from(noLabels))).toThrow(/stream without labels/);
  });
});

describe('push JSON', () => {
  it('decodes the Loki HTTP API documentation example, with structured metadata', () => {
    const doc = `{
      "streams": [
        {
          "stream": { "foo": "bar2" },
          "values": [
            [ "1570818238000000000", "fizzbuzz" ],
            [ "1570818238000000001", "with meta", { "trace_id": "0242ac120002", "user_id": "superUser123" } ]
          ]
        }
      ]
    }`;
    const got = decodePushJson(doc, new StreamLabelsCache());
    expect(got).toStrictEqual([
      { labels: [{ name: 'foo', value: 'bar2' }], line: 'fizzbuzz', timestampMs: 1570818238000, timestampNanos: 0 },
      {
        labels: [{ name: 'foo', value: 'bar2' }],
        line: 'with meta',
        timestampMs: 1570818238000,
        timestampNanos: 1,
        structuredMetadata: [
          { name: 'trace_id', value: '0242ac120002' },
          { name: 'user_id', value: 'superUser123' },
        ],
      },
    ]);
    expect(timestampToNanoString(got[1]!)).toBe('1570818238000000001');
  });

  it('explains malformed bodies', () => {
    const c = new StreamLabelsCache();
    expect(() => decodePushJson('{', c)).toThrow(/invalid JSON/);
    expect(() => decodePushJson('{"stream":[]}', c)).toThrow(/"streams" array/);
    expect(() => decodePushJson('{"streams":[{"stream":{"a":"1"},"values":[["abc","x"]]}]}', c)).toThrow(/values\[0\]\[0\]: timestamp "abc"/);
    expect(() => decodePushJson('{"streams":[{"stream":{"a":1},"values":[]}]}', c)).toThrow(/must be a string/);
    expect(() => decodePushJson('{"streams":[{"stream":{"a":"1"},"values":[["1",2]]}]}', c)).toThrow(/log line must be a string/);
  });

  it('parses nanosecond strings exactly', () => {
    expect(parseNanoString('1700000000123456789')).toStrictEqual({ timestampMs: 1700000000123, timestampNanos: 456789 });
    expect(parseNanoString('-1')).toBeUndefined();
  });
});
