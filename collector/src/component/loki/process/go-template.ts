/**
 * A Go `text/template` subset for `stage.template` and `stage.replace`: text with `{{ }}` actions
 * (`{{-`/`-}}` trim markers, comments `{{/* ... *\/}}`), pipelines with `|`, parenthesised
 * sub-pipelines, fields (`.`, `.Value`, `.a.b`, `$`), string (interpreted and raw), number, bool
 * and nil literals, `if`/`else if`/`else`/`end`, `with`, `range` (over lists and maps, with
 * `else`), and these functions:
 * - Go builtins: and or not len index print printf println eq ne lt le gt ge.
 * - Alloy's: ToLower ToUpper Replace Trim TrimLeft TrimRight TrimPrefix TrimSuffix TrimSpace
 *   Hash Sha2Hash regexReplaceAll regexReplaceAllLiteral.
 * - A sprig subset: lower upper title trim trimAll trimPrefix trimSuffix replace contains
 *   hasPrefix hasSuffix default empty coalesce quote squote cat nospace repeat substr trunc
 *   splitList join toString b64enc b64dec sha256sum sha1sum regexMatch regexFind add sub mul div mod.
 *
 * Parse errors (syntax, unknown functions) are thrown by `parseGoTemplate` with Go's wording, so
 * configs fail validation; execution errors (e.g. a bad regex passed at run time) are thrown by
 * `execute` for the stage to handle.
 */
import { createHash } from 'node:crypto';
import { goFloat, goTrimSet as trimSet, sprintf } from '../../../syntax/index.js';
import { compileRe2, re2Search } from '../../../prom/regex/re2.js';
import { expand, parseTemplate } from '../../../prom/relabel/relabel.js';

export class TemplateError extends Error {}

type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; p: Pipeline }
  | { t: 'if' | 'with'; p: Pipeline; then: Node[]; else: Node[] | undefined }
  | { t: 'range'; p: Pipeline; body: Node[]; else: Node[] | undefined };

type Operand =
  | { t: 'field'; root: 'dot' | 'dollar'; path: string[] }
  | { t: 'lit'; v: unknown }
  | { t: 'fn'; name: string }
  | { t: 'sub'; p: Pipeline };

type Command = Operand[];
type Pipeline = Command[];

type Fn = (...args: unknown[]) => unknown;

const goString = (v: unknown): string => {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[' + v.map(goString).join(' ') + ']';
  if (typeof v === 'object') return 'map[' + Object.keys(v).sort().map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`).join(' ') + ']';
  return String(v);
};

const truth = (v: unknown): boolean => {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
};

const str = (fn: string, v: unknown): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return goString(v);
  throw new TemplateError(`error calling ${fn}: wrong type for value; expected string; got ${v === undefined || v === null ? '<nil>' : Array.isArray(v) ? '[]interface {}' : typeof v}`);
};

const num = (fn: string, v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new TemplateError(`error calling ${fn}: expected a number, got ${goString(v)}`);
};

function goReplace(s: string, old: string, repl: string, n: number): string {
  if (n === 0 || old === repl) return s;
  if (old === '') {
    const cps = [...s];
    let out = '';
    let k = 0;
    for (let i = 0; i <= cps.length; i++) {
      if (n < 0 || k < n) {
        out += repl;
        k++;
      }
      if (i < cps.length) out += cps[i];
    }
    return out;
  }
  if (n < 0) return s.split(old).join(repl);
  let out = '';
  let i = 0;
  for (let k = 0; k < n; k++) {
    const j = s.indexOf(old, i);
    if (j < 0) break;
    out += s.slice(i, j) + repl;
    i = j + old.length;
  }
  return out + s.slice(i);
}

function regexReplace(fn: string, re: unknown, s: unknown, repl: unknown, literal: boolean): string {
  let compiled;
  try {
    compiled = compileRe2(str(fn, re));
  } catch (err: unknown) {
    throw new TemplateError(`error calling ${fn}: ${(err as Error).message}`);
  }
  const g = re2Search(compiled, 'g');
  const tpl = literal ? undefined : parseTemplate(str(fn, repl));
  const input = str(fn, s);
  return input.replace(g, (...m: unknown[]) => {
    if (tpl === undefined) return str(fn, repl);
    const groups = m.slice(0, compiled.groupCount + 1) as (string | undefined)[];
    return expand(tpl, groups, compiled.groupNames);
  });
}

const cmp = (fn: string, a: unknown, b: unknown): number => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError(`error calling ${fn}: incompatible types for comparison`);
};

const eqValues = (a: unknown, b: unknown): boolean => {
  if (typeof a !== typeof b && !(a == null && b == null)) throw new TemplateError('error calling eq: incompatible types for comparison');
  return a === b || (a == null && b == null);
};

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export const FUNCTIONS: Readonly<Record<string, Fn>> = {
  // Go builtins ("and"/"or" are handled lazily by the evaluator; these are fallbacks).
  and: (...a) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truth(x)) ?? a[a.length - 1],
  not: (a) => !truth(a),
  len: (a) => {
    if (typeof a === 'string') return Buffer.byteLength(a);
    if (Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw new TemplateError(`error calling len: len of ${goString(a)}`);
  },
  index: (a, ...keys) => {
    let v = a;
    for (const k of keys) {
      if (Array.isArray(v)) v = v[num('index', k)];
      else if (v && typeof v === 'object') v = (v as Record<string, unknown>)[str('index', k)];
      else throw new TemplateError(`error calling index: cannot index ${goString(v)}`);
    }
    return v;
  },
  print: (...a) => a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + goString(x)).join(''),
  println: (...a) => a.map(goString).join(' ') + '\n',
  printf: (f, ...a) => sprintf(str('printf', f), a),
  eq: (a, ...b) => b.some((x) => eqValues(a, x)),
  ne: (a, b) => !eqValues(a, b),
  lt: (a, b) => cmp('lt', a, b) < 0,
  le: (a, b) => cmp('le', a, b) <= 0,
  gt: (a, b) => cmp('gt', a, b) > 0,
  ge: (a, b) => cmp('ge', a, b) >= 0,
  // Alloy's template functions.
  ToLower: (s) => str('ToLower', s).toLowerCase(),
  ToUpper: (s) => str('ToUpper', s).toUpperCase(),
  Replace: (s, o, n, c) => goReplace(str('Replace', s), str('Replace', o), str('Replace', n), num('Replace', c)),
  Trim: (s, c) => trimSet(str('Trim', s), str('Trim', c), true, true),
  TrimLeft: (s, c) => trimSet(str('TrimLeft', s), str('TrimLeft', c), true, false),
  TrimRight: (s, c) => trimSet(str('TrimRight', s), str('TrimRight', c), false, true),
  TrimPrefix: (s, p) => {
    const x = str('TrimPrefix', s);
    const pre = str('TrimPrefix', p);
    return x.startsWith(pre) ? x.slice(pre.length) : x;
  },
  TrimSuffix: (s, p) => {
    const x = str('TrimSuffix', s);
    const suf = str('TrimSuffix', p);
    return suf !== '' && x.endsWith(suf) ? x.slice(0, -suf.length) : x;
  },
  TrimSpace: (s) => str('TrimSpace', s).trim(),
  Hash: (a, b) => createHash('sha3-256').update(str('Hash', a) + str('Hash', b)).digest('hex'),
  Sha2Hash: (a, b) => createHash('sha256').update(str('Sha2Hash', a) + str('Sha2Hash', b)).digest('hex'),
  regexReplaceAll: (re, s, r) => regexReplace('regexReplaceAll', re, s, r, false),
  regexReplaceAllLiteral: (re, s, r) => regexReplace('regexReplaceAllLiteral', re, s, r, true),
  // sprig subset.
  lower: (s) => str('lower', s).toLowerCase(),
  upper: (s) => str('upper', s).toUpperCase(),
  title: (s) => str('title', s).replace(/(^|\s)(\S)/g, (_m, a: string, b: string) => a + b.toUpperCase()),
  trim: (s) => str('trim', s).trim(),
  trimAll: (c, s) => trimSet(str('trimAll', s), str('trimAll', c), true, true),
  trimPrefix: (p, s) => FUNCTIONS['TrimPrefix']!(s, p),
  trimSuffix: (p, s) => FUNCTIONS['TrimSuffix']!(s, p),
  replace: (o, n, s) => goReplace(str('replace', s), str('replace', o), str('replace', n), -1),
  contains: (sub, s) => str('contains', s).includes(str('contains', sub)),
  hasPrefix: (p, s) => str('hasPrefix', s).startsWith(str('hasPrefix', p)),
  hasSuffix: (p, s) => str('hasSuffix', s).endsWith(str('hasSuffix', p)),
  default: (d, ...v) => (v.length === 0 || !truth(v[0]) ? d : v[0]),
  empty: (v) => !truth(v),
  coalesce: (...a) => a.find(truth),
  quote: (...a) => a.filter((x) => x != null).map((x) => JSON.stringify(goString(x))).join(' '),
  squote: (...a) => a.filter((x) => x != null).map((x) => `'${goString(x)}'`).join(' '),
  cat: (...a) => a.filter((x) => x != null).map(goString).join(' '),
  nospace: (s) => str('nospace', s).replace(/\s+/g, ''),
  repeat: (n, s) => str('repeat', s).repeat(Math.max(0, num('repeat', n))),
  substr: (a, b, s) => {
    const x = str('substr', s);
    const start = num('substr', a);
    const end = num('substr', b);
    if (start < 0) return x.slice(0, end);
    if (end < 0 || end > x.length) return x.slice(start);
    return x.slice(start, end);
  },
  trunc: (n, s) => {
    const x = str('trunc', s);
    const c = num('trunc', n);
    return c >= 0 ? x.slice(0, c) : x.slice(Math.max(0, x.length + c));
  },
  splitList: (sep, s) => str('splitList', s).split(str('splitList', sep)),
  join: (sep, l) => (Array.isArray(l) ? l.map(goString) : [goString(l)]).join(str('join', sep)),
  toString: (v: unknown) => goString(v),
  b64enc: (s) => b64(str('b64enc', s)),
  b64dec: (s) => Buffer.from(str('b64dec', s), 'base64').toString('utf8'),
  sha256sum: (s) => createHash('sha256').update(str('sha256sum', s)).digest('hex'),
  sha1sum: (s) => createHash('sha1').update(str('sha1sum', s)).digest('hex'),
  regexMatch: (re, s) => re2Search(compileRe2(str('regexMatch', re))).test(str('regexMatch', s)),
  regexFind: (re, s) => re2Search(compileRe2(str('regexFind', re))).exec(str('regexFind', s))?.[0] ?? '',
  add: (...a) => a.reduce<number>((x, y) => x + num('add', y), 0),
  sub: (a, b) => num('sub', a) - num('sub', b),
  mul: (...a) => a.reduce<number>((x, y) => x * num('mul', y), 1),
  div: (a, b) => Math.trunc(num('div', a) / num('div', b)),
  mod: (a, b) => num('mod', a) % num('mod', b),
};

// ---- lexing and parsing ----

interface Tok {
  readonly k: 'field' | 'dollar' | 'str' | 'num' | 'ident' | 'pipe' | 'lparen' | 'rparen' | 'dot';
  readonly v: string;
}

class Parser {
  readonly #src: string;
  #pos = 0;
  readonly #name: string;

  constructor(src: string, name: string) {
    this.#src = src;
    this.#name = name;
  }

  err(msg: string): never {
    const line = this.#src.slice(0, this.#pos).split('\n').length;
    throw new TemplateError(`template: ${this.#name}:${line}: ${msg}`);
  }

  /** Parses nodes until one of `stops` keywords (returned) or the end. */
  nodes(stops: readonly string[]): { nodes: Node[]; stop: string | undefined; stopArgs: Tok[] } {
    const out: Node[] = [];
    const src = this.#src;
    for (;;) {
      const open = src.indexOf('{{', this.#pos);
      let text = open < 0 ? src.slice(this.#pos) : src.slice(this.#pos, open);
      if (open >= 0 && src.startsWith('{{- ', open)) text = text.replace(/[ \t\r\n]+$/, '');
      if (open >= 0 && /^\{\{-[\t\r\n]/.test(src.slice(open, open + 4))) text = text.replace(/[ \t\r\n]+$/, '');
      if (text) out.push({ t: 'text', s: text });
      if (open < 0) {
        this.#pos = src.length;
        if (stops.length > 0) this.err('unexpected EOF');
        return { nodes: out, stop: undefined, stopArgs: [] };
      }
      let start = open + 2;
      if (/^-[ \t\r\n]/.test(src.slice(start, start + 2))) start += 1;
      // Comment.
      const afterSpace = src.slice(start).match(/^[ \t\r\n]*/)![0].length;
      if (src.startsWith('/*', start + afterSpace)) {
        const endC = src.indexOf('*/', start + afterSpace);
        if (endC < 0) this.err('unclosed comment');
        const close = src.indexOf('}}', endC);
        if (close < 0) this.err('unclosed action');
        this.#pos = close + 2;
        if (src[close - 1] === '-' && /[ \t\r\n]/.test(src[close - 2] ?? '')) this.#trimAfter();
        continue;
      }
      this.#pos = start;
      const toks = this.#lexAction();
      if (toks.length === 0) this.err('missing value for command');
      const head = toks[0]!;
      if (head.k === 'ident' && ['if', 'with', 'range', 'else', 'end'].includes(head.v)) {
        const kw = head.v;
        if (kw === 'end' || kw === 'else') {
          if (!stops.includes(kw)) this.err(`unexpected {{${kw}}}`);
          return { nodes: out, stop: kw, stopArgs: toks.slice(1) };
        }
        out.push(this.#control(kw as 'if' | 'with' | 'range', toks.slice(1)));
        continue;
      }
      out.push({ t: 'action', p: this.#pipeline(toks) });
    }
  }

  #control(kw: 'if' | 'with' | 'range', args: Tok[]): Node {
    if (args.length === 0) this.err(`missing value for ${kw}`);
    const p = this.#pipeline(args);
    const body = this.nodes(['else', 'end']);
    let elseNodes: Node[] | undefined;
    if (body.stop === 'else') {
      if (body.stopArgs.length > 0) {
        // `else if ...` / `else with ...`: a nested control with the same end.
        const k = body.stopArgs[0]!;
        if (k.k !== 'ident' || (k.v !== 'if' && k.v !== 'with')) this.err('unexpected tokens after else');
        elseNodes = [this.#control(k.v as 'if' | 'with', body.stopArgs.slice(1))];
      } else {
        const e = this.nodes(['end']);
        elseNodes = e.nodes;
      }
    }
    if (kw === 'range') return { t: 'range', p, body: body.nodes, else: elseNodes };
    return { t: kw, p, then: body.nodes, else: elseNodes };
  }

  #trimAfter(): void {
    while (this.#pos < this.#src.length && /[ \t\r\n]/.test(this.#src[this.#pos]!)) this.#pos++;
  }

  #lexAction(): Tok[] {
    const src = this.#src;
    const toks: Tok[] = [];
    for (;;) {
      while (this.#pos < src.length && /[ \t\r\n]/.test(src[this.#pos]!)) this.#pos++;
      if (this.#pos >= src.length) this.err('unclosed action');
      const c = src[this.#pos]!;
      if (src.startsWith('}}', this.#pos)) {
        this.#pos += 2;
        return toks;
      }
      if (c === '-' && src.startsWith('-}}', this.#pos) && /[ \t\r\n]/.test(src[this.#pos - 1] ?? '')) {
        this.#pos += 3;
        this.#trimAfter();
        return toks;
      }
      if (c === '|') {
        toks.push({ k: 'pipe', v: '|' });
        this.#pos++;
      } else if (c === '(') {
        toks.push({ k: 'lparen', v: '(' });
        this.#pos++;
      } else if (c === ')') {
        toks.push({ k: 'rparen', v: ')' });
        this.#pos++;
      } else if (c === '"') {
        let j = this.#pos + 1;
        while (j < src.length && src[j] !== '"') {
          if (src[j] === '\\') j++;
          if (src[j] === '\n') this.err('unterminated quoted string');
          j++;
        }
        if (j >= src.length) this.err('unterminated quoted string');
        let v: string;
        try {
          v = JSON.parse(src.slice(this.#pos, j + 1)) as string;
        } catch {
          this.err(`bad string ${src.slice(this.#pos, j + 1)}`);
        }
        toks.push({ k: 'str', v });
        this.#pos = j + 1;
      } else if (c === '`') {
        const j = src.indexOf('`', this.#pos + 1);
        if (j < 0) this.err('unterminated raw quoted string');
        toks.push({ k: 'str', v: src.slice(this.#pos + 1, j) });
        this.#pos = j + 1;
      } else if (c === '.') {
        const m = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(src.slice(this.#pos));
        if (m) {
          toks.push({ k: 'field', v: m[0] });
          this.#pos += m[0].length;
        } else {
          toks.push({ k: 'dot', v: '.' });
          this.#pos++;
        }
      } else if (c === '$') {
        const m = /^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(src.slice(this.#pos))!;
        if (/^\$[A-Za-z_]/.test(src.slice(this.#pos))) this.err('variables other than $ are not supported');
        toks.push({ k: 'dollar', v: m[0] });
        this.#pos += m[0].length;
      } else if (/[-+0-9]/.test(c)) {
        const m = /^[-+]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)/.exec(src.slice(this.#pos));
        if (!m) this.err(`bad number syntax: ${JSON.stringify(src.slice(this.#pos, this.#pos + 10))}`);
        toks.push({ k: 'num', v: m[0] });
        this.#pos += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(this.#pos))!;
        toks.push({ k: 'ident', v: m[0] });
        this.#pos += m[0].length;
      } else if (c === "'") {
        const m = /^'(\\.|[^'\\])'/.exec(src.slice(this.#pos));
        if (!m) this.err('bad character constant');
        toks.push({ k: 'num', v: String(m[1]!.codePointAt(0)) });
        this.#pos += m[0].length;
      } else this.err(`unexpected ${JSON.stringify(c)} in command`);
    }
  }

  #pipeline(toks: readonly Tok[]): Pipeline {
    let i = 0;
    const parsePipe = (inParen: boolean): Pipeline => {
      const cmds: Pipeline = [];
      let cmd: Command = [];
      while (i < toks.length) {
        const t = toks[i]!;
        if (t.k === 'rparen') {
          if (!inParen) this.err('unexpected right paren');
          i++;
          if (cmd.length === 0) this.err('missing value for command');
          cmds.push(cmd);
          return cmds;
        }
        i++;
        switch (t.k) {
          case 'pipe':
            if (cmd.length === 0) this.err('missing value for command');
            cmds.push(cmd);
            cmd = [];
            break;
          case 'lparen':
            cmd.push({ t: 'sub', p: parsePipe(true) });
            break;
          case 'field':
            cmd.push({ t: 'field', root: 'dot', path: t.v.slice(1).split('.') });
            break;
          case 'dot':
            cmd.push({ t: 'field', root: 'dot', path: [] });
            break;
          case 'dollar':
            cmd.push({ t: 'field', root: 'dollar', path: t.v.length > 1 ? t.v.slice(2).split('.') : [] });
            break;
          case 'str':
            cmd.push({ t: 'lit', v: t.v });
            break;
          case 'num': {
            const n = Number(t.v.replace(/_/g, ''));
            if (Number.isNaN(n)) this.err(`bad number syntax: ${JSON.stringify(t.v)}`);
            cmd.push({ t: 'lit', v: n });
            break;
          }
          case 'ident':
            if (t.v === 'true' || t.v === 'false') cmd.push({ t: 'lit', v: t.v === 'true' });
            else if (t.v === 'nil') cmd.push({ t: 'lit', v: null });
            else {
              if (!Object.prototype.hasOwnProperty.call(FUNCTIONS, t.v)) this.err(`function ${JSON.stringify(t.v)} not defined`);
              cmd.push({ t: 'fn', name: t.v });
            }
            break;
          default:
            this.err(`unexpected ${t.v}`);
        }
      }
      if (inParen) this.err('unclosed left paren');
      if (cmd.length === 0) this.err('missing value for command');
      cmds.push(cmd);
      return cmds;
    };
    const p = parsePipe(false);
    for (const [ci, cmd] of p.entries()) {
      const first = cmd[0]!;
      if (first.t !== 'fn' && cmd.length > 1) this.err(`can't give argument to non-function ${first.t === 'lit' ? goString(first.v) : 'field'}`);
      if (ci > 0 && first.t !== 'fn') this.err('non executable command in pipeline stage ' + (ci + 1));
    }
    return p;
  }
}

export interface GoTemplate {
  readonly source: string;
  execute(data: unknown): string;
}

/** Parses a template; throws `TemplateError` with Go's message on syntax errors or unknown functions. */
export function parseGoTemplate(source: string, name = 'template'): GoTemplate {
  const p = new Parser(source, name);
  const { nodes } = p.nodes([]);
  // A template without actions is constant.
  if (nodes.every((n) => n.t === 'text')) {
    const text = nodes.map((n) => (n as { s: string }).s).join('');
    return { source, execute: () => text };
  }
  return { source, execute: (data) => run(nodes, data, data) };
}

function field(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || v === undefined) throw new TemplateError(`nil pointer evaluating .${path.join('.')}`);
    if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateError(`can't evaluate field ${k} in type ${typeof v}`);
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function evalPipeline(p: Pipeline, dot: unknown, root: unknown): unknown {
  let prev: unknown;
  let has = false;
  for (const cmd of p) {
    const first = cmd[0]!;
    if (first.t === 'fn') {
      const args: unknown[] = [];
      if (first.name === 'and' || first.name === 'or') {
        const ops = cmd.slice(1);
        let v: unknown;
        for (const op of ops) {
          v = evalOperand(op, dot, root);
          if (first.name === 'and' ? !truth(v) : truth(v)) break;
        }
        if (has && (first.name === 'and' ? truth(v) || ops.length === 0 : !truth(v) || ops.length === 0)) v = prev;
        prev = v;
      } else {
        for (const op of cmd.slice(1)) args.push(evalOperand(op, dot, root));
        if (has) args.push(prev);
        prev = FUNCTIONS[first.name]!(...args);
      }
    } else prev = evalOperand(first, dot, root);
    has = true;
  }
  return prev;
}

function evalOperand(op: Operand, dot: unknown, root: unknown): unknown {
  switch (op.t) {
    case 'lit':
      return op.v;
    case 'field':
      return field(op.root === 'dot' ? dot : root, op.path);
    case 'sub':
      return evalPipeline(op.p, dot, root);
    case 'fn':
      return FUNCTIONS[op.name]!();
  }
}

function run(nodes: readonly Node[], dot: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out += n.s;
        break;
      case 'action':
        out += goString(evalPipeline(n.p, dot, root));
        break;
      case 'if': {
        const v = evalPipeline(n.p, dot, root);
        if (truth(v)) out += run(n.then, dot, root);
        else if (n.else) out += run(n.else, dot, root);
        break;
      }
      case 'with': {
        const v = evalPipeline(n.p, dot, root);
        if (truth(v)) out += run(n.then, v, root);
        else if (n.else) out += run(n.else, dot, root);
        break;
      }
      case 'range': {
        const v = evalPipeline(n.p, dot, root);
        const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => (v as Record<string, unknown>)[k]) : typeof v === 'number' ? Array.from({ length: v }, (_x, i) => i) : [];
        if (items.length === 0) {
          if (n.else) out += run(n.else, dot, root);
        } else for (const it of items) out += run(n.body, it, root);
        break;
      }
    }
  }
  return out;
}
