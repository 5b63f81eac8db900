import { layoutGraph, NODE_W } from './graph-layout.js';

describe('layoutGraph', () => {
  it('places each component right of everything it references, in a stable order', () => {
    const g = layoutGraph([
      { id: 'prometheus.scrape.a', referencesTo: ['discovery.relabel.t', 'prometheus.remote_write.r'] },
      { id: 'discovery.relabel.t', referencesTo: ['discovery.kubernetes.pods'] },
      { id: 'discovery.kubernetes.pods', referencesTo: [] },
      { id: 'prometheus.remote_write.r', referencesTo: [] },
    ]);
    const col = Object.fromEntries(g.nodes.map((n) => [n.id, n.column]));
    expect(col).toEqual({ 'discovery.kubernetes.pods': 0, 'prometheus.remote_write.r': 0, 'discovery.relabel.t': 1, 'prometheus.scrape.a': 2 });
    expect(g.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual([
      'discovery.kubernetes.pods>discovery.relabel.t',
      'discovery.relabel.t>prometheus.scrape.a',
      'prometheus.remote_write.r>prometheus.scrape.a',
    ]);
    expect(g.width).toBeGreaterThanOrEqual(3 * NODE_W);
    const again = layoutGraph([...[{ id: 'prometheus.remote_write.r', referencesTo: [] }], { id: 'discovery.kubernetes.pods', referencesTo: [] }, { id: 'discovery.relabel.t', referencesTo: ['discovery.kubernetes.pods'] }, { id: 'prometheus.scrape.a', referencesTo: ['discovery.relabel.t', 'prometheus.remote_write.r'] }]);
    expect(again.nodes).toEqual(expect.arrayContaining(g.nodes as never[]));
  });

  it('ignores references to unknown ids and survives cycles', () => {
    const g = layoutGraph([
      { id: 'a', referencesTo: ['b', 'ghost'] },
      { id: 'b', referencesTo: ['a'] },
    ]);
    expect(g.nodes).toHaveLength(2);
    expect(layoutGraph([])).toEqual({ nodes: [], edges: [], width: 0, height: 0 });
  });
});
