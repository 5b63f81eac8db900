import { HashRing, hashString } from './hash-ring.js';

const keys = Array.from({ length: 20_000 }, (_, i) => `__address__=10.${(i >> 8) & 255}.${i & 255}.1:9100,job=node`);

function owners(ring: HashRing): string[] {
  return keys.map((k) => ring.lookup(k)!);
}

describe('HashRing', () => {
  it('is deterministic: independent rings with the same nodes (any order) agree on every key', () => {
    const a = new HashRing();
    a.setNodes(['n1', 'n2', 'n3', 'n4']);
    const b = new HashRing();
    b.setNodes(['n4', 'n2', 'n1', 'n3', 'n2']);
    expect(b.nodes).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(owners(a)).toEqual(owners(b));
  });

  it('balances keys within ±15% of 1/N for 10 nodes', () => {
    const r = new HashRing();
    r.setNodes(Array.from({ length: 10 }, (_, i) => `alloy-${i}`));
    const counts = new Map<string, number>();
    for (const o of owners(r)) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect(counts.size).toBe(10);
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(keys.length / 10 * 0.85);
      expect(c).toBeLessThan(keys.length / 10 * 1.15);
    }
  });

  it('moves only about 1/N of the keys when a node joins, all of them to the new node', () => {
    const r = new HashRing();
    const five = ['a', 'b', 'c', 'd', 'e'];
    r.setNodes(five);
    const before = owners(r);
    r.setNodes([...five, 'f']);
    const after = owners(r);
    let moved = 0;
    let movedElsewhere = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== after[i]) {
        moved++;
        if (after[i] !== 'f') movedElsewhere++;
      }
    }
    expect(movedElsewhere).toBe(0);
    expect(moved / keys.length).toBeGreaterThan(1 / 6 - 0.04);
    expect(moved / keys.length).toBeLessThan(1 / 6 + 0.04);
  });

  it('moves only the leaving node’s keys when a node leaves', () => {
    const r = new HashRing();
    r.setNodes(['a', 'b', 'c']);
    const before = owners(r);
    r.setNodes(['a', 'c']);
    const after = owners(r);
    let changed = 0;
    for (let i = 0; i < keys.length; i++) if (before[i] !== 'b' && after[i] !== before[i]) changed++;
    expect(changed).toBe(0);
    expect(after.filter((o) => o === 'b')).toHaveLength(0);
  });

  it('has no owner when empty and one owner for everything with one node', () => {
    const r = new HashRing();
    expect(r.lookup('x')).toBeUndefined();
    r.setNodes(['solo']);
    expect(new Set(owners(r))).toEqual(new Set(['solo']));
  });

  it('hashString spreads similar keys', () => {
    expect(hashString('a')).not.toBe(hashString('b'));
    expect(hashString('')).toBe(hashString(''));
    expect(hashString('x')).toBeGreaterThanOrEqual(0);
  });
});
