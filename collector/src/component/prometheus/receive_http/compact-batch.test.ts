import { encodeLabels, WriteRequestDecoder, WriteRequestEncoder } from '../../../prom/remotewrite/proto.js';
import { compress, uncompress } from '../../../prom/snappy/snappy.js';
import type { Labels } from '../../../prom/types.js';
import { CompactDecoder, SeriesTable, type CompactBatch, type DecodeResult } from './compact-batch.js';

const LIMIT = 32 * 1024 * 1024;

function body(series: readonly Labels[], ts: number, exemplarAt = -1): Buffer {
  const enc = new WriteRequestEncoder();
  series.forEach((labels, i) => {
    const ex = i === exemplarAt ? { labels: [{ name: 'trace_id', value: `t${ts}` }], value: 0.5, timestamp: ts } : undefined;
    enc.addSample(encodeLabels(labels), ts, ts + i, ex, ex ? encodeLabels(ex.labels) : undefined);
  });
  return compress(enc.finish());
}

const series = (prefix: string, n: number): Labels[] =>
  Array.from({ length: n }, (_, i) => [
    { name: '__name__', value: `${prefix}_total` },
    { name: 'i', value: String(i) },
  ]);

function batchOf(r: DecodeResult): CompactBatch {
  if ('error' in r) throw new Error(`unexpected error ${r.error.status}: ${r.error.message}`);
  return r.batch;
}

describe('CompactDecoder + SeriesTable', () => {
  it('resolves to what WriteRequestDecoder decodes: samples, order, exemplars, refused series', () => {
    const good = series('m', 50);
    const bad: Labels[] = [[{ name: '1x', value: 'a' }]];
    const mixed = [...good.slice(0, 20), ...bad, ...good.slice(20)];
    const payload = body(mixed, 1_000, 7);
    const want = new WriteRequestDecoder({ validateSeries: true }).decode(uncompress(payload));
    const dec = new CompactDecoder({ maxDecodedBytes: LIMIT, limitName: 'the limit' });
    const b = batchOf(dec.decode(payload));
    expect(b.timeseries).toBe(51);
    expect(b.defs).toHaveLength(50);
    const got = new SeriesTable().resolve(0, b);
    expect(got.length).toBe(want.length);
    expect(got.series.map((l) => l.map((x) => `${x.name}=${x.value}`).join(','))).toEqual(want.series.map((l) => l.map((x) => `${x.name}=${x.value}`).join(',')));
    expect([...got.timestamps]).toEqual([...want.timestamps]);
    expect([...got.values]).toEqual([...want.values]);
    expect(got.rejected).toEqual(want.rejected);
    expect(got.rejected?.series).toBe(1);
    expect([...(got.exemplars ?? new Map())]).toEqual([...(want.exemplars ?? new Map())]);
    expect(got.exemplars?.size).toBe(1);
  });

  it('gives a known series the same Labels object in every batch and across decoders', () => {
    const table = new SeriesTable();
    const a = new CompactDecoder({ maxDecodedBytes: LIMIT, limitName: 'l' });
    const b = new CompactDecoder({ maxDecodedBytes: LIMIT, limitName: 'l' });
    const s = series('same', 10);
    const first = batchOf(a.decode(body(s, 1)));
    const second = batchOf(a.decode(body(s, 2)));
    expect(second.defs).toEqual([]); // known to the decoder: only ids cross
    const r1 = table.resolve(0, first);
    const r2 = table.resolve(0, second);
    const r3 = table.resolve(1, batchOf(b.decode(body(s, 3))));
    for (let i = 0; i < 10; i++) {
      expect(r2.series[i]).toBe(r1.series[i]);
      expect(r3.series[i]).toBe(r1.series[i]);
    }
    expect(table.size).toBe(10);
    expect([...r2.timestamps]).toEqual(new Array(10).fill(2));
  });

  it('releases a series once every decoder announced its id dead, and an id reused later names the new series', () => {
    const table = new SeriesTable();
    const labels = (v: string): readonly string[] => ['__name__', 'x', 'v', v];
    const batch = (ids: number[], defs: [number, readonly string[]][], dead: number[]): CompactBatch => ({
      ids: Uint32Array.from(ids),
      timestamps: new Float64Array(ids.length),
      values: new Float64Array(ids.length),
      length: ids.length,
      defs,
      dead,
      timeseries: ids.length,
      decodedBytes: 0,
      metadata: [],
      histogramsDropped: 0,
      exemplarsDropped: 0,
      seriesCache: { series: 0, capacity: 0, bound: 0 },
    });
    const r1 = table.resolve(0, batch([0, 1], [[0, labels('a')], [1, labels('b')]], []));
    table.resolve(1, batch([0], [[0, labels('a')]], []));
    expect(table.size).toBe(2);
    // Decoder 0 forgets id 0 ("a"); decoder 1 still holds "a", so it stays.
    table.resolve(0, batch([1], [], [0]));
    expect(table.size).toBe(2);
    const r2 = table.resolve(1, batch([0], [], []));
    expect(r2.series[0]).toBe(r1.series[0]);
    // Decoder 0 reuses id 0 for "c".
    const r3 = table.resolve(0, batch([0, 1], [[0, labels('c')]], []));
    expect(r3.series[0]).toEqual([{ name: '__name__', value: 'x' }, { name: 'v', value: 'c' }]);
    expect(r3.series[1]).toBe(r1.series[1]);
    table.dropDecoder(1);
    expect(table.size).toBe(2); // "b" and "c"
    // A refused batch still keeps the table in step with its decoder.
    table.skip(0, batch([], [[2, labels('d')]], [1]));
    expect(table.size).toBe(2); // "c" and "d"
    expect(() => table.resolve(0, batch([5], [], []))).toThrow(/named series 5 before defining it/);
  });

  it('answers errors as data: 400 for non-snappy or non-protobuf bodies, 413 above the decoded limit', () => {
    const dec = new CompactDecoder({ maxDecodedBytes: 1000, limitName: 'the decoded limit' });
    const notSnappy = dec.decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(notSnappy).toEqual({ error: { status: 400, message: expect.stringMatching(/^snappy decode error/) } });
    const big = dec.decode(compress(Buffer.alloc(5000)));
    expect(big).toEqual({ error: { status: 413, message: expect.stringContaining('more than the decoded limit (1000 bytes)') } });
    const notProto = dec.decode(compress(Buffer.from([0x0a, 0x50, 0x01])));
    expect(notProto).toEqual({ error: { status: 400, message: expect.stringMatching(/^protobuf decode error/) } });
  });

  it('keeps typed arrays that own their buffers, so they can be transferred', () => {
    const dec = new CompactDecoder({ maxDecodedBytes: LIMIT, limitName: 'l' });
    const b = batchOf(dec.decode(body(series('t', 3), 5)));
    for (const a of [b.ids, b.timestamps, b.values]) {
      expect(a.byteOffset).toBe(0);
      expect(a.byteLength).toBe(a.buffer.byteLength);
    }
  });

  it('keeps ids right while the decoder evicts series and they come back: every sample resolves to its own labels, and the cache stats stay within the bound', async () => {
    const g = (globalThis as { gc?: () => void }).gc;
    let now = 0;
    // A cache pinned at 2 × 40 series, far fewer than the 300 that cycle through it.
    const dec = new CompactDecoder({ maxDecodedBytes: LIMIT, limitName: 'l', seriesCache: { seriesCacheSize: 40, maxSeriesCacheSize: 40, now: () => now } });
    const table = new SeriesTable();
    const all = series('cyc', 300);
    for (let round = 0; round < 6; round++) {
      for (let from = 0; from < 300; from += 60) {
        now += 1;
        const part = all.slice(from, from + 60);
        const b = batchOf(dec.decode(body(part, round)));
        expect(b.seriesCache.series).toBeLessThanOrEqual(80);
        expect(b.seriesCache.capacity).toBe(80);
        expect(b.seriesCache.bound).toBe(80);
        const r = table.resolve(0, b);
        for (let i = 0; i < part.length; i++) expect(r.series[i]).toStrictEqual(part[i]);
      }
      // Collected Labels announce their ids dead in the next batch; with gc exposed that happens here.
      g?.();
      await Promise.resolve();
    }
    // The table holds at most what some decoder id still names.
    expect(table.size).toBeLessThanOrEqual(300);
  });
});
