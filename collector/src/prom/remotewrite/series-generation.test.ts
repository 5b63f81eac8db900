import type { Labels } from '../types.js';
import { hashRange, SeriesGeneration } from './series-generation.js';

const labelsOf = (k: number): Labels => Object.freeze([{ name: 'series', value: String(k) }]);
const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Key `k` as bytes at an offset inside a larger buffer, as label runs sit inside a request body. */
function keyIn(k: number, pad = 3): { buf: Buffer; start: number; end: number } {
  const key = Buffer.from(`{__name__="m",series="${k}"${'x'.repeat(k % 97)}}`);
  const buf = Buffer.alloc(key.length + 2 * pad, 0xff);
  key.copy(buf, pad);
  return { buf, start: pad, end: pad + key.length };
}

function find(t: SeriesGeneration, k: number): number {
  const { buf, start, end } = keyIn(k, k % 5);
  return t.find(hashRange(viewOf(buf), buf, start, end), buf, viewOf(buf), start, end);
}

describe('SeriesGeneration', () => {
  it('finds every inserted key across slab, entry and index growth, and nothing else', () => {
    const t = new SeriesGeneration(1);
    for (let k = 0; k < 20_000; k++) {
      const { buf, start, end } = keyIn(k);
      expect(t.insert(hashRange(viewOf(buf), buf, start, end), buf, start, end, labelsOf(k))).toBe(k);
    }
    expect(t.size).toBe(20_000);
    for (let k = 0; k < 20_000; k++) expect(t.labelsAt(find(t, k))).toStrictEqual(labelsOf(k));
    for (let k = 20_000; k < 21_000; k++) expect(find(t, k)).toBe(-1);
  });

  it('tells apart keys whose hashes collide, by their bytes', () => {
    const t = new SeriesGeneration();
    const a = Buffer.from('abcd');
    const b = Buffer.from('abce');
    // The same (forced) hash for both: the bytes decide.
    t.insert(7, a, 0, 4, labelsOf(1));
    t.insert(7, b, 0, 4, labelsOf(2));
    expect(t.labelsAt(t.find(7, b, viewOf(b), 0, 4))).toStrictEqual(labelsOf(2));
    expect(t.labelsAt(t.find(7, a, viewOf(a), 0, 4))).toStrictEqual(labelsOf(1));
    const c = Buffer.from('abcf');
    expect(t.find(7, c, viewOf(c), 0, 4)).toBe(-1);
  });

  it('matches compares length and every byte, including a tail shorter than four bytes', () => {
    const t = new SeriesGeneration();
    const key = Buffer.from('0123456789');
    t.insert(1, key, 0, key.length, labelsOf(0));
    for (let i = 0; i < key.length; i++) {
      const other = Buffer.from(key);
      other[i] = other[i]! + 1;
      expect(t.matches(0, other, viewOf(other), 0, other.length)).toBe(false);
    }
    expect(t.matches(0, key, viewOf(key), 0, key.length)).toBe(true);
    expect(t.matches(0, key, viewOf(key), 0, key.length - 1)).toBe(false);
  });

  it('copies an entry from another table with its hash and labels', () => {
    const from = new SeriesGeneration();
    const into = new SeriesGeneration();
    for (let k = 0; k < 100; k++) {
      const { buf, start, end } = keyIn(k);
      from.insert(hashRange(viewOf(buf), buf, start, end), buf, start, end, labelsOf(k));
    }
    const e = into.insertFrom(from, 42);
    expect(into.hashAt(e)).toBe(from.hashAt(42));
    expect(into.labelsAt(find(into, 42))).toBe(from.labelsAt(42));
    expect(find(into, 41)).toBe(-1);
  });

  it('keeps keyed-by-string series apart and counts them in size', () => {
    const t = new SeriesGeneration();
    t.setString('\u0000a\u0000b\u0000', labelsOf(1));
    expect(t.getString('\u0000a\u0000b\u0000')).toStrictEqual(labelsOf(1));
    expect(t.getString('')).toBeUndefined();
    expect([t.size, t.entries]).toStrictEqual([1, 0]);
  });
});
