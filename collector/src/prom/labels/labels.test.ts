import { hashLabels, labelsEqual, labelsFromRecord, labelsFromStrings, labelsToString, LabelsBuilder } from './labels.js';

describe('labels', () => {
  it('builder sorts, deletes on empty value, reuses the base when unchanged', () => {
    const base = labelsFromStrings('b', '2', 'a', '1');
    expect(base.map((l) => l.name)).toEqual(['a', 'b']);
    const lb = new LabelsBuilder(base);
    expect(lb.labels()).toBe(base);
    lb.set('c', '3').set('a', '').del('nope');
    expect(lb.labels()).toEqual([{ name: 'b', value: '2' }, { name: 'c', value: '3' }]);
    lb.reset(base);
    expect(lb.get('a')).toBe('1');
    expect(lb.labels()).toBe(base);
  });

  it('forEach iterates a snapshot so set/del are safe inside', () => {
    const lb = new LabelsBuilder(labelsFromStrings('a', '1', 'b', '2'));
    const seen: string[] = [];
    lb.forEach((n) => {
      seen.push(n);
      lb.del(n);
      lb.set('x_' + n, 'v');
    });
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(lb.labels().map((l) => l.name)).toEqual(['x_a', 'x_b']);
  });

  it('retain filters in place and reports modification only when something was removed', () => {
    const base = labelsFromStrings('a', '1', 'b', '2', 'c', '3');
    const lb = new LabelsBuilder(base);
    expect(lb.retain(() => true).labels()).toBe(base);
    expect(lb.retain((n) => n !== 'b').labels().map((l) => l.name)).toEqual(['a', 'c']);
    expect(base.map((l) => l.name)).toEqual(['a', 'b', 'c']); // base untouched
  });

  it('hash is stable, order-sensitive on fields and separates name/value boundaries', () => {
    const a = labelsFromRecord({ __name__: 'up', job: 'x' });
    expect(hashLabels(a)).toBe(hashLabels(labelsFromRecord({ job: 'x', __name__: 'up' })));
    expect(hashLabels(a)).toBe(7708868215444827); // pinned: the value must not change across releases
    expect(hashLabels(labelsFromStrings('ab', 'c'))).not.toBe(hashLabels(labelsFromStrings('a', 'bc')));
    expect(Number.isSafeInteger(hashLabels(a))).toBe(true);
  });

  it('equality and string form', () => {
    expect(labelsEqual(labelsFromStrings('a', '1'), labelsFromStrings('a', '1'))).toBe(true);
    expect(labelsEqual(labelsFromStrings('a', '1'), labelsFromStrings('a', '2'))).toBe(false);
    expect(labelsToString(labelsFromStrings('a', 'x"y\n', 'b', '2'))).toBe('{a="x\\"y\\n", b="2"}');
  });
});

describe('LabelsBuilder.setLabel', () => {
  it('stores the given Label object, so label sets built from one source share it', () => {
    const job = { name: 'job', value: 'node' };
    const a = new LabelsBuilder(labelsFromRecord({ __name__: 'up', instance: 'a' })).setLabel(job).labels();
    const b = new LabelsBuilder(labelsFromRecord({ __name__: 'up', instance: 'b' })).setLabel(job).labels();
    expect(a.find((l) => l.name === 'job')).toBe(job);
    expect(b.find((l) => l.name === 'job')).toBe(job);
    expect(labelsToString(a)).toBe('{__name__="up", instance="a", job="node"}');
  });

  it('behaves as set: replaces a different value, keeps an equal one, deletes on an empty value', () => {
    const base = labelsFromRecord({ job: 'old', zone: 'x' });
    const replaced = new LabelsBuilder(base).setLabel({ name: 'job', value: 'new' }).labels();
    expect(labelsToString(replaced)).toBe('{job="new", zone="x"}');
    const same = new LabelsBuilder(base);
    expect(same.setLabel({ name: 'job', value: 'old' }).labels()).toBe(base);
    expect(labelsToString(new LabelsBuilder(base).setLabel({ name: 'zone', value: '' }).labels())).toBe('{job="old"}');
  });
});
