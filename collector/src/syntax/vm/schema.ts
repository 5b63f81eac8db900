/**
 * zod helpers for component `Arguments` schemas. A component's arguments are a `z.object` whose
 * keys are attribute and block names; these helpers mark which keys are blocks and give Alloy's
 * value kinds (durations, secrets, capsules). Markers live in a registry (a WeakMap keyed by
 * schema) that `decodeBody` reads after unwrapping optional/default/nullable/pipe wrappers, so
 * `block(x).optional()` and `duration().default(60_000)` still work.
 *
 *   const Endpoint = z.object({ url: z.string(), remote_timeout: duration().default(30_000) });
 *   const Args = z.object({
 *     endpoint: blocks(Endpoint),                       // repeated `endpoint { }` blocks → array
 *     wal: block(z.object({ truncate_frequency: duration().default(7_200_000) })).optional(),
 *     forward_to: z.array(capsule<MetricsReceiver>('MetricsReceiver')),
 *     password: secret().optional(),
 *   });
 */
import { z, type ZodType } from 'zod';
import { Secret, typeOf } from './value.js';

export type FieldKind = 'attr' | 'block' | 'blocks' | 'labelledBlocks' | 'enumBlocks' | 'unsupported';

export interface FieldMarker {
  readonly kind: FieldKind;
  /** For `block`/`blocks`/`labelledBlocks`: the schema of one block body. */
  readonly body?: ZodType;
  /** For `enumBlocks`: block name → body schema. */
  readonly variants?: Readonly<Record<string, ZodType>>;
  /** For capsules: the expected type name. */
  readonly capsule?: string;
  /** For `unsupported`: what to do instead (appended to the "not supported yet" message). */
  readonly fix?: string;
  /** A duration decoded to milliseconds: encoded back as a Go duration string (`"30s"`). */
  readonly duration?: true;
}

const registry = new WeakMap<object, FieldMarker>();

/** The marker attached to `schema` itself (not to wrapped schemas); see `fieldMarker`. */
export function markerOf(schema: ZodType): FieldMarker | undefined {
  return registry.get(schema);
}

function mark<T extends ZodType>(schema: T, marker: FieldMarker): T {
  registry.set(schema, marker);
  return schema;
}

interface Def {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
  out?: ZodType;
  shape?: Record<string, ZodType>;
  element?: ZodType;
}

function defOf(schema: ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Peels optional/default/prefault/nullable/readonly/catch/pipe wrappers, calling `visit` on each layer. */
export function unwrapSchema(schema: ZodType, visit?: (s: ZodType) => boolean): ZodType {
  let s = schema;
  for (let i = 0; i < 64; i++) {
    if (visit?.(s)) return s;
    const d = defOf(s);
    if (d.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'lazy') s = (s as unknown as { _zod: { def: { getter: () => ZodType } } })._zod.def.getter();
    else return s;
  }
  return s;
}

/** The marker of a field schema, looking through wrappers; unmarked fields are attributes. */
export function fieldMarker(schema: ZodType): FieldMarker {
  let found: FieldMarker | undefined;
  unwrapSchema(schema, (s) => {
    found = registry.get(s);
    return found !== undefined;
  });
  return found ?? { kind: 'attr' };
}

/** The object shape of a (possibly wrapped) object schema, or undefined if it is not an object. */
export function objectShape(schema: ZodType): Record<string, ZodType> | undefined {
  const inner = unwrapSchema(schema);
  const d = defOf(inner);
  return d.type === 'object' ? d.shape : undefined;
}

/** Block bodies are decoded by name, so they must be (possibly wrapped) zod object schemas. */
function requireObjectBody(fn: string, body: ZodType): void {
  if (!objectShape(body)) throw new TypeError(`${fn}: a block body must be a zod object schema (z.object), so its attributes and blocks can be decoded by name`);
}

/** ONE nested block (`wal { ... }`); the field's value is the decoded body. */
export function block<T extends ZodType>(body: T): T {
  requireObjectBody('block', body);
  return mark(body, { kind: 'block', body });
}

/**
 * A REPEATED nested block (`endpoint { } endpoint { }`), collected into an array in source order.
 * Zero blocks decode as `[]`; add `.min(1)` to require one.
 */
export function blocks<T extends ZodType>(body: T): z.ZodArray<T> {
  requireObjectBody('blocks', body);
  return mark(z.array(body), { kind: 'blocks', body });
}

/** Repeated labelled blocks (`argument "name" { }`) → `[{ label, body }]` in source order. */
export function labelledBlocks<T extends ZodType>(body: T): z.ZodArray<z.ZodObject<{ label: z.ZodString; body: T }>> {
  requireObjectBody('labelledBlocks', body);
  return mark(z.array(z.object({ label: z.string(), body })), { kind: 'labelledBlocks', body });
}

/**
 * Blocks of several names whose relative order matters (`stage.json { }`, `stage.labels { }`):
 * the field's value is `[{ type: '<block name>', body }]` in source order. The field's own key
 * in the object shape is not a block name; the variant names are.
 */
export function enumBlocks<V extends Record<string, ZodType>>(variants: V): z.ZodArray<ZodType<{ type: keyof V & string; body: unknown }>> {
  const options = Object.entries(variants).map(([name, body]) => z.object({ type: z.literal(name), body }));
  if (options.length === 0) throw new TypeError('enumBlocks: at least one block name is required');
  const union = z.discriminatedUnion('type', options as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>]);
  return mark(z.array(union as unknown as ZodType<{ type: keyof V & string; body: unknown }>), { kind: 'enumBlocks', variants });
}

/**
 * An upstream argument or block this collector does not support yet. Written in any form (as an
 * attribute or as a block, with any content), it gets exactly one diagnostic at its name:
 * `"<name>" is not supported by this collector yet; <fix>`. Leaving it out is fine; the decoded
 * value is always `undefined`. Parsed directly with zod, a set value is an issue at its path.
 */
export function unsupported(fix: string) {
  return mark(
    z
      .unknown()
      .superRefine((v, ctx) => {
        // Reached only when parsed directly (not through decodeBody, which reports it by name).
        if (v !== undefined) ctx.addIssue({ code: 'custom', message: `is not supported by this collector yet; ${fix}` });
      })
      .transform(() => undefined)
      .optional(),
    { kind: 'unsupported', fix },
  );
}

/** The message `unsupported(fix)` reports for the field `name`. */
export function unsupportedMessage(name: string, fix: string | undefined): string {
  return `${JSON.stringify(name)} is not supported by this collector yet${fix ? `; ${fix}` : ''}`;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `-1m`, `0`) into milliseconds; undefined if invalid. */
export function parseDuration(s: string): number | undefined {
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  if (s.slice(i) === '0') return 0;
  if (i >= s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    const numStart = i;
    while (i < s.length && ((s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) || s[i] === '.')) i++;
    const num = s.slice(numStart, i);
    if (num === '' || num === '.' || num.indexOf('.') !== num.lastIndexOf('.')) return undefined;
    const unitStart = i;
    while (i < s.length && !((s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) || s[i] === '.')) i++;
    const unit = s.slice(unitStart, i);
    const mult = Object.hasOwn(UNIT_MS, unit) ? UNIT_MS[unit] : undefined;
    if (mult === undefined) return undefined;
    total += Number(num) * mult;
  }
  return neg ? -total : total;
}

/** Formats milliseconds as a Go duration string (`1h30m0s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out = '';
  if (rest < 1000) {
    out = rest >= 1 ? `${+rest.toFixed(6)}ms` : rest >= 1e-3 ? `${+(rest * 1e3).toFixed(3)}µs` : `${Math.round(rest * 1e6)}ns`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const sec = +(rest / 1000).toFixed(9);
    if (h > 0) out += `${h}h`;
    if (h > 0 || m > 0) out += `${m}m`;
    out += `${sec}s`;
  }
  return neg ? `-${out}` : out;
}

/** A Go duration string (`1m`, `1h30m`, `500ms`, `15s`) decoded to milliseconds. */
export function duration(): ZodType<number, string> {
  const schema = z.string({ error: (iss) => `should be a duration string such as "15s", got ${typeOf(iss.input)}` }).transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration ${JSON.stringify(s)}: expected a Go duration such as "500ms", "15s", "1m30s" or "1h"`,
        input: s,
      });
      return z.NEVER;
    }
    return ms;
  });
  return mark(schema, { kind: 'attr', duration: true });
}

/** A secret: accepts a string or a `Secret`, always yields a `Secret`. */
export function secret(): ZodType<Secret, string | Secret> {
  return z
    .custom<string | Secret>((v) => typeof v === 'string' || v instanceof Secret, {
      error: (iss) => `should be secret or string, got ${typeOf(iss.input)}`,
    })
    .transform((v) => (typeof v === 'string' ? new Secret(v) : v));
}

/**
 * An optional secret (Alloy's `OptionalSecret`): a plain string stays a string (shown in the UI),
 * a `Secret` stays secret. Use where Alloy accepts either, e.g. header values.
 */
export function optionalSecret(): ZodType<string | Secret, string | Secret> {
  return z.custom<string | Secret>((v) => typeof v === 'string' || v instanceof Secret, {
    error: (iss) => `should be string or secret, got ${typeOf(iss.input)}`,
  });
}

/**
 * A capsule: an object of the named kind (e.g. `MetricsReceiver`), passed through unchanged.
 * `check` narrows what counts as that kind (e.g. has an `append` function).
 */
export function capsule<T extends object>(typeName: string, check?: (v: object) => boolean): ZodType<T, T> {
  const schema = z.custom<T>(
    (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Secret) && (check ? check(v) : true),
    { error: (iss) => `should be capsule(${typeName}), got ${typeOf(iss.input)}` },
  );
  return mark(schema, { kind: 'attr', capsule: typeName });
}
