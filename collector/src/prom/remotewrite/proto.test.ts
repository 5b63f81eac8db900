import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress, uncompress, implementations, uncompressedLength, SnappyError } from '../snappy/snappy.js';
import { encodeLabels, ProtoError, WriteRequestDecoder, WriteRequestEncoder } from './proto.js';
import { freePort, requireTool } from './remotewrite.test-support.js';
import { STALE_NAN, isStaleNaN, type Labels } from '../types.js';

const L = (o: Record<string, string>): Labels =>
  Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name]! }));

describe('snappy block format', () => {
  it('round-trips through both implementations interchangeably', () => {
    const input = Buffer.from('remote write '.repeat(1000) + 'ünïcødé');
    const js = implementations.js;
    const fromJs = js.compress(input);
    expect(Buffer.from(uncompress(fromJs))).toStrictEqual(input);
    expect(Buffer.from(js.uncompress(compress(input)))).toStrictEqual(input);
    if (implementations.native) {
      expect(Buffer.from(implementations.native.uncompress(fromJs))).toStrictEqual(input);
    }
    expect(uncompressedLength(compress(input))).toBe(input.length);
  });

  it('decodes random data compressed by either implementation, and survives every byte flip', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 30; round++) {
      const size = Math.floor(rnd() * 5000);
      const input = Buffer.alloc(size);
      // Mix of runs (copies) and noise (literals), as remote-write bodies are.
      for (let i = 0; i < size; i++) input[i] = rnd() < 0.7 && i > 8 ? input[i - 1 - Math.floor(rnd() * 8)]! : Math.floor(rnd() * 256);
      const blocks = [implementations.js.compress(input), ...(implementations.native ? [implementations.native.compress(input)] : [])];
      for (const block of blocks) {
        expect(Buffer.from(uncompress(block))).toStrictEqual(input);
        for (let k = 0; k < 20; k++) {
          const bad = Buffer.from(block);
          bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
          try {
            const out = uncompress(bad, 1 << 20);
            expect(out.length).toBe(uncompressedLength(bad));
          } catch (err: unknown) {
            expect(err).toBeInstanceOf(SnappyError);
          }
        }
      }
    }
  });

  it('rejects corrupt blocks and oversized preambles with SnappyError', () => {
    expect(() => uncompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(SnappyError);
    const big = compress(Buffer.alloc(10_000));
    expect(() => uncompress(big, 100)).toThrow(/exceeds limit 100/);
    expect(() => uncompress(Buffer.from([0x10, 0x00, 0x01]))).toThrow(SnappyError);
  });
});

/** Straightforward protobuf writer: the reference the optimised encoders must match byte for byte. */
function refVarint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  while (x >= 128n) {
    out.push(Number(x & 127n) | 128);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
function refBytesField(tag: number, b: number[]): number[] {
  return [tag, ...refVarint(BigInt(b.length)), ...b];
}
function refLabels(labels: Labels): number[] {
  return labels.flatMap((l) =>
    refBytesField(0x0a, [...refBytesField(0x0a, [...Buffer.from(l.name, 'utf8')]), ...refBytesField(0x12, [...Buffer.from(l.value, 'utf8')])]),
  );
}
function refSample(labels: Labels, t: number, v: number): number[] {
  const d = Buffer.alloc(8);
  d.writeDoubleLE(v);
  return refBytesField(0x0a, [...refLabels(labels), ...refBytesField(0x12, [0x09, ...d, 0x10, ...refVarint(BigInt(t))])]);
}

describe('WriteRequest encoding matches a reference protobuf writer byte for byte', () => {
  const sets: Labels[] = [
    L({ __name__: 'up', job: 'node', instance: 'a:9100' }),
    L({ __name__: 'temp', room: 'kitchen ☕', emoji: '😀', lone: '\ud800x' }),
    L({ __name__: 'long', v: 'x'.repeat(200), w: 'ü'.repeat(70) }),
    L({ a: '' }),
    Array.from({ length: 80 }, (_, i) => ({ name: `l${String(i).padStart(2, '0')}`, value: `v${i}` })),
  ];

  it('encodes label sets (ASCII, multi-byte, lone surrogates, long, many labels)', () => {
    for (const s of sets) expect([...encodeLabels(s)]).toStrictEqual(refLabels(s));
  });

  it('encodes plain samples at varint boundaries of the timestamp', () => {
    const times = [0, 1, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 - 1, 2 ** 35, 2 ** 42 - 1, 2 ** 42, 1_700_000_000_123, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1];
    const enc = new WriteRequestEncoder(8);
    const want: number[] = [];
    let k = 0;
    for (const t of times) {
      for (const s of sets) {
        const v = [0, -0, 1.5, -2.25e300, Number.NaN, STALE_NAN, Number.POSITIVE_INFINITY][k++ % 7]!;
        enc.addSample(encodeLabels(s), t, v);
        want.push(...refSample(s, t, v));
      }
    }
    expect([...enc.finish()]).toStrictEqual(want);
  });

  it('addSampleAt copies label bytes from ranges of a shared buffer exactly as addSample does', () => {
    // Ranges of every length class (byte loop, 4-byte moves with a tail, native copy), at odd
    // offsets of one store that is replaced halfway, into a writer that starts tiny and grows.
    const encoded = [...sets, ...Array.from({ length: 12 }, (_, i) => L({ __name__: 'm', k: 'x'.repeat(i * 11 + 1) }))].map((x) => encodeLabels(x));
    const stores = [0, 1].map((variant) => {
      const parts: Buffer[] = [Buffer.alloc(3 + variant, 0xee)];
      const at: number[] = [];
      let off = parts[0]!.length;
      for (const e of encoded) {
        at.push(off);
        parts.push(Buffer.from(e), Buffer.alloc(1 + variant, 0xee));
        off += e.length + 1 + variant;
      }
      return { data: Buffer.concat(parts), at };
    });
    const a = new WriteRequestEncoder(8);
    const b = new WriteRequestEncoder(8);
    let k = 0;
    for (const [si, store] of stores.entries()) {
      for (const [i, e] of encoded.entries()) {
        const v = [1.5, STALE_NAN, -0, Number.NaN][k++ % 4]!;
        const t = 1_700_000_000_000 + si * 1000 + i;
        a.addSampleAt(store.data, store.at[i]!, e.length, t, v);
        b.addSample(e, t, v);
      }
    }
    expect(Buffer.compare(a.finish(), b.finish())).toBe(0);
  });
});

describe('WriteRequest codec', () => {
  it('round-trips samples, negative timestamps, staleness markers and exemplars', () => {
    const a = L({ __name__: 'up', job: 'node', instance: 'a:9100' });
    const b = L({ __name__: 'temp', room: 'kitchen ☕' });
    const enc = new WriteRequestEncoder(16);
    const la = encodeLabels(a);
    const lb = encodeLabels(b);
    enc.addSample(la, 1_700_000_000_123, 1);
    enc.addSample(lb, -5, -2.5);
    enc.addSample(la, 1_700_000_015_123, STALE_NAN);
    enc.addSample(lb, 2 ** 52, 21.5, { labels: L({ trace_id: 'abc' }), value: 3, timestamp: 2 ** 52 }, encodeLabels(L({ trace_id: 'abc' })));
    enc.addMetadata({ type: 'gauge', metricFamilyName: 'temp', help: 'Temperature.', unit: 'celsius' });
    const body = Buffer.from(enc.finish());

    const dec = new WriteRequestDecoder();
    const r = dec.decode(body);
    expect(r.length).toBe(4);
    expect(Array.from(r.timestamps)).toStrictEqual([1_700_000_000_123, -5, 1_700_000_015_123, 2 ** 52]);
    expect(r.values[0]).toBe(1);
    expect(r.values[1]).toBe(-2.5);
    expect(isStaleNaN(r.values[2]!)).toBe(true);
    expect(r.series[0]).toStrictEqual(a);
    expect(r.series[1]).toStrictEqual(b);
    // Same series in the same or a later request: same Labels object.
    expect(r.series[2]).toBe(r.series[0]);
    expect(dec.decode(body).series[1]).toBe(r.series[1]);
    expect(r.exemplars?.get(3)).toStrictEqual({ labels: L({ trace_id: 'abc' }), value: 3, timestamp: 2 ** 52 });
    expect(r.metadata).toStrictEqual([{ type: 'gauge', metricFamilyName: 'temp', help: 'Temperature.', unit: 'celsius' }]);
  });

  it('sorts unsorted labels, drops empty values and rejects duplicates', () => {
    const enc = new WriteRequestEncoder();
    enc.addSample(encodeLabels([{ name: 'z', value: '1' }, { name: 'a', value: '2' }, { name: 'm', value: '' }]), 1, 1);
    const r = new WriteRequestDecoder().decode(enc.finish());
    expect(r.series[0]).toStrictEqual([{ name: 'a', value: '2' }, { name: 'z', value: '1' }]);

    const dup = new WriteRequestEncoder();
    dup.addSample(encodeLabels([{ name: 'a', value: '1' }, { name: 'a', value: '2' }]), 1, 1);
    expect(() => new WriteRequestDecoder().decode(dup.finish())).toThrow(/duplicate label name "a"/);
  });

  it('rejects truncated and garbage bodies with ProtoError', () => {
    const enc = new WriteRequestEncoder();
    enc.addSample(encodeLabels(L({ __name__: 'x' })), 1, 1);
    const body = Buffer.from(enc.finish());
    expect(() => new WriteRequestDecoder().decode(body.subarray(0, body.length - 3))).toThrow(ProtoError);
    expect(() => new WriteRequestDecoder().decode(Buffer.from('this is not protobuf at all'))).toThrow(ProtoError);
  });

  it('decodes labels interleaved with samples (legal protobuf) and still caches the series', () => {
    const l1 = encodeLabels([{ name: '__name__', value: 'x' }]);
    const l2 = encodeLabels([{ name: 'job', value: 'j' }]);
    const sample = Buffer.alloc(11);
    sample[0] = 0x12;
    sample[1] = 9;
    sample[2] = 0x09;
    sample.writeDoubleLE(7, 3);
    const ts = Buffer.concat([l1, sample, l2]);
    const body = Buffer.concat([Buffer.from([0x0a, ts.length]), ts]);
    const dec = new WriteRequestDecoder();
    const r = dec.decode(body);
    expect(r.series[0]).toStrictEqual(L({ __name__: 'x', job: 'j' }));
    expect(r.values[0]).toBe(7);
    expect(dec.decode(body).series[0]).toBe(r.series[0]);
  });

  it('grows its typed arrays past the initial estimate', () => {
    const enc = new WriteRequestEncoder();
    const lb = encodeLabels(L({ __name__: 'x' }));
    for (let i = 0; i < 5000; i++) enc.addSample(lb, i, i * 2);
    const r = new WriteRequestDecoder().decode(enc.finish());
    expect(r.length).toBe(5000);
    expect(r.values[4999]).toBe(9998);
    expect(new Set(r.series).size).toBe(1);
  });
});

describe('decoding what a real Prometheus sends', () => {
  const prom = requireTool('/usr/bin/prometheus', 'capturing a real remote-write body');
  (prom ? it : it.skip)(
    'decodes a request from prometheus --enable-feature=agent',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-capture-'));
      const bodies: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
      let gotOne: () => void = () => undefined;
      const got = new Promise<void>((r) => (gotOne = r));
      const srv = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          bodies.push({ headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(204).end();
          gotOne();
        });
      });
      const rwPort = await freePort();
      const promPort = await freePort();
      await new Promise<void>((r) => srv.listen(rwPort, '127.0.0.1', r));
      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global: { scrape_interval: 1s }',
          'scrape_configs:',
          `  - job_name: self`,
          `    static_configs: [{ targets: ["127.0.0.1:${promPort}"] }]`,
          'remote_write:',
          `  - url: http://127.0.0.1:${rwPort}/api/v1/write`,
          '    queue_config: { batch_send_deadline: 500ms }',
          '',
        ].join('\n'),
      );
      const child = spawn(
        prom!,
        [
          '--enable-feature=agent',
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.agent.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: 'ignore' },
      );
      try {
        await got;
        const { headers, body } = bodies[0]!;
        expect(headers['content-encoding']).toBe('snappy');
        expect(headers['content-type']).toBe('application/x-protobuf');
        expect(headers['x-prometheus-remote-write-version']).toBe('0.1.0');
        const r = new WriteRequestDecoder().decode(uncompress(body));
        expect(r.length).toBeGreaterThan(50);
        const up = r.series.findIndex((s) => s.some((l) => l.name === '__name__' && l.value === 'up'));
        expect(up).toBeGreaterThanOrEqual(0);
        expect(r.series[up]).toStrictEqual(L({ __name__: 'up', instance: `127.0.0.1:${promPort}`, job: 'self' }));
        expect(r.values[up]).toBe(1);
        expect(Math.abs(r.timestamps[up]! - Date.now())).toBeLessThan(60_000);
        for (const s of r.series) {
          for (let i = 1; i < s.length; i++) expect(s[i - 1]!.name < s[i]!.name).toBe(true);
        }
      } finally {
        child.kill('SIGKILL');
        srv.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

describe('int64 extremes', () => {
  // INT64_MAX as a protobuf varint: what Prometheus sends for timestamp 2^63-1.
  const INT64_MAX_VARINT = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
  const INT64_MIN_VARINT = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
  const contains = (hay: Buffer, needle: number[]): boolean => hay.indexOf(Buffer.from(needle)) >= 0;

  it('forwards the largest timestamp (2^63-1) as INT64_MAX, never as a negative number', () => {
    const enc = new WriteRequestEncoder();
    const ls: Labels = [{ name: '__name__', value: 'edge' }];
    // A hand-built request with t = 2^63-1, decoded as a double (2^63), then encoded again.
    enc.addSample(encodeLabels(ls), 1, 1);
    const raw = Buffer.from(enc.finish());
    const at = raw.indexOf(Buffer.from([0x10, 0x01]));
    const edited = Buffer.concat([raw.subarray(0, at + 1), Buffer.from(INT64_MAX_VARINT), raw.subarray(at + 2)]);
    // Fix up the enclosing lengths (sample, series) for the 8 extra bytes.
    edited[at - 10]! += 8; // sample length byte
    edited[1]! += 8; // series length byte
    const decoded = new WriteRequestDecoder().decode(edited);
    expect(decoded.timestamps[0]).toBe(2 ** 63);
    const again = new WriteRequestEncoder();
    again.addSample(encodeLabels(ls), decoded.timestamps[0]!, decoded.values[0]!);
    const out = Buffer.from(again.finish());
    expect(contains(out, INT64_MAX_VARINT)).toBe(true);
    expect(new WriteRequestDecoder().decode(out).timestamps[0]).toBeGreaterThan(0);
  });

  it('clamps below INT64_MIN and keeps exact negatives', () => {
    const enc = new WriteRequestEncoder();
    enc.addSample(encodeLabels([{ name: '__name__', value: 'a' }]), -(2 ** 64), 1);
    enc.addSample(encodeLabels([{ name: '__name__', value: 'b' }]), -1000, 1);
    const out = Buffer.from(enc.finish());
    expect(contains(out, INT64_MIN_VARINT)).toBe(true);
    const d = new WriteRequestDecoder().decode(out);
    expect(d.timestamps[0]).toBe(-(2 ** 63));
    expect(d.timestamps[1]).toBe(-1000);
  });
});

describe('validateSeries', () => {
  // Raw protobuf builders: labels may be out of order, repeated or not UTF-8 on the wire.
  const varint = (n: number): number[] => {
    const o: number[] = [];
    while (n >= 128) {
      o.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    o.push(n);
    return o;
  };
  const field = (tag: number, bytes: number[]): number[] => [tag, ...varint(bytes.length), ...bytes];
  const str = (s: string | number[]): number[] => (typeof s === 'string' ? [...Buffer.from(s)] : s);
  const series = (labels: [string | number[], string | number[]][]): number[] => {
    const f = Buffer.alloc(8);
    f.writeDoubleLE(1);
    return field(0x0a, [...labels.flatMap(([n, v]) => field(0x0a, [...field(0x0a, str(n)), ...field(0x12, str(v))])), ...field(0x12, [0x09, ...f, 0x10, 0x01])]);
  };
  const decode = (...ss: number[][]): ReturnType<WriteRequestDecoder['decode']> => new WriteRequestDecoder({ validateSeries: true }).decode(Buffer.from(ss.flat()));

  it.each([
    ['an invalid label name', [['__name__', 'a'], ['1x', 'v']], 'label name "1x" is not valid (must match [a-zA-Z_][a-zA-Z0-9_]*)', false],
    ['invalid UTF-8 in a value', [['__name__', 'a'], ['x', [0xff]]], 'the value of label "x" is not valid UTF-8', false],
    ['invalid UTF-8 in a name', [['__name__', 'a'], [[0xc3, 0x28], 'v']], 'is not valid UTF-8', false],
    ['unsorted labels', [['__name__', 'a'], ['z', '1'], ['b', '2']], 'labels are not sorted by name ("z" before "b")', false],
    ['duplicate labels', [['__name__', 'a'], ['b', '1'], ['b', '2']], 'label name "b" is not unique', true],
    ['an empty label set', [], 'empty label set', true],
  ] as [string, [string | number[], string | number[]][], string, boolean][])('refuses %s and names the series', (_what, labels, why, whole) => {
    const d = decode(series([['__name__', 'ok']]), series(labels), series([['__name__', 'ok2']]));
    expect(d.length).toBe(2);
    expect(d.series.map((l) => l[0]!.value)).toEqual(['ok', 'ok2']);
    expect(d.rejected).toMatchObject({ series: 1, samples: 1, wholeRequest: whole });
    expect(d.rejected!.first).toContain(why);
    if (labels.length > 0) expect(d.rejected!.first.startsWith('{__name__="a"')).toBe(true);
  });

  it('keeps valid series (also when cached) and does not validate without the option', () => {
    const dec = new WriteRequestDecoder({ validateSeries: true });
    const ok = Buffer.from(series([['__name__', 'up'], ['job', 'x']]));
    expect(dec.decode(ok).rejected).toBeUndefined();
    expect(dec.decode(ok).length).toBe(1);
    expect(new WriteRequestDecoder().decode(Buffer.from(series([['__name__', 'a'], ['1x', 'v']]))).length).toBe(1);
  });
});

describe('the decoder series cache follows the live series', () => {
  /** One WriteRequest of series [from, to), one sample each. */
  const body = (from: number, to: number, v = 1): Buffer => {
    const enc = new WriteRequestEncoder();
    for (let i = from; i < to; i++) enc.addSample(encodeLabels(L({ __name__: 'm', i: String(i) })), 1000, v);
    return enc.finish();
  };

  it('grows while a generation fills sooner than minGenerationMs, so more live series than its start size keep their Labels', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 100, maxSeriesCacheSize: 1000, minGenerationMs: 60_000, now: () => now });
    const first = dec.decode(body(0, 350));
    expect(dec.cacheCapacity).toBe(400);
    now += 1000;
    // Every series of the second pass is the same object: none was evicted.
    const second = dec.decode(body(0, 350, 2));
    for (let i = 0; i < 350; i++) expect(second.series[i]).toBe(first.series[i]);
    expect(second.values[349]).toBe(2);
    expect(dec.cachedSeries).toBeLessThanOrEqual(2 * dec.cacheCapacity);
  });

  it('never grows past maxSeriesCacheSize, rotates there, and still decodes every series correctly', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 64, maxSeriesCacheSize: 256, minGenerationMs: 60_000, now: () => now });
    for (let round = 0; round < 4; round++) {
      now += 10;
      const r = dec.decode(body(0, 2000, round));
      expect(r.length).toBe(2000);
      for (const i of [0, 777, 1999]) expect(r.series[i]).toStrictEqual(L({ __name__: 'm', i: String(i) }));
      expect(r.values[1999]).toBe(round);
      expect(dec.cacheCapacity).toBeLessThanOrEqual(256);
      expect(dec.cachedSeries).toBeLessThanOrEqual(512);
    }
    expect(dec.cacheCapacity).toBe(256);
    expect(dec.maxCacheCapacity).toBe(256);
  });

  it('rotates instead of growing when a generation took longer than minGenerationMs to fill (slow churn)', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 100, maxSeriesCacheSize: 10_000, minGenerationMs: 60_000, now: () => now });
    for (let batch = 0; batch < 20; batch++) {
      now += 30_000; // 50 new series every 30 s: a generation of 100 lasts 60 s
      dec.decode(body(batch * 50, batch * 50 + 50));
    }
    expect(dec.cacheCapacity).toBe(100);
    expect(dec.cachedSeries).toBeLessThanOrEqual(200);
  });

  it('after a burst of series that stopped, ages its generations out and shrinks to the live series (maxGenerationMs)', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 100, maxSeriesCacheSize: 10_000, minGenerationMs: 60_000, maxGenerationMs: 300_000, now: () => now });
    dec.decode(body(0, 1500)); // a burst: grows to 1600
    expect(dec.cacheCapacity).toBe(1600);
    const live = dec.decode(body(0, 150, 2)).series; // 150 series keep arriving every 30 s
    for (let t = 30_000; t <= 700_000; t += 30_000) {
      now = t;
      const r = dec.decode(body(0, 150, 3));
      // Still the same objects: a live series is never dropped by aging (it moved into the current generation).
      for (const i of [0, 149]) expect(r.series[i]).toBe(live[i]);
    }
    // Two retirements later the burst is gone and the size fits the 150 live series.
    expect(dec.cacheCapacity).toBe(200);
    expect(dec.cachedSeries).toBeLessThanOrEqual(300);
    expect(dec.cachedSeries).toBeGreaterThanOrEqual(150);
  });

  it('does not age a generation out before maxGenerationMs', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 100, maxSeriesCacheSize: 10_000, minGenerationMs: 60_000, maxGenerationMs: 300_000, now: () => now });
    const a = dec.decode(body(0, 1)).series[0]!;
    now = 299_999;
    dec.decode(body(1, 2));
    now = 400_000; // one retirement: `a` (not sent since) is in the previous generation, still cached
    dec.decode(body(1, 2));
    expect(dec.decode(body(0, 1)).series[0]).toBe(a);
  });

  it('gives each series its own Labels whatever the order and overlap of requests, across rotations (the next-entry guess never answers for a near twin)', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 64, maxSeriesCacheSize: 64, minGenerationMs: 1, now: () => now });
    // Near twins: `i` values 1 and 10, 2 and 20 … differ only in their last bytes.
    const ids = [1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70];
    const bodyOf = (order: number[], v: number): Buffer => {
      const enc = new WriteRequestEncoder();
      for (const i of order) enc.addSample(encodeLabels(L({ __name__: 'm', i: String(i) })), 1000, v);
      return enc.finish();
    };
    const seen = new Map<number, { round: number; labels: unknown }>();
    let x = 12345;
    const random = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    let checked = 0;
    for (let round = 0; round < 60; round++) {
      now += 5;
      // A shuffled subset each round; every 7th round also 50 other series, which force a rotation.
      const order = ids.filter(() => (random() & 3) !== 0);
      for (let i = order.length - 1; i > 0; i--) {
        const j = random() % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const rotates = round % 7 === 3;
      if (rotates) order.push(...Array.from({ length: 50 }, (_, k) => 1000 + round * 100 + k));
      const got = dec.decode(bodyOf(order, round));
      order.forEach((id, k) => {
        expect(got.series[k]).toStrictEqual(L({ __name__: 'm', i: String(id) }));
        expect(got.values[k]).toBe(round);
        // A series sent in the round before keeps its object, unless rotations fell in between.
        const before = seen.get(id);
        if (before?.round === round - 1 && !rotates && round % 7 !== 4) {
          expect(got.series[k]).toBe(before.labels);
          checked++;
        }
        seen.set(id, { round, labels: got.series[k] });
      });
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('a series that left (evicted) and returns is decoded again to equal labels, and then cached again', () => {
    let now = 0;
    const dec = new WriteRequestDecoder({ seriesCacheSize: 10, maxSeriesCacheSize: 10, minGenerationMs: 60_000, now: () => now });
    const a = dec.decode(body(0, 1)).series[0]!;
    for (let k = 1; k <= 5; k++) dec.decode(body(k * 10, k * 10 + 10)); // 50 other series: `a` is dropped
    const back = dec.decode(body(0, 1, 5)).series[0]!;
    expect(back).not.toBe(a);
    expect(back).toStrictEqual(a);
    expect(dec.decode(body(0, 1, 6)).series[0]).toBe(back);
  });
});
