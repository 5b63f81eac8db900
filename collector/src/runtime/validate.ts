/**
 * `validateConfig`: everything `alloy validate` checks, without building or running anything:
 * syntax, config blocks, component names/labels/stability, references and exports, cycles, and
 * each component's arguments against its zod schema. Attributes whose value references another
 * component's exports cannot be typed without running that component, so problems inside them
 * are left to load time; everything else in those blocks is still checked.
 */
import { collectReferences, type ast } from '../syntax/index.js';
import type { Stability } from './component.js';
import type { Diagnostic } from './diagnostics.js';
import { syntaxEvaluator } from './evaluator.js';
import { loadConfig, type ConfigEvaluator } from './loader.js';
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

/** Attribute ranges (any depth) whose value references a component (not only the stdlib). */
function referencingSpans(body: ast.Body, ev: ConfigEvaluator, out: Span[]): void {
  for (const s of body) {
    if (s.kind === 'Block') referencingSpans(s.body, ev, out);
    else if (collectReferences(s.value).some((r) => !ev.isStdlibRoot(r.path[0]!))) {
      out.push({ file: s.start.file, from: s.start.offset, to: s.end.offset });
    }
  }
}

export function validateConfig(sources: ReadonlyMap<string, string>, opts: ValidateOptions): Diagnostic[] {
  const evaluator = opts.evaluator ?? syntaxEvaluator();
  const loaded = loadConfig(sources, {
    registry: opts.registry,
    evaluator,
    ...(opts.stabilityLevel ? { stabilityLevel: opts.stabilityLevel } : {}),
  });
  const diags = [...loaded.diags];
  const seen = new Set(diags.map(key));
  for (const spec of [...loaded.components, ...loaded.declaredComponents]) {
    if (loaded.syntaxErrorFiles.has(spec.range.start.file)) continue;
    const res = spec.evaluate(() => undefined);
    if (res.diags.length === 0) continue;
    const spans: Span[] = [];
    referencingSpans(spec.block.body, evaluator, spans);
    for (const d of res.diags) {
      const inRef = spans.some((sp) => sp.file === d.start.file && d.start.offset >= sp.from && d.start.offset < sp.to);
      if (inRef || seen.has(key(d))) continue;
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
