/**
 * Layered layout of the component graph for the Graph page (Sugiyama style), pure and
 * deterministic. Edges point in data-flow direction (see `dataFlowEdges` in pages.ts): a
 * component sits one column right of the rightmost component whose data it receives.
 *
 * Contract: no edge crosses a node. An edge spanning several columns gets a reserved slot (a
 * dummy node) in every column it passes, so it runs straight through that column between the
 * real nodes; between two columns it is a curve inside the empty gap. Within a column, slots
 * are ordered by the mean row of their neighbours (a few down/up sweeps: fewer crossings).
 */

export interface GraphEdgeInput {
  /** Where data comes from. */
  readonly from: string;
  /** Where it goes. */
  readonly to: string;
}

export interface PlacedNode {
  readonly id: string;
  readonly column: number;
  readonly row: number;
  readonly x: number;
  readonly y: number;
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  /** The polyline the path follows: the source's right side, one point pair per column passed, the target's left side. */
  readonly points: readonly (readonly [number, number])[];
  /** SVG path data through `points`: straight inside columns, curves in the gaps. */
  readonly path: string;
}

export interface GraphLayout {
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

export const NODE_W = 240;
export const NODE_H = 54;
export const GAP_X = 90;
export const GAP_Y = 22;
const MARGIN = 16;
/** Head room before the target for the arrow marker. */
const ARROW = 6;
const SWEEPS = 4;

interface Slot {
  readonly key: string;
  /** Real node id, or undefined for an edge's dummy. */
  readonly node?: string;
  readonly column: number;
  readonly preds: string[];
  readonly succs: string[];
}

export function layoutGraph(ids: readonly string[], edgesIn: readonly GraphEdgeInput[]): GraphLayout {
  const known = new Set(ids);
  const edges = dedupe(edgesIn.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to));
  const incoming = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) incoming.get(e.to)!.push(e.from);
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const col = (id: string): number => {
    const c0 = column.get(id);
    if (c0 !== undefined) return c0;
    if (visiting.has(id)) return 0; // a cycle cannot load, but never loop forever
    visiting.add(id);
    let c = 0;
    for (const p of incoming.get(id) ?? []) c = Math.max(c, col(p) + 1);
    visiting.delete(id);
    column.set(id, c);
    return c;
  };
  const sorted = [...ids].sort(cmp);
  for (const id of sorted) col(id);

  // Slots: one per node, one per column an edge passes through.
  const slots = new Map<string, Slot>();
  for (const id of sorted) slots.set(id, { key: id, node: id, column: column.get(id)!, preds: [], succs: [] });
  const chains: { edge: GraphEdgeInput; keys: string[] }[] = [];
  for (const e of edges) {
    const c1 = column.get(e.from)!;
    const c2 = column.get(e.to)!;
    // A back edge (only in a cycle) is drawn between its endpoints' columns anyway.
    const keys = [e.from];
    for (let c = c1 + 1; c < c2; c++) {
      const key = `\u0000${e.from}\u0000${e.to}\u0000${c}`;
      slots.set(key, { key, column: c, preds: [], succs: [] });
      keys.push(key);
    }
    keys.push(e.to);
    for (let i = 1; i < keys.length; i++) {
      slots.get(keys[i - 1]!)!.succs.push(keys[i]!);
      slots.get(keys[i]!)!.preds.push(keys[i - 1]!);
    }
    chains.push({ edge: e, keys });
  }
  const columns: string[][] = [];
  for (const s of slots.values()) (columns[s.column] ??= []).push(s.key);
  for (let c = 0; c < columns.length; c++) columns[c] ??= [];
  const row = new Map<string, number>();
  const assign = (keys: string[]): void => keys.forEach((k, i) => row.set(k, i));
  for (const keys of columns) assign(keys!);
  const order = (keys: string[], neighbours: (s: Slot) => string[]): void => {
    const weight = new Map<string, number>();
    for (const k of keys) {
      const rows = neighbours(slots.get(k)!).map((n) => row.get(n)!).filter((r) => r !== undefined);
      weight.set(k, rows.length === 0 ? row.get(k)! : rows.reduce((a, b) => a + b, 0) / rows.length);
    }
    keys.sort((a, b) => weight.get(a)! - weight.get(b)! || row.get(a)! - row.get(b)!);
    assign(keys);
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    for (let c = 1; c < columns.length; c++) order(columns[c]!, (s) => s.preds);
    for (let c = columns.length - 2; c >= 0; c--) order(columns[c]!, (s) => s.succs);
  }

  const slotY = (key: string): number => MARGIN + row.get(key)! * (NODE_H + GAP_Y);
  const colX = (c: number): number => MARGIN + c * (NODE_W + GAP_X);
  const nodes: PlacedNode[] = [];
  const pos = new Map<string, PlacedNode>();
  for (const [c, keys] of columns.entries()) {
    for (const k of keys!) {
      const s = slots.get(k)!;
      if (s.node === undefined) continue;
      const p: PlacedNode = { id: s.node, column: c, row: row.get(k)!, x: colX(c), y: slotY(k) };
      nodes.push(p);
      pos.set(s.node, p);
    }
  }
  nodes.sort((a, b) => a.column - b.column || a.row - b.row);

  const placed: PlacedEdge[] = [];
  for (const { edge, keys } of chains) {
    const from = pos.get(edge.from)!;
    const to = pos.get(edge.to)!;
    const pts: [number, number][] = [[from.x + NODE_W, from.y + NODE_H / 2]];
    for (const k of keys.slice(1, -1)) {
      const c = slots.get(k)!.column;
      const y = slotY(k) + NODE_H / 2;
      pts.push([colX(c), y], [colX(c) + NODE_W, y]);
    }
    pts.push([to.x - ARROW, to.y + NODE_H / 2]);
    let d = `M${pts[0]![0]},${pts[0]![1]}`;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      // Odd steps cross a gap (curve); even steps run through a column (straight).
      if (i % 2 === 1) {
        const mid = (x0 + x1) / 2;
        d += ` C${mid},${y0} ${mid},${y1} ${x1},${y1}`;
      } else d += ` L${x1},${y1}`;
    }
    placed.push({ from: edge.from, to: edge.to, points: pts, path: d });
  }
  const cols = columns.length;
  const rows = Math.max(0, ...columns.map((c) => c!.length));
  return {
    nodes,
    edges: placed,
    width: cols === 0 ? 0 : 2 * MARGIN + cols * NODE_W + (cols - 1) * GAP_X,
    height: rows === 0 ? 0 : 2 * MARGIN + rows * NODE_H + (rows - 1) * GAP_Y,
  };
}

function dedupe(edges: readonly GraphEdgeInput[]): GraphEdgeInput[] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const k = `${e.from}\u0000${e.to}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
