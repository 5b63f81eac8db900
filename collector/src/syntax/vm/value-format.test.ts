import { parseExpression } from '../parser/parser.js';
import { evaluate } from './evaluate.js';
import { Scope } from './scope.js';
import { formatValue, valueToJSON } from './value-format.js';
import { Secret, asCapsule, valuesEqual } from './value.js';

describe('formatValue', () => {
  it.each<[unknown, string]>([
    [null, 'null'],
    [42, '42'],
    [1.5, '1.5'],
    [1e21, '1e+21'],
    ['a"b\n', '"a\\"b\\n"'],
    [true, 'true'],
    [[], '[]'],
    [[1, 'x'], '[1, "x"]'],
    [{}, '{}'],
    [{ a: 1, 'b c': 'd' }, '{ a = 1, "b c" = "d" }'],
    [{ list: [1, 2] }, '{\n\tlist = [1, 2],\n}'],
    [[{ a: 1 }], '[\n\t{ a = 1 },\n]'],
    [new Secret('x'), '(secret)'],
  ])('%j', (v, want) => expect(formatValue(v)).toBe(want));

  it('names capsules', () => {
    expect(formatValue(asCapsule({}, 'MetricsReceiver'))).toBe('capsule("MetricsReceiver")');
  });

  it('round-trips plain values through the parser and evaluator', () => {
    const values: unknown[] = [
      { targets: [{ __address__: 'h:9100', job: 'x' }], n: -3, f: 0.25, ok: false, none: null, nested: { deep: { deeper: ['a', ['b']] } } },
      ['\t', 'é', '😀', ''],
    ];
    for (const v of values) {
      const { expr, diags } = parseExpression(formatValue(v));
      expect(diags).toEqual([]);
      expect(valuesEqual(evaluate(expr, new Scope()), v)).toBe(true);
    }
  });
});

describe('valueToJSON', () => {
  it('redacts secrets, names capsules and functions, keeps plain data', () => {
    class Receiver {
      append(): void {}
    }
    expect(valueToJSON({ a: [1, 'x', null], s: new Secret('p'), r: new Receiver(), t: asCapsule({}, 'Targets'), f: () => 1, inf: Infinity })).toEqual({
      a: [1, 'x', null],
      s: '(secret)',
      r: 'capsule(Receiver)',
      t: 'capsule(Targets)',
      f: 'function',
      inf: 'Infinity',
    });
  });
});
