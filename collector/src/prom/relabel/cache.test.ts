import { labelsFromRecord } from '../labels/labels.js';
import type { Labels } from '../types.js';
import { RelabelCache } from './cache.js';

const L = (i: number): Labels => labelsFromRecord({ __name__: 'm', i: String(i) });

describe('RelabelCache', () => {
  it('keeps the newest max_cache_size entries through many wraps of its ring, first in first out', () => {
    const c = new RelabelCache(1000);
    const outs = new Map<number, Labels>();
    for (let i = 0; i < 5500; i++) {
      const out = L(-i);
      outs.set(i, out);
      c.set(L(i), out);
      expect(c.size).toBeLessThanOrEqual(1000);
    }
    expect(c.size).toBe(1000);
    // Fresh objects: only the hash side can answer.
    for (let i = 0; i < 4500; i++) expect(c.get(L(i))).toBeUndefined();
    for (let i = 4500; i < 5500; i++) expect(c.get(L(i))).toBe(outs.get(i));
  });

  it('answers by identity for as long as the input object lives, past the hash side\'s eviction', () => {
    const c = new RelabelCache(2);
    const a = L(1);
    const outA = L(-1);
    c.set(a, outA);
    expect(c.get(a)).toBe(outA);
    c.set(L(2), L(2));
    c.set(L(3), L(3)); // evicts a from the hash side
    expect(c.size).toBe(2);
    // The same object still answers, with the same output object; an equal new object does not.
    expect(c.get(a)).toBe(outA);
    expect(c.get(L(1))).toBeUndefined();
    expect(c.hits).toBe(2);
    expect(c.misses).toBe(1);
  });

  it('a deleted input is a miss by identity and by hash', () => {
    const c = new RelabelCache(10);
    const a = L(1);
    c.set(a, null);
    c.delete(a);
    expect(c.get(a)).toBeUndefined();
    expect(c.get(L(1))).toBeUndefined();
  });

  it('a deleted or replaced entry leaves a stale slot that evicts nothing when its turn comes', () => {
    const c = new RelabelCache(3);
    const a = L(1);
    const b = L(2);
    c.set(a, a);
    c.set(b, b);
    c.delete(a); // a staleness marker: the slot of a is stale
    c.set(a, L(100)); // a again, newer slot
    expect(c.size).toBe(2);
    c.set(L(3), L(3)); // ring full: evicts the stale slot of a, which must not drop the new a
    expect(c.get(a)).toStrictEqual(L(100));
    expect(c.get(labelsFromRecord({ __name__: 'm', i: '1' }))).toStrictEqual(L(100));
    c.set(L(4), L(4)); // evicts b from the hash side (its object still answers by identity)
    expect(c.get(L(2))).toBeUndefined();
    expect(c.get(b)).toBe(b);
    expect(c.get(L(3))).toStrictEqual(L(3));
    expect(c.size).toBeLessThanOrEqual(3);
  });

  it('clear() takes a new bound and starts empty', () => {
    const c = new RelabelCache(2);
    c.set(L(1), null);
    c.set(L(2), null);
    c.clear(1);
    expect(c.size).toBe(0);
    c.set(L(3), null);
    c.set(L(4), null);
    expect(c.size).toBe(1);
    expect(c.get(L(3))).toBeUndefined();
    expect(c.get(L(4))).toBeNull();
  });
});
