/**
 * Recursive-descent parser for Alloy files and expressions (grammar and operator precedence as
 * in grafana/alloy `syntax/parser`). It never throws: it recovers after an error (skipping to the
 * next statement or list element) and reports every problem as a diagnostic, at most one per
 * source line so one mistake does not cascade.
 *
 * As in Alloy, every element of a multi-line list, object or call needs its comma, the last one
 * too: a newline before the closing `]`, `}` or `)` is reported as `missing ',' in expression
 * list` (or `field list`).
 *
 * Nesting deeper than `MAX_NESTING_DEPTH` (which would overflow the stack here or in later
 * recursive stages) ends the parse with a "nesting too deep" diagnostic at the offending token;
 * the rest of the input is not parsed and the returned tree is incomplete.
 *
 * A file with more than `MAX_PARSE_ERRORS` errors (garbage, a binary file) stops being parsed
 * at that point with a closing "too many errors" diagnostic, so the work and the report stay
 * bounded: parsing is linear in the input, and at most that many diagnostics are kept.
 *
 * Depends on `diag/`, `scanner/`, `ast/`.
 */
import type { Diagnostic, Position } from '../diag/diag.js';
import { Scanner, isValidIdentifier, unquoteString } from '../scanner/scanner.js';
import { binaryPrecedence, tokenText, type BinaryOp, type Token, type UnaryOp } from '../scanner/token.js';
import type * as ast from '../ast/ast.js';
import { MAX_NESTING_DEPTH } from '../ast/ast.js';

/** Thrown (and caught by the entry points) when input nests deeper than `MAX_NESTING_DEPTH`. */
const TOO_DEEP = Symbol('too deep');
/** Thrown (and caught by the entry points) after `MAX_PARSE_ERRORS` errors. */
const TOO_MANY = Symbol('too many errors');

/** Errors reported for one file before parsing stops (see the header). */
export const MAX_PARSE_ERRORS = 100;

function stopsParse(err: unknown): boolean {
  return err === TOO_DEEP || err === TOO_MANY;
}

export interface ParseResult {
  file: ast.File;
  diags: Diagnostic[];
}

export interface ExpressionResult {
  expr: ast.Expr;
  diags: Diagnostic[];
}

/** Parses a whole file. The tree is complete even with errors, but should not be evaluated then. */
export function parseFile(filename: string, source: string): ParseResult {
  const p = new Parser(filename, source);
  const start = p.posAt(0, 1, 1);
  let body: ast.Body = [];
  try {
    body = p.parseBody('EOF');
  } catch (err: unknown) {
    if (!stopsParse(err)) throw err;
  }
  const end = p.currentStart();
  return {
    file: { kind: 'File', name: filename, body, comments: p.comments, start, end },
    diags: p.diags.sort((a, b) => a.start.offset - b.start.offset),
  };
}

/**
 * `parseFile(filename, src)` for a new version of a file whose previous version `prev` (text and
 * its parse) had no diagnostics, reusing the previous syntax trees of the top-level statements
 * the edit did not touch: the statements wholly inside the common prefix of both texts, and,
 * when the edit kept the text's length and line count (so every later position is the same),
 * those wholly inside the common suffix. Only the statements in between are parsed. The result
 * is equal to `parseFile`'s (reused statements are the previous objects); whenever that cannot be
 * guaranteed (previous diagnostics, an error in the re-parsed part) it is `parseFile`'s result.
 */
export function reparseFile(filename: string, prev: { readonly src: string; readonly parsed: ParseResult }, src: string): ParseResult {
  const old = prev.src;
  const oldFile = prev.parsed.file;
  const body = oldFile.body;
  if (prev.parsed.diags.length > 0 || oldFile.name !== filename || body.length < 2) return parseFile(filename, src);
  if (old === src) return prev.parsed;
  const max = Math.min(old.length, src.length);
  let prefix = 0;
  while (prefix < max && old.charCodeAt(prefix) === src.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && old.charCodeAt(old.length - 1 - suffix) === src.charCodeAt(src.length - 1 - suffix)) suffix++;

  // Statements 0..k-1 are reused: each is followed by a statement that starts inside the prefix,
  // so the statement and what ends it are unchanged text at unchanged positions.
  let k = 0;
  while (k + 1 < body.length && body[k + 1]!.start.offset < prefix) k++;
  // Statements j.. are reused when positions after the edit did not move: the statement before
  // each ends inside the suffix, so the newline ending it is unchanged text.
  let j = body.length;
  const samePositions = old.length === src.length && countNewlines(old, prefix, old.length - suffix) === countNewlines(src, prefix, src.length - suffix);
  if (samePositions) {
    j = k + 1;
    while (j < body.length && body[j - 1]!.end.offset < old.length - suffix) j++;
  }
  // With nothing reused before the edit, parse from the file's beginning (leading comments, BOM).
  const from = k > 0 ? body[k]!.start : { offset: 0, line: 1, column: 1 };
  const to = j < body.length ? body[j]!.start.offset : src.length;
  const p = new Parser(filename, to === src.length ? src : src.slice(0, to), { offset: from.offset, line: from.line, lineStart: from.offset - from.column + 1 });
  let middle: ast.Body;
  try {
    middle = p.parseBody('EOF');
  } catch (err: unknown) {
    if (!stopsParse(err)) throw err;
    return parseFile(filename, src);
  }
  if (p.diags.length > 0) return parseFile(filename, src);
  const tail = j < body.length;
  const comments = [
    ...oldFile.comments.filter((c) => c.end.offset <= from.offset),
    ...p.comments,
    ...(tail ? oldFile.comments.filter((c) => c.start.offset >= to) : []),
  ];
  return {
    file: { kind: 'File', name: filename, body: [...body.slice(0, k), ...middle, ...body.slice(j)], comments, start: oldFile.start, end: tail ? oldFile.end : p.currentStart() },
    diags: [],
  };
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/** Parses a single expression (used by tests and tools). */
export function parseExpression(source: string, filename = ''): ExpressionResult {
  const p = new Parser(filename, source);
  let expr: ast.Expr;
  try {
    expr = p.parseExpression();
    if (p.cur() === 'TERMINATOR') p.next();
    if (p.cur() !== 'EOF') p.errorHere(`expected ${describe('TERMINATOR')}, got ${describe(p.cur())}`);
  } catch (err: unknown) {
    if (!stopsParse(err)) throw err;
    const at = p.posAt(0, 1, 1);
    expr = { kind: 'Literal', literal: 'NULL', raw: 'null', value: null, start: at, end: at };
  }
  return { expr, diags: p.diags.sort((a, b) => a.start.offset - b.start.offset) };
}

function describe(t: Token): string {
  return tokenText(t);
}

class Parser {
  readonly #file: string;
  readonly #scanner: Scanner;
  readonly diags: Diagnostic[] = [];
  readonly comments: ast.Comment[] = [];
  #lastErrorLine = -1;
  /** Nesting level of the node being parsed (see `MAX_NESTING_DEPTH`). */
  #depth = 0;

  #tok: Token = 'EOF';
  /** Current token; a method so that TypeScript does not narrow it across `next()` calls. */
  cur(): Token {
    return this.#tok;
  }
  lit = '';
  // Current token position as numbers; Position objects are made only when a node needs them.
  #sOff = 0;
  #sLine = 1;
  #sCol = 1;
  #eOff = 0;
  #eLine = 1;
  #eCol = 1;
  #sPos: Position | undefined;
  #ePos: Position | undefined;

  /** `from`: parse from a statement boundary inside `src` (see `Scanner`). */
  constructor(file: string, src: string, from?: { readonly offset: number; readonly line: number; readonly lineStart: number }) {
    this.#file = file;
    this.#scanner = new Scanner(
      src,
      (offset, line, column, message) => {
        const pos = this.posAt(offset, line, column);
        this.#push({ severity: 'error', message, start: pos, end: pos });
      },
      from,
    );
    this.next();
  }

  posAt(offset: number, line: number, column: number): Position {
    return { file: this.#file, line, column, offset };
  }

  get #start(): Position {
    return (this.#sPos ??= { file: this.#file, line: this.#sLine, column: this.#sCol, offset: this.#sOff });
  }

  get #end(): Position {
    return (this.#ePos ??= { file: this.#file, line: this.#eLine, column: this.#eCol, offset: this.#eOff });
  }

  currentStart(): Position {
    return this.#start;
  }

  /** Scans the next non-comment token into the scanner's fields, recording comments. */
  #scanToken(): Token {
    const s = this.#scanner;
    for (;;) {
      const tok = s.scan();
      if (tok !== 'COMMENT') return tok;
      this.comments.push({
        text: s.lit,
        start: this.posAt(s.start, s.startLine, s.startCol),
        end: this.posAt(s.end, s.endLine, s.endCol),
      });
    }
  }

  next(): void {
    this.#sPos = undefined;
    this.#ePos = undefined;
    const s = this.#scanner;
    this.#tok = this.#scanToken();
    this.lit = s.lit;
    this.#sOff = s.start;
    this.#sLine = s.startLine;
    this.#sCol = s.startCol;
    this.#eOff = s.end;
    this.#eLine = s.endLine;
    this.#eCol = s.endCol;
  }

  #error(message: string, start: Position, end: Position): void {
    if (start.line === this.#lastErrorLine) return;
    this.#lastErrorLine = start.line;
    this.#push({ severity: 'error', message, start, end });
  }

  /** Records an error; the `MAX_PARSE_ERRORS`th ends the parse (throws `TOO_MANY`). */
  #push(d: Diagnostic): void {
    this.diags.push(d);
    if (this.diags.length < MAX_PARSE_ERRORS) return;
    this.diags.push({
      severity: 'error',
      message: `too many errors (${MAX_PARSE_ERRORS}): the rest of the file was not parsed; is this an Alloy configuration file?`,
      start: d.start,
      end: d.start,
    });
    throw TOO_MANY;
  }

  errorHere(message: string): void {
    this.#error(message, this.#start, this.cur() === 'TERMINATOR' ? this.#start : this.#end);
  }

  #expect(t: Token): { start: Position; end: Position; ok: boolean } {
    const r = { start: this.#start, end: this.#end, ok: this.cur() === t };
    if (!r.ok) this.errorHere(`expected ${describe(t)}, got ${describe(this.cur())}`);
    this.next();
    return r;
  }

  /**
   * Enters one nesting level at the current token; past `MAX_NESTING_DEPTH` it reports the
   * diagnostic and throws `TOO_DEEP`. Callers restore `#depth` on their normal return paths.
   */
  #enter(): void {
    if (++this.#depth <= MAX_NESTING_DEPTH) return;
    this.diags.push({
      severity: 'error',
      message: `nesting too deep (max ${MAX_NESTING_DEPTH} levels of blocks, brackets, parentheses, operators and suffixes): split the expression or flatten the blocks; the rest of the file was not parsed`,
      start: this.#start,
      end: this.#end,
    });
    throw TOO_DEEP;
  }

  #advanceTo(t: Token): void {
    while (this.cur() !== 'EOF' && this.cur() !== t) this.next();
  }

  /** Skips the rest of a statement: up to a terminator outside any bracket pair opened here. */
  #consumeStatement(): void {
    let curly = 0;
    let brack = 0;
    let paren = 0;
    while (this.cur() !== 'EOF') {
      switch (this.cur()) {
        case 'LCURLY': curly++; break;
        case 'RCURLY': curly--; break;
        case 'LBRACK': brack++; break;
        case 'RBRACK': brack--; break;
        case 'LPAREN': paren++; break;
        case 'RPAREN': paren--; break;
        default: break;
      }
      if (this.cur() === 'TERMINATOR' && curly <= 0 && brack <= 0 && paren <= 0) return;
      this.next();
    }
  }

  // Body = [ Statement { terminator Statement } ]
  parseBody(until: Token): ast.Body {
    const body: ast.Stmt[] = [];
    while (this.cur() !== until && this.cur() !== 'EOF') {
      const stmt = this.#parseStatement();
      if (stmt) body.push(stmt);
      if (this.cur() === until) break;
      if (this.cur() !== 'TERMINATOR') {
        this.errorHere(`expected ${describe('TERMINATOR')}, got ${describe(this.cur())}`);
        this.#consumeStatement();
      }
      this.next();
    }
    return body;
  }

  #parseStatement(): ast.Stmt | undefined {
    const bn = this.#parseBlockName();
    if (!bn) {
      this.#advanceTo('IDENT');
      return undefined;
    }
    switch (this.cur()) {
      case 'ASSIGN': {
        this.next();
        if (bn.fragments.length !== 1) {
          this.#error('attribute names may only consist of a single identifier with no "."', bn.start, bn.nameEnd);
        } else if (bn.labelStart && bn.labelEnd) {
          this.#error('attribute names may not have labels', bn.labelStart, bn.labelEnd);
        }
        const value = this.parseExpression();
        return {
          kind: 'Attribute',
          name: { name: bn.fragments[0] ?? '', start: bn.start, end: bn.nameEnd },
          value,
          start: bn.start,
          end: value.end,
        };
      }
      case 'LCURLY': {
        const lcurly = this.#start;
        this.#enter();
        this.next();
        const body = this.parseBody('RCURLY');
        this.#depth--;
        const r = this.#expect('RCURLY');
        return {
          kind: 'Block',
          name: bn.fragments,
          nameStart: bn.start,
          nameEnd: bn.nameEnd,
          ...(bn.label !== undefined ? { label: bn.label, labelStart: bn.labelStart, labelEnd: bn.labelEnd } : {}),
          body,
          lcurly,
          rcurly: r.start,
          start: bn.start,
          end: r.ok ? r.end : r.start,
        };
      }
      default:
        if (bn.fragments.length === 1 && bn.label === undefined) {
          this.errorHere(`expected attribute assignment or block body, got ${describe(this.cur())}`);
        } else {
          this.errorHere(`expected block body, got ${describe(this.cur())}`);
        }
        this.#advanceTo('IDENT');
        return undefined;
    }
  }

  // BlockName = identifier { "." identifier } [ string ]
  #parseBlockName():
    | { fragments: string[]; start: Position; nameEnd: Position; label?: string; labelStart?: Position; labelEnd?: Position }
    | undefined {
    if (this.cur() !== 'IDENT') {
      this.errorHere(`expected identifier, got ${describe(this.cur())}`);
      return undefined;
    }
    const fragments = [this.lit];
    const start = this.#start;
    let nameEnd = this.#end;
    this.next();
    while (this.cur() === 'DOT') {
      this.next();
      if (this.cur() !== 'IDENT') this.errorHere(`expected identifier, got ${describe(this.cur())}`);
      fragments.push(this.cur() === 'IDENT' ? this.lit : '');
      nameEnd = this.#end;
      this.next();
    }
    const res: { fragments: string[]; start: Position; nameEnd: Position; label?: string; labelStart?: Position; labelEnd?: Position } = {
      fragments,
      start,
      nameEnd,
    };
    if (this.cur() !== 'ASSIGN' && this.cur() !== 'LCURLY') {
      if (this.cur() === 'STRING') {
        if (this.lit[0] !== '"') {
          this.errorHere(`expected block label to be a double quoted string, but got ${JSON.stringify(this.lit)}`);
        }
        // As Alloy: the text between the first and last character (an unterminated label keeps
        // its last character out too), then it must be an identifier.
        const label = this.lit.length > 2 ? this.lit.slice(1, -1) : '';
        if (label !== '' && !isValidIdentifier(label)) {
          this.errorHere(`expected block label to be a valid identifier, but got ${JSON.stringify(label)}`);
        }
        res.label = label;
        res.labelStart = this.#start;
        res.labelEnd = this.#end;
      } else {
        this.errorHere(`expected block label, got ${describe(this.cur())}`);
      }
      this.next();
    }
    return res;
  }

  // Expression = BinOpExpr
  parseExpression(): ast.Expr {
    return this.#parseBinOp(1);
  }

  #parseBinOp(inPrec: number): ast.Expr {
    const base = this.#depth;
    let lhs = this.#parsePowExpr();
    for (;;) {
      const tok = this.cur();
      const prec = binaryPrecedence(tok);
      // `^` is handled (right-associatively) by parsePowExpr.
      if (prec < inPrec || prec === 0 || tok === 'POW') {
        this.#depth = base;
        return lhs;
      }
      const opStart = this.#start;
      // Each operator of a left-associative chain deepens the tree by one.
      this.#enter();
      this.next();
      const rhs = this.#parseBinOp(prec + 1);
      lhs = { kind: 'Binary', op: tok as BinaryOp, opStart, left: lhs, right: rhs, start: lhs.start, end: rhs.end };
    }
  }

  // PowExpr = UnaryExpr [ "^" PowExpr ]
  #parsePowExpr(): ast.Expr {
    const lhs = this.#parseUnaryExpr();
    if (this.cur() === 'POW') {
      const opStart = this.#start;
      this.#enter();
      this.next();
      const rhs = this.#parsePowExpr();
      this.#depth--;
      return { kind: 'Binary', op: 'POW', opStart, left: lhs, right: rhs, start: lhs.start, end: rhs.end };
    }
    return lhs;
  }

  // UnaryExpr = OperExpr | unary_op UnaryExpr
  #parseUnaryExpr(): ast.Expr {
    if (this.cur() === 'NOT' || this.cur() === 'SUB') {
      const op = this.cur() as UnaryOp;
      const start = this.#start;
      this.#enter();
      this.next();
      const value = this.#parseUnaryExpr();
      this.#depth--;
      return { kind: 'Unary', op, value, start, end: value.end };
    }
    const base = this.#depth;
    let primary = this.#parsePrimaryExpr();
    for (;;) {
      // Each suffix (`.x`, `[i]`, `(...)`) wraps the expression so far: one level deeper.
      const tok = this.cur();
      if (tok === 'DOT' || tok === 'LBRACK' || tok === 'LPAREN' || tok === 'STRING' || tok === 'LCURLY') this.#enter();
      switch (tok) {
        case 'DOT': {
          this.next();
          const nameStart = this.#start;
          const nameEnd = this.#end;
          const name = this.cur() === 'IDENT' ? this.lit : '';
          this.#expect('IDENT');
          primary = { kind: 'Access', value: primary, name: { name, start: nameStart, end: nameEnd }, start: primary.start, end: nameEnd };
          break;
        }
        case 'LBRACK': {
          const lbrack = this.#start;
          this.next();
          const index = this.parseExpression();
          const r = this.#expect('RBRACK');
          primary = { kind: 'Index', value: primary, index, lbrack, start: primary.start, end: r.ok ? r.end : index.end };
          break;
        }
        case 'LPAREN': {
          const lparen = this.#start;
          this.next();
          const args = this.cur() !== 'RPAREN' ? this.#parseExpressionList('RPAREN') : [];
          const r = this.#expect('RPAREN');
          primary = { kind: 'Call', value: primary, args, lparen, rparen: r.start, start: primary.start, end: r.ok ? r.end : r.start };
          break;
        }
        case 'STRING':
        case 'LCURLY': {
          // Probably a block written where an expression belongs: parse it to say so clearly.
          if (this.cur() === 'STRING') this.next();
          if (this.cur() !== 'LCURLY') {
            this.errorHere(`expected ${describe('LCURLY')}, got ${describe(this.cur())}`);
            this.#consumeStatement();
            this.#depth = base;
            return primary;
          }
          this.next();
          this.parseBody('RCURLY');
          if (this.cur() !== 'RCURLY') {
            this.errorHere(`expected ${describe('RCURLY')}, got ${describe(this.cur())}`);
            this.#consumeStatement();
            this.#depth = base;
            return primary;
          }
          const end = this.#end;
          this.next();
          this.#error('cannot use a block as an expression', primary.start, end);
          break;
        }
        default:
          this.#depth = base;
          return primary;
      }
    }
  }

  #parsePrimaryExpr(): ast.Expr {
    const start = this.#start;
    const end = this.#end;
    switch (this.cur()) {
      case 'IDENT': {
        const name = this.lit;
        this.next();
        return { kind: 'Identifier', name, start, end };
      }
      case 'STRING': {
        const raw = this.lit;
        this.next();
        return { kind: 'Literal', literal: 'STRING', raw, value: unquoteString(raw), start, end };
      }
      case 'NUMBER':
      case 'FLOAT': {
        const literal = this.cur() as 'NUMBER' | 'FLOAT';
        const raw = this.lit;
        this.next();
        return { kind: 'Literal', literal, raw, value: Number(raw), start, end };
      }
      case 'BOOL': {
        const raw = this.lit;
        this.next();
        return { kind: 'Literal', literal: 'BOOL', raw, value: raw === 'true', start, end };
      }
      case 'NULL':
        this.next();
        return { kind: 'Literal', literal: 'NULL', raw: 'null', value: null, start, end };
      case 'LPAREN': {
        this.#enter();
        this.next();
        const inner = this.parseExpression();
        this.#depth--;
        const r = this.#expect('RPAREN');
        return { kind: 'Paren', inner, start, end: r.ok ? r.end : inner.end };
      }
      case 'LBRACK': {
        this.#enter();
        this.next();
        const elements = this.cur() !== 'RBRACK' ? this.#parseExpressionList('RBRACK') : [];
        this.#depth--;
        const r = this.#expect('RBRACK');
        return { kind: 'Array', elements, start, rbrack: r.start, end: r.ok ? r.end : r.start };
      }
      case 'LCURLY': {
        this.#enter();
        this.next();
        const fields = this.cur() !== 'RCURLY' ? this.#parseFieldList('RCURLY') : [];
        this.#depth--;
        const r = this.#expect('RCURLY');
        return { kind: 'Object', fields, start, rcurly: r.start, end: r.ok ? r.end : r.start };
      }
      default: {
        this.errorHere(`expected expression, got ${describe(this.cur())}`);
        // Eat the rest of the element/statement.
        while (
          this.cur() !== 'EOF' &&
          this.cur() !== 'TERMINATOR' &&
          this.cur() !== 'RPAREN' &&
          this.cur() !== 'RCURLY' &&
          this.cur() !== 'RBRACK' &&
          this.cur() !== 'COMMA'
        ) {
          this.next();
        }
        return { kind: 'Literal', literal: 'NULL', raw: 'null', value: null, start, end: start };
      }
    }
  }

  // ExpressionList = Expression { "," Expression } [ "," ]
  #parseExpressionList(until: Token): ast.Expr[] {
    const exprs: ast.Expr[] = [];
    while (this.cur() !== until && this.cur() !== 'EOF') {
      exprs.push(this.parseExpression());
      if (this.cur() === until) break;
      // As Alloy: report, then step over one token and go on (each round consumes a token).
      if (this.cur() !== 'COMMA') this.errorHere("missing ',' in expression list");
      this.next();
    }
    return exprs;
  }

  // FieldList = Field { "," Field } [ "," ]
  #parseFieldList(until: Token): ast.ObjectField[] {
    const fields: ast.ObjectField[] = [];
    while (this.cur() !== until && this.cur() !== 'EOF') {
      fields.push(this.#parseField());
      if (this.cur() === until) break;
      // As Alloy: report, then step over one token and go on (each round consumes a token).
      if (this.cur() !== 'COMMA') this.errorHere("missing ',' in field list");
      this.next();
    }
    return fields;
  }

  // Field = ( string | identifier ) "=" Expression
  #parseField(): ast.ObjectField {
    let name: ast.Ident = { name: '', start: this.#start, end: this.#start };
    let quoted = false;
    if (this.cur() === 'STRING' || this.cur() === 'IDENT') {
      if (this.cur() === 'STRING') {
        quoted = true;
        name = { name: unquoteString(this.lit), start: this.#start, end: this.#end };
      } else {
        name = { name: this.lit, start: this.#start, end: this.#end };
      }
      this.next();
    } else {
      this.errorHere(`expected field name (string or identifier), got ${describe(this.cur())}`);
      this.#advanceTo('ASSIGN');
    }
    this.#expect('ASSIGN');
    const value = this.parseExpression();
    return { name, quoted, value };
  }
}
