// Upstream's vm tables (grafana/alloy syntax/vm/*_test.go), vendored as data in
// testdata/upstream/vm_tests.json (see PROVENANCE.md there), run against our evaluator, implicit
// conversions and body decoder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseExpression, parseFile } from '../parser/parser.js';
import { evaluate } from './evaluate.js';
import { convertForSchema } from './convert.js';
import { decodeBody } from './decode.js';
import { Scope } from './scope.js';
import { stdlibScope } from './stdlib.js';
import { Secret, type Value } from './value.js';
import { upstreamDir } from '../upstream.test-support.js';

interface Tables {
  literals: Array<{ input: string; into: 'number' | 'string'; expect: unknown }>;
  evaluate: Array<{ input: string; expect: unknown }>;
  errors: Array<{ input: string; error: string }>;
  decodeErrors: Array<{ name: string; input: string; into: 'Target' | 'KeyString'; scope?: Record<string, Value>; expect: string }>;
  stdlib: Array<{ name: string; input: string; expect: unknown }>;
  stdlibErrors: Array<{ name: string; input: string; error: string }>;
  nonsensitive: Array<{ name: string; input: string; expect: unknown }>;
}
const t = JSON.parse(readFileSync(join(upstreamDir('vm'), 'vm_tests.json'), 'utf8')) as Tables;

/** Parses and evaluates like upstream's `vm.New(expr).Evaluate(scope, ...)`; errors as "line:col: message". */
function run(input: string, scope: Scope): unknown {
  const r = parseExpression(input);
  if (r.diags.length > 0) throw new Error(r.diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`).join('\n'));
  return evaluate(r.expr, scope);
}

describe('upstream vm_test.go', () => {
  it.each(t.literals.map((c) => [`${c.input} → ${c.into}`, c] as const))('TestVM_Evaluate_Literals %s', (_n, c) => {
    const schema = c.into === 'number' ? z.number() : z.string();
    expect(convertForSchema(schema, run(c.input, stdlibScope()))).toEqual(c.expect);
  });
  it.each(t.evaluate.map((c) => [c.input.replace(/\s+/g, ' '), c] as const))('TestVM_Evaluate %s', (_n, c) => {
    expect(run(c.input, new Scope({ foobar: 42 }))).toEqual(c.expect);
  });
  it.each(t.errors.map((c) => [c.input, c] as const))('identifier/access errors %s', (_n, c) => {
    expect(() => run(c.input, new Scope({}))).toThrow(c.error);
  });
});

describe('upstream vm_errors_test.go: TestVM_ExprErrors', () => {
  const Target = z.object({ key: z.object({ object: z.object({ field1: z.array(z.number()) }) }) });
  const KeyString = z.object({ key: z.string() });
  it.each(t.decodeErrors.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const parsed = parseFile('test', c.input);
    expect(parsed.diags).toEqual([]);
    const r = decodeBody(parsed.file.body, c.into === 'Target' ? Target : KeyString, new Scope(c.scope ?? {}));
    expect(r.diags.map((d) => `${d.start.file}:${d.start.line}:${d.start.column}: ${d.message}`)).toEqual([c.expect]);
  });
});

describe('upstream vm_stdlib_test.go', () => {
  const saved = { TEST_VAR: process.env['TEST_VAR'], TEST_VAR2: process.env['TEST_VAR2'], NON_DEFINED: process.env['NON_DEFINED'] };
  beforeAll(() => {
    process.env['TEST_VAR'] = 'Hello!';
    process.env['TEST_VAR2'] = 'Hello!';
    delete process.env['NON_DEFINED'];
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  it.each(t.stdlib.map((c, i) => [`${i} ${c.name}`, c] as const))('%s', (_n, c) => {
    expect(run(c.input, stdlibScope())).toEqual(c.expect);
  });
  it.each(t.stdlibErrors.map((c, i) => [`${i} ${c.name}`, c] as const))('error: %s', (_n, c) => {
    expect(() => run(c.input, stdlibScope())).toThrow(c.error);
  });
  it.each(t.nonsensitive.map((c) => [c.name, c] as const))('TestStdlib_Nonsensitive %s', (_n, c) => {
    expect(run(c.input, stdlibScope().child({ secret: new Secret('foo') }))).toEqual(c.expect);
  });
});
