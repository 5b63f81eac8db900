/**
 * A small CEL subset for CRD `x-kubernetes-validations` rules: literals (string, int/double,
 * bool, null), `self`/`oldSelf` with field selection and indexing, `has(x.f)`, `size(x)` and
 * `x.size()`, `!`, unary `-`, `&&`, `||`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-`, `? :`.
 *
 * `parseRule` throws `CelUnsupported` for anything outside the subset (the caller reports the
 * rule as skipped); `evaluate` throws `CelEvalError` with CEL's wording ("no such key: x") when a
 * well-formed expression cannot be evaluated against the value. `&&`/`||` absorb errors the way
 * CEL does (`true || error` is true, `false && error` is false).
 * Depends only on `types.ts`.
 */
import { isObject, type Json } from './types.js';

export class CelUnsupported extends Error {}
export class CelEvalError extends Error {}

export type CelAst =
  | { readonly k: 'lit'; readonly v: Json }
  | { readonly k: 'ident'; readonly name: string }
  | { readonly k: 'select'; readonly target: CelAst; readonly field: string }
  | { readonly k: 'index'; readonly target: CelAst; readonly index: CelAst }
  | { readonly k: 'has'; readonly target: CelAst; readonly field: string }
  | { readonly k: 'size'; readonly arg: CelAst }
  | { readonly k: 'not' | 'neg'; readonly arg: CelAst }
  | { readonly k: 'bin'; readonly op: BinOp; readonly l: CelAst; readonly r: CelAst }
  | { readonly k: 'cond'; readonly c: CelAst; readonly t: CelAst; readonly f: CelAst };

type BinOp = '&&' | '||' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-';

type Tok = { readonly t: 'num' | 'str' | 'id' | 'op'; readonly v: string | number };

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '?', ':', '(', ')', '.', '[', ']', ',', '+', '-'] as const;

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)[uU]?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[1]) });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      if (src.startsWith(c.repeat(3), i)) throw new CelUnsupported('triple-quoted strings are not supported');
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') {
          const e = src[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
          if (e === undefined || map[e] === undefined) throw new CelUnsupported(`string escape \\${e ?? ''} is not supported`);
          s += map[e];
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new CelUnsupported('unterminated string literal');
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelUnsupported(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  return out;
}

class Parser {
  readonly #toks: Tok[];
  #i = 0;

  constructor(toks: Tok[]) {
    this.#toks = toks;
  }

  parse(): CelAst {
    const e = this.#cond();
    if (this.#i < this.#toks.length) throw new CelUnsupported(`unexpected ${JSON.stringify(this.#toks[this.#i]!.v)}`);
    return e;
  }

  #peek(v: string): boolean {
    const t = this.#toks[this.#i];
    return t !== undefined && t.t === 'op' && t.v === v;
  }

  #eat(v: string): boolean {
    if (!this.#peek(v)) return false;
    this.#i++;
    return true;
  }

  #expect(v: string): void {
    if (!this.#eat(v)) throw new CelUnsupported(`expected ${JSON.stringify(v)}`);
  }

  #cond(): CelAst {
    const c = this.#binary(0);
    if (!this.#eat('?')) return c;
    const t = this.#cond();
    this.#expect(':');
    return { k: 'cond', c, t, f: this.#cond() };
  }

  static readonly LEVELS: ReadonlyArray<readonly BinOp[]> = [['||'], ['&&'], ['==', '!=', '<', '<=', '>', '>='], ['+', '-']];

  #binary(level: number): CelAst {
    if (level >= Parser.LEVELS.length) return this.#unary();
    let l = this.#binary(level + 1);
    for (;;) {
      const op = Parser.LEVELS[level]!.find((o) => this.#peek(o));
      if (!op) return l;
      this.#i++;
      l = { k: 'bin', op, l, r: this.#binary(level + 1) };
      if (level === 2 && Parser.LEVELS[2]!.some((o) => this.#peek(o))) throw new CelUnsupported('chained relations need parentheses');
    }
  }

  #unary(): CelAst {
    if (this.#eat('!')) return { k: 'not', arg: this.#unary() };
    if (this.#eat('-')) return { k: 'neg', arg: this.#unary() };
    return this.#member();
  }

  #member(): CelAst {
    let e = this.#primary();
    for (;;) {
      if (this.#eat('.')) {
        const id = this.#toks[this.#i++];
        if (!id || id.t !== 'id') throw new CelUnsupported('expected a field name after "."');
        if (this.#eat('(')) {
          if (id.v !== 'size') throw new CelUnsupported(`method ${String(id.v)}() is not supported`);
          this.#expect(')');
          e = { k: 'size', arg: e };
        } else e = { k: 'select', target: e, field: String(id.v) };
      } else if (this.#eat('[')) {
        const index = this.#cond();
        this.#expect(']');
        e = { k: 'index', target: e, index };
      } else return e;
    }
  }

  #primary(): CelAst {
    const t = this.#toks[this.#i++];
    if (!t) throw new CelUnsupported('unexpected end of expression');
    if (t.t === 'num' || t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'op') {
      if (t.v !== '(') throw new CelUnsupported(`unexpected ${JSON.stringify(t.v)}`);
      const e = this.#cond();
      this.#expect(')');
      return e;
    }
    const name = String(t.v);
    if (name === 'true' || name === 'false') return { k: 'lit', v: name === 'true' };
    if (name === 'null') return { k: 'lit', v: null };
    if (this.#eat('(')) {
      if (name !== 'size' && name !== 'has') throw new CelUnsupported(`function ${name}() is not supported`);
      const arg = this.#cond();
      this.#expect(')');
      if (name === 'size') return { k: 'size', arg };
      if (arg.k !== 'select') throw new CelUnsupported('has() needs a field selection such as has(self.field)');
      return { k: 'has', target: arg.target, field: arg.field };
    }
    if (name !== 'self' && name !== 'oldSelf') throw new CelUnsupported(`undeclared reference to '${name}'`);
    return { k: 'ident', name };
  }
}

/** Parses a rule; throws `CelUnsupported` naming what is outside the subset. */
export function parseRule(src: string): CelAst {
  return new Parser(tokenize(src)).parse();
}

/** Whether the expression reads `oldSelf` (a transition rule, evaluated on updates only). */
export function usesOldSelf(e: CelAst): boolean {
  switch (e.k) {
    case 'lit':
      return false;
    case 'ident':
      return e.name === 'oldSelf';
    case 'select':
    case 'has':
      return usesOldSelf(e.target);
    case 'index':
      return usesOldSelf(e.target) || usesOldSelf(e.index);
    case 'size':
    case 'not':
    case 'neg':
      return usesOldSelf(e.arg);
    case 'bin':
      return usesOldSelf(e.l) || usesOldSelf(e.r);
    case 'cond':
      return usesOldSelf(e.c) || usesOldSelf(e.t) || usesOldSelf(e.f);
  }
}

export interface CelVars {
  readonly self: Json;
  readonly oldSelf?: Json;
}

function typeName(v: Json): string {
  if (v === null) return 'null_type';
  if (Array.isArray(v)) return 'list';
  if (isObject(v)) return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

function equal(a: Json, b: Json): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => b[k] !== undefined && equal(a[k]!, b[k]!));
  }
  return a === b;
}

function bool(v: Json, what: string): boolean {
  if (typeof v !== 'boolean') throw new CelEvalError(`no such overload: ${what} on ${typeName(v)}`);
  return v;
}

/** Evaluates `e`; throws `CelEvalError` when the expression does not apply to the value. */
export function evaluate(e: CelAst, vars: CelVars): Json {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'ident': {
      const v = e.name === 'self' ? vars.self : vars.oldSelf;
      if (v === undefined) throw new CelEvalError(`no such attribute: ${e.name}`);
      return v;
    }
    case 'select': {
      const t = evaluate(e.target, vars);
      if (!isObject(t)) throw new CelEvalError(`no such overload: field selection on ${typeName(t)}`);
      const v = t[e.field];
      if (v === undefined) throw new CelEvalError(`no such key: ${e.field}`);
      return v;
    }
    case 'index': {
      const t = evaluate(e.target, vars);
      const i = evaluate(e.index, vars);
      if (Array.isArray(t) && typeof i === 'number') {
        if (!Number.isInteger(i) || i < 0 || i >= t.length) throw new CelEvalError(`index out of bounds: ${i}`);
        return t[i]!;
      }
      if (isObject(t) && typeof i === 'string') {
        if (t[i] === undefined) throw new CelEvalError(`no such key: ${i}`);
        return t[i]!;
      }
      throw new CelEvalError(`no such overload: index ${typeName(t)}[${typeName(i)}]`);
    }
    case 'has': {
      const t = evaluate(e.target, vars);
      if (!isObject(t)) throw new CelEvalError(`no such overload: has() on ${typeName(t)}`);
      return t[e.field] !== undefined;
    }
    case 'size': {
      const v = evaluate(e.arg, vars);
      if (typeof v === 'string') return [...v].length;
      if (Array.isArray(v)) return v.length;
      if (isObject(v)) return Object.keys(v).length;
      throw new CelEvalError(`no such overload: size(${typeName(v)})`);
    }
    case 'not':
      return !bool(evaluate(e.arg, vars), '!_');
    case 'neg': {
      const v = evaluate(e.arg, vars);
      if (typeof v !== 'number') throw new CelEvalError(`no such overload: -_ on ${typeName(v)}`);
      return -v;
    }
    case 'cond':
      return bool(evaluate(e.c, vars), '_?_:_') ? evaluate(e.t, vars) : evaluate(e.f, vars);
    case 'bin':
      return binary(e.op, e.l, e.r, vars);
  }
}

function attempt(e: CelAst, vars: CelVars): { v: Json } | { err: CelEvalError } {
  try {
    return { v: evaluate(e, vars) };
  } catch (err: unknown) {
    if (err instanceof CelEvalError) return { err };
    throw err;
  }
}

function binary(op: BinOp, le: CelAst, re: CelAst, vars: CelVars): Json {
  if (op === '&&' || op === '||') {
    const short = op === '||';
    const l = attempt(le, vars);
    if ('v' in l && bool(l.v, `_${op}_`) === short) return short;
    const r = attempt(re, vars);
    if ('v' in r && bool(r.v, `_${op}_`) === short) return short;
    if ('err' in l) throw l.err;
    if ('err' in r) throw r.err;
    return !short;
  }
  const l = evaluate(le, vars);
  const r = evaluate(re, vars);
  if (op === '==') return equal(l, r);
  if (op === '!=') return !equal(l, r);
  if (op === '+') {
    if (typeof l === 'number' && typeof r === 'number') return l + r;
    if (typeof l === 'string' && typeof r === 'string') return l + r;
    if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
    throw new CelEvalError(`no such overload: ${typeName(l)} + ${typeName(r)}`);
  }
  if (op === '-') {
    if (typeof l === 'number' && typeof r === 'number') return l - r;
    throw new CelEvalError(`no such overload: ${typeName(l)} - ${typeName(r)}`);
  }
  const comparable = (typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string') || (typeof l === 'boolean' && typeof r === 'boolean');
  if (!comparable) throw new CelEvalError(`no such overload: ${typeName(l)} ${op} ${typeName(r)}`);
  const a = l as number | string | boolean;
  const b = r as number | string | boolean;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}
