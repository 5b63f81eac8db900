/**
 * The canonical formatter (`alloy fmt`). Layout rules follow grafana/alloy `syntax/printer`:
 * tab indentation; `=` aligned across runs of consecutive attributes and object fields (elastic
 * tabstops, see `tabwriter.ts`); a blank line before every block that follows another statement;
 * at most one blank line kept from the source; arrays, objects and call arguments keep their
 * one-line or multi-line shape, with a trailing comma added when the closer is on its own line;
 * comments kept where they were (leading, trailing and inside expressions), interleaved with the
 * tokens by source position. Output is idempotent: format(format(x)) === format(x).
 *
 * Depends on `parser/`, `ast/`, `diag/`, `scanner/`.
 */
import type { Diagnostic } from '../diag/diag.js';
import type * as ast from '../ast/ast.js';
import { parseFile } from '../parser/parser.js';
import { quoteString } from '../scanner/scanner.js';
import { tokenText } from '../scanner/token.js';
import { ESC, tabwrite } from './tabwriter.js';

export interface FormatResult {
  /** The formatted source; absent when the input has syntax errors. */
  text?: string;
  diags: Diagnostic[];
}

/** Formats Alloy source. Returns the parse diagnostics (and no text) when it does not parse. */
export function format(source: string, filename = ''): FormatResult {
  const { file, diags } = parseFile(filename, source);
  if (diags.some((d) => d.severity === 'error')) return { diags };
  return { text: printFile(file), diags };
}

const MISSING_COMMA = /^missing ',' in (expression|field) list$/;

/**
 * The source with the commas Alloy requires inserted where the parser reports them missing (a
 * multi-line list written without the comma after its last element, as some documentation
 * prints it), or undefined when the source has other errors or still does not parse.
 */
export function addMissingCommas(source: string, filename = ''): string | undefined {
  let src = source;
  // One pass per missing comma on a line at most (the parser reports one error per line).
  for (let pass = 0; pass < 64; pass++) {
    const errors = parseFile(filename, src).diags.filter((d) => d.severity === 'error');
    if (errors.length === 0) return pass === 0 ? undefined : src;
    if (!errors.every((d) => MISSING_COMMA.test(d.message))) return undefined;
    for (const d of [...errors].sort((a, b) => b.start.offset - a.start.offset)) {
      src = src.slice(0, d.start.offset) + ',' + src.slice(d.start.offset);
    }
  }
  return undefined;
}

/** Prints a parsed file in canonical form (ends with exactly one newline unless empty). */
export function printFile(file: ast.File): string {
  const p = new Printer(file.comments);
  new Walker(p).walkStmts(file.body);
  p.finish();
  const text = tabwrite(p.output()).replace(/\n+$/, '');
  return text === '' ? '' : `${text}\n`;
}

/** Prints one expression (no comments) in canonical form, at the given indentation depth. */
export function printExpr(expr: ast.Expr): string {
  const p = new Printer([]);
  new Walker(p).walkExpr(expr);
  p.finish();
  return tabwrite(p.output());
}

interface Pos {
  line: number;
  column: number;
  offset: number;
}

type WS = ' ' | '\v' | '\n' | '\f' | '>' | '<' | '';
const WS_IGNORE: WS = '';

type LastTok = 'NUMBER' | 'DIV' | 'OTHER' | 'WS';

const MAX_NEWLINES = 2;

class Printer {
  readonly #comments: ast.Comment[];
  #ci = 0;
  #out: string[] = [];
  #outLen = 0;
  #indent = 0;
  #lastTok: LastTok = 'OTHER';
  #ws: WS[] = [];
  // Approximate position in source (AST) space: line and offset (columns are not needed).
  #posLine = 1;
  #posOff = 0;
  /** Source line of the last text written (0 before any). */
  #lastLine = 0;
  /** Output column, to know when a line starts and needs indentation. */
  #outCol = 1;

  constructor(comments: ast.Comment[]) {
    this.#comments = comments;
  }

  output(): string {
    return this.#out.join('');
  }

  ws(a: WS, b?: WS): void {
    this.#ws.push(a);
    if (b !== undefined) this.#ws.push(b);
    this.#lastTok = 'WS';
  }

  setPos(p: Pos | undefined): void {
    if (p) {
      this.#posLine = p.line;
      this.#posOff = p.offset;
    }
  }

  /** Writes a token or literal text. `kind` drives the "tokens must not merge" rule. */
  text(s: string, kind: LastTok = 'OTHER', verbatim = false): void {
    if (this.#lastTok === 'NUMBER' && s.charCodeAt(0) === 46) this.#forceBlank();
    else if (this.#lastTok === 'DIV' && s.charCodeAt(0) === 42) this.#forceBlank();
    this.#lastTok = kind;
    const line = this.#posLine;
    const off = this.#posOff;
    this.#flush(line, off, false);
    this.#writeString(line, off, s, verbatim);
  }

  #forceBlank(): void {
    if (this.#ws.length === 0) this.#ws.push(' ');
  }

  finish(): void {
    this.#flush(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  }

  #commentBefore(nextOff: number): boolean {
    const c = this.#comments[this.#ci];
    return c !== undefined && c.start.offset <= nextOff;
  }

  #flush(nextLine: number, nextOff: number, eof: boolean): void {
    if (this.#commentBefore(nextOff)) this.#injectComments(nextLine, nextOff, eof);
    else if (!eof && this.#ws.length > 0) this.#writeWhitespace(this.#ws.length);
  }

  #injectComments(nextLine: number, nextOff: number, eof: boolean): void {
    let lastComment: ast.Comment | undefined;
    while (this.#commentBefore(nextOff)) {
      const c = this.#comments[this.#ci++]!;
      this.#writeCommentPrefix(nextLine, c);
      this.#writeString(c.start.line, c.start.offset, c.text, true);
      // Multi-line block comments move the source position to their end line.
      this.#lastLine = c.end.line;
      this.#posLine = c.end.line;
      this.#posOff = c.end.offset;
      lastComment = c;
    }
    if (lastComment) this.#writeCommentSuffix(nextLine, eof, lastComment);
  }

  #writeCommentPrefix(nextLine: number, c: ast.Comment): void {
    if (this.#outLen === 0) return;
    if (c.start.line === this.#lastLine) {
      // Trailing comment: a tab separates it from the code (its own column), or a space when
      // code follows on the same line (a block comment).
      this.#writeByte(c.start.line === nextLine ? ' ' : '\t', 1);
      return;
    }
    let wsCount = 0;
    for (let i = 0; i < this.#ws.length; i++) {
      const w = this.#ws[i]!;
      if (w === '>' || w === '<') continue;
      if (w === ' ' || w === '\v' || w === '\n' || w === '\f') this.#ws[i] = WS_IGNORE;
      wsCount = i;
      break;
    }
    this.#writeWhitespace(wsCount);
    const newlines = this.#lastLine > 0 ? c.start.line - this.#lastLine : 0;
    if (newlines > 0) this.#writeByte('\f', Math.min(newlines, MAX_NEWLINES));
  }

  #writeCommentSuffix(nextLine: number, eof: boolean, lastComment: ast.Comment): void {
    if (eof) return;
    if (lastComment.text[1] === '*' && nextLine === lastComment.end.line) this.#writeByte(' ', 1);
    const newlines = nextLine - this.#lastLine;
    let droppedFF = false;
    for (let i = 0; i < this.#ws.length; i++) {
      const w = this.#ws[i]!;
      if (w === ' ' || w === '\v') this.#ws[i] = WS_IGNORE;
      else if (w === '\n' || w === '\f') {
        if (w === '\f') droppedFF = true;
        this.#ws[i] = WS_IGNORE;
      }
    }
    this.#writeWhitespace(this.#ws.length);
    if (newlines > 0) this.#writeByte(droppedFF ? '\f' : '\n', Math.min(newlines, MAX_NEWLINES));
  }

  #append(s: string): void {
    this.#out.push(s);
    this.#outLen += s.length;
  }

  #writeString(line: number, off: number, s: string, verbatim: boolean): void {
    if (this.#outCol === 1) this.#writeIndent();
    this.#posLine = line;
    this.#posOff = off;
    this.#append(verbatim ? ESC + s + ESC : s);
    let newlines = 0;
    let lastNl = -1;
    if (verbatim || s.charCodeAt(0) === 96) {
      for (let i = 0; i < s.length; i++) {
        const ch = s.charCodeAt(i);
        if (ch === 10 || ch === 12) {
          newlines++;
          lastNl = i;
        }
      }
    }
    this.#posOff += s.length;
    if (newlines > 0) {
      this.#posLine += newlines;
      this.#outCol = s.length - lastNl;
    } else {
      this.#outCol += s.length;
    }
    this.#lastLine = this.#posLine;
  }

  #writeIndent(): void {
    const depth = this.#indent;
    if (depth > 0) this.#append(TABS[depth] ?? '\t'.repeat(depth));
    this.#posOff += depth;
    this.#outCol += depth;
  }

  #writeByte(ch: string, n: number): void {
    if (this.#outCol === 1) this.#writeIndent();
    this.#append(n === 1 ? ch : ch.repeat(n));
    this.#posOff += n;
    if (ch === '\n' || ch === '\f') {
      this.#posLine += n;
      this.#outCol = 1;
      return;
    }
    this.#outCol += n;
  }

  #writeWhitespace(n: number): void {
    for (let i = 0; i < n; i++) {
      const w = this.#ws[i]!;
      switch (w) {
        case '':
          break;
        case '>':
          this.#indent++;
          break;
        case '<':
          this.#indent = Math.max(0, this.#indent - 1);
          break;
        default:
          this.#writeByte(w, 1);
      }
    }
    if (n === this.#ws.length) this.#ws.length = 0;
    else this.#ws.splice(0, n);
  }
}

const TABS = ['', '\t', '\t\t', '\t\t\t', '\t\t\t\t', '\t\t\t\t\t', '\t\t\t\t\t\t'];

function lines(n: { start: Pos; end: Pos }): number {
  return n.end.line - n.start.line + 1;
}

function differentLines(a: Pos, b: Pos): boolean {
  return a.line !== b.line;
}

/** Last position covered by a node (inclusive), so single-line checks match Alloy's. */
function endOf(n: { end: Pos }): Pos {
  return n.end;
}

class Walker {
  readonly #p: Printer;

  constructor(p: Printer) {
    this.#p = p;
  }

  walkStmts(ss: ast.Stmt[]): void {
    for (let i = 0; i < ss.length; i++) {
      const s = ss[i]!;
      let added = false;
      if (i > 0 && s.kind === 'Block') {
        this.#p.ws('\f');
        added = true;
      }
      if (i > 0 && !added && s.start.line - endOf(ss[i - 1]!).line > 1) this.#p.ws('\f');
      if (s.kind === 'Attribute') this.#walkAttribute(s);
      else this.#walkBlock(s);
      this.#p.ws(lines(s) > 1 ? '\f' : '\n');
    }
  }

  #walkAttribute(s: ast.AttributeStmt): void {
    this.#p.setPos(s.name.start);
    this.#p.text(s.name.name);
    this.#p.ws('\v');
    this.#p.text('=');
    this.#p.ws(' ');
    this.walkExpr(s.value);
  }

  #walkBlock(s: ast.BlockStmt): void {
    this.#p.setPos(s.nameStart);
    this.#p.text(s.name.join('.'));
    if (s.label !== undefined && s.label !== '') {
      this.#p.ws(' ');
      this.#p.setPos(s.labelStart);
      this.#p.text(quoteString(s.label));
    }
    this.#p.ws(' ');
    this.#p.setPos(s.lcurly);
    this.#p.text('{');
    this.#p.ws('>');
    if (s.body.length > 0) {
      this.#p.ws('\f');
      this.walkStmts(s.body);
    } else this.#p.ws(' ');
    this.#p.ws('<');
    this.#p.setPos(s.rcurly);
    this.#p.text('}');
  }

  walkExpr(e: ast.Expr): void {
    const p = this.#p;
    switch (e.kind) {
      case 'Literal':
        p.setPos(e.start);
        // Strings are written verbatim: a tab inside one is text, not a tabwriter cell break
        // (raw strings may also span lines).
        p.text(e.raw, e.literal === 'NUMBER' ? 'NUMBER' : 'OTHER', e.literal === 'STRING');
        return;
      case 'Identifier':
        p.setPos(e.start);
        p.text(e.name);
        return;
      case 'Access':
        this.walkExpr(e.value);
        p.text('.');
        p.setPos(e.name.start);
        p.text(e.name.name);
        return;
      case 'Index':
        this.walkExpr(e.value);
        p.setPos(e.lbrack);
        p.text('[');
        this.walkExpr(e.index);
        p.setPos(lastCharPos(e.end));
        p.text(']');
        return;
      case 'Call':
        this.#walkCall(e);
        return;
      case 'Unary':
        p.setPos(e.start);
        p.text(tokenText(e.op));
        this.walkExpr(e.value);
        return;
      case 'Binary':
        this.walkExpr(e.left);
        p.ws(' ');
        p.setPos(e.opStart);
        p.text(tokenText(e.op), e.op === 'DIV' ? 'DIV' : 'OTHER');
        p.ws(' ');
        this.walkExpr(e.right);
        return;
      case 'Paren':
        p.setPos(e.start);
        p.text('(');
        this.walkExpr(e.inner);
        p.setPos(lastCharPos(e.end));
        p.text(')');
        return;
      case 'Array':
        this.#walkArray(e);
        return;
      case 'Object':
        this.#walkObject(e);
        return;
    }
  }

  #walkArray(e: ast.ArrayExpr): void {
    const p = this.#p;
    p.setPos(e.start);
    p.text('[');
    let prev: Pos = e.start;
    for (let i = 0; i < e.elements.length; i++) {
      const el = e.elements[i]!;
      let addedNewline = false;
      if (differentLines(prev, el.start)) {
        p.ws('>', '\f');
        addedNewline = true;
      } else if (i > 0) p.ws(' ');
      prev = endOf(el);
      this.walkExpr(el);
      if (i + 1 < e.elements.length) p.text(',');
      if (addedNewline) p.ws('<');
    }
    let addedSuffix = false;
    if (e.elements.length > 0 && differentLines(prev, e.rbrack)) {
      p.text(',');
      p.ws('>', '\f');
      addedSuffix = true;
    }
    if (addedSuffix) p.ws('<');
    p.setPos(e.rbrack);
    p.text(']');
  }

  #walkObject(e: ast.ObjectExpr): void {
    const p = this.#p;
    p.setPos(e.start);
    p.text('{');
    p.ws('>');
    let prev: Pos = e.start;
    for (let i = 0; i < e.fields.length; i++) {
      const f = e.fields[i]!;
      if (differentLines(prev, f.name.start)) {
        if (i > 0 && lines(e.fields[i - 1]!.value) === 1) p.ws('\n');
        else p.ws('\f');
      } else if (i > 0) p.ws(' ');
      prev = f.name.end;
      p.setPos(f.name.start);
      p.text(f.quoted ? quoteString(f.name.name) : f.name.name);
      p.ws('\v');
      p.text('=');
      p.ws(' ');
      this.walkExpr(f.value);
      if (i + 1 < e.fields.length) p.text(',');
    }
    if (e.fields.length > 0 && differentLines(prev, e.rcurly)) {
      p.text(',');
      p.ws('\f');
    }
    p.ws('<');
    p.setPos(e.rcurly);
    p.text('}');
  }

  #walkCall(e: ast.CallExpr): void {
    const p = this.#p;
    this.walkExpr(e.value);
    p.text('(');
    let prev: Pos = e.lparen;
    for (let i = 0; i < e.args.length; i++) {
      const a = e.args[i]!;
      let addedNewline = false;
      if (differentLines(prev, a.start)) {
        p.ws('\f', '>');
        addedNewline = true;
      }
      this.walkExpr(a);
      prev = endOf(a);
      if (i + 1 < e.args.length) {
        p.text(',');
        p.ws(' ');
      }
      if (addedNewline) p.ws('<');
    }
    if (e.args.length > 0 && differentLines(prev, e.rparen)) {
      p.text(',');
      p.ws('\f');
    }
    p.setPos(e.rparen);
    p.text(')');
  }
}

function lastCharPos(end: Pos): Pos {
  return { line: end.line, column: Math.max(1, end.column - 1), offset: Math.max(0, end.offset - 1) };
}
