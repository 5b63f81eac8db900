/**
 * The syntax tree. Every node carries `start` (first character) and `end` (just past the last
 * character) positions. Comments are not attached to nodes: `File.comments` lists them in source
 * order with their positions, and the printer interleaves them by position.
 * Depends only on `diag/` and `scanner/token.ts`.
 */
import type { Position } from '../diag/diag.js';
import type { BinaryOp, UnaryOp } from '../scanner/token.js';

/**
 * The deepest nesting a syntax tree or an Alloy value may have: blocks, brackets, braces,
 * parentheses, unary and binary operators, `.x`/`[i]`/`(...)` suffixes each add one level.
 * Far above real configurations, and low enough that every recursive consumer (evaluator,
 * decoder, printer, `valueToJSON`) stays well inside Node's default stack. The parser reports
 * deeper input as a diagnostic; `encoding.from_json`/`from_yaml` reject deeper values.
 */
export const MAX_NESTING_DEPTH = 200;

export interface Comment {
  /** Source text including the `//` or `/* *\/` delimiters. */
  readonly text: string;
  readonly start: Position;
  readonly end: Position;
}

export interface File {
  readonly kind: 'File';
  readonly name: string;
  readonly body: Body;
  readonly comments: Comment[];
  readonly start: Position;
  readonly end: Position;
}

/** The statements of a file or of a block, in source order. */
export type Body = Stmt[];

export type Stmt = AttributeStmt | BlockStmt;

export interface Ident {
  readonly name: string;
  readonly start: Position;
  readonly end: Position;
}

export interface AttributeStmt {
  readonly kind: 'Attribute';
  readonly name: Ident;
  readonly value: Expr;
  readonly start: Position;
  readonly end: Position;
}

export interface BlockStmt {
  readonly kind: 'Block';
  /** Dotted name fragments: `prometheus.scrape` → `['prometheus', 'scrape']`. */
  readonly name: string[];
  readonly nameStart: Position;
  readonly nameEnd: Position;
  /** The label without quotes, or undefined when the block has none. */
  readonly label?: string;
  readonly labelStart?: Position;
  readonly labelEnd?: Position;
  readonly body: Body;
  readonly lcurly: Position;
  readonly rcurly: Position;
  readonly start: Position;
  readonly end: Position;
}

export type Expr =
  | LiteralExpr
  | ArrayExpr
  | ObjectExpr
  | IdentifierExpr
  | AccessExpr
  | IndexExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr
  | ParenExpr;

export type LiteralKind = 'NUMBER' | 'FLOAT' | 'STRING' | 'BOOL' | 'NULL';

export interface LiteralExpr {
  readonly kind: 'Literal';
  readonly literal: LiteralKind;
  /** Source text as written (strings keep their quotes). */
  readonly raw: string;
  /** Decoded value. */
  readonly value: number | string | boolean | null;
  readonly start: Position;
  readonly end: Position;
}

export interface ArrayExpr {
  readonly kind: 'Array';
  readonly elements: Expr[];
  readonly start: Position; // '['
  readonly end: Position; // after ']'
  readonly rbrack: Position;
}

export interface ObjectField {
  readonly name: Ident;
  /** True when the key was written as a quoted string. */
  readonly quoted: boolean;
  readonly value: Expr;
}

export interface ObjectExpr {
  readonly kind: 'Object';
  readonly fields: ObjectField[];
  readonly start: Position;
  readonly end: Position;
  readonly rcurly: Position;
}

export interface IdentifierExpr {
  readonly kind: 'Identifier';
  readonly name: string;
  readonly start: Position;
  readonly end: Position;
}

export interface AccessExpr {
  readonly kind: 'Access';
  readonly value: Expr;
  readonly name: Ident;
  readonly start: Position;
  readonly end: Position;
}

export interface IndexExpr {
  readonly kind: 'Index';
  readonly value: Expr;
  readonly index: Expr;
  readonly lbrack: Position;
  readonly start: Position;
  readonly end: Position;
}

export interface CallExpr {
  readonly kind: 'Call';
  readonly value: Expr;
  readonly args: Expr[];
  readonly lparen: Position;
  readonly rparen: Position;
  readonly start: Position;
  readonly end: Position;
}

export interface UnaryExpr {
  readonly kind: 'Unary';
  readonly op: UnaryOp;
  readonly value: Expr;
  readonly start: Position;
  readonly end: Position;
}

export interface BinaryExpr {
  readonly kind: 'Binary';
  readonly op: BinaryOp;
  readonly opStart: Position;
  readonly left: Expr;
  readonly right: Expr;
  readonly start: Position;
  readonly end: Position;
}

export interface ParenExpr {
  readonly kind: 'Paren';
  readonly inner: Expr;
  readonly start: Position;
  readonly end: Position;
}

export type Node = File | Stmt | Expr;

/** The dotted name of a block: `prometheus.scrape`. */
export function blockName(b: BlockStmt): string {
  return b.name.join('.');
}

/** The component-style id of a block: `prometheus.scrape.node` (name plus label when present). */
export function blockId(b: BlockStmt): string {
  return b.label ? `${b.name.join('.')}.${b.label}` : b.name.join('.');
}
