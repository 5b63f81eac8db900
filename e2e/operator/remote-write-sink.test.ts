import { encodeLabels, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress } from '../../collector/src/prom/snappy/snappy.js';
import { STALE_NAN, type Labels } from '../../collector/src/prom/types.js';
import { largestGap, startRemoteWriteSink, type RemoteWriteSink } from './remote-write-sink.js';

const L = (o: Record<string, string>): Labels => Object.keys(o).sort().map((name) => ({ name, value: o[name]! }));

function body(samples: Array<[Labels, number, number]>): Buffer {
  const enc = new WriteRequestEncoder();
  for (const [l, t, v] of samples) enc.addSample(encodeLabels(l), t, v);
  return compress(enc.finish());
}

describe('remote-write sink', () => {
  let sink: RemoteWriteSink;
  beforeAll(async () => {
    sink = await startRemoteWriteSink((labels) => (labels.find((l) => l.name === '__name__')?.value === 'up' ? labels.find((l) => l.name === 'pod')?.value : undefined));
  });
  afterAll(async () => {
    await sink.close();
  });

  test('GIVEN snappy WriteRequests WHEN posted THEN selected series keep their timestamps and stale markers; others are dropped', async () => {
    const post = (b: Buffer) => fetch(sink.url, { method: 'POST', body: b, headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' } });
    expect((await post(body([[L({ __name__: 'up', pod: 'a' }), 1000, 1], [L({ __name__: 'other', pod: 'a' }), 1000, 5], [L({ __name__: 'up', pod: 'b' }), 1000, 1]]))).status).toBe(204);
    expect((await post(body([[L({ __name__: 'up', pod: 'a' }), 2000, STALE_NAN]]))).status).toBe(204);
    expect(sink.samples('a')).toStrictEqual([{ t: 1000, stale: false }, { t: 2000, stale: true }]);
    expect(sink.keys().sort()).toStrictEqual(['a', 'b']);
    const bad = await post(Buffer.from('not snappy'));
    expect(bad.status).toBe(400);
    expect(sink.rejected).toBe(1);
  });
});

describe('largestGap', () => {
  const s = (...ts: number[]) => ts.map((t) => ({ t, stale: false }));
  test.each<[string, ReturnType<typeof s>, number, number, number]>([
    ['steady 1s samples', s(0, 1000, 2000, 3000, 4000), 500, 3500, 1000],
    ['a hole inside the window', s(0, 1000, 4000, 5000), 500, 4500, 3000],
    ['duplicates from retries count once', s(0, 1000, 1000, 2000), 500, 1500, 1000],
    ['no sample after the window is an unbounded gap', s(0, 1000), 500, 3000, Infinity],
    ['no sample before the window is an unbounded gap', s(2000, 3000), 500, 2500, Infinity],
  ])('%s', (_, samples, from, to, want) => {
    expect(largestGap(samples, from, to).gapMs).toBe(want);
  });

  test('stale markers are not data', () => {
    expect(largestGap([...s(0, 3000), { t: 1500, stale: true }], 500, 2500).gapMs).toBe(3000);
  });
});
