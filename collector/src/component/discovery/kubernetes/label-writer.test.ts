/**
 * The two label sinks: the export form (`ExportWriter`) and the group form (`GroupCollector`) of
 * the same `set`/`begin`/`end` sequence agree, with `{ ...labels, ...target }` semantics.
 */
import { ExportWriter, GroupCollector, flatten, type LabelSet, type LabelSink } from './label-writer.js';

/** One group written the way the role writers do: group labels, then targets. */
function writeSample(w: LabelSink): void {
  w.set('g1', 'a');
  w.set('dup', 'group');
  w.set('g2', 'b');
  w.begin();
  w.set('t', '1');
  w.set('dup', 'target'); // a target label over a group label: the group's position, the target's value
  w.end();
  w.begin();
  w.set('t', '2');
  w.set('g2', 'x');
  w.set('g2', 'y'); // twice in one target: the last value
  w.end();
  w.begin();
  w.end(); // a target of the group's labels only
}

describe('ExportWriter', () => {
  it('writes each target merged over its group, as { ...labels, ...target } orders and overrides', () => {
    const out: LabelSet[] = [];
    const w = new ExportWriter();
    w.startGroup(out);
    writeSample(w);
    const g = new GroupCollector();
    writeSample(g);
    const want = g.targets.map((t) => Object.entries({ ...g.labels, ...t }));
    expect(out.map((t) => Object.entries(t))).toStrictEqual(want);
    expect(want[0]).toStrictEqual([['g1', 'a'], ['dup', 'target'], ['g2', 'b'], ['t', '1']]);
    expect(want[1]).toStrictEqual([['g1', 'a'], ['dup', 'group'], ['g2', 'y'], ['t', '2']]);
    expect(want[2]).toStrictEqual([['g1', 'a'], ['dup', 'group'], ['g2', 'b']]);
  });

  it('appends the groups it starts to their own arrays; targets are independent objects', () => {
    const a: LabelSet[] = [];
    const b: LabelSet[] = [];
    const w = new ExportWriter();
    w.startGroup(a);
    writeSample(w);
    w.startGroup(b);
    w.set('other', 'o');
    w.begin();
    w.set('t', '9');
    w.end();
    expect(a).toHaveLength(3);
    expect(b).toStrictEqual([{ other: 'o', t: '9' }]);
    a[0]!['t'] = 'changed';
    w.startGroup(a);
    writeSample(w);
    expect(a[3]!['t']).toBe('1');
  });

  it('a group without targets writes nothing', () => {
    const out: LabelSet[] = [];
    const w = new ExportWriter();
    w.startGroup(out);
    w.set('only', 'group');
    expect(out).toStrictEqual([]);
  });
});

describe('GroupCollector', () => {
  it('keeps a __proto__ label as data, not as the prototype', () => {
    const g = new GroupCollector();
    g.set('__proto__', 'p');
    g.begin();
    g.set('__proto__', 't');
    g.end();
    expect(Object.entries(g.labels)).toStrictEqual([['__proto__', 'p']]);
    expect(Object.getPrototypeOf(g.labels)).toBe(Object.prototype);
    expect(Object.entries(g.targets[0]!)).toStrictEqual([['__proto__', 't']]);
    // And through the export form.
    expect(flatten([{ source: 's', labels: g.labels, targets: g.targets }]).map((t) => Object.entries(t))).toStrictEqual([[['__proto__', 't']]]);
  });
});
