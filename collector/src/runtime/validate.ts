/**
 * `validateConfig`: everything `alloy validate` checks, without building or running anything:
 * syntax, config blocks, component names/labels/stability, references and exports, cycles, and
 * each component's arguments against its zod schema.
 *
 * Only what is knowable statically fails validation (as `alloy validate` upstream): an attribute
 * whose value references another component's exports, or reads the environment of the process
 * that will run the config (`sys.env(...)`, the deprecated `env(...)`), cannot be typed here (CI
 * rarely has the production environment), so problems inside such attributes are left to
 * `alloy run`, which reports them at load time. Everything else in those blocks is still checked,
 * and syntax errors are always reported.
 */
import { collectReferences, type ast, type ParseResult } from '../syntax/index.js';
import type { Stability } from './component.js';
import type { Diagnostic } from './diagnostics.js';
import { syntaxEvaluator } from './evaluator.js';
import { loadConfig, type ConfigEvaluator } from './loader.js';
import { defaultRegistry, type ComponentRegistry } from './registry.js';

export interface ValidateOptions {
  readonly stabilityLevel?: Stability;
  readonly registry?: ComponentRegistry;
  readonly evaluator?: ConfigEvaluator;
}

interface Span {
  readonly from: number;
  readonly to: number;
  readonly file: string;
}

/** Standard-library paths whose value is the environment of the running process. */
const RUNTIME_ONLY = new Set(['sys.env', 'env']);

function readsRuntimeEnvironment(path: readonly string[]): boolean {
  return RUNTIME_ONLY.has(path.join('.'));
}

/**
 * Attribute ranges (any depth) whose value is only known at run time: it references a component
 * (not only the stdlib) or reads the process environment.
 */
function runtimeValueSpans(body: ast.Body, ev: ConfigEvaluator, out: Span[]): void {
  for (const s of body) {
    if (s.kind === 'Block') runtimeValueSpans(s.body, ev, out);
    else if (collectReferences(s.value).some((r) => !ev.isStdlibRoot(r.path[0]!) || readsRuntimeEnvironment(r.path))) {
      out.push({ file: s.start.file, from: s.start.offset, to: s.end.offset });
    }
  }
}

/** Attribute ranges (any depth) that read the process environment. */
function environmentSpans(body: ast.Body, out: Span[]): void {
  for (const s of body) {
    if (s.kind === 'Block') environmentSpans(s.body, out);
    else if (collectReferences(s.value).some((r) => readsRuntimeEnvironment(r.path))) {
      out.push({ file: s.start.file, from: s.start.offset, to: s.end.offset });
    }
  }
}

function inSpans(d: Diagnostic, spans: readonly Span[]): boolean {
  return spans.some((sp) => sp.file === d.start.file && d.start.offset >= sp.from && d.start.offset < sp.to);
}

export function validateConfig(sources: ReadonlyMap<string, string>, opts: ValidateOptions = {}): Diagnostic[] {
  const evaluator = opts.evaluator ?? syntaxEvaluator();
  const parseCache = new Map<string, { readonly src: string; readonly parsed: ParseResult }>();
  const loaded = loadConfig(sources, {
    parseCache,
    registry: opts.registry ?? defaultRegistry(),
    evaluator,
    ...(opts.stabilityLevel ? { stabilityLevel: opts.stabilityLevel } : {}),
  });
  // Config blocks (logging, tracing, imports...) are evaluated by the loader: drop what only the
  // environment of `alloy run` can settle, except in files that did not parse.
  const envSpans: Span[] = [];
  for (const [file, { parsed }] of parseCache) {
    if (!loaded.syntaxErrorFiles.has(file)) environmentSpans(parsed.file.body, envSpans);
  }
  const diags = loaded.diags.filter((d) => loaded.syntaxErrorFiles.has(d.start.file) || !inSpans(d, envSpans));
  const seen = new Set(diags.map(key));
  for (const spec of [...loaded.components, ...loaded.declaredComponents]) {
    if (loaded.syntaxErrorFiles.has(spec.range.start.file)) continue;
    const res = spec.evaluate(() => undefined);
    if (res.diags.length === 0) continue;
    const spans: Span[] = [];
    runtimeValueSpans(spec.block.body, evaluator, spans);
    for (const d of res.diags) {
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
