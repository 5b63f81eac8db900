/**
 * Stages that parse the line (or an extracted value) into the extracted map, or rewrite text:
 * `json`, `logfmt`, `regex`, `replace`, `template`, `decolorize`. Failure behaviour is Alloy's:
 * a line that does not parse leaves the entry unchanged (or is dropped by `json` with
 * `drop_malformed`), and processing continues.
 */
import jmespathModule from 'jmespath';
import { z } from 'zod';
import { compileRe2, re2Search, type CompiledRe2 } from '../../../../prom/regex/re2.js';
import { extractedString, sourceValue, type PEntry } from '../entry.js';
import { parseGoTemplate, type GoTemplate } from '../go-template.js';
import type { Next, StageContext, StageDef } from '../pipeline.js';

/** A zod issue adder for a compile step, pointing at `field`. */
function check(ctx: z.RefinementCtx, field: (string | number)[], fn: () => void): void {
  try {
    fn();
  } catch (err: unknown) {
    ctx.addIssue({ code: 'custom', path: field, message: (err as Error).message });
  }
}

// ---- json ----

/** `compile` (the parser) is exported by jmespath but missing from its type definitions. */
const jmespath = jmespathModule as unknown as { compile(expr: string): unknown; search(data: unknown, expr: string): unknown };

type JsonPath = (data: unknown) => unknown;

interface JNode {
  type: string;
  name?: string;
  children?: (JNode | null)[];
}

function assertComplete(n: JNode | null, expr: string): void {
  if (n === null) throw new Error(`invalid JMESPath expression ${JSON.stringify(expr)}: incomplete expression`);
  for (const c of n.children ?? []) if (c === null || typeof c === 'object') assertComplete(c as JNode | null, expr);
}

/** Compiles a JMESPath expression; plain field paths (`a`, `a.b`, `"x-y"`) get a fast path. */
export function compileJmes(expr: string): JsonPath {
  let ast: JNode;
  try {
    ast = jmespath.compile(expr) as unknown as JNode;
  } catch (err: unknown) {
    throw new Error(`invalid JMESPath expression ${JSON.stringify(expr)}: ${(err as Error).message}; quote names that contain "-", e.g. "\\"request_User-Agent\\""`);
  }
  assertComplete(ast, expr);
  const fields: string[] = [];
  const collect = (n: JNode): boolean => {
    if (n.type === 'Field') {
      fields.push(n.name!);
      return true;
    }
    if (n.type === 'Subexpression') return (n.children as JNode[]).every(collect);
    return false;
  };
  if (collect(ast)) {
    if (fields.length === 1) {
      const f = fields[0]!;
      return (d) => (d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>)[f] ?? null : null);
    }
    return (d) => {
      let v = d;
      for (const f of fields) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
        v = (v as Record<string, unknown>)[f];
        if (v === undefined) return null;
      }
      return v;
    };
  }
  return (d) => jmespath.search(d, expr) as unknown;
}

export const jsonSchema = z
  .object({
    expressions: z.record(z.string(), z.string()),
    source: z.string().default(''),
    drop_malformed: z.boolean().default(false),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (Object.keys(b.expressions).length === 0) ctx.addIssue({ code: 'custom', path: ['expressions'], message: 'expressions must not be empty, e.g. { level = "" }' });
    for (const [k, e] of Object.entries(b.expressions)) check(ctx, ['expressions', k], () => compileJmes(e === '' ? k : e));
  });

export const json: StageDef<z.output<typeof jsonSchema>> = {
  build(b, ctx, next) {
    const exprs = Object.entries(b.expressions).map(([k, e]) => [k, compileJmes(e === '' ? k : e)] as const);
    const { source, drop_malformed: dropMalformed } = b;
    return {
      process(e) {
        let input: string | undefined;
        if (source === '') input = e.line;
        else {
          const v = e.extracted[source];
          if (v === undefined) return next(e);
          input = typeof v === 'string' ? v : extractedString(v);
        }
        let data: unknown;
        try {
          data = JSON.parse(input!);
        } catch {
          data = undefined;
        }
        if (data === null || typeof data !== 'object' || Array.isArray(data)) {
          if (dropMalformed) {
            ctx.dropped.inc({ reason: 'malformed_json' });
            return;
          }
          return next(e);
        }
        for (const [k, f] of exprs) {
          let r: unknown;
          try {
            r = f(data);
          } catch {
            continue;
          }
          e.extracted[k] = r !== null && typeof r === 'object' ? JSON.stringify(r) : r;
        }
        next(e);
      },
    };
  },
};

// ---- logfmt ----

/** Decodes a logfmt line like go-logfmt: `key=value`, `key="quoted \"value\""`, bare `key`. */
export function parseLogfmt(line: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    if (i >= n) break;
    const ks = i;
    while (i < n && line[i] !== '=' && line.charCodeAt(i) > 32 && line[i] !== '"') i++;
    const key = line.slice(ks, i);
    if (key === '') {
      // Garbage (e.g. a stray quote): skip to the next space.
      while (i < n && line.charCodeAt(i) > 32) i++;
      continue;
    }
    if (line[i] !== '=') {
      out.set(key, '');
      continue;
    }
    i++;
    if (line[i] === '"') {
      let j = i + 1;
      let esc = false;
      while (j < n && line[j] !== '"') {
        if (line[j] === '\\') {
          esc = true;
          j++;
        }
        j++;
      }
      const raw = line.slice(i, Math.min(j + 1, n));
      let v: string;
      if (!esc) v = line.slice(i + 1, j);
      else {
        try {
          v = JSON.parse(raw.endsWith('"') ? raw : raw + '"') as string;
        } catch {
          v = line.slice(i + 1, j);
        }
      }
      out.set(key, v);
      i = j + 1;
    } else {
      const vs = i;
      while (i < n && line.charCodeAt(i) > 32) i++;
      out.set(key, line.slice(vs, i));
    }
  }
  return out;
}

export const logfmtSchema = z
  .object({ mapping: z.record(z.string(), z.string()), source: z.string().default('') })
  .strict()
  .superRefine((b, ctx) => {
    if (Object.keys(b.mapping).length === 0) ctx.addIssue({ code: 'custom', path: ['mapping'], message: 'mapping must not be empty, e.g. { level = "" }' });
  });

export const logfmt: StageDef<z.output<typeof logfmtSchema>> = {
  build(b, _ctx, next) {
    const mapping = Object.entries(b.mapping).map(([k, f]) => [k, f === '' ? k : f] as const);
    return {
      process(e) {
        const input = sourceValue(e, b.source);
        if (input === undefined) return next(e);
        const kv = parseLogfmt(input);
        for (const [k, f] of mapping) {
          const v = kv.get(f);
          if (v !== undefined) e.extracted[k] = v;
        }
        next(e);
      },
    };
  },
};

// ---- regex ----

function compileRegexField(expr: string): CompiledRe2 {
  return compileRe2(expr);
}

export const regexSchema = z
  .object({ expression: z.string(), source: z.string().default('') })
  .strict()
  .superRefine((b, ctx) =>
    check(ctx, ['expression'], () => {
      const c = compileRegexField(b.expression);
      if (!c.groupNames.some((n) => n !== undefined)) throw new Error('regex expression must contain at least one named capture group, e.g. (?P<level>\\w+)');
    }),
  );

export const regex: StageDef<z.output<typeof regexSchema>> = {
  build(b, _ctx, next) {
    const c = compileRegexField(b.expression);
    const re = re2Search(c);
    const names = c.groupNames;
    return {
      process(e) {
        const input = sourceValue(e, b.source);
        if (input === undefined) return next(e);
        const m = re.exec(input);
        if (m !== null) for (let i = 1; i < names.length; i++) if (names[i] !== undefined) e.extracted[names[i]!] = m[i] ?? '';
        next(e);
      },
    };
  },
};

// ---- template ----

/** The data a template sees: extracted values as strings, plus `Value` and `Entry`. */
export function templateData(e: PEntry, source: string | undefined): Record<string, unknown> {
  const td: Record<string, unknown> = {};
  for (const k in e.extracted) {
    const s = extractedString(e.extracted[k]);
    if (s !== undefined) td[k] = s;
  }
  if (source !== undefined && source in e.extracted) td['Value'] = td[source];
  td['Entry'] = e.line;
  return td;
}

export const templateSchema = z
  .object({ source: z.string().min(1, { error: 'source must not be empty' }), template: z.string() })
  .strict()
  .superRefine((b, ctx) => check(ctx, ['template'], () => parseGoTemplate(b.template)));

export const template: StageDef<z.output<typeof templateSchema>> = {
  build(b, ctx, next) {
    const t = parseGoTemplate(b.template);
    return {
      process(e) {
        try {
          e.extracted[b.source] = t.execute(templateData(e, b.source));
        } catch (err: unknown) {
          ctx.logger.debug(`loki.process: stage.template: ${(err as Error).message}`);
        }
        next(e);
      },
    };
  },
};

// ---- replace ----

export const replaceSchema = z
  .object({ expression: z.string(), source: z.string().default(''), replace: z.string().default('') })
  .strict()
  .superRefine((b, ctx) => {
    check(ctx, ['expression'], () => compileRe2(b.expression));
    check(ctx, ['replace'], () => parseGoTemplate(b.replace));
  });

/** Replaces every capture group of every match with the template's output (Alloy's semantics). */
export function replaceAll(input: string, re: RegExp, names: readonly (string | undefined)[], tpl: GoTemplate, td: Record<string, unknown>, named: Record<string, string>): string | undefined {
  re.lastIndex = 0;
  let out = '';
  let prevEnd = 0;
  let any = false;
  for (let m = re.exec(input); m !== null; m = re.exec(input)) {
    any = true;
    const idx = (m as RegExpExecArray & { indices: [number, number][] }).indices;
    for (let g = 1; g < idx.length; g++) {
      const span = idx[g];
      if (span === undefined) continue;
      const captured = input.slice(span[0], span[1]);
      td['Value'] = captured;
      const st = tpl.execute(td);
      if (span[0] < prevEnd) continue;
      out += input.slice(prevEnd, span[0]) + st;
      prevEnd = span[1];
      const name = names[g];
      if (name !== undefined) named[name] = st;
    }
    if (m[0].length === 0) re.lastIndex++;
  }
  if (!any) return undefined;
  return out + input.slice(prevEnd);
}

export const replace: StageDef<z.output<typeof replaceSchema>> = {
  build(b, ctx, next) {
    const c = compileRe2(b.expression);
    const re = re2Search(c, 'gd');
    const tpl = parseGoTemplate(b.replace);
    return {
      process(e) {
        const input = sourceValue(e, b.source);
        if (input === undefined) return next(e);
        const named: Record<string, string> = {};
        let result: string | undefined;
        try {
          result = replaceAll(input, re, c.groupNames, tpl, templateData(e, undefined), named);
        } catch (err: unknown) {
          ctx.logger.debug(`loki.process: stage.replace: ${(err as Error).message}`);
          return next(e);
        }
        if (result === undefined) return next(e);
        Object.assign(e.extracted, named);
        if (b.source === '') e.line = result;
        else e.extracted[b.source] = result;
        next(e);
      },
    };
  },
};

// ---- decolorize ----

/** ANSI escape sequences (the pattern Loki's decolorize uses). */
const ANSI = /[\u001B\u009B][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))/g;

export const decolorizeSchema = z.object({}).strict();

export const decolorize: StageDef<z.output<typeof decolorizeSchema>> = {
  build(_b, _ctx, next: Next) {
    return {
      process(e) {
        if (e.line.includes('\u001b') || e.line.includes('\u009b')) e.line = e.line.replace(ANSI, '');
        next(e);
      },
    };
  },
};

export type { StageContext };
