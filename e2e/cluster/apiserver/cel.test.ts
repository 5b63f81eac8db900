import { CelEvalError, CelUnsupported, evaluate, parseRule, usesOldSelf } from './cel.js';
import type { Json } from './types.js';

const run = (src: string, self: Json, oldSelf?: Json): Json => evaluate(parseRule(src), oldSelf === undefined ? { self } : { self, oldSelf });

describe('CEL subset', () => {
  test.each<[string, Json, Json]>([
    ['has(self.config) != has(self.configMapRef)', { config: 'x' }, true],
    ['has(self.config) != has(self.configMapRef)', { config: 'x', configMapRef: { name: 'c' } }, false],
    ['has(self.config) != has(self.configMapRef)', {}, false],
    ['!has(self.a) || self.a.b > 2', { a: { b: 3 } }, true],
    ['!has(self.a) || self.a.b > 2', { a: { b: 2 } }, false],
    ['!has(self.a) || self.a.b > 2', {}, true],
    ['size(self.name) <= 5 && self.name.size() >= 1', { name: 'abcde' }, true],
    ['size(self.items) == 2', { items: [1, 2] }, true],
    ['size(self.m) == 1', { m: { k: 'v' } }, true],
    ["self.mode == 'fast' ? self.n < 10 : self.n >= 10", { mode: 'fast', n: 3 }, true],
    ["self.mode == 'fast' ? self.n < 10 : self.n >= 10", { mode: 'slow', n: 3 }, false],
    ['self.a + 1 == 3 && -self.a == -2 && self.s + "!" == "hi!"', { a: 2, s: 'hi' }, true],
    ['self.items[1] == "b" && self.m["k"] == 1', { items: ['a', 'b'], m: { k: 1 } }, true],
    ['self.x != null && self.t == true && !(self.f)', { x: 1, t: true, f: false }, true],
    ['self == oldSelf', 'a', true],
    ['(self.a < self.b) == true', { a: 'x', b: 'y' }, true],
  ])('%s on %j → %j', (src, self, want) => {
    expect(src.includes('oldSelf') ? run(src, self, self) : run(src, self)).toBe(want);
  });

  test('a missing field is an evaluation error, absorbed by || and && like CEL', () => {
    expect(() => run('self.a.b == 1', {})).toThrow(new CelEvalError('no such key: a'));
    expect(run('self.a == 1 || true', {})).toBe(true);
    expect(run('self.a == 1 && false', {})).toBe(false);
    expect(() => run('self.a == 1 || false', {})).toThrow(CelEvalError);
    expect(() => run('self.n < "x"', { n: 1 })).toThrow(/no such overload/);
  });

  test('expressions outside the subset are rejected with the reason', () => {
    expect(() => parseRule('self.all(x, x > 0)')).toThrow(CelUnsupported);
    expect(() => parseRule('self.all(x, x > 0)')).toThrow(/method all\(\) is not supported/);
    expect(() => parseRule('matches(self, "a")')).toThrow(/function matches\(\)/);
    expect(() => parseRule('x == 1')).toThrow(/undeclared reference to 'x'/);
    expect(() => parseRule('has(self)')).toThrow(/has\(\) needs a field selection/);
    expect(() => parseRule('self.a == ')).toThrow(CelUnsupported);
    expect(() => parseRule('1 < 2 < 3')).toThrow(/parentheses/);
  });

  test('transition rules are recognised by their use of oldSelf', () => {
    expect(usesOldSelf(parseRule('self.a == oldSelf.a'))).toBe(true);
    expect(usesOldSelf(parseRule('has(self.a) ? self.a > 1 : true'))).toBe(false);
  });
});
