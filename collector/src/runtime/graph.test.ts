import { DependencyGraph } from './graph.js';
import { deepEqual } from './deep-equal.js';

function build(edges: Array<[string, string]>, nodes: string[] = []): DependencyGraph {
  const g = new DependencyGraph();
  for (const n of nodes) g.addNode(n);
  for (const [a, b] of edges) g.addEdge(a, b);
  return g;
}

describe('DependencyGraph', () => {
  const cases: Array<{ name: string; nodes?: string[]; edges: Array<[string, string]>; order?: string[]; cycles: string[][] }> = [
    { name: 'empty', edges: [], order: [], cycles: [] },
    { name: 'chain', nodes: ['c', 'b', 'a'], edges: [['c', 'b'], ['b', 'a']], order: ['a', 'b', 'c'], cycles: [] },
    { name: 'diamond keeps insertion order for ties', nodes: ['top', 'l', 'r', 'base'], edges: [['top', 'l'], ['top', 'r'], ['l', 'base'], ['r', 'base']], order: ['base', 'l', 'r', 'top'], cycles: [] },
    { name: 'self loop', edges: [['a', 'a']], cycles: [['a']] },
    { name: 'two cycles', nodes: ['a', 'b', 'c', 'x', 'y'], edges: [['a', 'b'], ['b', 'c'], ['c', 'a'], ['x', 'y'], ['y', 'x']], cycles: [['a', 'b', 'c'], ['x', 'y']] },
  ];
  it.each(cases)('$name', ({ nodes, edges, order, cycles }) => {
    const g = build(edges, nodes);
    expect(g.cycles()).toEqual(cycles);
    if (order) expect(g.topoOrder()).toEqual(order);
    else expect(() => g.topoOrder()).toThrow('cycle');
  });

  it('handles a 10,000-node chain without recursion limits', () => {
    const g = new DependencyGraph();
    for (let i = 1; i < 10_000; i++) g.addEdge(`n${i}`, `n${i - 1}`);
    expect(g.cycles()).toEqual([]);
    expect(g.topoOrder()[9_999]).toBe('n9999');
  });

  it('finds transitive dependents', () => {
    const g = build([['b', 'a'], ['c', 'b'], ['d', 'x']]);
    expect([...g.transitiveDependents(['a'])].sort()).toEqual(['b', 'c']);
  });
});

describe('deepEqual', () => {
  class Capsule {
    constructor(readonly v: number) {}
  }
  const cap = new Capsule(1);
  class Secret {
    readonly #v: string;
    constructor(v: string) {
      this.#v = v;
    }
    reveal(): string {
      return this.#v;
    }
  }
  it.each([
    [{ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1, 2], [1, 2, 3], false],
    [new Map([['k', [1]]]), new Map([['k', [1]]]), true],
    [{ r: cap }, { r: cap }, true],
    [{ r: cap }, { r: new Capsule(1) }, false],
    [NaN, NaN, true],
    [new Date(5), new Date(5), true],
    [{ s: new Secret('a') }, { s: new Secret('a') }, true],
    [{ s: new Secret('a') }, { s: new Secret('b') }, false],
  ])('%#', (a, b, want) => {
    expect(deepEqual(a, b)).toBe(want);
  });
});
