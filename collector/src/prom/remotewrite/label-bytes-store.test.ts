import { LabelBytesStore } from './label-bytes-store.js';
import { encodeLabels, WriteRequestDecoder, WriteRequestEncoder } from './proto.js';

const bytesOf = (s: LabelBytesStore, ref: number): string => s.data.subarray(s.offset(ref), s.offset(ref) + s.length(ref)).toString('latin1');

describe('LabelBytesStore', () => {
  it('keeps each ref bytes, dropped marks and unknown refs apart', () => {
    const s = new LabelBytesStore(16, 2);
    expect(s.state(0)).toBe('unknown');
    expect(s.state(1_000_000)).toBe('unknown');
    s.set(3, Buffer.from('abc'));
    s.set(1, null);
    s.set(7, Buffer.from('defgh'));
    expect([s.state(1), s.state(3), s.state(7), s.state(5)]).toStrictEqual(['dropped', 'stored', 'stored', 'unknown']);
    expect(bytesOf(s, 3)).toBe('abc');
    expect(bytesOf(s, 7)).toBe('defgh');
    expect(s.offset(1)).toBeLessThan(0);
    s.delete(1);
    expect(s.state(1)).toBe('unknown');
    expect(() => s.set(-1, null)).toThrow(/invalid ref -1/);
  });

  it('grows past its initial size and keeps every ref readable', () => {
    const s = new LabelBytesStore(16, 4);
    for (let r = 0; r < 5000; r++) s.set(r, Buffer.from(`series-${r}`));
    for (let r = 0; r < 5000; r++) expect(bytesOf(s, r)).toBe(`series-${r}`);
    expect(s.bytes).toBe(Array.from({ length: 5000 }, (_, r) => `series-${r}`.length).reduce((a, b) => a + b, 0));
  });

  it('reclaims the space of deleted refs by compaction and moves the rest intact', () => {
    const s = new LabelBytesStore();
    const value = (r: number): string => `{job="node",instance="host-${r}:9100"}`;
    for (let r = 0; r < 20_000; r++) s.set(r, Buffer.from(value(r)));
    const full = s.bytes;
    const before = s.data;
    for (let r = 0; r < 20_000; r++) if (r % 4 !== 0) s.delete(r);
    expect(s.data).not.toBe(before); // compacted into a smaller buffer
    expect(s.data.length).toBeLessThan(before.length);
    expect(s.bytes).toBe(Array.from({ length: 5000 }, (_, k) => value(4 * k).length).reduce((a, b) => a + b, 0));
    expect(s.bytes).toBeLessThan(full / 3);
    for (let r = 0; r < 20_000; r++) {
      if (r % 4 === 0) expect(bytesOf(s, r)).toBe(value(r));
      else expect(s.state(r)).toBe('unknown');
    }
    // Replacing a ref's bytes frees the old ones.
    s.set(0, Buffer.from('x'));
    expect(bytesOf(s, 0)).toBe('x');
  });

  it('feeds the encoder the same request as per-series buffers do', () => {
    const labels = [
      [{ name: '__name__', value: 'up' }, { name: 'job', value: 'a' }],
      [{ name: '__name__', value: 'x'.repeat(200) }, { name: 'job', value: 'ü' }],
    ];
    const s = new LabelBytesStore(8);
    labels.forEach((l, r) => s.set(r, encodeLabels(l)));
    const a = new WriteRequestEncoder(64);
    const b = new WriteRequestEncoder(64);
    for (let r = 0; r < labels.length; r++) {
      a.addSample(encodeLabels(labels[r]!), 1000 + r, r);
      b.addSampleAt(s.data, s.offset(r), s.length(r), 1000 + r, r);
    }
    b.addSampleAt(s.data, s.offset(0), s.length(0), -5, 1, { labels: [{ name: 'trace_id', value: 't' }], value: 2, timestamp: 3 }, encodeLabels([{ name: 'trace_id', value: 't' }]));
    a.addSample(encodeLabels(labels[0]!), -5, 1, { labels: [{ name: 'trace_id', value: 't' }], value: 2, timestamp: 3 }, encodeLabels([{ name: 'trace_id', value: 't' }]));
    expect(Buffer.from(b.finish())).toStrictEqual(Buffer.from(a.finish()));
    const decoded = new WriteRequestDecoder().decode(b.finish());
    expect(decoded.length).toBe(3);
    expect(decoded.series[1]).toStrictEqual(labels[1]);
    expect([...decoded.timestamps]).toStrictEqual([1000, 1001, -5]);
  });
});
