/**
 * Runtime values of the Alloy language, represented by plain JS values:
 * - `null`, `number`, `string`, `boolean`;
 * - arrays (`Value[]`) and objects (plain objects: prototype `Object.prototype` or `null`);
 * - functions (JS functions taking and returning values);
 * - `Secret` (a string that prints as `(secret)`);
 * - capsules: any other object instance (a component's `receiver`, for example). A capsule's
 *   type name, used in messages and in `valueToJSON`, comes from `asCapsule` or its class name.
 * Values are never copied by the evaluator: a capsule passed through an expression arrives as
 * the identical object.
 */
import { inspect } from 'node:util';

export interface ValueObject {
  [key: string]: Value;
}

export type AlloyFunction = (...args: Value[]) => Value;

/** Documentation type: `object` covers capsules, so the union is effectively `unknown` minus undefined. */
export type Value = null | number | string | boolean | Value[] | ValueObject | AlloyFunction | Secret | object;

export type ValueType = 'null' | 'number' | 'string' | 'bool' | 'array' | 'object' | 'function' | 'capsule';

/** A sensitive string. It prints as `(secret)` everywhere; read it with `reveal()`. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '(secret)';
  }

  toJSON(): string {
    return '(secret)';
  }

  [inspect.custom](): string {
    return 'Secret((secret))';
  }
}

const CAPSULE_TYPE = Symbol.for('alloy.capsuleType');

/**
 * Marks an object as a capsule with a type name (e.g. `MetricsReceiver`). Plain objects would
 * otherwise be Alloy objects; class instances are capsules already and need this only to
 * choose their type name. Returns the same object.
 */
export function asCapsule<T extends object>(value: T, typeName: string): T {
  Object.defineProperty(value, CAPSULE_TYPE, { value: typeName, enumerable: false, configurable: true });
  return value;
}

export function isPlainObject(v: unknown): v is ValueObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  if ((v as Record<symbol, unknown>)[CAPSULE_TYPE] !== undefined) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function typeOf(v: unknown): ValueType {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'function':
      return 'function';
    default:
      if (Array.isArray(v)) return 'array';
      if (isPlainObject(v)) return 'object';
      return 'capsule';
  }
}

/** The type name of a capsule: its `asCapsule` name, `secret`, or its class name. */
export function capsuleTypeName(v: object): string {
  const tagged = (v as Record<symbol, unknown>)[CAPSULE_TYPE];
  if (typeof tagged === 'string') return tagged;
  if (v instanceof Secret) return 'secret';
  const ctor = (v as { constructor?: { name?: string } }).constructor;
  return ctor?.name || 'object';
}

/** Alloy equality: same type and deeply equal; numbers compare by value; functions never equal. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  switch (ta) {
    case 'null':
      return true;
    case 'number':
    case 'string':
    case 'bool':
      return a === b;
    case 'array': {
      const x = a as unknown[];
      const y = b as unknown[];
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!valuesEqual(x[i], y[i])) return false;
      return true;
    }
    case 'object': {
      const x = a as ValueObject;
      const y = b as ValueObject;
      const kx = Object.keys(x);
      if (kx.length !== Object.keys(y).length) return false;
      for (const k of kx) {
        if (!Object.prototype.hasOwnProperty.call(y, k) || !valuesEqual(x[k], y[k])) return false;
      }
      return true;
    }
    case 'function':
      return false;
    case 'capsule':
      if (a instanceof Secret && b instanceof Secret) return a.reveal() === b.reveal();
      return a === b;
  }
}
