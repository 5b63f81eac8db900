/**
 * Turns the component blocks of one module (the top level of a config, or the body of a
 * `declare` block) into `ComponentSpec`s: names → definitions (registered or custom), labels,
 * stability, references → dependencies (longest dotted prefix over component ids, then the
 * export name must exist), cycles. Pure: builds and starts nothing; problems are diagnostics.
 *
 * Inside a `declare` body, `argument "<n>"` values are read as `argument.<n>.value` and
 * `export "<n>" { value = ... }` blocks become specs of a synthetic definition supplied by the
 * caller (`ModuleScope.exportDefinition`), so exports re-evaluate like any other dependent.
 */
import type { ZodType } from 'zod';
import { blockId, blockName, callsFunction, DEPRECATED_STDLIB, EXPERIMENTAL_STDLIB, isValidIdentifier, type AlloyJSONStatement, type ast } from '../syntax/index.js';
import type { Stability } from './component.js';
import type { ComponentSpec, EvalResult } from './controller.js';
import { errorAt, type Diagnostic, type SourceRange } from './diagnostics.js';
import { DependencyGraph } from './graph.js';
import { stabilityError, type AnyDefinition, type ComponentRegistry } from './registry.js';
import { runSync, type Steps } from './slicing.js';

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
  /**
   * Alloy's typed JSON body (`{name, type: "attr"|"block", value|body}`) of decoded arguments,
   * exports or debug info, typed by `schema` when given (durations as `"30s"`, capsules);
   * secrets redacted.
   */
  encodeBody(value: unknown, schema?: ZodType): AlloyJSONStatement[];
}

export interface LoadedComponent extends ComponentSpec {
  readonly block: ast.BlockStmt;
}

/** A component defined by a `declare` block, as the module loader needs it. */
export interface CustomComponent {
  readonly name: string;
  readonly definition: AnyDefinition;
  /** Arguments schema of an instance block (attributes named after the `argument` blocks). */
  readonly schema: ZodType<Record<string, unknown>>;
  readonly exports: readonly string[];
  /** Final arguments handed to the instance (adds the module body it runs). */
  wrapArgs(decoded: Record<string, unknown>): unknown;
}

export interface ModuleScope {
  readonly registry: ComponentRegistry;
  readonly evaluator: ConfigEvaluator;
  readonly minStability: Stability;
  /** Custom components visible here, by name. */
  readonly custom: ReadonlyMap<string, CustomComponent>;
  /** Inside a `declare` body: its argument names. */
  readonly args?: ReadonlySet<string>;
  /** Variables added to every evaluation (`argument`). */
  readonly extraVars?: () => Readonly<Record<string, unknown>>;
  /** Inside a `declare` body: the definition that publishes `export` blocks. */
  readonly exportDefinition?: AnyDefinition;
  /** Schema of an `export` block body. */
  readonly exportSchema?: ZodType<{ value?: unknown }>;
  /** Directory of the module's file, visible as `module_path`. */
  readonly modulePath?: string;
  /** `foreach` blocks (see `foreach.ts`); absent: they are reported as unsupported. */
  readonly foreach?: ForeachSupport;
  /** Identifies the custom components in scope (changes when any declare's text changes). */
  readonly customKey?: string;
  /** Inside a `foreach` template: ids of the enclosing module's components (their exports are variables here). */
  readonly externalIds?: { has(id: string): boolean };
  /** Inside a `foreach` template: extra root identifiers (the `var` name). */
  readonly extraRoots?: ReadonlySet<string>;
  /** Specs kept from the previous load of this module (see `SpecCache`); the top level only. */
  readonly specCache?: SpecCache;
}

/**
 * Specs of registered-component blocks kept across loads of one module (the config's top level).
 * A block's spec is reused when its syntax tree is the same object (the parser reuses the trees of
 * statements an edit did not touch, see `reparseFile`), its definition is the same, it resolved
 * its references without any diagnostic, and every component id of the module, with its exports,
 * is as when the spec was made (so its references resolve the same way). Evaluation results are
 * not kept here: the controller re-evaluates a reused spec on every apply unless it is
 * `inputsOnly` (reads component exports only) and those exports are unchanged.
 */
export class SpecCache {
  readonly #entries = new WeakMap<ast.BlockStmt, { readonly signature: string; readonly definition: AnyDefinition; readonly spec: LoadedComponent }>();
  #signature = '';

  /** Called once per load with the module's ids and exports and the evaluation context. */
  begin(signature: string): void {
    this.#signature = signature;
  }

  get(block: ast.BlockStmt, definition: AnyDefinition): LoadedComponent | undefined {
    const e = this.#entries.get(block);
    return e && e.signature === this.#signature && e.definition === definition ? e.spec : undefined;
  }

  set(block: ast.BlockStmt, definition: AnyDefinition, spec: LoadedComponent): void {
    this.#entries.set(block, { signature: this.#signature, definition, spec });
  }
}

/** Identity numbers for objects that are part of a `SpecCache` signature. */
const identities = new WeakMap<object, number>();
let nextIdentity = 0;
function identity(o: object): number {
  let n = identities.get(o);
  if (n === undefined) identities.set(o, (n = ++nextIdentity));
  return n;
}

/** What a `foreach` block needs from its runtime implementation. */
export interface ForeachSupport {
  readonly definition: AnyDefinition;
  readonly schema: ZodType<Record<string, unknown>>;
  /**
   * Final arguments of a `foreach` instance: its decoded attributes plus the template, the scope it
   * runs in and `vars` (the exports and variables visible at the block).
   */
  wrapArgs(decoded: Record<string, unknown>, template: ForeachTemplate, vars: Readonly<Record<string, unknown>>): unknown;
}

export interface ForeachTemplate {
  readonly stmts: readonly ast.BlockStmt[];
  readonly varName: string;
  /** The module scope the template's components load in (minus per-item variables). */
  readonly scope: ModuleScope;
  /** Content key of the template and everything it can instantiate. */
  readonly key: string;
}

export function blockRange(b: ast.BlockStmt): SourceRange {
  return { start: b.nameStart, end: b.labelEnd ?? b.nameEnd };
}

export function where(r: SourceRange): string {
  return `${r.start.file}:${r.start.line}:${r.start.column}`;
}

interface Decl {
  readonly block: ast.BlockStmt;
  /** A registered component (not custom, foreach or export): its spec may be cached. */
  readonly registered?: boolean;
  readonly id: string;
  readonly name: string;
  readonly range: SourceRange;
  readonly definition: AnyDefinition;
  readonly schema: ZodType<unknown>;
  readonly exports: readonly string[];
  readonly wrap?: (v: Record<string, unknown>, vars: Readonly<Record<string, unknown>>) => unknown;
  /** Body decoded against `schema` when not the whole block body (foreach: its attributes). */
  readonly argsBody?: ast.Body;
  /** foreach: identifiers and component ids its template resolves itself. */
  readonly localRoots?: ReadonlySet<string>;
  readonly localIds?: ReadonlyMap<string, unknown>;
}

/**
 * Specs for the component (and `export`) blocks in `stmts`. Blocks that are not components
 * (config blocks, `declare`, `argument`) must be filtered out by the caller.
 */
export function loadModule(stmts: readonly ast.BlockStmt[], scope: ModuleScope, diags: Diagnostic[]): LoadedComponent[] {
  return runSync(loadModuleSteps(stmts, scope, diags));
}

/** `loadModule` as steps that may pause between blocks (see `slicing.ts`). */
export function* loadModuleSteps(stmts: readonly ast.BlockStmt[], scope: ModuleScope, diags: Diagnostic[]): Steps<LoadedComponent[]> {
  const decls: Decl[] = [];
  const byId = new Map<string, Decl>();

  for (const stmt of stmts) {
    yield;
    const name = blockName(stmt);
    const range = blockRange(stmt);
    let decl: Omit<Decl, 'id' | 'block' | 'range' | 'name'> | undefined;
    if (name === 'foreach') {
      decl = foreachDecl(stmt, scope, byId, diags);
      if (!decl) continue;
    } else if (name === 'export' && scope.exportDefinition && scope.exportSchema) {
      if (stmt.label === undefined || !isValidIdentifier(stmt.label)) {
        diags.push(errorAt(range, 'an export block needs an identifier label: export "name" { value = ... }'));
        continue;
      }
      decl = { definition: scope.exportDefinition, schema: scope.exportSchema, exports: [] };
    } else {
      const custom = scope.custom.get(name);
      const def = custom ? undefined : scope.registry.get(name);
      if (!custom && !def) {
        diags.push(
          errorAt(
            range,
            scope.registry.isPending(name)
              ? `component "${name}" was not loaded before the configuration was evaluated (load configs with loadConfigWithComponents)`
              : `cannot find the definition of component name "${name}"`,
          ),
        );
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
      if (def) {
        const stab = stabilityError(`component "${name}"`, def.stability, scope.minStability);
        if (stab) {
          diags.push(errorAt(range, stab));
          continue;
        }
        decl = { definition: def, schema: def.args, exports: def.exports, registered: true };
      } else {
        const c = custom!;
        decl = { definition: c.definition, schema: c.schema, exports: c.exports, wrap: (v) => c.wrapArgs(v) };
      }
    }
    const id = blockId(stmt);
    const prev = byId.get(id);
    if (prev) {
      diags.push(errorAt(range, `block ${id} already declared at ${where(prev.range)}`));
      continue;
    }
    const d: Decl = { ...decl, block: stmt, id, name, range };
    decls.push(d);
    byId.set(id, d);
  }

  // A cache applies only where evaluation sees nothing but component exports, stdlib and module_path.
  const cache = scope.specCache && !scope.args && !scope.extraVars && !scope.exportDefinition && !scope.externalIds && !scope.extraRoots ? scope.specCache : undefined;
  if (cache) {
    const parts = [`${identity(scope.evaluator)}\0${scope.minStability}\0${scope.modulePath ?? ''}\0${scope.customKey ?? ''}`];
    for (const d of decls) parts.push(`${d.id}\0${d.exports.join(',')}`);
    cache.begin(parts.join('\n'));
  }
  const reused = new Map<string, LoadedComponent>();
  const cacheable = new Set<string>();
  /** Blocks whose evaluation reads nothing but component exports (`ComponentSpec.inputsOnly`). */
  const onlyInputs = new Set<string>();

  // References → dependencies.
  const graph = new DependencyGraph();
  const deps = new Map<string, Set<string>>();
  for (const d of decls) {
    yield;
    graph.addNode(d.id);
    const hit = d.registered ? cache?.get(d.block, d.definition) : undefined;
    if (hit) {
      reused.set(d.id, hit);
      deps.set(d.id, new Set(hit.dependencies));
      for (const tid of hit.dependencies) graph.addEdge(d.id, tid);
      continue;
    }
    const diagsBefore = diags.length;
    const mine = new Set<string>();
    deps.set(d.id, mine);
    let inputsOnly = d.registered === true && !scope.extraVars && !callsFunction(d.block.body);
    for (const ref of scope.evaluator.collectReferences(d.block.body)) {
      const target = longestPrefix(ref.path, byId);
      if (!target) {
        inputsOnly = false;
        const root = ref.path[0]!;
        if (d.localRoots?.has(root) || (d.localIds && longestPrefix(ref.path, d.localIds))) continue;
        if (scope.extraRoots?.has(root) || (scope.externalIds && longestPrefix(ref.path, scope.externalIds))) continue;
        if (root === 'argument' && scope.args) {
          const arg = ref.path[1];
          if (arg === undefined || !scope.args.has(arg)) {
            diags.push(errorAt(ref, `argument "${arg ?? ''}" is not declared in this module; declare it with argument "${arg ?? 'name'}" { }`));
          } else if (ref.path[2] !== undefined && ref.path[2] !== 'value') {
            diags.push(errorAt(ref, `argument "${arg}" has only the field "value" (argument.${arg}.value)`));
          }
          continue;
        }
        if (root === 'module_path' && scope.modulePath !== undefined && ref.path.length === 1) continue;
        if (scope.evaluator.isStdlibRoot(root)) {
          stdlibChecks(ref, scope.minStability, diags);
          continue;
        }
        diags.push(errorAt(ref, `component "${ref.path.join('.')}" does not exist or is out of scope`));
        continue;
      }
      const [tid, used] = target;
      if (tid === d.id) {
        diags.push(errorAt(d.range, 'cannot reference self'));
        continue;
      }
      const root = ref.path[0]!;
      if (scope.evaluator.isStdlibRoot(root)) {
        inputsOnly = false;
        // The component wins, as in Alloy, but the stdlib name is hidden in this module.
        diags.push({ severity: 'warning', message: 'a component is shadowing an existing stdlib name', start: ref.start, end: ref.end });
      }
      const field = ref.path[used];
      const texports = byId.get(tid)!.exports;
      if (field !== undefined && !texports.includes(field)) {
        const known = texports.length > 0 ? `; it exports: ${texports.join(', ')}` : '; it has no exports';
        diags.push(errorAt(ref, `component "${tid}" does not export "${field}"${known}`));
        continue;
      }
      mine.add(tid);
      graph.addEdge(d.id, tid);
    }
    if (cache && d.registered && diags.length === diagsBefore) cacheable.add(d.id);
    if (inputsOnly) onlyInputs.add(d.id);
  }
  yield;
  const cycles = graph.cycles();
  if (cycles.length > 0) cacheable.clear();
  for (const cycle of cycles) {
    // Listed as Alloy lists them (the reverse of the order the blocks were found).
    const text = [...cycle].reverse().join(', ');
    for (const id of cycle) diags.push(errorAt(byId.get(id)!.range, `cycle detected: ${text}`));
  }

  const { evaluator, extraVars, modulePath } = scope;
  return decls.map((d) => {
    const kept = reused.get(d.id);
    if (kept) return kept;
    const dependencies = [...deps.get(d.id)!];
    const spec: LoadedComponent = {
      id: d.id,
      name: d.name,
      label: d.block.label,
      definition: d.definition,
      dependencies,
      range: d.range,
      block: d.block,
      ...(onlyInputs.has(d.id) ? { inputsOnly: true } : {}),
      evaluate(exportsOf: (id: string) => object | undefined): EvalResult {
        const vars: Record<string, unknown> = extraVars ? { ...extraVars() } : {};
        if (modulePath !== undefined) vars.module_path = modulePath;
        const own = new WeakSet<object>();
        for (const dep of dependencies) setPath(vars, dep.split('.'), exportsOf(dep) ?? {}, own);
        const res = evaluator.decode(d.argsBody ?? d.block.body, d.schema, vars, d.range);
        if (!d.wrap || res.value === undefined) return res;
        return { value: d.wrap(res.value as Record<string, unknown>, vars), diags: res.diags };
      },
    };
    if (cacheable.has(d.id)) cache!.set(d.block, d.definition, spec);
    return spec;
  });
}

/** A `foreach` block: attributes are its arguments, `template` runs once per collection item. */
function foreachDecl(
  stmt: ast.BlockStmt,
  scope: ModuleScope,
  siblings: ReadonlyMap<string, unknown>,
  diags: Diagnostic[],
): Omit<Decl, 'id' | 'block' | 'range' | 'name'> | undefined {
  const range = blockRange(stmt);
  const support = scope.foreach;
  if (!support) {
    diags.push(errorAt(range, 'block "foreach" is not supported here'));
    return undefined;
  }
  if (stmt.label === undefined || !isValidIdentifier(stmt.label)) {
    diags.push(errorAt(range, 'a foreach block needs an identifier label: foreach "name" { ... }'));
    return undefined;
  }
  const stab = stabilityError(`foreach block "${stmt.label ?? ''}"`, 'experimental', scope.minStability);
  if (stab) {
    diags.push(errorAt(range, stab));
    return undefined;
  }
  const attrs: ast.AttributeStmt[] = [];
  const templates: ast.BlockStmt[] = [];
  for (const s of stmt.body) {
    if (s.kind === 'Attribute') attrs.push(s);
    else if (blockName(s) === 'template' && s.label === undefined) templates.push(s);
    else diags.push(errorAt(blockRange(s), `unexpected block "${blockName(s)}" in foreach: only a template block is allowed`));
  }
  if (templates.length !== 1) {
    diags.push(errorAt(range, `foreach "${stmt.label}" needs exactly one template block, found ${templates.length}`));
    return undefined;
  }
  const varAttr = attrs.find((a) => a.name.name === 'var');
  const varName = varAttr?.value.kind === 'Literal' && typeof varAttr.value.value === 'string' ? varAttr.value.value : undefined;
  if (varName === undefined || !isValidIdentifier(varName)) {
    diags.push(errorAt(varAttr ?? range, 'foreach: var must be a string literal naming the item variable, e.g. var = "each"'));
    return undefined;
  }
  const tstmts: ast.BlockStmt[] = [];
  for (const s of templates[0]!.body) {
    if (s.kind === 'Attribute') diags.push(errorAt(s, `unexpected attribute "${s.name.name}" in a foreach template: only components are allowed`));
    else tstmts.push(s);
  }
  const localIds = new Map<string, unknown>(tstmts.filter((b) => b.label !== undefined).map((b) => [blockId(b), b]));
  const outer = scope.externalIds;
  const inner: ModuleScope = {
    ...scope,
    extraRoots: new Set([...(scope.extraRoots ?? []), varName]),
    // Sibling components of the foreach (complete once the module is loaded) and anything visible to it.
    externalIds: { has: (id: string) => siblings.has(id) || (outer?.has(id) ?? false) },
  };
  const key = `${scope.customKey ?? ''}\0${varName}\0${astKey(tstmts)}`;
  return {
    definition: support.definition,
    schema: support.schema,
    exports: [],
    argsBody: attrs,
    // The item variable, and those of foreach blocks nested in the template (their templates
    // see this one's variable too; each nested template is checked when its item loads).
    localRoots: new Set([varName, ...nestedForeachVars(tstmts)]),
    localIds,
    wrap: (v, vars) => support.wrapArgs(v, { stmts: tstmts, varName, scope: inner, key }, vars),
  };
}

/** `var` names of the foreach blocks anywhere inside `stmts`. */
function nestedForeachVars(stmts: readonly ast.Stmt[]): string[] {
  const out: string[] = [];
  for (const s of stmts) {
    if (s.kind !== 'Block') continue;
    if (blockName(s) === 'foreach') {
      for (const a of s.body) {
        if (a.kind === 'Attribute' && a.name.name === 'var' && a.value.kind === 'Literal' && typeof a.value.value === 'string') out.push(a.value.value);
      }
    }
    out.push(...nestedForeachVars(s.body));
  }
  return out;
}

/** Content key of syntax trees: positions dropped, so moving a block does not change it. */
function astKey(nodes: readonly ast.BlockStmt[]): string {
  return JSON.stringify(nodes, (k, v: unknown) => (k === 'start' || k === 'end' || k.endsWith('Start') || k.endsWith('End') || k === 'lcurly' || k === 'rcurly' || k === 'rbrack' || k === 'lbrack' || k === 'lparen' || k === 'rparen' || k === 'opStart' ? undefined : v));
}

/** Experimental stdlib functions need `--stability.level=experimental`; deprecated names warn. */
function stdlibChecks(ref: Reference, min: Stability, diags: Diagnostic[]): void {
  const dotted = ref.path.join('.');
  for (const name of EXPERIMENTAL_STDLIB) {
    if (dotted === name || dotted.startsWith(name + '.')) {
      const err = stabilityError(name, 'experimental', min);
      if (err) diags.push(errorAt(ref, err));
    }
  }
  const replacement = ref.path.length === 1 ? DEPRECATED_STDLIB[ref.path[0]!] : undefined;
  if (replacement !== undefined && Object.prototype.hasOwnProperty.call(DEPRECATED_STDLIB, ref.path[0]!)) {
    const end = { ...ref.start, column: ref.start.column + ref.path[0]!.length, offset: ref.start.offset + ref.path[0]!.length };
    diags.push({ severity: 'warning', message: `this stdlib function is deprecated; please refer to the documentation for updated usage and alternatives (use "${replacement}")`, start: ref.start, end });
  }
}

function longestPrefix(path: readonly string[], ids: { has(id: string): boolean }): [string, number] | undefined {
  let best: [string, number] | undefined;
  let prefix = path[0]!;
  if (ids.has(prefix)) best = [prefix, 1];
  for (let n = 2; n <= path.length; n++) {
    prefix = `${prefix}.${path[n - 1]!}`;
    if (ids.has(prefix)) best = [prefix, n];
  }
  return best;
}

/** Nested variables for evaluation; never mutates the exports objects it links to. */
export function setPath(root: Record<string, unknown>, path: readonly string[], value: object, own: WeakSet<object>): void {
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
