import { decodeAppendPayload, encodeAppendRecord, RECORD_HEADER_SIZE, WalCorruptionError } from './records.js';

function record(): Buffer {
  const labels = Object.freeze([
    { name: '__name__', value: 'up' },
    { name: 'job', value: 'node' },
  ]);
  return encodeAppendRecord({
    series: [{ ref: 7, labels }],
    refs: Uint32Array.from([7, 7, 9]),
    timestamps: Float64Array.from([1_700_000_000_000, 1_700_000_015_000, 1_699_999_999_000]),
    values: Float64Array.from([1, NaN, -2.5]),
    length: 3,
    exemplars: new Map([[1, { labels: Object.freeze([{ name: 'trace_id', value: 'abc' }]), value: 3, timestamp: 1_700_000_015_000 }]]),
  });
}

describe('WAL append records', () => {
  it('round-trip series, samples (negative deltas included) and exemplars', () => {
    const rec = record();
    const d = decodeAppendPayload(rec, RECORD_HEADER_SIZE, rec.length);
    expect(d.series).toEqual([{ ref: 7, labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'node' }] }]);
    expect([...d.refs]).toEqual([7, 7, 9]);
    expect([...d.timestamps]).toEqual([1_700_000_000_000, 1_700_000_015_000, 1_699_999_999_000]);
    expect(d.values[0]).toBe(1);
    expect(d.values[1]).toBeNaN();
    expect(d.values[2]).toBe(-2.5);
    expect(d.exemplars?.get(1)).toEqual({ labels: [{ name: 'trace_id', value: 'abc' }], value: 3, timestamp: 1_700_000_015_000 });
  });

  it('reports a payload cut at any byte as WalCorruptionError, never another error', () => {
    const rec = record();
    for (let end = RECORD_HEADER_SIZE; end < rec.length; end++) {
      expect(() => decodeAppendPayload(rec, RECORD_HEADER_SIZE, end)).toThrow(WalCorruptionError);
    }
  });

  it('refuses a hostile label count before allocating for it', () => {
    // 1 series, ref 1, then a label count of 2^40 in a 20-byte payload.
    const payload = Buffer.from([0x01, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => decodeAppendPayload(payload, 0, payload.length)).toThrow(new WalCorruptionError('label count larger than record'));
  });
});
