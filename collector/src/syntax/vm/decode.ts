/**
 * Decodes a block body into a component's `Arguments` using its zod object schema (see
 * `schema.ts` for the block/duration/secret/capsule markers), after Alloy's implicit
 * number/string conversions (`convert.ts`). Every problem is collected, each
 * with a position: unknown attribute or block names, attributes used as blocks and vice versa,
 * duplicates, labels where none are allowed, upstream names not supported yet (`unsupported()`,
 * one diagnostic however they are written), evaluation errors, missing required attributes or
 * blocks (reported at the owning block), and zod validation errors (reported at the offending
 * value, descending into array/object literals when the value was written literally).
 */
import type { ZodType } from 'zod';
import { DiagnosticsError, type Diagnostic, type Position } from '../diag/diag.js';
import type * as ast from '../ast/ast.js';
import { evaluate } from './evaluate.js';
import type { Scope } from './scope.js';
import { convertForSchema } from './convert.js';
import { fieldMarker, objectShape, unsupportedMessage, type FieldMarker } from './schema.js';
import { typeOf } from './value.js';
import { printExpr } from '../printer/printer.js';

export interface DecodeResult {
  /** The validated arguments (defaults applied); absent when there are errors. */
  value?: unknown;
  diags: Diagnostic[];
}

/** Where the decoded body came from: the owning block, for "missing required" diagnostics. */
export interface DecodeOwner {
  readonly start: Position;
  readonly end: Position;
}

interface FieldInfo {
  readonly key: string;
  readonly marker: FieldMarker;
  /** For enum blocks: the variant (block) name. */
  readonly variant?: string;
}

type Loc =
  | { kind: 'attr'; stmt: ast.AttributeStmt }
  | { kind: 'block'; stmt: ast.BlockStmt; sub: BodyLoc }
  | { kind: 'blocks'; items: { stmt: ast.BlockStmt; sub: BodyLoc }[] };

interface BodyLoc {
  owner: DecodeOwner;
  fields: Map<string, Loc>;
  /** Schema fields by key, to tell attributes from blocks in "missing" messages. */
  info: Map<string, FieldInfo>;
}

const fieldCache = new WeakMap<object, Map<string, FieldInfo>>();

function fieldsOf(schema: ZodType): Map<string, FieldInfo> {
  const cached = fieldCache.get(schema);
  if (cached) return cached;
  const shape = objectShape(schema);
  if (!shape) throw new TypeError('decodeBody: the schema must be a zod object schema (possibly wrapped in optional/default)');
  const byName = new Map<string, FieldInfo>();
  for (const [key, field] of Object.entries(shape)) {
    const marker = fieldMarker(field);
    if (marker.kind === 'enumBlocks' && marker.variants) {
      for (const name of Object.keys(marker.variants)) byName.set(name, { key, marker, variant: name });
      byName.set(`\0${key}`, { key, marker });
    } else byName.set(key, { key, marker });
  }
  fieldCache.set(schema, byName);
  return byName;
}

function ownerOf(body: ast.Body): DecodeOwner {
  const first = body[0];
  const last = body[body.length - 1];
  if (first && last) return { start: first.start, end: last.end };
  const p: Position = { file: '', line: 1, column: 1, offset: 0 };
  return { start: p, end: p };
}

/**
 * Evaluates and validates `body` against `schema` (a zod object schema) in `scope`.
 * `owner` is the block the body belongs to; it positions "missing required" diagnostics.
 */
export function decodeBody(body: ast.Body, schema: ZodType, scope: Scope, owner?: DecodeOwner): DecodeResult {
  const diags: Diagnostic[] = [];
  const failed = new Set<string>();
  const root = collect(body, schema, scope, diags, failed, '', owner ?? ownerOf(body));
  const parsed = schema.safeParse(convertForSchema(schema, root.raw), { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (isFailedPath(path, failed)) continue;
      diags.push(issueDiagnostic(issue, path, root.loc));
    }
  }
  const seen = new Set<string>();
  const unique = diags.filter((d) => {
    const k = `${d.start.offset}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => a.start.offset - b.start.offset);
  if (unique.some((d) => d.severity === 'error')) return { diags: unique };
  return { value: parsed.success ? parsed.data : undefined, diags: unique };
}

/** Like `decodeBody` but throws `DiagnosticsError` on errors and returns the value. */
export function decodeBodyOrThrow<T>(body: ast.Body, schema: ZodType<T>, scope: Scope, owner?: DecodeOwner): T {
  const r = decodeBody(body, schema, scope, owner);
  if (r.diags.some((d) => d.severity === 'error')) throw new DiagnosticsError(r.diags);
  return r.value as T;
}

function isFailedPath(path: readonly (string | number)[], failed: Set<string>): boolean {
  let p = '';
  for (const seg of path) {
    p += `/${seg}`;
    if (failed.has(p)) return true;
  }
  return false;
}

function collect(
  body: ast.Body,
  schema: ZodType,
  scope: Scope,
  diags: Diagnostic[],
  failed: Set<string>,
  prefix: string,
  owner: DecodeOwner,
): { raw: Record<string, unknown>; loc: BodyLoc } {
  const info = fieldsOf(schema);
  const raw: Record<string, unknown> = {};
  const loc: BodyLoc = { owner, fields: new Map(), info };
  // Repeated blocks may appear zero times: they start as empty lists.
  for (const f of info.values()) {
    if (f.variant === undefined && (f.marker.kind === 'blocks' || f.marker.kind === 'labelledBlocks' || f.marker.kind === 'enumBlocks')) {
      raw[f.key] = [];
    }
  }
  const err = (message: string, start: Position, end: Position): void => {
    diags.push({ severity: 'error', message, start, end });
  };

  for (const stmt of body) {
    if (stmt.kind === 'Attribute') {
      const name = stmt.name.name;
      const f = info.get(name);
      if (!f || f.variant !== undefined) {
        err(`unrecognized attribute name ${JSON.stringify(name)}`, stmt.name.start, stmt.name.end);
        continue;
      }
      if (f.marker.kind === 'unsupported') {
        err(unsupportedMessage(name, f.marker.fix), stmt.name.start, stmt.name.end);
        failed.add(`${prefix}/${name}`);
        continue;
      }
      if (f.marker.kind !== 'attr') {
        err(`${JSON.stringify(name)} must be a block, but is used as an attribute`, stmt.name.start, stmt.name.end);
        continue;
      }
      if (loc.fields.has(name)) {
        err(`attribute ${JSON.stringify(name)} may only be provided once`, stmt.name.start, stmt.name.end);
        continue;
      }
      loc.fields.set(name, { kind: 'attr', stmt });
      try {
        raw[name] = evaluate(stmt.value, scope);
      } catch (e: unknown) {
        if (e instanceof DiagnosticsError) diags.push(...e.diags);
        else err(e instanceof Error ? e.message : String(e), stmt.value.start, stmt.value.end);
        failed.add(`${prefix}/${name}`);
      }
      continue;
    }

    const name = stmt.name.join('.');
    const f = info.get(name);
    if (!f) {
      err(`unrecognized block name ${JSON.stringify(name)}`, stmt.nameStart, stmt.nameEnd);
      continue;
    }
    if (f.marker.kind === 'unsupported') {
      err(unsupportedMessage(name, f.marker.fix), stmt.nameStart, stmt.nameEnd);
      failed.add(`${prefix}/${f.key}`);
      continue;
    }
    if (f.marker.kind === 'attr') {
      err(`${JSON.stringify(name)} must be an attribute, but is used as a block`, stmt.nameStart, stmt.nameEnd);
      continue;
    }
    if (stmt.label !== undefined && f.marker.kind !== 'labelledBlocks') {
      err(`block ${JSON.stringify(name)} does not support specifying labels`, stmt.labelStart ?? stmt.nameStart, stmt.labelEnd ?? stmt.nameEnd);
      continue;
    }
    if (stmt.label === undefined && f.marker.kind === 'labelledBlocks') {
      err(`block ${JSON.stringify(name)} requires a label`, stmt.nameStart, stmt.nameEnd);
      continue;
    }
    const bodySchema = f.variant !== undefined ? f.marker.variants?.[f.variant] : f.marker.body;
    if (!bodySchema) continue;
    const blockOwner: DecodeOwner = { start: stmt.start, end: stmt.nameEnd };
    const key = f.key;
    switch (f.marker.kind) {
      case 'block': {
        if (loc.fields.has(key)) {
          err(`block ${JSON.stringify(name)} may only be specified once`, stmt.nameStart, stmt.nameEnd);
          continue;
        }
        const sub = collect(stmt.body, bodySchema, scope, diags, failed, `${prefix}/${key}`, blockOwner);
        raw[key] = sub.raw;
        loc.fields.set(key, { kind: 'block', stmt, sub: sub.loc });
        break;
      }
      default: {
        let entry = loc.fields.get(key);
        if (!entry || entry.kind !== 'blocks') {
          entry = { kind: 'blocks', items: [] };
          loc.fields.set(key, entry);
          raw[key] = [];
        }
        const idx = entry.items.length;
        const subPrefix =
          f.marker.kind === 'blocks' ? `${prefix}/${key}/${idx}` : `${prefix}/${key}/${idx}/body`;
        const sub = collect(stmt.body, bodySchema, scope, diags, failed, subPrefix, blockOwner);
        entry.items.push({ stmt, sub: sub.loc });
        const list = raw[key] as unknown[];
        if (f.marker.kind === 'blocks') list.push(sub.raw);
        else if (f.marker.kind === 'labelledBlocks') list.push({ label: stmt.label, body: sub.raw });
        else list.push({ type: name, body: sub.raw });
      }
    }
  }
  return { raw, loc };
}

interface Issue {
  code: string;
  message: string;
  expected?: string;
  input?: unknown;
}

const TYPE_NAMES: Record<string, string> = { boolean: 'bool', int: 'number', nan: 'number', map: 'object', record: 'object' };

function issueDiagnostic(issue: Issue, path: (string | number)[], root: BodyLoc): Diagnostic {
  // Walk the location tree as far as the path allows.
  let body = root;
  let i = 0;
  let display = '';
  let node: { start: Position; end: Position } = root.owner;
  let expr: ast.Expr | undefined;
  let lastKey: string | undefined;
  let lastKeyIsBlock = false;
  while (i < path.length) {
    const seg = path[i]!;
    if (typeof seg !== 'string') break;
    const l = body.fields.get(seg);
    const fi = body.info.get(seg) ?? body.info.get(`\0${seg}`);
    lastKey = seg;
    lastKeyIsBlock = fi !== undefined && fi.marker.kind !== 'attr';
    if (!l) break;
    display += display ? `.${seg}` : seg;
    i++;
    if (l.kind === 'attr') {
      node = l.stmt.value;
      expr = l.stmt.value;
      break;
    }
    if (l.kind === 'block') {
      node = { start: l.stmt.nameStart, end: l.stmt.nameEnd };
      body = l.sub;
      continue;
    }
    const idx = path[i];
    if (typeof idx !== 'number' || !l.items[idx]) {
      node = { start: l.items[0]!.stmt.nameStart, end: l.items[0]!.stmt.nameEnd };
      break;
    }
    const item = l.items[idx];
    display += `[${idx}]`;
    i++;
    if (path[i] === 'body') i++;
    // `label` of labelled blocks and `type` of enum blocks are not attributes of the body.
    if ((path[i] === 'label' && fi?.marker.kind === 'labelledBlocks') || (path[i] === 'type' && fi?.marker.kind === 'enumBlocks')) break;
    node = { start: item.stmt.nameStart, end: item.stmt.nameEnd };
    body = item.sub;
  }
  // Inside an attribute value: descend through literal arrays/objects. `relative` is the access
  // path from the deepest expression reached (`expr`) to the offending value.
  let relative = '';
  while (expr && i < path.length) {
    const seg = path[i]!;
    let next: ast.Expr | undefined;
    if (expr.kind === 'Array' && typeof seg === 'number') next = expr.elements[seg];
    else if (expr.kind === 'Object') next = expr.fields.find((f) => f.name.name === String(seg))?.value;
    const step = typeof seg === 'number' ? `[${seg}]` : `.${seg}`;
    display += step;
    i++;
    if (!next) {
      relative += step;
      break;
    }
    expr = next;
    node = next;
  }
  for (; i < path.length; i++) {
    const seg = path[i]!;
    const step = typeof seg === 'number' ? `[${seg}]` : `.${seg}`;
    display += display || typeof seg === 'number' ? step : seg;
    relative += step;
  }

  const missing = (issue.code === 'invalid_type' || issue.code === 'custom') && issue.input === undefined;
  if (missing && lastKey !== undefined && !expr && !body.fields.has(lastKey)) {
    const what = lastKeyIsBlock ? 'block' : 'attribute';
    const owner = body.owner;
    return { severity: 'error', message: `missing required ${what} ${JSON.stringify(lastKey)}`, start: owner.start, end: owner.end };
  }
  let message: string;
  if (issue.code === 'invalid_type') {
    // As Alloy: name the value by the expression it came from (printed), plus the access path
    // from there: `true should be object, got bool`, `key_value.object.field1[2] should be ...`.
    const expected = issue.expected ? TYPE_NAMES[issue.expected] ?? issue.expected : 'value';
    const subject = expr ? `${printExpr(expr)}${relative}` : display || 'value';
    message = `${subject} should be ${expected}, got ${typeOf(issue.input)}`;
  } else {
    const sep = issue.message.startsWith('should be') ? ' ' : ': ';
    message = display ? `${display}${sep}${issue.message}` : issue.message;
  }
  return { severity: 'error', message, start: node.start, end: node.end };
}
