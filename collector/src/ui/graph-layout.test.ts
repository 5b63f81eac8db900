import { GAP_X, layoutGraph, NODE_H, NODE_W, type GraphLayout, type PlacedEdge } from './graph-layout.js';

/** Points along an edge: cubic curves between odd steps, straight lines between even ones. */
function sample(e: PlacedEdge, perSegment = 40): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < e.points.length; i++) {
    const [x0, y0] = e.points[i - 1]!;
    const [x1, y1] = e.points[i]!;
    const mid = (x0 + x1) / 2;
    for (let k = 0; k <= perSegment; k++) {
      const t = k / perSegment;
      if (i % 2 === 1) {
        const u = 1 - t;
        const x = u * u * u * x0 + 3 * u * u * t * mid + 3 * u * t * t * mid + t * t * t * x1;
        const y = u * u * u * y0 + 3 * u * u * t * y0 + 3 * u * t * t * y1 + t * t * t * y1;
        out.push([x, y]);
      } else out.push([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t]);
    }
  }
  return out;
}

/** Edges whose drawn path enters the box of a node (strictly inside, 1px tolerance). */
function crossings(g: GraphLayout): string[] {
  const bad: string[] = [];
  for (const e of g.edges) {
    for (const n of g.nodes) {
      const hit = sample(e).some(([x, y]) => x > n.x + 1 && x < n.x + NODE_W - 1 && y > n.y + 1 && y < n.y + NODE_H - 1);
      if (hit) bad.push(`${e.from}→${e.to} crosses ${n.id}`);
    }
  }
  return bad;
}

describe('layoutGraph', () => {
  it('places each component right of every component whose data it receives, in a stable order', () => {
    const ids = ['prometheus.scrape.a', 'discovery.relabel.t', 'discovery.kubernetes.pods', 'prometheus.remote_write.r'];
    const edges = [
      { from: 'discovery.kubernetes.pods', to: 'discovery.relabel.t' },
      { from: 'discovery.relabel.t', to: 'prometheus.scrape.a' },
      { from: 'prometheus.scrape.a', to: 'prometheus.remote_write.r' },
    ];
    const g = layoutGraph(ids, edges);
    const col = Object.fromEntries(g.nodes.map((n) => [n.id, n.column]));
    expect(col).toEqual({ 'discovery.kubernetes.pods': 0, 'discovery.relabel.t': 1, 'prometheus.scrape.a': 2, 'prometheus.remote_write.r': 3 });
    expect(g.edges.map((e) => `${e.from}>${e.to}`)).toEqual(edges.map((e) => `${e.from}>${e.to}`));
    expect(layoutGraph([...ids].reverse(), [...edges].reverse()).nodes).toEqual(g.nodes);
  });

  it('lays out 15 components in 4 columns with no edge crossing a node', () => {
    // A realistic pipeline: discovery → relabel → scrape → relabel → remote_write, plus
    // exporters scraped directly, logs, and long edges that skip columns.
    const edges: [string, string][] = [
      ['discovery.kubernetes.nodes', 'discovery.relabel.nodes'],
      ['discovery.kubernetes.pods', 'prometheus.scrape.pods'],
      ['discovery.relabel.nodes', 'prometheus.scrape.nodes'],
      ['prometheus.exporter.unix.host', 'prometheus.scrape.host'],
      ['prometheus.exporter.self.alloy', 'prometheus.scrape.self'],
      ['prometheus.scrape.pods', 'prometheus.relabel.drop'],
      ['prometheus.scrape.host', 'prometheus.relabel.drop'],
      ['prometheus.scrape.nodes', 'prometheus.remote_write.cloud'],
      ['prometheus.scrape.host', 'prometheus.remote_write.cloud'],
      ['prometheus.scrape.self', 'prometheus.remote_write.cloud'],
      ['prometheus.relabel.drop', 'prometheus.remote_write.cloud'],
      ['prometheus.relabel.drop', 'prometheus.remote_write.local'],
      ['loki.source.file.logs', 'loki.process.logs'],
      ['loki.process.logs', 'loki.write.cloud'],
      ['prometheus.exporter.unix.host', 'prometheus.remote_write.local'],
      ['discovery.kubernetes.pods', 'prometheus.remote_write.local'],
      ['prometheus.exporter.self.alloy', 'prometheus.remote_write.local'],
    ];
    const ids = [...new Set(edges.flat())];
    expect(ids).toHaveLength(15);
    const g = layoutGraph(ids, edges.map(([from, to]) => ({ from, to })));
    expect(new Set(g.nodes.map((n) => n.column)).size).toBe(4);
    expect(g.edges).toHaveLength(edges.length);
    for (const e of g.edges) {
      const a = g.nodes.find((n) => n.id === e.from)!;
      const b = g.nodes.find((n) => n.id === e.to)!;
      expect(b.column).toBeGreaterThan(a.column); // data flows left to right
      expect(e.points[0]).toEqual([a.x + NODE_W, a.y + NODE_H / 2]);
      expect(e.points.at(-1)![0]).toBeGreaterThan(a.x + NODE_W + GAP_X / 2);
    }
    // No two nodes overlap, and no edge is drawn through a node.
    for (const a of g.nodes) for (const b of g.nodes) if (a !== b) expect(a.x === b.x && a.y === b.y).toBe(false);
    expect(crossings(g)).toEqual([]);
  });

  it('the crossing check catches an edge drawn through a node', () => {
    const g = layoutGraph(['a', 'b', 'c'], [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'a', to: 'c' }]);
    expect(crossings(g)).toEqual([]);
    // The old straight a→c curve through column 1 would pass b's row when b sits in the same row.
    const b = g.nodes.find((n) => n.id === 'b')!;
    const naive: PlacedEdge = { from: 'a', to: 'c', points: [[b.x - GAP_X, b.y + NODE_H / 2], [b.x + NODE_W + GAP_X, b.y + NODE_H / 2]], path: '' };
    expect(crossings({ ...g, edges: [naive] })).toEqual(['a→c crosses b']);
  });

  it('ignores edges to unknown ids and survives cycles', () => {
    const g = layoutGraph(['a', 'b'], [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }, { from: 'a', to: 'ghost' }]);
    expect(g.nodes).toHaveLength(2);
    expect(layoutGraph([], [])).toEqual({ nodes: [], edges: [], width: 0, height: 0 });
  });
});
