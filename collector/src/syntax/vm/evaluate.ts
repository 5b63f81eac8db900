/**
 * The expression evaluator. `evaluate` walks an expression tree against a `Scope` and returns a
 * `Value`, or throws a `DiagnosticsError` whose single diagnostic points at the offending
 * sub-expression and says what was expected and what was found (Alloy's wording:
 * `"x" should be number, got string`).
 *
 * Numbers are JS doubles; integer semantics (`5 / 2 == 2`) apply when both operands are
 * integers and neither came from a float literal, as Alloy keeps ints and floats apart.
 */
import { DiagnosticsError, type Position } from '../diag/diag.js';
import type * as ast from '../ast/ast.js';
import { quoteString } from '../scanner/scanner.js';
import { tokenText } from '../scanner/token.js';
import { Scope, UNBOUND } from './scope.js';
import { Secret, isPlainObject, typeOf, valuesEqual, type AlloyFunction, type Value, type ValueObject, type ValueType } from './value.js';

/**
 * Thrown by functions to blame one argument; the evaluator reports it at that argument.
 * `index` is 0-based.
 */
export class ArgError extends Error {
  readonly index: number;
  /** The offending element of an array argument (0-based), when the problem is one element. */
  readonly element: number | undefined;
  constructor(index: number, message: string, element?: number) {
    super(message);
    this.name = 'ArgError';
    this.index = index;
    this.element = element;
  }
}

/** An Alloy type error: `expected` vs the actual value's type. */
export function typeError(expected: ValueType | string, v: unknown): string {
  return `should be ${expected}, got ${typeOf(v)}`;
}

function fail(message: string, node: { start: Position; end: Position }): never {
  throw new DiagnosticsError([{ severity: 'error', message, start: node.start, end: node.end }]);
}

/** Evaluates `expr` in `scope`. Throws `DiagnosticsError` on any evaluation error. */
export function evaluate(expr: ast.Expr, scope: Scope): Value {
  return ev(expr, scope);
}

/** True if the expression is statically a float (contains a float literal in its arithmetic). */
function staticFloat(e: ast.Expr): boolean {
  switch (e.kind) {
    case 'Literal':
      return e.literal === 'FLOAT';
    case 'Paren':
      return staticFloat(e.inner);
    case 'Unary':
      return staticFloat(e.value);
    case 'Binary':
      return staticFloat(e.left) || staticFloat(e.right);
    default:
      return false;
  }
}

function ev(e: ast.Expr, scope: Scope): Value {
  switch (e.kind) {
    case 'Literal':
      return e.value;
    case 'Identifier': {
      const v = scope.resolve(e.name);
      if (v === UNBOUND) fail(`identifier ${JSON.stringify(e.name)} does not exist`, e);
      return v;
    }
    case 'Array': {
      const out: Value[] = new Array(e.elements.length);
      for (let i = 0; i < e.elements.length; i++) out[i] = ev(e.elements[i]!, scope);
      return out;
    }
    case 'Object': {
      const out: ValueObject = {};
      for (const f of e.fields) {
        const v = ev(f.value, scope);
        // `__proto__` is an ordinary key in Alloy; define it as an own property.
        if (f.name.name === '__proto__') Object.defineProperty(out, '__proto__', { value: v, enumerable: true, writable: true, configurable: true });
        else out[f.name.name] = v;
      }
      return out;
    }
    case 'Paren':
      return ev(e.inner, scope);
    case 'Access': {
      const v = ev(e.value, scope);
      if (isPlainObject(v)) {
        if (!Object.prototype.hasOwnProperty.call(v, e.name.name)) {
          fail(`field ${JSON.stringify(e.name.name)} does not exist`, e.name);
        }
        return v[e.name.name] as Value;
      }
      // Capsules expose their own enumerable data properties (component exports objects).
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Secret)) {
        if (Object.prototype.hasOwnProperty.call(v, e.name.name)) return (v as Record<string, Value>)[e.name.name] as Value;
        fail(`field ${JSON.stringify(e.name.name)} does not exist`, e.name);
      }
      fail(`${exprText(e.value)} ${typeError('object', v)}`, e.value);
    }
    case 'Index': {
      const v = ev(e.value, scope);
      const idx = ev(e.index, scope);
      if (Array.isArray(v)) {
        if (typeof idx !== 'number') fail(`${exprText(e.index)} ${typeError('number', idx)}`, e.index);
        if (!Number.isInteger(idx) || idx < 0 || idx >= v.length) {
          fail(`index ${idx} is out of range of array with length ${v.length}`, e.index);
        }
        return v[idx] as Value;
      }
      if (isPlainObject(v)) {
        if (typeof idx !== 'string') fail(`${exprText(e.index)} ${typeError('string', idx)}`, e.index);
        return Object.prototype.hasOwnProperty.call(v, idx) ? (v[idx] as Value) : null;
      }
      fail(`${exprText(e.value)} should be array or object, got ${typeOf(v)}`, e.value);
    }
    case 'Call': {
      const fn = ev(e.value, scope);
      if (typeof fn !== 'function') fail(`${exprText(e.value)} ${typeError('function', fn)}`, e.value);
      const args: Value[] = new Array(e.args.length);
      for (let i = 0; i < e.args.length; i++) args[i] = ev(e.args[i]!, scope);
      try {
        const r = (fn as AlloyFunction)(...args);
        return r === undefined ? null : r;
      } catch (err: unknown) {
        if (err instanceof DiagnosticsError) throw err;
        const name = exprText(e.value);
        if (err instanceof ArgError) {
          const arg = e.args[err.index];
          if (arg && err.message.startsWith('should be ')) {
            // A type error names the value as Alloy does: `"a" should be array, got string`,
            // the element itself when it is written in an array literal.
            if (err.element === undefined) fail(`${exprText(arg)} ${err.message}`, arg);
            const el = arg.kind === 'Array' ? arg.elements[err.element] : undefined;
            if (el) fail(`${exprText(el)} ${err.message}`, el);
            fail(`${exprText(arg)}[${err.element}] ${err.message}`, arg);
          }
          fail(`invalid argument ${err.index + 1} to ${name}: ${err.message}`, arg ?? e);
        }
        // As Alloy: the function as written, then its error (`encoding.to_json jsonEncode only supports map`).
        fail(`${name} ${err instanceof Error ? err.message : String(err)}`, e);
      }
    }
    case 'Unary': {
      const v = ev(e.value, scope);
      if (e.op === 'NOT') {
        if (typeof v !== 'boolean') fail(`${exprText(e.value)} ${typeError('bool', v)}`, e.value);
        return !v;
      }
      if (typeof v !== 'number') fail(`${exprText(e.value)} ${typeError('number', v)}`, e.value);
      return -v;
    }
    case 'Binary':
      return evalBinary(e, scope);
  }
}

const ALLOWED: Record<ast.BinaryExpr['op'], readonly ValueType[]> = {
  OR: ['bool'],
  AND: ['bool'],
  EQ: [],
  NEQ: [],
  ADD: ['number', 'string', 'capsule'],
  SUB: ['number'],
  MUL: ['number'],
  DIV: ['number'],
  MOD: ['number'],
  POW: ['number'],
  LT: ['number', 'string'],
  GT: ['number', 'string'],
  LTE: ['number', 'string'],
  GTE: ['number', 'string'],
};

function evalBinary(e: ast.BinaryExpr, scope: Scope): Value {
  // && and || short-circuit.
  if (e.op === 'AND' || e.op === 'OR') {
    const l = ev(e.left, scope);
    if (typeof l !== 'boolean') fail(`${exprText(e.left)} should be one of [bool] for binop ${tokenText(e.op)}, got ${typeOf(l)}`, e.left);
    if (e.op === 'AND' ? !l : l) return l;
    const r = ev(e.right, scope);
    if (typeof r !== 'boolean') fail(`${exprText(e.right)} should be one of [bool] for binop ${tokenText(e.op)}, got ${typeOf(r)}`, e.right);
    return r;
  }
  let l = ev(e.left, scope);
  let r = ev(e.right, scope);
  if (e.op === 'EQ') return valuesEqual(l, r);
  if (e.op === 'NEQ') return !valuesEqual(l, r);

  // A string combined with a secret becomes a secret.
  if (l instanceof Secret && typeof r === 'string') r = new Secret(r);
  else if (r instanceof Secret && typeof l === 'string') l = new Secret(l);

  const allowed = ALLOWED[e.op];
  const lt = typeOf(l);
  const rt = typeOf(r);
  const sym = tokenText(e.op);
  if (!allowed.includes(lt) || (lt === 'capsule' && !(l instanceof Secret))) {
    fail(`${exprText(e.left)} should be one of [${allowed.join(' ')}] for binop ${sym}, got ${lt}`, e.left);
  }
  if (!allowed.includes(rt) || (rt === 'capsule' && !(r instanceof Secret))) {
    fail(`${exprText(e.right)} should be one of [${allowed.join(' ')}] for binop ${sym}, got ${rt}`, e.right);
  }
  if (lt !== rt) fail(`${exprText(e.right)} ${typeError(lt, r)}`, e.right);

  if (l instanceof Secret && r instanceof Secret) return new Secret(l.reveal() + r.reveal());
  if (typeof l === 'string') {
    const rs = r as string;
    switch (e.op) {
      case 'ADD': return l + rs;
      case 'LT': return l < rs;
      case 'GT': return l > rs;
      case 'LTE': return l <= rs;
      case 'GTE': return l >= rs;
      default: break;
    }
  }
  const a = l as number;
  const b = r as number;
  const isInt = Number.isInteger(a) && Number.isInteger(b) && !staticFloat(e.left) && !staticFloat(e.right);
  switch (e.op) {
    case 'ADD': return a + b;
    case 'SUB': return a - b;
    case 'MUL': return a * b;
    case 'DIV':
      if (b === 0) fail('divide by zero error', e.right);
      return isInt ? Math.trunc(a / b) : a / b;
    case 'MOD':
      if (b === 0) fail('divide by zero error', e.right);
      return a % b;
    case 'POW':
      return a ** b;
    case 'LT': return a < b;
    case 'GT': return a > b;
    case 'LTE': return a <= b;
    case 'GTE': return a >= b;
    default:
      fail(`unsupported binary operator ${sym}`, e);
  }
}

/** A short one-line rendering of an expression for messages (long arrays/objects are elided). */
export function exprText(e: ast.Expr, depth = 0): string {
  switch (e.kind) {
    case 'Literal':
      return e.literal === 'STRING' ? quoteString(e.value as string) : e.raw;
    case 'Identifier':
      return e.name;
    case 'Access':
      return `${exprText(e.value, depth)}.${e.name.name}`;
    case 'Index':
      return `${exprText(e.value, depth)}[${exprText(e.index, depth + 1)}]`;
    case 'Call':
      return `${exprText(e.value, depth)}(${depth > 2 ? '...' : e.args.map((a) => exprText(a, depth + 1)).join(', ')})`;
    case 'Paren':
      return `(${exprText(e.inner, depth)})`;
    case 'Unary':
      return `${tokenText(e.op)}${exprText(e.value, depth)}`;
    case 'Binary':
      return `${exprText(e.left, depth)} ${tokenText(e.op)} ${exprText(e.right, depth)}`;
    case 'Array':
      if (depth > 1 || e.elements.length > 8) return '[...]';
      return `[${e.elements.map((x) => exprText(x, depth + 1)).join(', ')}]`;
    case 'Object':
      if (depth > 1 || e.fields.length > 8) return '{...}';
      return `{${e.fields.map((f) => `${f.quoted ? quoteString(f.name.name) : f.name.name} = ${exprText(f.value, depth + 1)}`).join(', ')}}`;
  }
}
