import { describe, expect, it } from '@jest/globals';
import * as snappyjs from 'snappyjs';
import { encodeLabels, WriteRequestEncoder } from '../remotewrite/proto.js';
import { compress, implementations, uncompress } from './snappy.js';

/** A deterministic byte source (xorshift32), so a failure names a reproducible input. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function writeRequest(samples: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let i = 0; i < samples; i++) {
    const labels = encodeLabels([
      { name: '__name__', value: 'bench_gauge' },
      { name: 'idx', value: String(i) },
      { name: 'instance', value: `127.0.0.1:${9000 + (i % 10)}` },
      { name: 'job', value: 'bench' },
    ]);
    enc.addSample(labels, 1_700_000_000_000 + i, i * 0.5);
  }
  return Buffer.from(enc.finish());
}

function inputs(): [string, Uint8Array][] {
  const r = rng(7);
  const random = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => r() & 0xff);
  const text = (n: number): Uint8Array => Buffer.from(Array.from({ length: n }, (_, i) => `line ${i % 37} level=info msg="served" `).join('').slice(0, n));
  const lowEntropy = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => r() & 3);
  return [
    ['empty', new Uint8Array(0)],
    ['1 byte', Uint8Array.of(42)],
    ['14 bytes (below the input margin)', text(14)],
    ['15 bytes', text(15)],
    ['16 bytes', text(16)],
    ['zeros 100 KiB (long copies across fragments)', new Uint8Array(100 * 1024)],
    ['random 70 KiB (literals only, 2 fragments)', random(70 * 1024)],
    ['text 200 KiB', text(200 * 1024)],
    ['low entropy 64 KiB + 1', lowEntropy(65 * 1024 + 1)],
    ['exactly one fragment', text(65536)],
    ['2000-sample WriteRequest', writeRequest(2000)],
    ['20000-sample WriteRequest', writeRequest(20000)],
  ];
}

describe('snappy block encoder', () => {
  it.each(inputs())('%s: decodes to the input with our strict decoder and with snappyjs', (_name, input) => {
    const block = compress(input);
    expect(Buffer.compare(uncompress(block), Buffer.from(input))).toBe(0);
    expect(Buffer.compare(Buffer.from(snappyjs.uncompress(block)), Buffer.from(input))).toBe(0);
    expect(block.length).toBeLessThanOrEqual(32 + input.length + Math.floor(input.length / 6));
  });

  it('decodes with the native binding too, where it loads', () => {
    const native = implementations.native;
    if (!native) return; // the optional binding is not installed here
    for (const [, input] of inputs()) expect(Buffer.compare(Buffer.from(native.uncompress(compress(input))), Buffer.from(input))).toBe(0);
  });

  it('compresses repetitive input (copies are found, not only literals)', () => {
    const wr = writeRequest(2000);
    expect(compress(wr).length).toBeLessThan(wr.length / 3);
    expect(compress(new Uint8Array(65536)).length).toBeLessThan(4000);
  });

  it('reads a view at an offset into a larger buffer only inside the view', () => {
    // The encoder loads 4 bytes at a time through a DataView: the view must start at the
    // input's byteOffset, and no load may reach past its end into the neighbouring bytes.
    const wr = writeRequest(300);
    for (const pad of [1, 3, 7]) {
      const backing = Buffer.alloc(wr.length + 2 * pad, 0xab);
      wr.copy(backing, pad);
      const view = backing.subarray(pad, pad + wr.length);
      expect(Buffer.compare(uncompress(compress(view)), wr)).toBe(0);
      for (const n of [15, 16, 17, 19, 100]) {
        const small = backing.subarray(pad, pad + n);
        expect(Buffer.compare(uncompress(compress(small)), Buffer.from(small))).toBe(0);
      }
    }
  });

  it('returns a block that later calls do not overwrite', () => {
    const a = Buffer.from('a'.repeat(1000) + 'tail-a');
    const first = compress(a);
    const copy = Buffer.from(first);
    compress(Buffer.from('b'.repeat(5000)));
    expect(Buffer.compare(first, copy)).toBe(0);
  });

  it('round-trips 300 random mixtures of literals and repeats', () => {
    const r = rng(99);
    for (let t = 0; t < 300; t++) {
      const parts: number[] = [];
      const n = r() % 5000;
      while (parts.length < n) {
        if (r() & 1 || parts.length < 8) parts.push(r() & 0xff);
        else {
          const back = 1 + (r() % Math.min(parts.length, 3000));
          const len = 4 + (r() % 80);
          for (let i = 0; i < len; i++) parts.push(parts[parts.length - back]!);
        }
      }
      const input = Uint8Array.from(parts);
      expect(Buffer.compare(uncompress(compress(input)), Buffer.from(input))).toBe(0);
    }
  });
});
