/**
 * Component registries: name → `ComponentDefinition`. The runtime knows no concrete component:
 * entry points (the CLI, the operator's validator, tests) build a registry, usually with
 * `defaultRegistry()` from `component/registry.ts` (every component in `component/all.ts`), and
 * pass it in; tests build their own `ComponentRegistry` with test-only components.
 *
 * Entries are either definitions or loaders (`LazyComponent`): a loader's module is imported only
 * when a configuration names the component (`ensure`), so a process pays in memory and start-up
 * for the components its configuration uses, not for all of them. `get` answers loaded entries
 * only: whoever evaluates a configuration calls `ensure` with its block names first (the runtime,
 * `validateConfig`).
 */
import type { ComponentDefinition, Stability } from './component.js';
import { STABILITY_ORDER } from './component.js';

export type AnyDefinition = ComponentDefinition<unknown, object>;

/** A component whose module is imported on first use. */
export interface LazyComponent {
  readonly name: string;
  /** Imports the module that defines the component (its `component` export, or any export that is its definition). */
  readonly load: () => Promise<object>;
}

const COMPONENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

export class ComponentRegistry {
  readonly #defs = new Map<string, AnyDefinition>();
  readonly #lazy = new Map<string, LazyComponent>();
  readonly #loading = new Map<string, Promise<void>>();

  /** @throws when an entry is neither a ComponentDefinition nor a LazyComponent (see `register`). */
  constructor(defs: Iterable<object> = []) {
    for (const d of defs) {
      if (isDefinition(d)) this.register(d);
      else if (isLazy(d)) this.registerLazy(d);
      else throw new Error('ComponentRegistry: expected ComponentDefinition objects (name, args, exports, build) or LazyComponent objects (name, load)');
    }
  }

  /** @throws when the name is already registered or not a dotted identifier. */
  register<A, E extends object>(def: ComponentDefinition<A, E>): void {
    this.#checkNew(def.name);
    this.#defs.set(def.name, def as unknown as AnyDefinition);
  }

  /** @throws when the name is already registered or not a dotted identifier. */
  registerLazy(entry: LazyComponent): void {
    this.#checkNew(entry.name);
    this.#lazy.set(entry.name, entry);
  }

  #checkNew(name: string): void {
    if (!COMPONENT_NAME.test(name)) throw new Error(`component name "${name}" must be dotted identifiers, e.g. prometheus.scrape`);
    if (this.#defs.has(name) || this.#lazy.has(name)) throw new Error(`component "${name}" is registered twice`);
  }

  /** The definition, when registered and loaded (see `ensure`). */
  get(name: string): AnyDefinition | undefined {
    return this.#defs.get(name);
  }

  /** Whether the name is registered, loaded or not. */
  has(name: string): boolean {
    return this.#defs.has(name) || this.#lazy.has(name);
  }

  /** Whether the name is registered but its module not imported yet. */
  isPending(name: string): boolean {
    return this.#lazy.has(name) && !this.#defs.has(name);
  }

  /**
   * Imports the modules of the registered components among `names` (other names are ignored:
   * they are config blocks, custom components or unknown, which the loader reports).
   * @throws when a module fails to import or does not define the component it was registered for.
   */
  async ensure(names: Iterable<string>): Promise<void> {
    // One import at a time: module evaluation is single-threaded anyway, and Jest's ESM loader
    // fails concurrent imports that share dependencies ("request for 'zod' is not in cache").
    let firstError: unknown;
    for (const name of new Set(names)) {
      const entry = this.#lazy.get(name);
      if (!entry || this.#defs.has(name)) continue;
      let p = this.#loading.get(name);
      if (!p) {
        p = entry.load().then((mod) => {
          const def = Object.values(mod).find((v): v is AnyDefinition => isDefinition(v) && v.name === name);
          if (!def) throw new Error(`the module registered for component "${name}" does not export its definition`);
          this.#defs.set(name, def);
        });
        p.catch(() => this.#loading.delete(name));
        this.#loading.set(name, p);
      }
      try {
        await p;
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  /** Imports every registered component (listings, documentation generators, tests). */
  async ensureAll(): Promise<this> {
    await this.ensure(this.#lazy.keys());
    return this;
  }

  /** Every registered name, loaded or not. */
  names(): string[] {
    return [...new Set([...this.#defs.keys(), ...this.#lazy.keys()])].sort();
  }
}

function isLazy(v: unknown): v is LazyComponent {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && typeof (v as { load?: unknown }).load === 'function';
}

/** Whether `v` has the shape of a `ComponentDefinition` (used to pick definitions out of a module). */
export function isDefinition(v: unknown): v is ComponentDefinition<unknown, object> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { name?: unknown }).name === 'string' &&
    typeof (v as { build?: unknown }).build === 'function' &&
    Array.isArray((v as { exports?: unknown }).exports)
  );
}

/** The error for a feature below `--stability.level` (Alloy's text), or undefined when it is allowed. */
export function stabilityError(what: string, stability: Stability, min: Stability): string | undefined {
  if (STABILITY_ORDER.indexOf(stability) >= STABILITY_ORDER.indexOf(min)) return undefined;
  return (
    `${what} is at stability level "${stability}", which is below the minimum allowed stability level "${min}". ` +
    `Use --stability.level command-line flag to enable "${stability}" features`
  );
}
