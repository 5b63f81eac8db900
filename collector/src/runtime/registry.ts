/**
 * Component registries: name → `ComponentDefinition`. The runtime knows no concrete component:
 * entry points (the CLI, the operator's validator, tests) build a registry, usually with
 * `defaultRegistry()` from `component/registry.ts` (every component in `component/all.ts`), and
 * pass it in; tests build their own `ComponentRegistry` with test-only components.
 */
import type { ComponentDefinition, Stability } from './component.js';
import { STABILITY_ORDER } from './component.js';

export type AnyDefinition = ComponentDefinition<unknown, object>;

export class ComponentRegistry {
  readonly #defs = new Map<string, AnyDefinition>();

  /** @throws when an entry is not a ComponentDefinition (see `register`). */
  constructor(defs: Iterable<object> = []) {
    for (const d of defs) {
      if (!isDefinition(d)) throw new Error('ComponentRegistry: expected ComponentDefinition objects (name, args, exports, build)');
      this.register(d);
    }
  }

  /** @throws when the name is already registered or not a dotted identifier. */
  register<A, E extends object>(def: ComponentDefinition<A, E>): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(def.name)) {
      throw new Error(`component name "${def.name}" must be dotted identifiers, e.g. prometheus.scrape`);
    }
    if (this.#defs.has(def.name)) throw new Error(`component "${def.name}" is registered twice`);
    this.#defs.set(def.name, def as unknown as AnyDefinition);
  }

  get(name: string): AnyDefinition | undefined {
    return this.#defs.get(name);
  }

  names(): string[] {
    return [...this.#defs.keys()].sort();
  }
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
