/**
 * `validateConfig`: everything `alloy validate` checks, without building or running anything:
 * syntax, config blocks, component names/labels/stability, references and exports, cycles, and
 * each component's arguments against its zod schema.
 *
 * Only what is knowable statically fails validation (as `alloy validate` upstream): an attribute
 * whose value references another component's exports, or calls a function (`sys.env(...)` reads
 * the environment of the process that will run the config, which CI rarely has; every standard
 * library function runs when the config loads, e.g. `array.combine_maps([], [], [])` fails only
 * then), cannot be judged here, so problems inside such attributes are left to `alloy run`, which
 * reports them at load time. Everything else in those blocks is still checked (literals, names,
 * required attributes, the stability level of the functions used), and syntax errors are always
 * reported.
 */
import { callsFunction, collectReferences, type ast, type ParseResult } from '../syntax/index.js';
import type { Stability } from './component.js';
import type { Diagnostic } from './diagnostics.js';
import { syntaxEvaluator } from './evaluator.js';
import { loadConfigWithComponents, type ConfigEvaluator } from './loader.js';
import type { ComponentRegistry } from './registry.js';

export interface ValidateOptions {
  readonly stabilityLevel?: Stability;
  /** The components the config may use (entry points pass `defaultRegistry()` from `component/registry.ts`). */
  readonly registry: ComponentRegistry;
  readonly evaluator?: ConfigEvaluator;
}

interface Span {
  readonly from: number;
  readonly to: number;
  readonly file: string;
}

/**
 * Attribute ranges (any depth) whose value is only known at run time: it references a component
 * (not only the stdlib) or calls a function. With `componentsKnown`, references to components are
 * not counted (config blocks are evaluated by the loader without components).
 */
function runtimeValueSpans(body: ast.Body, ev: ConfigEvaluator, out: Span[], componentsKnown = false): void {
  for (const s of body) {
    if (s.kind === 'Block') runtimeValueSpans(s.body, ev, out, componentsKnown);
    else if (callsFunction(s.value) || (!componentsKnown && collectReferences(s.value).some((r) => !ev.isStdlibRoot(r.path[0]!)))) {
      out.push({ file: s.start.file, from: s.start.offset, to: s.end.offset });
    }
  }
}

/** Top-level blocks whose bodies the loader itself evaluates (config blocks and imports). */
function isEvaluatedByLoader(name: readonly string[]): boolean {
  return name[0] === 'import' || (name.length === 1 && ['logging', 'tracing', 'livedebugging', 'http', 'remotecfg'].includes(name[0]!));
}

/** The innermost attribute (any depth) whose value contains `offset` in `file`. */
function attributeAt(body: ast.Body, file: string, offset: number): ast.AttributeStmt | undefined {
  for (const s of body) {
    if (s.start.file !== file || offset < s.start.offset || offset >= s.end.offset) continue;
    return s.kind === 'Attribute' ? s : attributeAt(s.body, file, offset);
  }
  return undefined;
}

/**
 * As `alloy validate` words a type error: it names the attribute (`"forward_to" should be array,
 * got string`) where evaluation names the value; the position is the same.
 */
function validatorTypeMessage(d: Diagnostic, body: ast.Body): Diagnostic {
  const m = /^.+ (should be \S+, got \S+)$/.exec(d.message);
  if (!m || d.severity !== 'error') return d;
  const attr = attributeAt(body, d.start.file, d.start.offset);
  return attr ? { ...d, message: `"${attr.name.name}" ${m[1]}` } : d;
}

function inSpans(d: Diagnostic, spans: readonly Span[]): boolean {
  return spans.some((sp) => sp.file === d.start.file && d.start.offset >= sp.from && d.start.offset < sp.to);
}

export async function validateConfig(sources: ReadonlyMap<string, string>, opts: ValidateOptions): Promise<Diagnostic[]> {
  const evaluator = opts.evaluator ?? syntaxEvaluator();
  const parseCache = new Map<string, { readonly src: string; readonly parsed: ParseResult }>();
  const loaded = await loadConfigWithComponents(sources, {
    parseCache,
    registry: opts.registry,
    evaluator,
    ...(opts.stabilityLevel ? { stabilityLevel: opts.stabilityLevel } : {}),
  });
  // As Alloy: a config that does not parse is reported by its syntax errors alone (the rest of
  // the checks would only repeat them in other words).
  if (loaded.syntaxErrorFiles.size > 0) {
    const syntax = [...parseCache.values()].flatMap((e) => e.parsed.diags);
    return syntax.sort((a, b) => (a.start.file === b.start.file ? a.start.offset - b.start.offset : a.start.file < b.start.file ? -1 : 1));
  }
  // Config blocks (logging, tracing, imports...) are evaluated by the loader: drop what only
  // `alloy run` can settle (function results), except in files that did not parse.
  const envSpans: Span[] = [];
  for (const [file, { parsed }] of parseCache) {
    if (loaded.syntaxErrorFiles.has(file)) continue;
    const configBlocks = parsed.file.body.filter((s): s is ast.BlockStmt => s.kind === 'Block' && isEvaluatedByLoader(s.name));
    runtimeValueSpans(configBlocks, evaluator, envSpans, true);
  }
  const diags = loaded.diags.filter((d) => loaded.syntaxErrorFiles.has(d.start.file) || !inSpans(d, envSpans));
  const seen = new Set(diags.map(key));
  for (const spec of [...loaded.components, ...loaded.declaredComponents]) {
    if (loaded.syntaxErrorFiles.has(spec.range.start.file)) continue;
    const res = spec.evaluate(() => undefined);
    if (res.diags.length === 0) continue;
    const spans: Span[] = [];
    runtimeValueSpans(spec.block.body, evaluator, spans);
    for (const raw of res.diags) {
      const d = validatorTypeMessage(raw, spec.block.body);
      if (inSpans(d, spans) || seen.has(key(d))) continue;
      seen.add(key(d));
      diags.push(d);
    }
  }
  diags.sort((a, b) => (a.start.file === b.start.file ? a.start.offset - b.start.offset : a.start.file < b.start.file ? -1 : 1));
  return diags;
}

function key(d: Diagnostic): string {
  return `${d.start.file}:${d.start.offset}:${d.message}`;
}
