/**
 * The loader: config sources → parsed files → config blocks and component specs, with every
 * problem reported as a positioned diagnostic (nothing here starts or builds anything, so
 * `validateConfig` and `alloy validate` use it directly).
 *
 * Rules (as Alloy's loader):
 * - Top-level blocks are config blocks (`logging`, ...) or components (`<registered name> "label"`).
 *   Unknown names → "cannot find the definition of component name". Components need a label (an identifier);
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
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { blockName, capsule, decodeSource, isValidIdentifier, parseFile, reparseFile, Secret, type ast, type ParseResult } from '../syntax/index.js';
import type { Stability } from './component.js';
import { errorAt, type Diagnostic, type SourceRange } from './diagnostics.js';
import { DependencyGraph } from './graph.js';
import { customComponents, parseDeclare, type DeclareBody, type DeclareDef } from './declare.js';
import { foreachSupport } from './foreach.js';
import { blockRange, loadModuleSteps, setPath, where, type ConfigEvaluator, type SpecCache, type CustomComponent, type LoadedComponent, type ModuleScope } from './module-loader.js';
import type { EvalResult } from './controller.js';
import type { AnyDefinition, ComponentRegistry } from './registry.js';
import { runSliced, runSync, type Steps } from './slicing.js';
import { DEFAULT_LOGGING, loggingArgs, type LoggingArgs, type LogLineReceiver } from '../logging/logger.js';

export type { ConfigEvaluator, LoadedComponent, Reference } from './module-loader.js';

/** Config blocks Alloy knows about but this collector does not implement (yet). */
const UNSUPPORTED_CONFIG_BLOCKS = new Set(['http', 'remotecfg']);

/** `livedebugging { enabled = ... }`: turns on the UI's live debugging streams (`live-debugging.ts`). */
const livedebuggingArgs = z.object({ enabled: z.boolean().default(false) });

/** `tracing { sampling_fraction = ... }` without `write_to` is accepted: there is nothing to export to. */
const tracingArgs = z.object({ sampling_fraction: z.number().min(0).max(1).default(0.1), write_to: z.array(z.unknown()).default([]) });

export interface LoadOptions {
  readonly registry: ComponentRegistry;
  readonly evaluator: ConfigEvaluator;
  readonly stabilityLevel?: Stability;
  /** Parse results by file name, reused while the text is unchanged (the caller owns it; entries for files not in `sources` are dropped). */
  readonly parseCache?: Map<string, { readonly src: string; readonly parsed: ParseResult }>;
  /** Custom-component definitions and bodies kept across reloads (see `customComponents`). */
  readonly declareCache?: { definitions: Map<string, AnyDefinition>; bodies: Map<string, DeclareBody> };
  /** Top-level component specs kept across reloads (see `SpecCache`). */
  readonly specCache?: SpecCache;
}

export interface LoadedConfig {
  readonly diags: Diagnostic[];
  readonly logging: {
    readonly args: LoggingArgs;
    readonly range?: SourceRange;
    /**
     * `write_to`, when set: the components it reads, and its evaluation once they run (receivers
     * of the collector's own log lines). Evaluate after the components are applied.
     */
    readonly writeTo?: { readonly dependencies: readonly string[]; evaluate(exportsOf: (id: string) => object | undefined): EvalResult };
  };
  /** `livedebugging { enabled }` of the config (false without the block). */
  readonly liveDebugging: boolean;
  /** Components in source order (the controller orders them by dependency). */
  readonly components: LoadedComponent[];
  /** Components inside `declare` bodies, for static validation only (they run per instance). */
  readonly declaredComponents: LoadedComponent[];
  /** Files that did not parse cleanly (their recovered blocks are not worth evaluating). */
  readonly syntaxErrorFiles: ReadonlySet<string>;
  /** Paths read by `import.file` blocks (files or directories), for change watching. */
  readonly importedPaths: readonly string[];
  /** The `alloy_config_hash` value; see `configHash`. */
  readonly hash: string;
  /**
   * Registered components the config names whose modules are not loaded yet, by name, with the
   * first block naming each (imported modules are read here, after `prepareComponents`):
   * `loadConfigWithComponents` loads them and loads again.
   */
  readonly pendingComponents: ReadonlyMap<string, ast.BlockStmt>;
}

/**
 * `alloy_config_hash`: for a single file, sha256 of its contents exactly as upstream Alloy reports
 * it (so the value does not depend on where the file is mounted); for several files (a directory or
 * imports), sha256 over the sorted file names and contents.
 */
export function configHash(sources: ReadonlyMap<string, string>): string {
  const h = createHash('sha256');
  if (sources.size === 1) return h.update([...sources.values()][0]!).digest('hex');
  for (const name of [...sources.keys()].sort()) {
    h.update(name).update('\0').update(sources.get(name)!).update('\0');
  }
  return h.digest('hex');
}

/** `src` parsed, from `cache` while its text is unchanged, else reusing the unchanged statements of the cached version (the cache is updated). */
function parseCached(file: string, src: string, cache: LoadOptions['parseCache']): ParseResult {
  const hit = cache?.get(file);
  if (hit && hit.src === src) return hit.parsed;
  const parsed = hit ? reparseFile(file, hit, src) : parseFile(file, src);
  cache?.set(file, { src, parsed });
  return parsed;
}

/** Adds to `out` the dotted blocks in `body` (at any depth) whose component is registered but not loaded, first occurrence per name. */
function pendingIn(body: ast.Body, registry: ComponentRegistry, out: Map<string, ast.BlockStmt>): void {
  for (const stmt of body) {
    if (stmt.kind !== 'Block') continue;
    if (stmt.name.length > 1) {
      const name = blockName(stmt);
      if (!out.has(name) && registry.isPending(name)) out.set(name, stmt);
    }
    pendingIn(stmt.body, registry, out);
  }
}

/** Loads `blocks`' components except those in `failed`; adds the names that fail to `failed`. */
async function ensureComponents(blocks: ReadonlyMap<string, ast.BlockStmt>, registry: ComponentRegistry, failed: Set<string>): Promise<Diagnostic[]> {
  const diags: Diagnostic[] = [];
  for (const [name, block] of blocks) {
    if (failed.has(name)) continue;
    try {
      await registry.ensure([name]);
    } catch (err) {
      failed.add(name);
      diags.push(errorAt(blockRange(block), `component "${name}" could not be loaded (an installation problem, not a config error): ${err instanceof Error ? err.message : String(err)}`));
    }
  }
  return diags;
}

/**
 * `loadConfig` after loading the modules of every component the config names, including those
 * named only in imported modules. A module that fails to load is one diagnostic at the first
 * block naming its component.
 */
export async function loadConfigWithComponents(sources: ReadonlyMap<string, string>, opts: LoadOptions): Promise<LoadedConfig> {
  const blocks = new Map<string, ast.BlockStmt>();
  for (const [file, src] of sources) {
    pendingIn(parseCached(file, src, opts.parseCache).file.body, opts.registry, blocks);
  }
  const failedNames = new Set<string>();
  const failed = await ensureComponents(blocks, opts.registry, failedNames);
  let loaded = await runSliced(loadConfigSteps(sources, opts));
  if ([...loaded.pendingComponents.keys()].some((name) => !failedNames.has(name))) {
    failed.push(...(await ensureComponents(loaded.pendingComponents, opts.registry, failedNames)));
    loaded = await runSliced(loadConfigSteps(sources, opts));
  }
  if (failed.length === 0) return loaded;
  const notLoaded = (d: Diagnostic): boolean => /^component "[^"]+" was not loaded before/.test(d.message);
  return { ...loaded, diags: [...failed, ...loaded.diags.filter((d) => !notLoaded(d))] };
}

/** Parse, classify, resolve references, check cycles; specs evaluate lazily. */
export function loadConfig(sources: ReadonlyMap<string, string>, opts: LoadOptions): LoadedConfig {
  return runSync(loadConfigSteps(sources, opts));
}

/**
 * `loadConfig` as steps that may pause between blocks (see `slicing.ts`): `loadConfigWithComponents`
 * runs them sliced, so loading a large config does not hold the event loop.
 */
function* loadConfigSteps(sources: ReadonlyMap<string, string>, opts: LoadOptions): Steps<LoadedConfig> {
  const diags: Diagnostic[] = [];
  const minStability = opts.stabilityLevel ?? 'generally-available';
  const componentBlocks: ast.BlockStmt[] = [];
  const declareBlocks: ast.BlockStmt[] = [];
  let loggingBlock: ast.BlockStmt | undefined;
  let liveDebuggingBlock: ast.BlockStmt | undefined;
  let tracingBlock: ast.BlockStmt | undefined;
  const syntaxErrorFiles = new Set<string>();
  const declareText: string[] = [];
  const importBlocks: ast.BlockStmt[] = [];
  const pending = new Map<string, ast.BlockStmt>();

  const cache = opts.parseCache;
  if (cache) for (const name of [...cache.keys()]) if (!sources.has(name)) cache.delete(name);
  for (const [file, src] of sources) {
    yield;
    const parsed = parseCached(file, src, cache);
    diags.push(...parsed.diags);
    if (parsed.diags.some((d) => d.severity === 'error')) syntaxErrorFiles.add(file);
    pendingIn(parsed.file.body, opts.registry, pending);
    for (const stmt of parsed.file.body) {
      yield;
      if (stmt.kind === 'Attribute') {
        diags.push(errorAt(stmt, `unexpected attribute "${stmt.name.name}" at the top level: only blocks (components and config blocks) are allowed here`));
        continue;
      }
      const name = blockName(stmt);
      const range = blockRange(stmt);
      if (name === 'logging') {
        if (stmt.label !== undefined) diags.push(errorAt(range, `block "logging" does not take a label; remove "${stmt.label}"`));
        if (loggingBlock) diags.push(errorAt(range, `block logging already declared at ${where(blockRange(loggingBlock))}`));
        else loggingBlock = stmt;
        continue;
      }
      if (name === 'livedebugging') {
        if (stmt.label !== undefined) diags.push(errorAt(range, `block "livedebugging" does not take a label; remove "${stmt.label}"`));
        if (liveDebuggingBlock) diags.push(errorAt(range, `block livedebugging already declared at ${where(blockRange(liveDebuggingBlock))}`));
        else liveDebuggingBlock = stmt;
        continue;
      }
      if (name === 'tracing') {
        if (stmt.label !== undefined) diags.push(errorAt(range, `block "tracing" does not take a label; remove "${stmt.label}"`));
        if (tracingBlock) diags.push(errorAt(range, `block tracing already declared at ${where(blockRange(tracingBlock))}`));
        else tracingBlock = stmt;
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
      if (name === 'import.file' || name === 'import.string') {
        importBlocks.push(stmt);
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
    yield;
    const def = parseDeclare(b, opts, diags);
    if (!def) continue;
    const prev = seen.get(def.name);
    if (prev) {
      diags.push(errorAt(blockRange(b), `block declare.${def.name} already declared at ${where(blockRange(prev))}`));
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

  const base = { registry: opts.registry, evaluator: opts.evaluator, minStability, foreach: foreachSupport };
  const textKey = createHash('sha256').update(declareText.join('\0')).digest('hex');
  const liveBodies = new Set<string>();
  const firstFile = sources.keys().next().value;
  const topPath = firstFile !== undefined ? { modulePath: path.dirname(firstFile) } : {};
  // Declare bodies read `customKey` when an instance applies, i.e. after this load computed it.
  const keyRef = { value: '' };
  const withKey = <T extends object>(o: T): T =>
    Object.defineProperty(o, 'customKey', { get: () => keyRef.value, enumerable: true, configurable: true });
  const custom = customComponents(defs, withKey({ ...base, ...topPath }), textKey, opts.declareCache, liveBodies);
  const scope: ModuleScope = { ...base, custom, ...topPath };

  // Imported modules: their declares become `<namespace>.<name>` here.
  const imported = new Map<string, string>();
  const importedPaths: string[] = [];
  const moduleKeys: string[] = [];
  const moduleChecks: Array<{ defs: DeclareDef[]; custom: Map<string, CustomComponent>; modulePath: string }> = [];
  const namespaces = new Map<string, ast.BlockStmt>();
  for (const ib of importBlocks) {
    yield;
    const range = blockRange(ib);
    if (ib.label === undefined || !isValidIdentifier(ib.label)) {
      diags.push(errorAt(range, `block "${blockName(ib)}" needs an identifier label (the namespace), e.g. ${blockName(ib)} "mymodule" { ... }`));
      continue;
    }
    const prev = namespaces.get(ib.label) ?? seen.get(ib.label);
    if (prev) {
      diags.push(errorAt(range, `"${ib.label}" is already declared at ${where(blockRange(prev))}`));
      continue;
    }
    namespaces.set(ib.label, ib);
    const mod = readModule(ib, opts.evaluator, diags, importedPaths);
    if (!mod) continue;
    const modDefs: DeclareDef[] = [];
    const modSeen = new Map<string, ast.BlockStmt>();
    for (const [file, text] of mod) {
      imported.set(file, text);
      const parsed = parseFile(file, text);
      diags.push(...parsed.diags);
      pendingIn(parsed.file.body, opts.registry, pending);
      for (const stmt of parsed.file.body) {
        if (stmt.kind !== 'Block' || blockName(stmt) !== 'declare') {
          diags.push(errorAt(stmt.kind === 'Block' ? blockRange(stmt) : stmt, `a module imported by ${blockName(ib)} "${ib.label}" may only contain declare blocks`));
          continue;
        }
        const def = parseDeclare(stmt, opts, diags);
        if (!def) continue;
        const dup = modSeen.get(def.name);
        if (dup) {
          diags.push(errorAt(blockRange(stmt), `block declare.${def.name} already declared at ${where(blockRange(dup))}`));
          continue;
        }
        modSeen.set(def.name, stmt);
        modDefs.push(def);
      }
    }
    const key = createHash('sha256').update(ib.label).update('\0').update([...mod.values()].join('\0')).digest('hex');
    const modFile = mod.keys().next().value;
    const modPath = blockName(ib) === 'import.file' && modFile !== undefined ? path.dirname(modFile) : path.dirname(ib.start.file);
    const modCustom = customComponents(modDefs, withKey({ ...base, modulePath: modPath }), key, opts.declareCache, liveBodies);
    for (const [name, c] of modCustom) custom.set(`${ib.label}.${name}`, c);
    moduleKeys.push(key);
    moduleChecks.push({ defs: modDefs, custom: modCustom, modulePath: modPath });
  }
  if (opts.declareCache) for (const k of [...opts.declareCache.bodies.keys()]) if (!liveBodies.has(k)) opts.declareCache.bodies.delete(k);

  const customKey = createHash('sha256').update(textKey).update(moduleKeys.join('\0')).digest('hex');
  keyRef.value = customKey;
  const topScope: ModuleScope = { ...scope, customKey, ...(opts.specCache ? { specCache: opts.specCache } : {}) };
  const components = yield* loadModuleSteps(componentBlocks, topScope, diags);
  const declaredComponents: LoadedComponent[] = [];
  const checks = [{ defs, custom, modulePath: scope.modulePath }, ...moduleChecks];
  for (const check of checks) for (const def of check.defs) {
    declaredComponents.push(
      ...(yield* loadModuleSteps(def.stmts, {
        ...topScope,
        custom: check.custom,
        ...(check.modulePath !== undefined ? { modulePath: check.modulePath } : {}),
        args: new Set(def.args.keys()),
        exportDefinition: EXPORT_PLACEHOLDER,
        exportSchema: z.object({ value: z.unknown().optional() }),
      }, diags)),
    );
  }

  // The logging block decodes now, except `write_to`, which reads component exports: it is
  // checked here and evaluated once the components run.
  let logging: LoadedConfig['logging'] = { args: DEFAULT_LOGGING };
  if (loggingBlock) {
    const range = blockRange(loggingBlock);
    const writeTo = loggingBlock.body.find((s): s is ast.AttributeStmt => s.kind === 'Attribute' && s.name.name === 'write_to');
    const res = opts.evaluator.decode(loggingBlock.body.filter((s) => s !== writeTo), loggingArgs, {}, range);
    diags.push(...res.diags);
    if (res.value) {
      logging = { args: res.value, range };
      if (writeTo) logging = { ...logging, writeTo: loggingWriteTo(writeTo, range, components, opts.evaluator, diags) };
    }
  }

  if (tracingBlock) {
    const refs = opts.evaluator.collectReferences(tracingBlock.body).filter((r) => !opts.evaluator.isStdlibRoot(r.path[0]!));
    if (refs.length > 0) {
      diags.push(errorAt(refs[0]!, 'tracing.write_to is not supported: this collector does not export its own traces; remove write_to (or the tracing block)'));
    } else {
      const res = opts.evaluator.decode(tracingBlock.body, tracingArgs, {}, blockRange(tracingBlock));
      diags.push(...res.diags);
    }
  }

  let liveDebugging = false;
  if (liveDebuggingBlock) {
    const res = opts.evaluator.decode(liveDebuggingBlock.body, livedebuggingArgs, {}, blockRange(liveDebuggingBlock));
    diags.push(...res.diags);
    liveDebugging = res.value?.enabled ?? false;
  }

  sortDiags(diags);
  return { diags, logging, liveDebugging, components, declaredComponents, syntaxErrorFiles, importedPaths, hash: configHash(new Map([...sources, ...imported])), pendingComponents: pending };
}

const writeToArgs = z.object({
  write_to: z.array(capsule<LogLineReceiver>('LogsReceiver', (v) => typeof (v as Partial<LogLineReceiver>).append === 'function')),
});

/** `logging { write_to = [...] }`: references resolve to top-level components (longest id prefix). */
function loggingWriteTo(
  stmt: ast.AttributeStmt,
  range: SourceRange,
  components: readonly LoadedComponent[],
  evaluator: ConfigEvaluator,
  diags: Diagnostic[],
): NonNullable<LoadedConfig['logging']['writeTo']> {
  const ids = new Set(components.map((c) => c.id));
  const dependencies = new Set<string>();
  for (const ref of evaluator.collectReferences([stmt])) {
    if (evaluator.isStdlibRoot(ref.path[0]!)) continue;
    let target: string | undefined;
    for (let n = 1; n <= ref.path.length; n++) {
      const id = ref.path.slice(0, n).join('.');
      if (ids.has(id)) target = id;
    }
    if (target === undefined) diags.push(errorAt(ref, `component "${ref.path.join('.')}" does not exist or is out of scope`));
    else dependencies.add(target);
  }
  return {
    dependencies: [...dependencies],
    evaluate(exportsOf) {
      const vars: Record<string, unknown> = {};
      const own = new WeakSet<object>();
      for (const dep of dependencies) setPath(vars, dep.split('.'), exportsOf(dep) ?? {}, own);
      return evaluator.decode([stmt], writeToArgs, vars, range);
    },
  };
}

const importFileArgs = z.object({
  filename: z.string(),
  detector: z.enum(['fsnotify', 'poll']).optional(),
  poll_frequency: z.unknown().optional(),
});
const importStringArgs = z.object({ content: z.unknown() });

/**
 * The sources of an `import.file` (a file, or every `*.alloy` directly in a directory) or
 * `import.string` module. Their arguments must be static (stdlib and `module_path` only): modules
 * are read when the config loads, and again on every reload.
 */
function readModule(ib: ast.BlockStmt, evaluator: ConfigEvaluator, diags: Diagnostic[], paths: string[]): Map<string, string> | undefined {
  const range = blockRange(ib);
  const kind = blockName(ib);
  const modulePath = path.dirname(range.start.file);
  const vars = { module_path: modulePath };
  const refs = evaluator.collectReferences(ib.body).filter((r) => !evaluator.isStdlibRoot(r.path[0]!) && r.path[0] !== 'module_path');
  if (refs.length > 0) {
    diags.push(errorAt(refs[0]!, `${kind} arguments must not reference components in this collector (they are read when the config loads)`));
    return undefined;
  }
  if (kind === 'import.string') {
    const res = evaluator.decode(ib.body, importStringArgs, vars, range);
    diags.push(...res.diags);
    if (!res.value) return undefined;
    const c = res.value.content;
    const text = typeof c === 'string' ? c : c instanceof Secret ? c.reveal() : undefined;
    if (text === undefined) {
      diags.push(errorAt(range, 'import.string: content must be a string'));
      return undefined;
    }
    return new Map([[`${range.start.file}:import.string.${ib.label}`, text]]);
  }
  const res = evaluator.decode(ib.body, importFileArgs, vars, range);
  diags.push(...res.diags);
  if (!res.value) return undefined;
  // Relative to the working directory, as in Alloy; `module_path` gives the importer's directory.
  const base = path.resolve(res.value.filename);
  paths.push(base);
  try {
    if (!statSync(base).isDirectory()) return new Map([[base, decodeSource(readFileSync(base))]]);
    const out = new Map<string, string>();
    for (const name of readdirSync(base).filter((n) => n.endsWith('.alloy')).sort()) {
      const p = path.join(base, name);
      if (statSync(p).isFile()) out.set(p, decodeSource(readFileSync(p)));
    }
    return out;
  } catch (err) {
    diags.push(errorAt(range, `import.file: reading "${res.value.filename}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String(err)}`));
    return undefined;
  }
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
