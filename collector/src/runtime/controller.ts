/**
 * The component controller: owns running component instances and applies component plans.
 *
 * It knows nothing about syntax: a plan is a list of `ComponentSpec`s whose `evaluate` turns the
 * current exports of the components they depend on into decoded arguments (the loader builds
 * these from the config AST).
 *
 * Contracts:
 * - `apply(specs)` is all-or-nothing up to evaluation: every spec is evaluated (new components
 *   are built, not started) before anything running is touched. If any evaluation or build
 *   fails, the new instances are discarded and the running graph is left exactly as it was.
 *   Otherwise: removed components are aborted and awaited (bounded by `shutdownTimeoutMs`),
 *   then in dependency order unchanged components are left alone (same instance), changed ones
 *   get `update(args)` and new ones start `run`. An `update` that throws keeps the old arguments,
 *   marks the component unhealthy and is reported in the returned diagnostics.
 * - `onStateChange` with changed exports re-evaluates the transitive dependents in dependency
 *   order; a dependent is updated only when its evaluated arguments changed (`deepEqual`).
 * - All graph mutations (apply, export propagation, stop) are serialised on one queue, so
 *   `update` is never called concurrently with itself for one component.
 * - Background work never throws: failures become component health.
 */
import path from 'node:path';
import { Histogram, Gauge, Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { ZodType } from 'zod';
import type {
  Component,
  ComponentDefinition,
  ComponentOptions,
  Health,
  HealthComponent,
  HealthState,
  DebugComponent,
  ServiceName,
} from './component.js';
import { DependencyGraph } from './graph.js';
import { deepEqual } from './deep-equal.js';
import { errorAt, type Diagnostic, type SourceRange } from './diagnostics.js';
import { redactText } from '../logging/redact.js';
import { SLICE_MS, Slicer } from './slicing.js';

export interface EvalResult {
  readonly value?: unknown;
  readonly diags: readonly Diagnostic[];
}

/** One component block of a config, ready to evaluate. */
export interface ComponentSpec {
  readonly id: string;
  readonly name: string;
  readonly label?: string;
  readonly definition: ComponentDefinition<unknown, object>;
  /** Ids of the components whose exports `evaluate` reads. */
  readonly dependencies: readonly string[];
  /** The block, for diagnostics about this component. */
  readonly range: SourceRange;
  /** Decode the block body with the given exports visible; must not throw. */
  evaluate(exportsOf: (id: string) => object | undefined): EvalResult;
  /**
   * True when `evaluate`'s result depends on nothing but the exports of `dependencies` (no
   * standard-library values or calls): a reload that passes the same spec object again, while
   * those exports are the same objects as at its last successful evaluation, keeps the running
   * arguments without evaluating.
   */
  readonly inputsOnly?: boolean;
}

export interface ApplyResult {
  /** False: nothing changed. True: the plan is running; `diags` then lists rejected updates. */
  readonly committed: boolean;
  readonly diags: Diagnostic[];
}

export interface ControllerOptions {
  /** Builds the logger handed to a component (carries `component_id`). */
  readonly componentLogger: (id: string) => Logger;
  /** Controller's own log (evaluation failures, shutdown timeouts). */
  readonly logger: Logger;
  readonly storagePath: string;
  readonly services?: ReadonlyMap<ServiceName, unknown>;
  /** Registry for controller metrics (`alloy_component_*`). */
  readonly registry?: Registry;
  /** Bound for a removed component's `run` to resolve after abort. Default 10s. */
  readonly shutdownTimeoutMs?: number;
  /** Prefix of the `component_id` metric label (nested controllers: `<instance id>/`). */
  readonly idPrefix?: string;
}

export interface ComponentInfo {
  readonly id: string;
  readonly name: string;
  readonly label: string | undefined;
  readonly health: Health;
  /** Last arguments the component accepted (raw values; redact before exposing). */
  readonly arguments: unknown;
  readonly exports: object;
  readonly referencesTo: readonly string[];
  readonly referencedBy: readonly string[];
  readonly debugInfo: unknown;
  /** The definition publishes live-debugging data (`ComponentDefinition.liveDebugging`). */
  readonly liveDebugging: boolean;
  readonly dataPath: string;
  readonly registry: Registry;
  /** Schema of the arguments (from the definition): types values back for the API and UI. */
  readonly argumentsSchema: ZodType;
  /** The running instance (tests use identity to prove reuse). */
  readonly instance: Component<unknown>;
}

const HEALTH_RANK: Record<HealthState, number> = { healthy: 0, unknown: 1, exited: 2, unhealthy: 3 };

/** The least healthy of several reports; ties go to the most recent. */
export function leastHealthy(...hs: Health[]): Health {
  let worst = hs[0]!;
  for (const h of hs.slice(1)) {
    const d = HEALTH_RANK[h.state] - HEALTH_RANK[worst.state];
    if (d > 0 || (d === 0 && newer(h, worst))) worst = h;
  }
  return worst;
}

/** Creation order of the runtime's own Health values: breaks ties within one millisecond. */
const healthSeq = new WeakMap<Health, number>();
let lastHealthSeq = 0;

function newer(a: Health, b: Health): boolean {
  const dt = a.updatedAt.getTime() - b.updatedAt.getTime();
  return dt > 0 || (dt === 0 && (healthSeq.get(a) ?? 0) > (healthSeq.get(b) ?? 0));
}

function health(state: HealthState, message: string): Health {
  const h: Health = { state, message, updatedAt: new Date() };
  healthSeq.set(h, ++lastHealthSeq);
  return h;
}

class ComponentNode {
  spec: ComponentSpec;
  instance!: Component<unknown>;
  args: unknown;
  exports: object = {};
  evalHealth: Health = health('healthy', 'evaluated');
  runHealth: Health = health('unknown', 'not started');
  reportedHealth: Health | undefined;
  /** Exports of the dependencies `args` were evaluated from (see `ComponentSpec.inputsOnly`); undefined when unknown or failed. */
  inputs: ReadonlyMap<string, object | undefined> | undefined;
  readonly abort = new AbortController();
  runPromise: Promise<void> | undefined;
  started = false;
  /** True while `build` runs: exports published then are read by the same apply's evaluation. */
  building = false;
  /** False while only built by a pending apply: state changes must not propagate yet. */
  live = false;
  readonly registry = new Registry();
  readonly dataPath: string;

  constructor(spec: ComponentSpec, storagePath: string, idPrefix: string) {
    this.spec = spec;
    this.dataPath = path.join(storagePath, spec.id);
    this.registry.setDefaultLabels({ component_id: idPrefix + spec.id });
  }

  health(): Health {
    const hs = [this.evalHealth, this.runHealth];
    if (this.reportedHealth) hs.push(this.reportedHealth);
    const hc = this.instance as Partial<HealthComponent> | undefined;
    if (hc && typeof hc.currentHealth === 'function') {
      try {
        hs.push(hc.currentHealth());
      } catch (err) {
        hs.push(health('unhealthy', `currentHealth failed: ${errMsg(err)}`));
      }
    }
    const h = leastHealthy(...hs);
    // Health messages are shown in the UI, the API and logs: never with a URL's credentials.
    const message = redactText(h.message);
    return message === h.message ? h : { ...h, message };
  }
}

export class Controller {
  readonly #opts: ControllerOptions;
  #nodes = new Map<string, ComponentNode>();
  #graph = new DependencyGraph();
  #order: string[] = [];
  #position = new Map<string, number>();
  #queue: Promise<unknown> = Promise.resolve();
  #dirty = new Set<string>();
  #flushScheduled = false;
  #exportsEpoch = 0;
  #stopped = false;
  readonly #evalSeconds: Histogram<never> | undefined;

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    if (opts.registry) {
      this.#evalSeconds = new Histogram({
        name: 'alloy_component_evaluation_seconds',
        help: 'Time spent performing component evaluation.',
        buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers: [opts.registry],
      });
      const nodes = (): Iterable<ComponentNode> => this.#nodes.values();
      new Gauge({
        name: 'alloy_component_controller_running_components',
        help: 'Total number of running components.',
        labelNames: ['health_type'],
        registers: [opts.registry],
        collect() {
          const counts: Record<HealthState, number> = { healthy: 0, unhealthy: 0, unknown: 0, exited: 0 };
          for (const n of nodes()) counts[n.health().state]++;
          for (const [k, v] of Object.entries(counts)) this.set({ health_type: k }, v);
        },
      });
    }
  }

  /** Apply a new set of components (see the file contract). */
  apply(specs: readonly ComponentSpec[]): Promise<ApplyResult> {
    return this.#enqueue(() => this.#apply(specs));
  }

  /** Abort every component and await them (bounded). The controller accepts no more work. */
  stop(): Promise<void> {
    return this.#enqueue(async () => {
      this.#stopped = true;
      const all = [...this.#nodes.values()];
      this.#nodes = new Map();
      this.#graph = new DependencyGraph();
      this.#order = [];
      await Promise.all(all.map((n) => this.#stopNode(n)));
    });
  }

  /** Resolves once every queued apply/propagation has finished. */
  idle(): Promise<void> {
    return this.#enqueue(async () => undefined);
  }

  ids(): string[] {
    return [...this.#order];
  }

  component(id: string): ComponentInfo | undefined {
    const n = this.#nodes.get(id);
    return n ? this.#info(n) : undefined;
  }

  components(): ComponentInfo[] {
    return this.#order.map((id) => this.#info(this.#nodes.get(id)!));
  }

  /** Every component's registry, plus those of nested controllers (custom components). */
  registries(): Registry[] {
    const out: Registry[] = [];
    for (const n of this.#nodes.values()) {
      out.push(n.registry);
      const nested = (n.instance as { childRegistries?: () => Registry[] }).childRegistries;
      if (typeof nested === 'function') out.push(...nested.call(n.instance));
    }
    return out;
  }

  #info(n: ComponentNode): ComponentInfo {
    return {
      id: n.spec.id,
      name: n.spec.name,
      label: n.spec.label,
      health: n.health(),
      arguments: n.args,
      exports: n.exports,
      referencesTo: [...this.#graph.dependenciesOf(n.spec.id)],
      referencedBy: [...this.#graph.dependentsOf(n.spec.id)],
      // Computed on access: health checks list components without paying for debug data.
      get debugInfo(): unknown {
        const dbg = n.instance as Partial<DebugComponent>;
        if (typeof dbg.debugInfo !== 'function') return undefined;
        try {
          return dbg.debugInfo();
        } catch (err) {
          return { error: errMsg(err) };
        }
      },
      liveDebugging: n.spec.definition.liveDebugging === true,
      dataPath: n.dataPath,
      registry: n.registry,
      argumentsSchema: n.spec.definition.args,
      instance: n.instance,
    };
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Evaluates `spec`, recording the exports it read (`inputs`). */
  #evaluate(spec: ComponentSpec, lookup: (id: string) => object | undefined): EvalResult & { inputs: Map<string, object | undefined> } {
    const t0 = performance.now();
    const inputs = new Map<string, object | undefined>();
    const record = (id: string): object | undefined => {
      const e = lookup(id);
      inputs.set(id, e);
      return e;
    };
    try {
      return { ...spec.evaluate(record), inputs };
    } catch (err) {
      return { diags: [errorAt(spec.range, `evaluating ${spec.id}: ${errMsg(err)}`)], inputs };
    } finally {
      this.#evalSeconds?.observe((performance.now() - t0) / 1000);
    }
  }

  /** The running arguments of `node` still hold for `spec` (see `ComponentSpec.inputsOnly`). */
  #unchangedInputs(node: ComponentNode, spec: ComponentSpec, lookup: (id: string) => object | undefined): boolean {
    if (!spec.inputsOnly || node.spec !== spec || node.evalHealth.state !== 'healthy' || !node.inputs) return false;
    for (const dep of spec.dependencies) if (!node.inputs.has(dep) || node.inputs.get(dep) !== lookup(dep)) return false;
    return true;
  }

  async #apply(specs: readonly ComponentSpec[]): Promise<ApplyResult> {
    if (this.#stopped) throw new Error('controller is stopped');
    const diags: Diagnostic[] = [];

    // Graph of the new plan: the running one when the plan has the same components with the
    // same dependencies (a reload that changed arguments only), else built and checked.
    const byId = new Map<string, ComponentSpec>();
    for (const s of specs) {
      if (byId.has(s.id)) {
        diags.push(errorAt(s.range, `component "${s.id}" is declared more than once`));
        continue;
      }
      byId.set(s.id, s);
    }
    let graph = this.#graph;
    let order = this.#order;
    if (diags.length > 0 || !this.#sameGraph(byId)) {
      graph = new DependencyGraph();
      for (const id of byId.keys()) graph.addNode(id);
      for (const s of byId.values()) {
        for (const d of s.dependencies) {
          if (!byId.has(d)) diags.push(errorAt(s.range, `component "${s.id}" references "${d}", which does not exist`));
          else graph.addEdge(s.id, d);
        }
      }
      const cycles = graph.cycles();
      for (const c of cycles) {
        const s = byId.get(c[0]!)!;
        diags.push(errorAt(s.range, `cycle detected: ${c.join(', ')}`));
      }
      if (diags.length > 0) return { committed: false, diags };
      order = graph.topoOrder();
    }

    // Phase A: evaluate everything; build (not run) new components.
    const pending = new Map<string, ComponentNode>();
    const evaluated = new Map<string, unknown>();
    const inputsOf = new Map<string, ReadonlyMap<string, object | undefined> | undefined>();
    const epoch = this.#exportsEpoch;
    const lookup = (id: string): object | undefined => (pending.get(id) ?? this.#nodes.get(id))?.exports;
    const slicer = new Slicer(SLICE_MS);
    for (const id of order) {
      if (slicer.due()) await slicer.yield();
      const spec = byId.get(id)!;
      const running = this.#nodes.get(id);
      if (running && this.#unchangedInputs(running, spec, lookup)) {
        evaluated.set(id, running.args);
        inputsOf.set(id, running.inputs);
        continue;
      }
      const res = this.#evaluate(spec, lookup);
      if (res.diags.some((d) => d.severity === 'error')) {
        diags.push(...res.diags);
        continue;
      }
      const existing = running;
      inputsOf.set(id, res.inputs);
      // Unchanged arguments keep the running object: the new one is garbage at once, not held to Phase B.
      evaluated.set(id, existing && deepEqual(existing.args, res.value) ? existing.args : res.value);
      if (existing && existing.spec.definition === spec.definition) continue;
      const node = new ComponentNode(spec, this.#opts.storagePath, this.#opts.idPrefix ?? '');
      node.building = true;
      pending.set(id, node);
      try {
        node.instance = await spec.definition.build(this.#componentOptions(node), res.value);
        node.args = res.value;
        node.inputs = res.inputs;
      } catch (err) {
        pending.delete(id);
        diags.push(errorAt(spec.range, `building component ${id}: ${errMsg(err)}`));
      } finally {
        node.building = false;
      }
    }
    if (diags.length > 0) {
      for (const n of pending.values()) n.registry.clear();
      return { committed: false, diags };
    }

    // Phase B: commit.
    const removed = [...this.#nodes.values()].filter((n) => {
      const s = byId.get(n.spec.id);
      return !s || pending.has(n.spec.id);
    });
    for (const n of removed) this.#nodes.delete(n.spec.id);
    await Promise.all(removed.map((n) => this.#stopNode(n)));

    if (graph !== this.#graph) {
      this.#graph = graph;
      this.#order = order;
      this.#position = new Map(order.map((id, i) => [id, i]));
    }
    for (const id of order) {
      // Phase A results stay valid while no export changed since; otherwise evaluate again.
      const reuse = epoch === this.#exportsEpoch;
      if (slicer.due()) await slicer.yield();
      const spec = byId.get(id)!;
      const fresh = pending.get(id);
      if (fresh) {
        fresh.live = true;
        this.#nodes.set(id, fresh);
        if (!reuse) await this.#reevaluate(fresh, diags);
        this.#start(fresh);
        continue;
      }
      const node = this.#nodes.get(id)!;
      node.spec = spec;
      if (reuse) {
        const args = evaluated.get(id);
        if (deepEqual(node.args, args)) {
          this.#markEvaluated(node);
          node.inputs = inputsOf.get(id);
        } else await this.#updateIfChanged(node, args, diags, inputsOf.get(id));
      } else await this.#reevaluate(node, diags);
    }
    return { committed: true, diags };
  }

  /** True when `plan` has exactly the running components, each with the running dependencies. */
  #sameGraph(plan: ReadonlyMap<string, ComponentSpec>): boolean {
    if (plan.size !== this.#nodes.size) return false;
    for (const [id, s] of plan) {
      const running = this.#nodes.get(id)?.spec.dependencies;
      if (!running) return false;
      if (running === s.dependencies) continue;
      const deps = this.#graph.dependenciesOf(id);
      if (deps.size !== s.dependencies.length || !s.dependencies.every((d) => deps.has(d))) return false;
    }
    return true;
  }

  /** Evaluate with current exports; update if the arguments changed. */
  async #reevaluate(node: ComponentNode, diags: Diagnostic[] | undefined): Promise<void> {
    const res = this.#evaluate(node.spec, (id) => this.#nodes.get(id)?.exports);
    const errs = res.diags.filter((d) => d.severity === 'error');
    if (errs.length > 0) {
      node.inputs = undefined;
      node.evalHealth = health('unhealthy', errs.map((d) => d.message).join('; '));
      this.#opts.logger.error('failed to evaluate component', { component_id: node.spec.id, err: node.evalHealth.message });
      diags?.push(...errs);
      return;
    }
    await this.#updateIfChanged(node, res.value, diags, res.inputs);
  }

  #markEvaluated(node: ComponentNode): void {
    if (node.evalHealth.state !== 'healthy') node.evalHealth = health('healthy', 'evaluated');
  }

  async #updateIfChanged(node: ComponentNode, args: unknown, diags: Diagnostic[] | undefined, inputs: ReadonlyMap<string, object | undefined> | undefined): Promise<void> {
    if (deepEqual(node.args, args)) {
      this.#markEvaluated(node);
      node.inputs = inputs;
      return;
    }
    node.inputs = undefined;
    try {
      await node.instance.update(args);
      node.args = args;
      node.inputs = inputs;
      node.evalHealth = health('healthy', 'updated');
    } catch (err) {
      const msg = `update failed, keeping previous arguments: ${errMsg(err)}`;
      node.evalHealth = health('unhealthy', msg);
      this.#opts.logger.error('failed to update component', { component_id: node.spec.id, err: errMsg(err) });
      diags?.push(errorAt(node.spec.range, `${node.spec.id}: ${msg}`));
    }
  }

  #start(node: ComponentNode): void {
    node.started = true;
    node.runHealth = health('healthy', 'started component');
    const signal = node.abort.signal;
    node.runPromise = (async () => {
      try {
        await node.instance.run(signal);
        if (!signal.aborted) node.runHealth = health('exited', 'component shut down normally');
      } catch (err) {
        node.runHealth = health('exited', `component shut down with error: ${errMsg(err)}`);
        this.#opts.logger.error('component exited with error', { component_id: node.spec.id, err: errMsg(err) });
      }
    })();
  }

  async #stopNode(node: ComponentNode): Promise<void> {
    node.live = false;
    node.abort.abort();
    if (node.runPromise) {
      const bound = this.#opts.shutdownTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        node.runPromise.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), bound);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.#opts.logger.warn('component did not stop in time', { component_id: node.spec.id, timeout_ms: bound });
      }
    }
    node.registry.clear();
  }

  #componentOptions(node: ComponentNode): ComponentOptions<object> {
    const services = this.#opts.services;
    return {
      id: node.spec.id,
      logger: this.#opts.componentLogger(node.spec.id),
      registry: node.registry,
      dataPath: node.dataPath,
      onStateChange: (exports: object) => this.#onStateChange(node, exports),
      setHealth: (state: HealthState, message: string) => {
        node.reportedHealth = health(state, message);
      },
      getService: <T>(name: ServiceName): T => {
        if (!services?.has(name)) throw new Error(`service "${name}" is not available in this runtime`);
        return services.get(name) as T;
      },
    };
  }

  #onStateChange(node: ComponentNode, exports: object): void {
    if (deepEqual(node.exports, exports)) return;
    node.exports = exports;
    if (node.building) return;
    this.#exportsEpoch++;
    if (!node.live) return;
    this.#dirty.add(node.spec.id);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    void this.#enqueue(async () => {
      this.#flushScheduled = false;
      await this.#propagate();
    });
  }

  async #propagate(): Promise<void> {
    const dirty = [...this.#dirty].filter((id) => this.#nodes.get(id)?.live);
    this.#dirty.clear();
    if (dirty.length === 0 || this.#stopped) return;
    const direct = new Set<string>();
    for (const id of dirty) for (const d of this.#graph.dependentsOf(id)) direct.add(d);
    const affected = [...direct].sort(
      (a, b) => (this.#position.get(a) ?? 0) - (this.#position.get(b) ?? 0),
    );
    const slicer = new Slicer(SLICE_MS);
    for (const id of affected) {
      if (slicer.due()) await slicer.yield();
      const node = this.#nodes.get(id);
      if (node) await this.#reevaluate(node, undefined);
    }
  }
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
