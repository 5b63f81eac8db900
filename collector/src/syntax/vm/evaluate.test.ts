import { parseExpression } from '../parser/parser.js';
import { DiagnosticsError } from '../diag/diag.js';
import { evaluate } from './evaluate.js';
import { stdlibScope } from './stdlib.js';
import { Scope } from './scope.js';
import { Secret, asCapsule } from './value.js';
import { collectReferences } from './references.js';
import { parseFile } from '../parser/parser.js';
import { MAX_NESTING_DEPTH } from '../ast/ast.js';
import type * as ast from '../ast/ast.js';
import { formatValue, valueToJSON } from './value-format.js';
import { encodeValueJSON } from './alloy-json.js';
import { printExpr } from '../printer/printer.js';

const receiver = asCapsule({ append: async (): Promise<void> => undefined }, 'MetricsReceiver');
const scope = stdlibScope().child({
  prometheus: { remote_write: { to_proxy: { receiver } } },
  obj: { a: 1, list: [10, 20, 30], nested: { s: 'x' } },
  pass: new Secret('hunter2'),
});

function run(src: string, s: Scope = scope): unknown {
  const { expr, diags } = parseExpression(src);
  expect(diags).toEqual([]);
  return evaluate(expr, s);
}

function fails(src: string): { message: string; column: number; endColumn: number } {
  const { expr, diags } = parseExpression(src);
  expect(diags).toEqual([]);
  try {
    evaluate(expr, scope);
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(DiagnosticsError);
    const d = (e as DiagnosticsError).diags[0]!;
    return { message: d.message, column: d.start.column, endColumn: d.end.column };
  }
  throw new Error(`expected ${src} to fail`);
}

describe('vm: operators', () => {
  it.each<[string, unknown]>([
    ['1 + 2', 3],
    ['5 - 7', -2],
    ['3 * 4', 12],
    ['7 / 2', 3],
    ['7.0 / 2', 3.5],
    ['-7 / 2', -3],
    ['7 % 3', 1],
    ['7.5 % 2', 1.5],
    ['2 ^ 10', 1024],
    ['2 ^ 3 ^ 2', 512],
    ['1 + 2 * 3 - 4', 3],
    ['(1 + 2) * 3', 9],
    ['-(1 + 2)', -3],
    ['"a" + "b"', 'ab'],
    ['1 == 1.0', true],
    ['1 == "1"', false],
    ['[1, {a = 2}] == [1, {a = 2}]', true],
    ['{a = 1} != {a = 2}', true],
    ['null == null', true],
    ['1 < 2', true],
    ['2 <= 2', true],
    ['3 > 4', false],
    ['4 >= 5', false],
    ['"abc" < "abd"', true],
    ['"b" >= "a"', true],
    ['true && false', false],
    ['true || false', true],
    ['!true', false],
    ['!false && true', true],
    ['false && undefined_ident', false],
    ['true || undefined_ident', true],
    ['1 + 2 < 4 && 2 * 3 == 6 || false', true],
  ])('%s', (src, want) => expect(run(src)).toEqual(want));

  it('string + secret is a secret', () => {
    const v = run('"user:" + pass');
    expect(v).toBeInstanceOf(Secret);
    expect((v as Secret).reveal()).toBe('user:hunter2');
    expect(String(v)).toBe('(secret)');
    expect(JSON.stringify({ v })).toBe('{"v":"(secret)"}');
  });
});

describe('vm: access, index, calls, capsules', () => {
  it.each<[string, unknown]>([
    ['obj.a', 1],
    ['obj.list[1]', 20],
    ['obj["nested"].s', 'x'],
    ['obj["missing"]', null],
    ['{ a = { b = [1, 2] } }.a.b[1]', 2],
    ['[[1, 2], [3]][1][0]', 3],
  ])('%s', (src, want) => expect(run(src)).toEqual(want));

  it('passes capsules through unchanged', () => {
    expect(run('prometheus.remote_write.to_proxy.receiver')).toBe(receiver);
    expect((run('[prometheus.remote_write.to_proxy.receiver]') as unknown[])[0]).toBe(receiver);
  });

  it('treats keys and identifiers named like Object.prototype members as ordinary names', () => {
    const v = run('{ "__proto__" = 1, constructor = 2, toString = 3 }') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(v['constructor']).toBe(2);
    expect(run('{ constructor = 2 }.constructor')).toBe(2);
    expect(fails('{ a = 1 }.constructor').message).toBe('field "constructor" does not exist');
    expect(fails('constructor').message).toBe('identifier "constructor" does not exist');
  });

  it('resolves variables through the scope chain', () => {
    const root = new Scope({ a: 1, b: 2 });
    const child = root.child({ b: 3 });
    expect(run('a + b', child)).toBe(4);
  });
});

describe('vm: errors name expected and actual types at the right position', () => {
  it.each<[string, string, number]>([
    ['1 + "a"', '"a" should be number, got string', 5],
    ['"a" - 1', '"a" should be one of [number] for binop -, got string', 1],
    ['!1', '1 should be bool, got number', 2],
    ['-"x"', '"x" should be number, got string', 2],
    ['true && 1', '1 should be one of [bool] for binop &&, got number', 9],
    ['{ a = 15 }.b', 'field "b" does not exist', 12],
    ['nope.x', 'identifier "nope" does not exist', 1],
    ['obj.list[5]', 'index 5 is out of range of array with length 3', 10],
    ['obj.list["x"]', '"x" should be number, got string', 10],
    ['obj.a.b', 'obj.a should be object, got number', 1],
    ['obj.a(1)', 'obj.a should be function, got number', 1],
    ['1 / 0', 'divide by zero error', 5],
    ['1 % 0', 'divide by zero error', 5],
    ['to_upper(true)', 'true should be string, got bool', 10],
    ['join([null], ",")', 'null should be string, got null', 7],
    ['sys.env()', 'sys.env expected 1 argument, got 0', 1],
    ['json_decode("{")', 'json_decode ' + (() => { try { JSON.parse('{'); return ''; } catch (e) { return (e as Error).message; } })(), 1],
  ])('%s', (src, message, column) => {
    const f = fails(src);
    expect(f.message).toBe(message);
    expect(f.column).toBe(column);
    expect(f.endColumn).toBeGreaterThan(f.column);
  });
});

describe('vm: standard library', () => {
  beforeAll(() => {
    process.env.ALLOY_SYNTAX_TEST_VAR = 'from-env';
  });
  it.each<[string, unknown]>([
    ['sys.env("ALLOY_SYNTAX_TEST_VAR")', 'from-env'],
    ['env("ALLOY_SYNTAX_TEST_VAR")', 'from-env'],
    ['sys.env("ALLOY_SYNTAX_TEST_UNSET_VAR")', ''],
    ['constants.os', process.platform === 'win32' ? 'windows' : process.platform],
    ['constants.arch', process.arch === 'x64' ? 'amd64' : process.arch],
    ['coalesce("", [], {}, 0, false, null, "x", "y")', 'x'],
    ['coalesce("", 0)', 0],
    ['coalesce()', null],
    ['concat([1], [2, 3], [])', [1, 2, 3]],
    ['array.concat([[1]], [[2]])', [[1], [2]]],
    ['array.concat()', []],
    ['format("%s=%d", "a", 5)', 'a=5'],
    ['string.format("%v %v %v %v", 1, 1.5, true, null)', '1 1.5 true <nil>'],
    ['format("%q", "a\\nb")', '"a\\nb"'],
    ['format("%5.2f|%-4s|%04d|%x|%X|%o|%b|%e|%g", 3.14159, "ab", 42, 255, 255, 8, 5, 1234.5678, 0.00001)', ' 3.14|ab  |0042|ff|FF|10|101|1.234568e+03|1e-05'],
    ['format("%v", [1, "a"])', '[1 a]'],
    ['format("%v", {b = 1, a = 2})', 'map[a:2 b:1]'],
    ['format("%d", "x")', '%!d(string=x)'],
    ['format("%s")', '%!s(MISSING)'],
    ['format("%s", "a", 1)', 'a%!(EXTRA int=1)'],
    ['format("100%%")', '100%'],
    ['format("%[2]s %[1]s", "a", "b")', 'b a'],
    ['format("%t %c %U", true, 65, 9731)', 'true A U+2603'],
    ['join(["a", "b", "c"], "-")', 'a-b-c'],
    ['join([1, "b"], 2)', '12b'],
    ['to_upper(1.5)', '1.5'],
    ['string.join([], ",")', ''],
    ['split("a,b,,c", ",")', ['a', 'b', '', 'c']],
    ['string.split("abc", "")', ['a', 'b', 'c']],
    ['replace("a.b.c", ".", "/")', 'a/b/c'],
    ['string.replace("ab", "", "-")', '-a-b-'],
    ['trim("--x--", "-")', 'x'],
    ['string.trim("abcxcba", "abc")', 'x'],
    ['trim_prefix("prefix-x", "prefix-")', 'x'],
    ['string.trim_suffix("x.alloy", ".alloy")', 'x'],
    ['trim_space("\\t x \\n")', 'x'],
    ['to_lower("AbC")', 'abc'],
    ['string.to_upper("AbC")', 'ABC'],
    ['json_decode("{\\"a\\": [1, true, null]}")', { a: [1, true, null] }],
    ['encoding.from_json("3")', 3],
    ['yaml_decode("a: 1\\nb: [x, y]\\n")', { a: 1, b: ['x', 'y'] }],
    ['encoding.from_yaml("")', null],
    ['json_path("{\\"key\\": \\"value\\"}", ".key")', ['value']],
    ['json_path("{\\"a\\": {\\"b\\": [1, 2, 3]}}", "$.a.b[*]")', [1, 2, 3]],
    ['json_path("{\\"a\\": {\\"b\\": [1, 2, 3]}}", "a.b[-1]")', [3]],
    ['json_path("[{\\"name\\": \\"Department\\",\\"value\\": \\"IT\\"},{\\"name\\":\\"ReferenceNumber\\",\\"value\\": \\"123456\\"}]", "[?(@.name == \\"Department\\")].value")', ['IT']],
    ['json_path("{\\"a\\": {\\"x\\": 1, \\"b\\": {\\"x\\": 2}}}", "$..x")', [1, 2]],
    ['json_path("{}", ".missing")', []],
    ['encoding.to_base64("foo?")', 'Zm9vPw=='],
    ['encoding.from_base64("Zm9vPw==")', 'foo?'],
    ['base64_decode("Zm9v")', 'foo'],
    ['encoding.to_URLbase64("foo?")', 'Zm9vPw=='],
    ['encoding.to_URLbase64("\\u00ff\\u00fe")', 'w7_Dvg=='],
    ['encoding.from_URLbase64("w7_Dvg==")', '\u00ff\u00fe'],
    ['nonsensitive(pass)', 'hunter2'],
    ['convert.nonsensitive(pass)', 'hunter2'],
    ['array.combine_maps([{a = 1, x = 1}, {a = 2, x = 2}], [{a = 1, y = 3}, {a = 3}], ["a"])', [{ a: 1, x: 1, y: 3 }]],
    ['file.path_join("/etc", "alloy/", "../x", "config.alloy")', '/etc/x/config.alloy'],
    ['file.path_join("this/is", "a/path")', 'this/is/a/path'],
    ['array.combine_maps([{a = 1, x = 1}, {a = 2, x = 2}], [{a = 1, y = 3}], ["a"], true)', [{ a: 1, x: 1, y: 3 }, { a: 2, x: 2 }]],
    ['array.combine_maps([{a = 1}], [{a = "1"}], ["a"])', []],
    ['encoding.to_json({b = [1, true, null], a = {z = "<x&y>", c = pass}})', '{"a":{"c":"(secret)","z":"\\u003cx\\u0026y\\u003e"},"b":[1,true,null]}'],
    ['encoding.url_encode("string123!?$*&()\'-=@~ x")', 'string123%21%3F%24%2A%26%28%29%27-%3D%40~+x'],
    ['encoding.url_decode("a%20b+c%2F")', 'a b c/'],
    ['format("%#v", 1)', '1'],
    ['format("%#v", true)', 'true'],
    ['format("%#v", "s")', '"s"'],
    ['coalesce(false, true)', true],
    ['coalesce(encoding.from_json("{}"), false)', false],
    ['coalesce([], null)', null],
    ['file.path_join()', ''],
  ])('%s', (src, want) => expect(run(src)).toEqual(want));

  it('rejects bad base64 and empty combine_maps conditions', () => {
    expect(fails('encoding.from_base64("!!!!")').message).toMatch(/illegal base64 data at input byte 0/);
    expect(fails('array.combine_maps([], [], [])').message).toMatch(/merge conditions must not be empty/);
    expect(fails('encoding.to_json(12)').message).toBe('encoding.to_json jsonEncode only supports map');
    expect(fails('encoding.url_decode("%zz")').message).toMatch(/invalid URL escape "%zz"/);
  });

  it('constants.hostname is the host name', async () => {
    const os = await import('node:os');
    expect(run('constants.hostname')).toBe(os.hostname());
  });
});

describe('vm: collectReferences', () => {
  it('finds every identifier and access chain in source order', () => {
    const src = 'a {\n  x = [prometheus.remote_write.to_proxy.receiver, sys.env("X")]\n  b {\n    y = discovery.k8s.pods.targets[0].x + local\n  }\n}\n';
    const { file } = parseFile('r', src);
    const refs = collectReferences(file);
    expect(refs.map((r) => r.path.join('.'))).toEqual(['prometheus.remote_write.to_proxy.receiver', 'sys.env', 'discovery.k8s.pods.targets', 'local']);
    expect([refs[0]!.start.line, refs[0]!.start.column]).toEqual([2, 8]);
  });
});

describe('vm: decoded documents deeper than the nesting limit', () => {
  const deepJSON = (d: number): string => '['.repeat(d) + ']'.repeat(d);
  it.each([
    ['encoding.from_json', `encoding.from_json(${JSON.stringify(deepJSON(100_000))})`],
    ['json_decode (object)', `json_decode(${JSON.stringify('{"a":'.repeat(MAX_NESTING_DEPTH + 1) + '1' + '}'.repeat(MAX_NESTING_DEPTH + 1))})`],
    ['encoding.from_yaml', `encoding.from_yaml(${JSON.stringify(deepJSON(MAX_NESTING_DEPTH + 1))})`],
    ['json_path', `json_path(${JSON.stringify(deepJSON(100_000))}, "$..x")`],
  ])('%s: an evaluation diagnostic naming the limit', (_name, src) => {
    expect(fails(src).message).toContain(`nested too deep (max ${MAX_NESTING_DEPTH} levels`);
  });

  it('values at the limit decode and render', () => {
    const v = run(`encoding.from_json(${JSON.stringify(deepJSON(MAX_NESTING_DEPTH))})`);
    expect(JSON.stringify(valueToJSON(v))).toBe(deepJSON(MAX_NESTING_DEPTH));
    expect(run(`yaml_decode(${JSON.stringify(deepJSON(MAX_NESTING_DEPTH))})`)).toEqual(v);
  });
});

describe('vm: stack headroom above the nesting limit', () => {
  // Trees are built directly (the parser stops at the limit): every recursive consumer must
  // handle several times MAX_NESTING_DEPTH, so the limit leaves room for the caller's own stack.
  const HEADROOM = 5 * MAX_NESTING_DEPTH;
  const at = { file: '', line: 1, column: 1, offset: 0 };
  const one = (): ast.Expr => ({ kind: 'Literal', literal: 'NUMBER', raw: '1', value: 1, start: at, end: at });
  const nest = (wrap: (e: ast.Expr) => ast.Expr): ast.Expr => {
    let e = one();
    for (let i = 0; i < HEADROOM; i++) e = wrap(e);
    return e;
  };
  it.each<[string, (e: ast.Expr) => ast.Expr]>([
    ['arrays', (e) => ({ kind: 'Array', elements: [e], start: at, rbrack: at, end: at })],
    ['objects', (e) => ({ kind: 'Object', fields: [{ name: { name: 'x', start: at, end: at }, quoted: false, value: e }], start: at, rcurly: at, end: at })],
    ['binary chains', (e) => ({ kind: 'Binary', op: 'ADD', opStart: at, left: e, right: one(), start: at, end: at })],
    ['unary chains', (e) => ({ kind: 'Unary', op: 'SUB', value: e, start: at, end: at })],
    ['parentheses', (e) => ({ kind: 'Paren', inner: e, start: at, end: at })],
  ])('%s: evaluate, printExpr, valueToJSON, formatValue and encodeValueJSON', (_name, wrap) => {
    const expr = nest(wrap);
    const v = evaluate(expr, scope);
    expect(printExpr(expr).length).toBeGreaterThan(HEADROOM);
    expect(valueToJSON(v)).toBeDefined();
    expect(formatValue(v)).toBeDefined();
    expect(encodeValueJSON(v)).toBeDefined();
  });
});
