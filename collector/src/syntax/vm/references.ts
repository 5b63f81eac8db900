/**
 * Reference collection for dependency analysis. `collectReferences` returns every identifier or
 * field-access chain (`prometheus.remote_write.to_proxy.receiver` → its path) used by an
 * expression, statement or body, in source order. Matching a path against component ids
 * (longest prefix) is the runtime's job; standard-library paths (`sys.env`) are included too.
 * `callsFunction` tells whether an expression or body calls a function anywhere (its value is
 * then known only by evaluating it).
 */
import type { Position } from '../diag/diag.js';
import type * as ast from '../ast/ast.js';

export interface Reference {
  readonly path: string[];
  readonly start: Position;
  readonly end: Position;
}

export function collectReferences(node: ast.Expr | ast.Stmt | ast.Body | ast.File): Reference[] {
  const out: Reference[] = [];
  if (Array.isArray(node)) walkBody(node, out);
  else if (node.kind === 'File') walkBody(node.body, out);
  else if (node.kind === 'Attribute') walkExpr(node.value, out);
  else if (node.kind === 'Block') walkBody(node.body, out);
  else walkExpr(node, out);
  return out;
}

function walkBody(body: ast.Body, out: Reference[]): void {
  for (const s of body) {
    if (s.kind === 'Attribute') walkExpr(s.value, out);
    else walkBody(s.body, out);
  }
}

function walkExpr(e: ast.Expr, out: Reference[]): void {
  switch (e.kind) {
    case 'Literal':
      return;
    case 'Identifier':
      out.push({ path: [e.name], start: e.start, end: e.end });
      return;
    case 'Access': {
      const names: string[] = [];
      let cur: ast.Expr = e;
      while (cur.kind === 'Access') {
        names.push(cur.name.name);
        cur = cur.value;
      }
      if (cur.kind === 'Identifier') {
        names.push(cur.name);
        out.push({ path: names.reverse(), start: e.start, end: e.end });
      } else walkExpr(cur, out);
      return;
    }
    case 'Index':
      walkExpr(e.value, out);
      walkExpr(e.index, out);
      return;
    case 'Call':
      walkExpr(e.value, out);
      for (const a of e.args) walkExpr(a, out);
      return;
    case 'Array':
      for (const x of e.elements) walkExpr(x, out);
      return;
    case 'Object':
      for (const f of e.fields) walkExpr(f.value, out);
      return;
    case 'Paren':
      walkExpr(e.inner, out);
      return;
    case 'Unary':
      walkExpr(e.value, out);
      return;
    case 'Binary':
      walkExpr(e.left, out);
      walkExpr(e.right, out);
      return;
  }
}

/** True if `node` (an expression, or a body with its nested blocks) calls a function anywhere. */
export function callsFunction(node: ast.Expr | ast.Body): boolean {
  if (Array.isArray(node)) return node.some((s) => (s.kind === 'Attribute' ? callsFunction(s.value) : callsFunction(s.body)));
  const e = node as ast.Expr;
  switch (e.kind) {
    case 'Call':
      return true;
    case 'Literal':
    case 'Identifier':
      return false;
    case 'Access':
    case 'Unary':
      return callsFunction(e.value);
    case 'Index':
      return callsFunction(e.value) || callsFunction(e.index);
    case 'Array':
      return e.elements.some((x) => callsFunction(x));
    case 'Object':
      return e.fields.some((f) => callsFunction(f.value));
    case 'Paren':
      return callsFunction(e.inner);
    case 'Binary':
      return callsFunction(e.left) || callsFunction(e.right);
  }
}
