/**
 * JSONPath for the `json_path` standard-library function (Alloy uses ohler55/ojg `jp`; results
 * are always an array of matches). Supported: `$`, `@`, `.name`, `['name']`, `["a","b"]`,
 * `..name` (descendants), `*`, `[n]` (negative from the end), `[n,m]`, slices `[a:b:c]`, and
 * filters `[?(@.a.b == 'x' && @.c > 1)]` with `== != < <= > >=`, `&& ||`, `!`, existence tests and
 * parentheses.
 */
type J = unknown;

type Seg =
  | { t: 'child'; names: string[] }
  | { t: 'index'; idx: number[] }
  | { t: 'slice'; start?: number; end?: number; step: number }
  | { t: 'wild' }
  | { t: 'desc'; inner: Seg }
  | { t: 'filter'; expr: FExpr };

type FExpr =
  | { t: 'path'; rel: boolean; segs: Seg[] }
  | { t: 'lit'; v: J }
  | { t: 'bin'; op: string; l: FExpr; r: FExpr }
  | { t: 'not'; e: FExpr };

class PathParser {
  i = 0;
  constructor(readonly s: string) {}

  err(msg: string): never {
    throw new Error(`invalid JSONPath ${JSON.stringify(this.s)} at offset ${this.i}: ${msg}`);
  }
  ws(): void {
    while (this.s[this.i] === ' ') this.i++;
  }
  ident(): string {
    const st = this.i;
    while (this.i < this.s.length && !/[.\[\]()\s=!<>&|,]/.test(this.s[this.i]!)) this.i++;
    if (this.i === st) this.err('expected a name');
    return this.s.slice(st, this.i);
  }
  quoted(): string {
    const q = this.s[this.i];
    this.i++;
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== q) {
      if (this.s[this.i] === '\\') {
        this.i++;
      }
      out += this.s[this.i];
      this.i++;
    }
    if (this.s[this.i] !== q) this.err('unterminated string');
    this.i++;
    return out;
  }
  num(): number {
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    if (!m) this.err('expected a number');
    this.i += m[0].length;
    return Number(m[0]);
  }

  segments(stopAtFilterEnd: boolean): Seg[] {
    const segs: Seg[] = [];
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) return segs;
      if (stopAtFilterEnd && /[\s=!<>&|)]/.test(c)) return segs;
      if (c === '.') {
        if (this.s[this.i + 1] === '.') {
          this.i += 2;
          if (this.s[this.i] === '[') segs.push({ t: 'desc', inner: this.bracket() });
          else if (this.s[this.i] === '*') {
            this.i++;
            segs.push({ t: 'desc', inner: { t: 'wild' } });
          } else segs.push({ t: 'desc', inner: { t: 'child', names: [this.ident()] } });
          continue;
        }
        this.i++;
        if (this.s[this.i] === '*') {
          this.i++;
          segs.push({ t: 'wild' });
        } else if (this.s[this.i] === "'" || this.s[this.i] === '"') segs.push({ t: 'child', names: [this.quoted()] });
        else if (this.s[this.i] === '[') segs.push(this.bracket());
        else segs.push({ t: 'child', names: [this.ident()] });
      } else if (c === '[') {
        segs.push(this.bracket());
      } else if (c === '*') {
        this.i++;
        segs.push({ t: 'wild' });
      } else if (segs.length === 0) {
        segs.push({ t: 'child', names: [this.ident()] });
      } else this.err(`unexpected ${JSON.stringify(c)}`);
    }
  }

  bracket(): Seg {
    this.i++; // [
    this.ws();
    let seg: Seg;
    const c = this.s[this.i];
    if (c === '?') {
      this.i++;
      this.ws();
      const paren = this.s[this.i] === '(';
      if (paren) this.i++;
      const expr = this.orExpr();
      this.ws();
      if (paren) {
        if (this.s[this.i] !== ')') this.err('expected )');
        this.i++;
      }
      seg = { t: 'filter', expr };
    } else if (c === '*') {
      this.i++;
      seg = { t: 'wild' };
    } else if (c === "'" || c === '"') {
      const names = [this.quoted()];
      this.ws();
      while (this.s[this.i] === ',') {
        this.i++;
        this.ws();
        names.push(this.quoted());
        this.ws();
      }
      seg = { t: 'child', names };
    } else {
      const nums: (number | undefined)[] = [];
      let colon = 0;
      const parts: (number | undefined)[] = [undefined, undefined, undefined];
      for (;;) {
        this.ws();
        const ch = this.s[this.i];
        if (ch === ':') {
          colon++;
          this.i++;
          continue;
        }
        if (ch === ',') {
          this.i++;
          continue;
        }
        if (ch === ']' || ch === undefined) break;
        const v = this.num();
        if (colon > 0 || this.s[this.i] === ':') parts[colon] = v;
        else nums.push(v);
      }
      if (colon > 0) seg = { t: 'slice', start: parts[0], end: parts[1], step: parts[2] ?? 1 };
      else seg = { t: 'index', idx: nums.map((x) => x ?? 0) };
    }
    this.ws();
    if (this.s[this.i] !== ']') this.err('expected ]');
    this.i++;
    return seg;
  }

  orExpr(): FExpr {
    let l = this.andExpr();
    for (;;) {
      this.ws();
      if (this.s.startsWith('||', this.i)) {
        this.i += 2;
        l = { t: 'bin', op: '||', l, r: this.andExpr() };
      } else return l;
    }
  }
  andExpr(): FExpr {
    let l = this.cmpExpr();
    for (;;) {
      this.ws();
      if (this.s.startsWith('&&', this.i)) {
        this.i += 2;
        l = { t: 'bin', op: '&&', l, r: this.cmpExpr() };
      } else return l;
    }
  }
  cmpExpr(): FExpr {
    const l = this.operand();
    this.ws();
    const m = /^(==|!=|<=|>=|<|>)/.exec(this.s.slice(this.i));
    if (!m) return l;
    this.i += m[0].length;
    return { t: 'bin', op: m[0], l, r: this.operand() };
  }
  operand(): FExpr {
    this.ws();
    const c = this.s[this.i];
    if (c === '!') {
      this.i++;
      return { t: 'not', e: this.operand() };
    }
    if (c === '(') {
      this.i++;
      const e = this.orExpr();
      this.ws();
      if (this.s[this.i] !== ')') this.err('expected )');
      this.i++;
      return e;
    }
    if (c === '@' || c === '$') {
      this.i++;
      return { t: 'path', rel: c === '@', segs: this.segments(true) };
    }
    if (c === "'" || c === '"') return { t: 'lit', v: this.quoted() };
    for (const [w, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(w, this.i)) {
        this.i += w.length;
        return { t: 'lit', v };
      }
    }
    return { t: 'lit', v: this.num() };
  }
}

function isObj(v: J): v is Record<string, J> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function children(v: J): J[] {
  if (Array.isArray(v)) return v;
  if (isObj(v)) return Object.values(v);
  return [];
}

function applySeg(seg: Seg, input: J[], root: J): J[] {
  const out: J[] = [];
  for (const v of input) {
    switch (seg.t) {
      case 'child':
        if (isObj(v)) for (const n of seg.names) if (Object.prototype.hasOwnProperty.call(v, n)) out.push(v[n]);
        break;
      case 'index':
        if (Array.isArray(v)) {
          for (const i of seg.idx) {
            const k = i < 0 ? v.length + i : i;
            if (k >= 0 && k < v.length) out.push(v[k]);
          }
        }
        break;
      case 'slice':
        if (Array.isArray(v)) {
          const len = v.length;
          const norm = (x: number | undefined, d: number): number => (x === undefined ? d : x < 0 ? Math.max(0, len + x) : Math.min(len, x));
          if (seg.step > 0) for (let k = norm(seg.start, 0); k < norm(seg.end, len); k += seg.step) out.push(v[k]);
          else if (seg.step < 0) for (let k = norm(seg.start, len - 1); k > norm(seg.end, -1); k += seg.step) out.push(v[k]);
        }
        break;
      case 'wild':
        out.push(...children(v));
        break;
      case 'desc': {
        const stack: J[] = [v];
        const all: J[] = [];
        while (stack.length) {
          const x = stack.shift()!;
          all.push(x);
          stack.push(...children(x));
        }
        out.push(...applySeg(seg.inner, all, root));
        break;
      }
      case 'filter':
        for (const c of children(v)) if (truthy(evalFilter(seg.expr, c, root))) out.push(c);
        break;
    }
  }
  return out;
}

function evalPath(segs: Seg[], start: J, root: J): J[] {
  let cur = [start];
  for (const s of segs) cur = applySeg(s, cur, root);
  return cur;
}

function truthy(v: J): boolean {
  return v !== undefined && v !== null && v !== false;
}

function evalFilter(e: FExpr, cur: J, root: J): J {
  switch (e.t) {
    case 'lit':
      return e.v;
    case 'path': {
      const r = evalPath(e.segs, e.rel ? cur : root, root);
      return r.length === 0 ? undefined : r[0];
    }
    case 'not':
      return !truthy(evalFilter(e.e, cur, root));
    case 'bin': {
      if (e.op === '&&') return truthy(evalFilter(e.l, cur, root)) && truthy(evalFilter(e.r, cur, root));
      if (e.op === '||') return truthy(evalFilter(e.l, cur, root)) || truthy(evalFilter(e.r, cur, root));
      const l = evalFilter(e.l, cur, root);
      const r = evalFilter(e.r, cur, root);
      switch (e.op) {
        case '==':
          return JSON.stringify(l) === JSON.stringify(r);
        case '!=':
          return JSON.stringify(l) !== JSON.stringify(r);
      }
      if (typeof l !== typeof r || (typeof l !== 'number' && typeof l !== 'string')) return false;
      const a = l as number | string;
      const b = r as number | string;
      switch (e.op) {
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        default:
          return a >= b;
      }
    }
  }
}

/** Applies `path` to the JSON document `json`; returns every match (possibly none). */
export function jsonPath(json: string, path: string): unknown[] {
  const doc: J = JSON.parse(json);
  const p = new PathParser(path.trim());
  if (p.s[0] === '$' || p.s[0] === '@') p.i = 1;
  const segs = p.segments(false);
  if (p.i < p.s.length) p.err('unexpected trailing text');
  return evalPath(segs, doc, doc);
}
