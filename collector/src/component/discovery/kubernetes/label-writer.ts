/**
 * Where the target builders (`targets.ts`) write their labels: a `LabelSink` receives a group's
 * labels, then each target's, as a flat sequence of `set(name, value)` calls. Two sinks:
 * - `ExportWriter` writes the export form directly (each target merged over its group's labels,
 *   one object per target, nothing else kept): what `discovery.kubernetes` publishes.
 * - `GroupCollector` keeps the group form (`{ labels, targets }`, Prometheus's target groups),
 *   which the expectation tables compare.
 * Both give a name set twice its first position and its last value (as `{ ...labels, ...target }`
 * and `Object.assign` do), so the export form of a group equals `flatten` of its group form.
 */

export type LabelSet = Record<string, string>;

export interface TargetGroup {
  readonly source: string;
  readonly labels: LabelSet;
  readonly targets: LabelSet[];
}

/** Receives one group: group labels, then targets between `begin()` and `end()`. */
export interface LabelSink {
  /** Appends a label to the group (before the first `begin`) or to the open target. */
  set(name: string, value: string): void;
  /** Opens a target: it starts with the group's labels. */
  begin(): void;
  /** Closes the open target. */
  end(): void;
}

/**
 * Export-form templates: a trie over label-name sequences (a group's names, then one target's).
 * The node a sequence ends at holds a template object with exactly those keys in that order
 * (built once, a fast-property object); every exported target of that shape is a spread clone of
 * it, which shares the template's hidden class, with its values stored into the existing keys (no
 * property is added, so the clone stays fast). Shapes repeat across objects (same label keys and
 * ports; the API server sends label keys sorted, so sequences share prefixes), so the trie stays
 * small. It is cleared past `MAX_SHAPE_NODES` nodes (a few MB at most) when a group starts: a
 * larger working set of shapes then costs template rebuilds, never wrong labels.
 */
interface ShapeNode {
  /** The first child (most nodes have one), then a map of the others. */
  key: string | undefined;
  child: ShapeNode | undefined;
  more: Map<string, ShapeNode> | undefined;
  template: Readonly<LabelSet> | undefined;
}

const MAX_SHAPE_NODES = 20_000;

const newNode = (): ShapeNode => ({ key: undefined, child: undefined, more: undefined, template: undefined });

let shapeRoot: ShapeNode = newNode();
let shapeNodes = 0;

function shapeStep(n: ShapeNode, key: string): ShapeNode {
  if (n.key === key) return n.child!;
  if (n.key === undefined) {
    n.key = key;
    shapeNodes++;
    return (n.child = newNode());
  }
  let m = n.more;
  if (m === undefined) n.more = m = new Map();
  let c = m.get(key);
  if (c === undefined) {
    m.set(key, (c = newNode()));
    shapeNodes++;
  }
  return c;
}

function makeTemplate(names: readonly string[], n: number): Readonly<LabelSet> {
  const o: LabelSet = {};
  for (let i = 0; i < n; i++) o[names[i]!] = '';
  // Through JSON.parse: V8's JSON decoder sizes the object to hold every property in-object, and
  // spread clones keep that layout (one allocation per target instead of object + property array).
  return JSON.parse(JSON.stringify(o)) as LabelSet;
}

/**
 * Writes the export form: every target is one fast-property object (a clone of its shape's
 * template, see `ShapeNode`) holding its group's labels, then its own. The names and values of
 * the target being written sit in two reused arrays, and the trie position after the group's
 * labels is kept, so a target costs its own labels' trie steps and one allocation.
 * Not reentrant: one group at a time.
 */
export class ExportWriter implements LabelSink {
  readonly #names: string[] = [];
  readonly #values: string[] = [];
  #n = 0;
  #node: ShapeNode = shapeRoot;
  #proto = false;
  #groupN = -1;
  #groupNode: ShapeNode = shapeRoot;
  #groupProto = false;
  #out: LabelSet[] = [];

  /** Starts a group; its targets go to `out` (appended). */
  startGroup(out: LabelSet[]): void {
    if (shapeNodes > MAX_SHAPE_NODES) {
      shapeRoot = newNode();
      shapeNodes = 0;
    }
    this.#out = out;
    this.#n = 0;
    this.#node = shapeRoot;
    this.#proto = false;
    this.#groupN = -1;
  }

  set(name: string, value: string): void {
    const i = this.#n++;
    this.#names[i] = name;
    this.#values[i] = value;
    this.#node = shapeStep(this.#node, name);
    if (name === '__proto__') this.#proto = true;
  }

  begin(): void {
    if (this.#groupN < 0) {
      this.#groupN = this.#n;
      this.#groupNode = this.#node;
      this.#groupProto = this.#proto;
    }
  }

  end(): void {
    this.#out.push(this.#emit());
    this.#n = this.#groupN;
    this.#node = this.#groupNode;
    this.#proto = this.#groupProto;
  }

  #emit(): LabelSet {
    const names = this.#names;
    const values = this.#values;
    const n = this.#n;
    if (this.#proto) {
      // A key a keyed store would treat as the prototype: defined as data instead.
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < n; i++) pairs.push([names[i]!, values[i]!]);
      return Object.fromEntries(pairs) as LabelSet;
    }
    const node = this.#node;
    const tpl = (node.template ??= makeTemplate(names, n));
    const o: LabelSet = { ...tpl };
    for (let i = 0; i < n; i++) o[names[i]!] = values[i]!;
    return o;
  }
}

/** Keeps the group form: the group's labels and each target's own labels. */
export class GroupCollector implements LabelSink {
  readonly labels: LabelSet = {};
  readonly targets: LabelSet[] = [];
  #cur: LabelSet | undefined;

  set(name: string, value: string): void {
    const o = this.#cur ?? this.labels;
    if (name === '__proto__') Object.defineProperty(o, name, { value, writable: true, enumerable: true, configurable: true });
    else o[name] = value;
  }

  begin(): void {
    this.#cur = {};
  }

  end(): void {
    this.targets.push(this.#cur!);
    this.#cur = undefined;
  }
}

/** Writes a group-form group to a sink. */
export function writeGroup(w: LabelSink, g: TargetGroup): void {
  for (const k of Object.keys(g.labels)) w.set(k, g.labels[k]!);
  for (const t of g.targets) {
    w.begin();
    for (const k of Object.keys(t)) w.set(k, t[k]!);
    w.end();
  }
}

/**
 * Discovery export form of group-form groups: each target merged over its group's labels (target
 * labels win, at the group label's position, as with `{ ...labels, ...target }`).
 */
export function flatten(groups: Iterable<TargetGroup>): LabelSet[] {
  const out: LabelSet[] = [];
  const w = new ExportWriter();
  for (const g of groups) {
    w.startGroup(out);
    writeGroup(w, g);
  }
  return out;
}
