/**
 * Layered layout of the component graph for the Graph page: a component sits one column right
 * of the rightmost component it references (so columns follow evaluation order and exports flow
 * left to right into the arguments that reference them); within a column, nodes are ordered by
 * the mean row of their references (fewer crossings), then by id. Pure and deterministic.
 */

export interface GraphNodeInput {
  readonly id: string;
  /** Ids this component references (its dependencies). */
  readonly referencesTo: readonly string[];
}

export interface PlacedNode {
  readonly id: string;
  readonly column: number;
  readonly row: number;
  readonly x: number;
  readonly y: number;
}

export interface PlacedEdge {
  /** The referenced component (exports flow from here). */
  readonly from: string;
  readonly to: string;
  /** SVG path data. */
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
const GAP_X = 80;
const GAP_Y = 22;
const MARGIN = 16;

export function layoutGraph(input: readonly GraphNodeInput[]): GraphLayout {
  const byId = new Map(input.map((n) => [n.id, n]));
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const col = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle cannot load, but never loop forever
    visiting.add(id);
    let c = 0;
    for (const d of byId.get(id)?.referencesTo ?? []) if (byId.has(d)) c = Math.max(c, col(d) + 1);
    visiting.delete(id);
    column.set(id, c);
    return c;
  };
  const columns: string[][] = [];
  for (const n of [...input].sort((a, b) => cmp(a.id, b.id))) (columns[col(n.id)] ??= []).push(n.id);
  const row = new Map<string, number>();
  for (const ids of columns) {
    if (!ids) continue;
    const weight = (id: string): number => {
      const rows = (byId.get(id)?.referencesTo ?? []).map((d) => row.get(d)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    ids.sort((a, b) => weight(a) - weight(b) || cmp(a, b));
    ids.forEach((id, i) => row.set(id, i));
  }
  const nodes: PlacedNode[] = [];
  const pos = new Map<string, PlacedNode>();
  columns.forEach((ids, c) => {
    ids?.forEach((id, r) => {
      const p = { id, column: c, row: r, x: MARGIN + c * (NODE_W + GAP_X), y: MARGIN + r * (NODE_H + GAP_Y) };
      nodes.push(p);
      pos.set(id, p);
    });
  });
  const edges: PlacedEdge[] = [];
  for (const n of input) {
    const to = pos.get(n.id)!;
    for (const d of n.referencesTo) {
      const from = pos.get(d);
      if (!from) continue;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x - 6;
      const y2 = to.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      edges.push({ from: d, to: n.id, path: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
    }
  }
  const cols = columns.length;
  const rows = Math.max(0, ...columns.map((c) => c?.length ?? 0));
  return {
    nodes,
    edges,
    width: cols === 0 ? 0 : 2 * MARGIN + cols * NODE_W + (cols - 1) * GAP_X,
    height: rows === 0 ? 0 : 2 * MARGIN + rows * NODE_H + (rows - 1) * GAP_Y,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
