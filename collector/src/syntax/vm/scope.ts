/**
 * Variable scopes. A `Scope` holds named values and an optional parent; lookups walk the parent
 * chain, so the runtime layers component exports on top of the standard-library root scope.
 */
import type { Value } from './value.js';

/** Returned by `Scope.resolve` for unbound names. */
export const UNBOUND: unique symbol = Symbol('alloy.unbound');

export class Scope {
  readonly #vars: Map<string, Value>;
  readonly parent: Scope | undefined;

  constructor(variables: Record<string, Value> | Map<string, Value> = {}, parent?: Scope) {
    this.#vars = variables instanceof Map ? new Map(variables) : new Map(Object.entries(variables));
    this.parent = parent;
  }

  /** The value bound to `name` here or in an ancestor scope. */
  lookup(name: string): { found: true; value: Value } | { found: false } {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (s.#vars.has(name)) return { found: true, value: s.#vars.get(name) as Value };
    }
    return { found: false };
  }

  /** Like `lookup` without allocating: the value, or `UNBOUND`. */
  resolve(name: string): Value | typeof UNBOUND {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const v = s.#vars.get(name);
      if (v !== undefined || s.#vars.has(name)) return v as Value;
    }
    return UNBOUND;
  }

  set(name: string, value: Value): void {
    this.#vars.set(name, value);
  }

  delete(name: string): boolean {
    return this.#vars.delete(name);
  }

  /** Names bound in this scope only. */
  names(): string[] {
    return [...this.#vars.keys()];
  }

  /** A child scope whose lookups fall back to this one. */
  child(variables: Record<string, Value> | Map<string, Value> = {}): Scope {
    return new Scope(variables, this);
  }
}
