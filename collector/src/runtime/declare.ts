/**
 * Custom components (`declare "name" { ... }`), as in Alloy:
 *
 *   declare "relabel_to" {
 *     argument "url" { }                          // required
 *     argument "job" { optional = true  default = "x" }
 *     prometheus.remote_write "out" { endpoint { url = argument.url.value } }
 *     export "receiver" { value = prometheus.remote_write.out.receiver }
 *   }
 *   relabel_to "a" { url = "http://..." }         // an instance; exports `receiver`
 *
 * An instance runs its body in a nested `Controller` (inner ids are local; logs and data paths
 * carry `<instance id>/<inner id>`). Its arguments feed `argument.<n>.value`; its exports are the
 * `export` blocks, re-published whenever they change. Updating an instance re-applies the body
 * (unchanged inner components keep running). Declares are top-level only; a declare body may use
 * registered components and the other top-level declares.
 */
import { z, type ZodType } from 'zod';
import { blockName, isValidIdentifier, type ast } from '../syntax/index.js';
import type {
  Component,
  ComponentDefinition,
  ComponentOptions,
  DebugComponent,
  Health,
  HealthComponent,
  ServiceName,
} from './component.js';
import { Controller, leastHealthy } from './controller.js';
import { errorAt, type Diagnostic } from './diagnostics.js';
import { blockRange, loadModule, where, type CustomComponent, type ModuleScope } from './module-loader.js';
import type { HttpService } from './services.js';
import type { AnyDefinition } from './registry.js';

const argumentSchema = z.object({
  optional: z.boolean().default(false),
  default: z.unknown().optional(),
  comment: z.string().optional(),
});

const exportSchema = z.object({ value: z.unknown().optional() });

/** Names Alloy reserves for config blocks; a declare cannot take them. */
const RESERVED = new Set(['logging', 'tracing', 'http', 'livedebugging', 'remotecfg', 'argument', 'export', 'declare', 'foreach', 'import']);

interface ArgumentInfo {
  readonly optional: boolean;
  readonly default: unknown;
}

/** One parsed `declare` block. */
export interface DeclareDef {
  readonly name: string;
  readonly block: ast.BlockStmt;
  readonly args: ReadonlyMap<string, ArgumentInfo>;
  readonly exports: readonly string[];
  /** Component and export blocks of the body. */
  readonly stmts: readonly ast.BlockStmt[];
}

/**
 * The body an instance runs. A new object whenever any declare's text changed, so instances see
 * the change through `update` (arguments compare capsules by identity) and only then.
 */
export class DeclareBody {
  constructor(
    readonly def: DeclareDef,
    /** Every custom component visible to the body (for nested instances). */
    readonly custom: ReadonlyMap<string, CustomComponent>,
    readonly scope: Omit<ModuleScope, 'custom' | 'args' | 'extraVars' | 'exportDefinition' | 'exportSchema'>,
  ) {}
}

/** Parses a declare block; problems go to `diags` (undefined when unusable). */
export function parseDeclare(block: ast.BlockStmt, scope: Pick<ModuleScope, 'evaluator'>, diags: Diagnostic[]): DeclareDef | undefined {
  const range = blockRange(block);
  if (block.label === undefined || !isValidIdentifier(block.label)) {
    diags.push(errorAt(range, 'a declare block needs an identifier label: declare "name" { ... }'));
    return undefined;
  }
  if (RESERVED.has(block.label)) {
    diags.push(errorAt(range, `declare "${block.label}": the name is reserved for a config block; choose another`));
    return undefined;
  }
  const args = new Map<string, ArgumentInfo>();
  const exports: string[] = [];
  const stmts: ast.BlockStmt[] = [];
  const seenArg = new Map<string, ast.BlockStmt>();
  for (const s of block.body) {
    if (s.kind === 'Attribute') {
      diags.push(errorAt(s, `unexpected attribute "${s.name.name}" in declare "${block.label}": only argument, export and component blocks are allowed`));
      continue;
    }
    const name = blockName(s);
    const r = blockRange(s);
    if (name === 'argument') {
      if (s.label === undefined || !isValidIdentifier(s.label)) {
        diags.push(errorAt(r, 'an argument block needs an identifier label: argument "name" { }'));
        continue;
      }
      const prev = seenArg.get(s.label);
      if (prev) {
        diags.push(errorAt(r, `argument "${s.label}" is already declared at ${where(blockRange(prev))}`));
        continue;
      }
      seenArg.set(s.label, s);
      const res = scope.evaluator.decode(s.body, argumentSchema, {}, r);
      diags.push(...res.diags);
      if (res.value) args.set(s.label, { optional: res.value.optional || res.value.default !== undefined, default: res.value.default });
      continue;
    }
    if (name === 'declare') {
      diags.push(errorAt(r, 'nested declare blocks are not supported by this collector; declare custom components at the top level'));
      continue;
    }
    if (name === 'export' && s.label !== undefined) exports.push(s.label);
    stmts.push(s);
  }
  return { name: block.label, block, args, exports, stmts };
}

/** The instance-arguments schema: one attribute per `argument` block. */
function instanceSchema(def: DeclareDef): ZodType<Record<string, unknown>> {
  const shape: Record<string, ZodType> = {};
  for (const [name, a] of def.args) {
    shape[name] = a.optional ? z.unknown().optional() : z.custom<unknown>((v) => v !== undefined, { message: `argument "${name}" is required` });
  }
  return z.object(shape) as unknown as ZodType<Record<string, unknown>>;
}

export const BODY_KEY = '__declare_body';

interface InstanceArgs {
  readonly [BODY_KEY]: DeclareBody;
  readonly [name: string]: unknown;
}

/**
 * Custom components for `defs`. `definitions` (owned by the caller, kept across reloads) keeps
 * one definition object per declare name and argument/export shape, so reloads update instances
 * instead of rebuilding them; `bodies` keeps the body capsule while the declares' text is unchanged.
 */
export function customComponents(
  defs: readonly DeclareDef[],
  scope: DeclareBody['scope'],
  textKey: string,
  caches?: { definitions: Map<string, AnyDefinition>; bodies: Map<string, DeclareBody> },
  /** Collects the body-cache keys in use, so the caller can drop stale entries after a load. */
  live?: Set<string>,
): Map<string, CustomComponent> {
  const custom = new Map<string, CustomComponent>();
  for (const def of defs) {
    const shapeKey = `${def.name}\0${[...def.args.keys()].join(',')}\0${def.exports.join(',')}`;
    let definition = caches?.definitions.get(shapeKey);
    if (!definition) {
      definition = declareDefinition(def.name, def.exports);
      caches?.definitions.set(shapeKey, definition);
    }
    const schema = instanceSchema(def);
    const bodyKey = `${def.name}\0${textKey}`;
    live?.add(bodyKey);
    custom.set(def.name, {
      name: def.name,
      definition,
      schema,
      exports: def.exports,
      wrapArgs: (decoded) => {
        let body = caches?.bodies.get(bodyKey);
        if (!body) {
          body = new DeclareBody(def, custom, scope);
          caches?.bodies.set(bodyKey, body);
        }
        return { ...decoded, [BODY_KEY]: body };
      },
    });
  }
  return custom;
}

function declareDefinition(name: string, exports: readonly string[]): AnyDefinition {
  const def: ComponentDefinition<InstanceArgs, Record<string, unknown>> = {
    name,
    stability: 'generally-available',
    args: z.custom<InstanceArgs>(() => true),
    exports: exports as never,
    build: (opts, args) => DeclareInstance.create(opts, args),
  };
  return def as unknown as AnyDefinition;
}

/** Publishes one `export` block's value to its instance (synthetic inner component). */
const exportDefinitionFor = (publish: (name: string, value: unknown) => void): AnyDefinition => {
  const d: ComponentDefinition<{ value?: unknown }, object> = {
    name: 'export',
    stability: 'generally-available',
    args: exportSchema,
    exports: [],
    build(opts, args) {
      const name = opts.id.slice('export.'.length);
      publish(name, args.value);
      return {
        run: (signal) => new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true }))),
        update: (a) => publish(name, a.value),
      };
    },
  };
  return d as unknown as AnyDefinition;
};

class DeclareInstance implements Component<InstanceArgs>, HealthComponent, DebugComponent {
  readonly #controller: Controller;
  #body: DeclareBody;
  #values: Record<string, unknown>;
  #exports: Record<string, unknown> = {};
  readonly #exportDef: AnyDefinition;

  private constructor(opts: ComponentOptions<Record<string, unknown>>, args: InstanceArgs) {
    this.#body = args[BODY_KEY];
    this.#values = valuesOf(args, this.#body.def);
    this.#exportDef = exportDefinitionFor((name, value) => {
      if (this.#exports[name] === value && name in this.#exports) return;
      this.#exports = { ...this.#exports, [name]: value };
      opts.onStateChange(this.#exports);
    });
    const services = new Map<ServiceName, unknown>();
    for (const s of ['http', 'cluster'] as const) {
      try {
        services.set(s, opts.getService(s));
      } catch {
        // Not provided by this runtime.
      }
    }
    const http = services.get('http') as HttpService | undefined;
    if (http) services.set('http', nestedHttp(http, `${opts.id}/`));
    this.#controller = new Controller({
      logger: opts.logger,
      componentLogger: (id) => opts.logger.child({ component_id: `${opts.id}/${id}` }),
      storagePath: opts.dataPath,
      services,
      idPrefix: `${opts.id}/`,
    });
  }

  static async create(opts: ComponentOptions<Record<string, unknown>>, args: InstanceArgs): Promise<DeclareInstance> {
    const inst = new DeclareInstance(opts, args);
    const err = await inst.#apply();
    if (err) {
      await inst.#controller.stop();
      throw new Error(err);
    }
    return inst;
  }

  async #apply(): Promise<string | undefined> {
    const body = this.#body;
    const diags: Diagnostic[] = [];
    const values = (): Record<string, unknown> => this.#values;
    const specs = loadModule(body.def.stmts, {
      ...body.scope,
      custom: body.custom,
      args: new Set(body.def.args.keys()),
      extraVars: () => ({ argument: Object.fromEntries(Object.entries(values()).map(([k, v]) => [k, { value: v }])) }),
      exportDefinition: this.#exportDef,
      exportSchema,
    }, diags);
    const errors = diags.filter((d) => d.severity === 'error');
    if (errors.length > 0) return errors.map((d) => `${where(d)}: ${d.message}`).join('; ');
    const r = await this.#controller.apply(specs);
    const bad = r.diags.filter((d) => d.severity === 'error');
    if (!r.committed || bad.length > 0) return bad.map((d) => `${where(d)}: ${d.message}`).join('; ');
    return undefined;
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    await this.#controller.stop();
  }

  async update(args: InstanceArgs): Promise<void> {
    const prev = { body: this.#body, values: this.#values };
    this.#body = args[BODY_KEY];
    this.#values = valuesOf(args, this.#body.def);
    const err = await this.#apply();
    if (err) {
      this.#body = prev.body;
      this.#values = prev.values;
      throw new Error(err);
    }
  }

  currentHealth(): Health {
    const inner = this.#controller.components().filter((c) => c.name !== 'export').map((c) => c.health);
    return inner.length > 0 ? leastHealthy(...inner) : { state: 'healthy', message: 'no components', updatedAt: new Date() };
  }

  debugInfo(): unknown {
    return {
      components: this.#controller
        .components()
        .filter((c) => c.name !== 'export')
        .map((c) => ({ id: c.id, health: c.health.state, message: c.health.message })),
    };
  }

  /** Inner components' registries, exposed on /metrics by the outer controller. */
  childRegistries(): ReturnType<Controller['registries']> {
    return this.#controller.registries();
  }
}

/** The http service as seen by inner components: their handlers live under `<instance id>/<inner id>`. */
function nestedHttp(outer: HttpService, prefix: string): HttpService {
  return {
    get listenAddr() {
      return outer.listenAddr;
    },
    get memoryAddr() {
      return outer.memoryAddr;
    },
    dialAddress: (addr) => outer.dialAddress(addr),
    pathFor: (id) => outer.pathFor(prefix + id),
    mount: (id, handler) => outer.mount(prefix + id, handler),
    // Root paths are not namespaced: a receiver inside a custom component serves the same path.
    ...(outer.route ? { route: outer.route.bind(outer) } : {}),
  };
}

function valuesOf(args: InstanceArgs, def: DeclareDef): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, a] of def.args) out[name] = args[name] !== undefined ? args[name] : a.default;
  return out;
}
