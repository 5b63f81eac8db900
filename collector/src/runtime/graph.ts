/**
 * A directed graph over string ids where an edge `from -> to` means "`from` depends on `to`"
 * (`from`'s arguments reference `to`'s exports). Pure data: no components, no I/O.
 *
 * Contracts:
 * - `topoOrder()` returns dependencies before dependents; ties keep insertion order, so the
 *   order is deterministic for a given config.
 * - `cycles()` returns every strongly connected component with more than one node, plus
 *   self-loops, each as the list of ids in the cycle (insertion order).
 */
export class DependencyGraph {
  readonly #deps = new Map<string, Set<string>>();
  readonly #dependents = new Map<string, Set<string>>();

  addNode(id: string): void {
    if (!this.#deps.has(id)) {
      this.#deps.set(id, new Set());
      this.#dependents.set(id, new Set());
    }
  }

  has(id: string): boolean {
    return this.#deps.has(id);
  }

  /** `from` depends on `to`; both nodes are added if missing. */
  addEdge(from: string, to: string): void {
    this.addNode(from);
    this.addNode(to);
    this.#deps.get(from)!.add(to);
    this.#dependents.get(to)!.add(from);
  }

  nodes(): string[] {
    return [...this.#deps.keys()];
  }

  dependenciesOf(id: string): ReadonlySet<string> {
    return this.#deps.get(id) ?? EMPTY;
  }

  dependentsOf(id: string): ReadonlySet<string> {
    return this.#dependents.get(id) ?? EMPTY;
  }

  /** Kahn's algorithm; throws if the graph has a cycle (call `cycles()` first to report them). */
  topoOrder(): string[] {
    const remaining = new Map<string, number>();
    for (const [id, deps] of this.#deps) remaining.set(id, deps.size);
    const ready: string[] = [];
    for (const [id, n] of remaining) if (n === 0) ready.push(id);
    const out: string[] = [];
    for (let i = 0; i < ready.length; i++) {
      const id = ready[i]!;
      out.push(id);
      for (const dep of this.#dependents.get(id)!) {
        const n = remaining.get(dep)! - 1;
        remaining.set(dep, n);
        if (n === 0) ready.push(dep);
      }
    }
    if (out.length !== this.#deps.size) throw new Error('dependency graph has a cycle');
    return out;
  }

  /** Every node that transitively depends on any of `ids` (excluding `ids` themselves). */
  transitiveDependents(ids: Iterable<string>): Set<string> {
    const seen = new Set<string>();
    const stack = [...ids];
    const start = new Set(stack);
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const d of this.#dependents.get(id) ?? EMPTY) {
        if (!seen.has(d) && !start.has(d)) {
          seen.add(d);
          stack.push(d);
        }
      }
    }
    return seen;
  }

  /** Tarjan's strongly connected components, iterative so deep graphs cannot overflow the stack. */
  cycles(): string[][] {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const result: string[][] = [];
    let counter = 0;
    const order = this.nodes();
    const position = new Map(order.map((id, i) => [id, i]));

    for (const root of order) {
      if (index.has(root)) continue;
      const work: Array<{ id: string; it: Iterator<string> }> = [];
      const visit = (id: string): void => {
        index.set(id, counter);
        low.set(id, counter);
        counter++;
        stack.push(id);
        onStack.add(id);
        work.push({ id, it: this.#deps.get(id)![Symbol.iterator]() });
      };
      visit(root);
      while (work.length > 0) {
        const frame = work[work.length - 1]!;
        const next = frame.it.next();
        if (!next.done) {
          const w = next.value;
          if (!index.has(w)) visit(w);
          else if (onStack.has(w)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(w)!));
          continue;
        }
        work.pop();
        const parent = work[work.length - 1];
        if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
        if (low.get(frame.id) === index.get(frame.id)) {
          const scc: string[] = [];
          let w: string;
          do {
            w = stack.pop()!;
            onStack.delete(w);
            scc.push(w);
          } while (w !== frame.id);
          if (scc.length > 1 || this.#deps.get(frame.id)!.has(frame.id)) {
            scc.sort((a, b) => position.get(a)! - position.get(b)!);
            result.push(scc);
          }
        }
      }
    }
    return result;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
