/**
 * The loader: config sources → parsed files → config blocks and component specs, with every
 * problem reported as a positioned diagnostic (nothing here starts or builds anything, so
 * `validateConfig` and `alloy validate` use it directly).
 *
 * Rules (as Alloy's loader):
 * - Top-level blocks are config blocks (`logging`, ...) or components (`<registered name> "label"`).
 *   Unknown names → "unrecognized component name". Components need a label (an identifier);
 *   config blocks must not have one and appear at most once across all files.
 * - Components below `--stability.level` are rejected with the flag and level needed.
 * - References (`a.b.c.field`) are matched to component ids by longest dotted prefix; the next
 *   path segment must be a declared export. Paths whose root is a stdlib name (`sys`,
 *   `constants`, ...) are not dependencies. Anything else is "does not exist or is out of scope".
 * - Dependency cycles are reported on every block of the cycle.
 * - `declare "name" { ... }` blocks define custom components usable as `name "label" { ... }`
 *   anywhere in the config (see `declare.ts`); their bodies are checked here too.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { blockName, parseFile, type ast, type ParseResult } from '../syntax/index.js';
import type { Stability } from './component.js';
import { errorAt, type Diagnostic, type SourceRange } from './diagnostics.js';
import { DependencyGraph } from './graph.js';
import { customComponents, parseDeclare, type DeclareBody, type DeclareDef } from './declare.js';
import { blockRange, loadModule, where, type ConfigEvaluator, type LoadedComponent, type ModuleScope } from './module-loader.js';
import type { AnyDefinition, ComponentRegistry } from './registry.js';
import { DEFAULT_LOGGING, loggingArgs, type LoggingArgs } from '../logging/logger.js';

export type { ConfigEvaluator, LoadedComponent, Reference } from './module-loader.js';

/** Config blocks Alloy knows about but this collector does not implement (yet). */
const UNSUPPORTED_CONFIG_BLOCKS = new Set(['tracing', 'http', 'remotecfg', 'foreach']);

/** `livedebugging { enabled = ... }` is accepted so existing configs load; this build streams no live data. */
const livedebuggingArgs = z.object({ enabled: z.boolean().default(false) });

export interface LoadOptions {
  readonly registry: ComponentRegistry;
  readonly evaluator: ConfigEvaluator;
  readonly stabilityLevel?: Stability;
  /** Parse results by file name, reused while the text is unchanged (the caller owns it; entries for files not in `sources` are dropped). */
  readonly parseCache?: Map<string, { readonly src: string; readonly parsed: ParseResult }>;
  /** Custom-component definitions and bodies kept across reloads (see `customComponents`). */
  readonly declareCache?: { definitions: Map<string, AnyDefinition>; bodies: Map<string, DeclareBody> };
}

export interface LoadedConfig {
  readonly diags: Diagnostic[];
  readonly logging: { readonly args: LoggingArgs; readonly range?: SourceRange };
  /** Components in source order (the controller orders them by dependency). */
  readonly components: LoadedComponent[];
  /** Components inside `declare` bodies, for static validation only (they run per instance). */
  readonly declaredComponents: LoadedComponent[];
  /** Files that did not parse cleanly (their recovered blocks are not worth evaluating). */
  readonly syntaxErrorFiles: ReadonlySet<string>;
  /** sha256 over file names and contents, as `alloy_config_hash` reports it. */
  readonly hash: string;
}

export function configHash(sources: ReadonlyMap<string, string>): string {
  const h = createHash('sha256');
  for (const name of [...sources.keys()].sort()) {
    h.update(name).update('\0').update(sources.get(name)!).update('\0');
  }
  return h.digest('hex');
}

/** Parse, classify, resolve references, check cycles; specs evaluate lazily. */
export function loadConfig(sources: ReadonlyMap<string, string>, opts: LoadOptions): LoadedConfig {
  const diags: Diagnostic[] = [];
  const minStability = opts.stabilityLevel ?? 'generally-available';
  const componentBlocks: ast.BlockStmt[] = [];
  const declareBlocks: ast.BlockStmt[] = [];
  let loggingBlock: ast.BlockStmt | undefined;
  let liveDebuggingBlock: ast.BlockStmt | undefined;
  const syntaxErrorFiles = new Set<string>();
  const declareText: string[] = [];

  const cache = opts.parseCache;
  if (cache) for (const name of [...cache.keys()]) if (!sources.has(name)) cache.delete(name);
  for (const [file, src] of sources) {
    const hit = cache?.get(file);
    const parsed = hit && hit.src === src ? hit.parsed : parseFile(file, src);
    if (cache && hit?.parsed !== parsed) cache.set(file, { src, parsed });
    diags.push(...parsed.diags);
    if (parsed.diags.some((d) => d.severity === 'error')) syntaxErrorFiles.add(file);
    for (const stmt of parsed.file.body) {
      if (stmt.kind === 'Attribute') {
        diags.push(errorAt(stmt, `unexpected attribute "${stmt.name.name}" at the top level: only blocks (components and config blocks) are allowed here`));
        continue;
      }
      const name = blockName(stmt);
      const range = blockRange(stmt);
      if (name === 'logging') {
        if (stmt.label !== undefined) diags.push(errorAt(range, `block "logging" does not take a label; remove "${stmt.label}"`));
        if (loggingBlock) diags.push(errorAt(range, `block "logging" is already declared at ${where(blockRange(loggingBlock))}; declare it once`));
        else loggingBlock = stmt;
        continue;
      }
      if (name === 'livedebugging') {
        if (stmt.label !== undefined) diags.push(errorAt(range, `block "livedebugging" does not take a label; remove "${stmt.label}"`));
        if (liveDebuggingBlock) diags.push(errorAt(range, `block "livedebugging" is already declared at ${where(blockRange(liveDebuggingBlock))}; declare it once`));
        else liveDebuggingBlock = stmt;
        continue;
      }
      if (name === 'declare') {
        declareBlocks.push(stmt);
        declareText.push(src.slice(stmt.start.offset, stmt.end.offset));
        continue;
      }
      if (name === 'argument' || name === 'export') {
        diags.push(errorAt(range, `block "${name}" is only allowed inside a declare block`));
        continue;
      }
      if (UNSUPPORTED_CONFIG_BLOCKS.has(name) || name.startsWith('import.')) {
        diags.push(errorAt(range, `block "${name}" is not supported by this collector yet`));
        continue;
      }
      componentBlocks.push(stmt);
    }
  }

  // Custom components first: instances may appear before their declare.
  const defs: DeclareDef[] = [];
  const seen = new Map<string, ast.BlockStmt>();
  for (const b of declareBlocks) {
    const def = parseDeclare(b, opts, diags);
    if (!def) continue;
    const prev = seen.get(def.name);
    if (prev) {
      diags.push(errorAt(blockRange(b), `declare "${def.name}" is already declared at ${where(blockRange(prev))}`));
      continue;
    }
    seen.set(def.name, b);
    defs.push(def);
  }
  // A declare that (indirectly) instantiates itself would build forever.
  const declGraph = new DependencyGraph();
  const declNames = new Set(defs.map((d) => d.name));
  for (const d of defs) {
    declGraph.addNode(d.name);
    for (const b of d.stmts) if (declNames.has(blockName(b))) declGraph.addEdge(d.name, blockName(b));
  }
  const recursive = new Set<string>();
  for (const cycle of declGraph.cycles()) {
    for (const name of cycle) {
      recursive.add(name);
      diags.push(errorAt(blockRange(seen.get(name)!), `declare "${name}" instantiates itself: ${[...cycle, cycle[0]].join(' -> ')}`));
    }
  }
  if (recursive.size > 0) defs.splice(0, defs.length, ...defs.filter((d) => !recursive.has(d.name)));

  const base = { registry: opts.registry, evaluator: opts.evaluator, minStability };
  const textKey = createHash('sha256').update(declareText.join('\0')).digest('hex');
  const custom = customComponents(defs, base, textKey, opts.declareCache);
  const scope: ModuleScope = { ...base, custom };

  const components = loadModule(componentBlocks, scope, diags);
  const declaredComponents: LoadedComponent[] = [];
  for (const def of defs) {
    declaredComponents.push(
      ...loadModule(def.stmts, {
        ...scope,
        args: new Set(def.args.keys()),
        exportDefinition: EXPORT_PLACEHOLDER,
        exportSchema: z.object({ value: z.unknown().optional() }),
      }, diags),
    );
  }

  // The logging block decodes now: it has no dependencies on components.
  let logging: LoadedConfig['logging'] = { args: DEFAULT_LOGGING };
  if (loggingBlock) {
    const res = opts.evaluator.decode(loggingBlock.body, loggingArgs, {}, blockRange(loggingBlock));
    diags.push(...res.diags);
    if (res.value) logging = { args: res.value, range: blockRange(loggingBlock) };
  }

  if (liveDebuggingBlock) {
    const res = opts.evaluator.decode(liveDebuggingBlock.body, livedebuggingArgs, {}, blockRange(liveDebuggingBlock));
    diags.push(...res.diags);
    if (res.value?.enabled) {
      const r = blockRange(liveDebuggingBlock);
      diags.push({ severity: 'warning', message: 'livedebugging is enabled, but this build has no live debugging streams; the block is accepted and ignored', start: r.start, end: r.end });
    }
  }

  sortDiags(diags);
  return { diags, logging, components, declaredComponents, syntaxErrorFiles, hash: configHash(sources) };
}

/** Stands in for the per-instance export publisher when declare bodies are only checked. */
const EXPORT_PLACEHOLDER = {
  name: 'export',
  stability: 'generally-available',
  args: z.object({ value: z.unknown().optional() }),
  exports: [],
  build: () => {
    throw new Error('declare bodies are only validated here; instances build their own exports');
  },
} as unknown as AnyDefinition;

function sortDiags(diags: Diagnostic[]): void {
  diags.sort((a, b) => (a.start.file === b.start.file ? a.start.offset - b.start.offset : a.start.file < b.start.file ? -1 : 1));
}
