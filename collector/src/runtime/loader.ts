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
 */
import { createHash } from 'node:crypto';
import { z, type ZodType } from 'zod';
import { blockId, blockName, DEPRECATED_STDLIB, EXPERIMENTAL_STDLIB, isValidIdentifier, parseFile, type ast, type ParseResult } from '../syntax/index.js';
import type { Stability } from './component.js';
import type { ComponentSpec, EvalResult } from './controller.js';
import { errorAt, type Diagnostic, type SourceRange } from './diagnostics.js';
import { DependencyGraph } from './graph.js';
import { stabilityError, type ComponentRegistry } from './registry.js';
import { DEFAULT_LOGGING, loggingArgs, type LoggingArgs } from '../logging/logger.js';

/** A reference found in an expression: the full dotted path and where it was written. */
export interface Reference {
  readonly path: readonly string[];
  readonly start: ast.Ident['start'];
  readonly end: ast.Ident['end'];
}

/** The evaluation layer (the syntax vm), injected so the loader stays testable. */
export interface ConfigEvaluator {
  collectReferences(body: ast.Body): Reference[];
  /** True when `name` is a standard-library root identifier (`sys`, `constants`, ...). */
  isStdlibRoot(name: string): boolean;
  /** Decode a block body against a schema with `vars` (nested exports) in scope; never throws. */
  decode<T>(
    body: ast.Body,
    schema: ZodType<T>,
    vars: Readonly<Record<string, unknown>>,
    owner?: SourceRange,
  ): { value?: T; diags: readonly Diagnostic[] };
  /** JSON-safe rendering with secrets redacted. */
  toJSON(value: unknown): unknown;
}

/** Config blocks Alloy knows about but this collector does not implement (yet). */
const UNSUPPORTED_CONFIG_BLOCKS = new Set(['tracing', 'http', 'remotecfg', 'argument', 'export', 'declare', 'foreach']);

/** `livedebugging { enabled = ... }` is accepted so existing configs load; this build streams no live data. */
const livedebuggingArgs = z.object({ enabled: z.boolean().default(false) });

export interface LoadOptions {
  readonly registry: ComponentRegistry;
  readonly evaluator: ConfigEvaluator;
  readonly stabilityLevel?: Stability;
  /** Parse results by file name, reused while the text is unchanged (the caller owns it; entries for files not in `sources` are dropped). */
  readonly parseCache?: Map<string, { readonly src: string; readonly parsed: ParseResult }>;
}

export interface LoadedComponent extends ComponentSpec {
  readonly block: ast.BlockStmt;
}

export interface LoadedConfig {
  readonly diags: Diagnostic[];
  readonly logging: { readonly args: LoggingArgs; readonly range?: SourceRange };
  /** Components in source order (the controller orders them by dependency). */
  readonly components: LoadedComponent[];
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

interface Decl {
  readonly block: ast.BlockStmt;
  readonly id: string;
  readonly name: string;
  readonly range: SourceRange;
}

function blockRange(b: ast.BlockStmt): SourceRange {
  return { start: b.nameStart, end: b.labelEnd ?? b.nameEnd };
}

function where(r: SourceRange): string {
  return `${r.start.file}:${r.start.line}:${r.start.column}`;
}

/** Parse, classify, resolve references, check cycles; specs evaluate lazily. */
export function loadConfig(sources: ReadonlyMap<string, string>, opts: LoadOptions): LoadedConfig {
  const diags: Diagnostic[] = [];
  const minStability = opts.stabilityLevel ?? 'generally-available';
  const decls: Decl[] = [];
  const byId = new Map<string, Decl>();
  let loggingBlock: ast.BlockStmt | undefined;
  let liveDebuggingBlock: ast.BlockStmt | undefined;
  const syntaxErrorFiles = new Set<string>();

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
      if (UNSUPPORTED_CONFIG_BLOCKS.has(name) || name.startsWith('import.')) {
        diags.push(errorAt(range, `block "${name}" is not supported by this collector yet`));
        continue;
      }
      const def = opts.registry.get(name);
      if (!def) {
        diags.push(errorAt(range, `unrecognized component name "${name}"`));
        continue;
      }
      if (stmt.label === undefined) {
        diags.push(errorAt(range, `component "${name}" must have a label, e.g. ${name} "default" { ... }`));
        continue;
      }
      if (!isValidIdentifier(stmt.label)) {
        diags.push(errorAt(range, `component label "${stmt.label}" is not a valid identifier: use letters, digits and underscores, not starting with a digit`));
        continue;
      }
      const stab = stabilityError(`component "${name}"`, def.stability, minStability);
      if (stab) {
        diags.push(errorAt(range, stab));
        continue;
      }
      const id = blockId(stmt);
      const prev = byId.get(id);
      if (prev) {
        diags.push(errorAt(range, `component "${id}" is already declared at ${where(prev.range)}; component ids must be unique across all files`));
        continue;
      }
      const decl = { block: stmt, id, name, range };
      decls.push(decl);
      byId.set(id, decl);
    }
  }

  // References → dependencies.
  const graph = new DependencyGraph();
  const deps = new Map<string, Map<string, Reference>>();
  for (const d of decls) {
    graph.addNode(d.id);
    const mine = new Map<string, Reference>();
    deps.set(d.id, mine);
    for (const ref of opts.evaluator.collectReferences(d.block.body)) {
      const target = longestPrefix(ref.path, byId);
      if (!target) {
        if (opts.evaluator.isStdlibRoot(ref.path[0]!)) {
          stdlibChecks(ref, minStability, diags);
          continue;
        }
        diags.push(errorAt(ref, `component "${ref.path.join('.')}" does not exist or is out of scope`));
        continue;
      }
      const [tid, used] = target;
      const field = ref.path[used];
      const tdef = opts.registry.get(byId.get(tid)!.name)!;
      if (field !== undefined && !(tdef.exports as readonly string[]).includes(field)) {
        const known = tdef.exports.length > 0 ? `; it exports: ${tdef.exports.join(', ')}` : '; it has no exports';
        diags.push(errorAt(ref, `component "${tid}" does not export "${field}"${known}`));
        continue;
      }
      if (!mine.has(tid)) mine.set(tid, ref);
      graph.addEdge(d.id, tid);
    }
  }
  for (const cycle of graph.cycles()) {
    const text = [...cycle, cycle[0]].join(' -> ');
    for (const id of cycle) diags.push(errorAt(byId.get(id)!.range, `cycle detected: ${text}`));
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

  const components: LoadedComponent[] = decls.map((d) => {
    const def = opts.registry.get(d.name)!;
    const dependencies = [...deps.get(d.id)!.keys()];
    return {
      id: d.id,
      name: d.name,
      label: d.block.label,
      definition: def,
      dependencies,
      range: d.range,
      block: d.block,
      evaluate(exportsOf: (id: string) => object | undefined): EvalResult {
        const vars: Record<string, unknown> = {};
        const own = new WeakSet<object>();
        for (const dep of dependencies) setPath(vars, dep.split('.'), exportsOf(dep) ?? {}, own);
        return opts.evaluator.decode(d.block.body, def.args, vars, d.range);
      },
    };
  });

  sortDiags(diags);
  return { diags, logging, components, syntaxErrorFiles, hash: configHash(sources) };
}

/** Experimental stdlib functions need `--stability.level=experimental`; deprecated names warn. */
function stdlibChecks(ref: Reference, min: Stability, diags: Diagnostic[]): void {
  const dotted = ref.path.join('.');
  for (const name of EXPERIMENTAL_STDLIB) {
    if (dotted === name || dotted.startsWith(name + '.')) {
      const err = stabilityError(`stdlib function "${name}"`, 'experimental', min);
      if (err) diags.push(errorAt(ref, err));
    }
  }
  const replacement = ref.path.length === 1 ? DEPRECATED_STDLIB[ref.path[0]!] : undefined;
  if (replacement !== undefined && Object.prototype.hasOwnProperty.call(DEPRECATED_STDLIB, ref.path[0]!)) {
    diags.push({ severity: 'warning', message: `"${ref.path[0]}" is deprecated: use "${replacement}" instead`, start: ref.start, end: ref.end });
  }
}

function longestPrefix(path: readonly string[], ids: ReadonlyMap<string, unknown>): [string, number] | undefined {
  let best: [string, number] | undefined;
  let prefix = path[0]!;
  for (let n = 2; n <= path.length; n++) {
    prefix = `${prefix}.${path[n - 1]!}`;
    if (ids.has(prefix)) best = [prefix, n];
  }
  return best;
}

/** Nested variables for evaluation; never mutates the exports objects it links to. */
function setPath(root: Record<string, unknown>, path: readonly string[], value: object, own: WeakSet<object>): void {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    let child: Record<string, unknown>;
    if (typeof next === 'object' && next !== null && own.has(next)) child = next as Record<string, unknown>;
    else {
      // A component id can be a prefix of another (`a.b` and `a.b.c`): copy, keep both reachable.
      child = typeof next === 'object' && next !== null ? { ...(next as object) } : {};
      own.add(child);
      cur[k] = child;
    }
    cur = child;
  }
  const last = path[path.length - 1]!;
  const existing = cur[last];
  if (typeof existing === 'object' && existing !== null && own.has(existing)) {
    const merged = { ...value, ...(existing as object) };
    own.add(merged);
    cur[last] = merged;
  } else {
    cur[last] = value;
  }
}

function sortDiags(diags: Diagnostic[]): void {
  diags.sort((a, b) => (a.start.file === b.start.file ? a.start.offset - b.start.offset : a.start.file < b.start.file ? -1 : 1));
}
