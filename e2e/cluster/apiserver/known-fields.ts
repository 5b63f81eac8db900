/**
 * The Kubernetes API types as declared by the `kubernetes-models` package (generated from the
 * Kubernetes OpenAPI document): each `I<Name>` interface lists the declared properties, their
 * types, whether they are required, and their descriptions. Used for unknown-field detection
 * (`fieldValidation=Strict|Warn`) and for the built-in schemas of `/openapi/v3`.
 * Parsed lazily and cached; a type that cannot be resolved is treated as open (never reported).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObject, type Json, type JsonObject, type KubeObject, type ResourceType } from './types.js';

type TypeRef =
  | { readonly k: 'string' | 'integer' | 'boolean' | 'any' | 'int-or-string' | 'date-time' }
  | { readonly k: 'enum'; readonly values: readonly string[] }
  | { readonly k: 'ref'; readonly file: string }
  | { readonly k: 'array'; readonly items: TypeRef }
  | { readonly k: 'map'; readonly values: TypeRef };

interface Prop {
  readonly type: TypeRef;
  readonly required: boolean;
  readonly description: string;
}

interface Decl {
  readonly description: string;
  readonly props: Map<string, Prop>;
}

function findRoot(): string | undefined {
  const starts = [path.dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (let dir of starts) {
    for (;;) {
      if (fs.existsSync(path.join(dir, 'node_modules', 'kubernetes-models'))) return path.join(dir, 'node_modules');
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

const NODE_MODULES = findRoot();
const decls = new Map<string, Decl | null>();
const aliases = new Map<string, TypeRef>();

function resolveImport(fromFile: string, spec: string): string | undefined {
  let p: string;
  if (spec.startsWith('.')) p = path.resolve(path.dirname(fromFile), spec);
  else if (NODE_MODULES) p = path.join(NODE_MODULES, spec);
  else return undefined;
  return `${p.replace(/\.js$/, '')}.d.ts`;
}

function docText(comment: string | undefined): string {
  if (!comment) return '';
  return comment
    .trim()
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

function parseType(text: string, imports: Map<string, string>): TypeRef {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if ((m = /^Array<([\s\S]+)>$/.exec(t))) return { k: 'array', items: parseType(m[1]!, imports) };
  if ((m = /^\{\s*\[key: string\]: ([\s\S]+?);?\s*\}$/.exec(t))) return { k: 'map', values: parseType(m[1]!, imports) };
  if (t === 'string') return { k: 'string' };
  if (t === 'number') return { k: 'integer' };
  if (t === 'boolean') return { k: 'boolean' };
  if (/^"[^"]*"(\s*\|\s*"[^"]*")*$/.test(t)) return { k: 'enum', values: [...t.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) };
  const file = imports.get(t);
  if (file) return { k: 'ref', file };
  return { k: 'any' };
}

function aliasOf(file: string, src: string): TypeRef {
  const m = /export type I\w+ = ([^;]+);/.exec(src);
  const body = m?.[1]?.trim() ?? '';
  let ref: TypeRef = { k: 'any' };
  if (body === 'string') ref = /Time\.d\.ts$/.test(file) ? { k: 'date-time' } : { k: 'string' };
  else if (/^(string \| number|number \| string)$/.test(body)) ref = { k: 'int-or-string' };
  else if (body === 'number') ref = { k: 'integer' };
  else if (body === 'boolean') ref = { k: 'boolean' };
  aliases.set(file, ref);
  return ref;
}

function parseFile(file: string): Decl | null {
  const cached = decls.get(file);
  if (cached !== undefined) return cached;
  let src: string;
  try {
    src = fs.readFileSync(file, 'utf8');
  } catch {
    decls.set(file, null);
    return null;
  }
  const start = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\n)?export interface I\w+(?: extends [\w, ]+)? \{\n/.exec(src);
  if (!start) {
    aliasOf(file, src);
    decls.set(file, null);
    return null;
  }
  const imports = new Map<string, string>();
  // A recursive declaration (JSONSchemaProps' `properties`) names its own interface.
  const self = /export interface (I\w+)/.exec(src.slice(start.index))?.[1];
  if (self) imports.set(self, file);
  for (const m of src.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    const target = resolveImport(file, m[2]!);
    if (target) for (const name of m[1]!.split(',').map((s) => s.trim())) imports.set(name, target);
  }
  const bodyStart = start.index + start[0].length;
  const body = src.slice(bodyStart, src.indexOf('\n}', bodyStart));
  const props = new Map<string, Prop>();
  const re = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)?\s*\n? {4}"([^"]+)"(\??): ([\s\S]*?);\n(?= {4}(?:"|\/\*\*)|$)/g;
  for (const m of `${body}\n`.matchAll(re)) {
    props.set(m[2]!, { type: parseType(m[4]!, imports), required: m[3] !== '?', description: docText(m[1]) });
  }
  const decl: Decl = { description: docText(start[1]), props };
  decls.set(file, decl);
  return decl;
}

function kindFile(t: ResourceType): string | undefined {
  if (!NODE_MODULES || t.crdName) return undefined;
  const parts = t.group === '' ? [t.version] : [t.group, t.version];
  return path.join(NODE_MODULES, 'kubernetes-models', ...parts, `${t.kind}.d.ts`);
}

// ---------------------------------------------------------------- unknown fields

function walk(v: Json, decl: Decl, at: string, out: string[]): void {
  if (!isObject(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'managedFields' && at === 'metadata') continue;
    const p = decl.props.get(k);
    const here = at === '' ? k : `${at}.${k}`;
    if (!p) {
      out.push(here);
      continue;
    }
    walkType(x, p.type, here, out);
  }
}

function walkType(x: Json, t: TypeRef, here: string, out: string[]): void {
  if (t.k === 'ref') {
    // Types decoding JSON their own way (`OWN_JSON_DECODING`) are open here.
    const inner = OWN_JSON_DECODING.has(declName(t.file)) ? null : parseFile(t.file);
    if (inner) walk(x, inner, here, out);
  } else if (t.k === 'array' && Array.isArray(x)) {
    x.forEach((item, i) => walkType(item, t.items, `${here}[${i}]`, out));
  } else if (t.k === 'map' && isObject(x)) {
    for (const [mk, mv] of Object.entries(x)) walkType(mv, t.values, `${here}.${mk}`, out);
  }
}

/** Dotted paths of fields the kind's schema does not declare; empty when the kind is unknown. */
export function unknownFieldPaths(t: ResourceType, obj: KubeObject): string[] {
  const f = kindFile(t);
  const decl = f ? parseFile(f) : null;
  if (!decl) return [];
  const out: string[] = [];
  walk(obj, decl, '', out);
  return out;
}

// ---------------------------------------------------------------- OpenAPI schemas

/** `…/kubernetes-models/apps/v1/StatefulSetSpec.d.ts` → `io.k8s.api.apps.v1.StatefulSetSpec`. */
function schemaName(file: string): string {
  const rel = path.relative(NODE_MODULES ?? '', file).replace(/\.d\.ts$/, '').split(path.sep);
  if (rel[0] === '@kubernetes-models' && rel[1] === 'apimachinery') return `io.k8s.apimachinery.pkg.${rel.slice(2).join('.')}`;
  if (rel[0] === 'kubernetes-models') {
    const parts = rel.slice(1);
    if (parts.length === 2) return `io.k8s.api.core.${parts.join('.')}`;
    const group = parts[0]!;
    if (group === 'apiextensions.k8s.io') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${parts.slice(1).join('.')}`;
    return `io.k8s.api.${group.split('.')[0]!}.${parts.slice(1).join('.')}`;
  }
  return rel.join('.');
}

function toSchema(t: TypeRef, out: JsonObject): JsonObject {
  switch (t.k) {
    case 'string':
      return { type: 'string' };
    case 'integer':
      return { type: 'integer' };
    case 'boolean':
      return { type: 'boolean' };
    case 'any':
      return {};
    case 'date-time':
      return { type: 'string', format: 'date-time' };
    case 'int-or-string':
      return { 'x-kubernetes-int-or-string': true };
    case 'enum':
      return { type: 'string', enum: [...t.values] };
    case 'array':
      return { type: 'array', items: toSchema(t.items, out) };
    case 'map':
      return { type: 'object', additionalProperties: toSchema(t.values, out) };
    case 'ref': {
      const decl = parseFile(t.file);
      if (!decl) {
        const alias = aliases.get(t.file) ?? { k: 'any' };
        return toSchema(alias.k === 'ref' ? { k: 'any' } : alias, out);
      }
      const name = schemaName(t.file);
      if (!(name in out)) {
        out[name] = {};
        out[name] = declSchema(decl, out, t.file);
      }
      return { $ref: `#/components/schemas/${name}` };
    }
  }
}

function declSchema(decl: Decl, out: JsonObject, file: string): JsonObject {
  if (UNTYPED_IN_OPENAPI.has(declName(file))) return decl.description ? { description: decl.description } : {};
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const [name, p] of decl.props) {
    const s = (name === 'apiVersion' || name === 'kind') && p.type.k === 'enum' ? { type: 'string' } : toSchema(p.type, out);
    properties[name] = '$ref' in s ? { allOf: [s], ...(p.description ? { description: p.description } : {}) } : { ...s, ...(p.description ? { description: p.description } : {}) };
    if (p.required && name !== 'apiVersion' && name !== 'kind') required.push(name);
  }
  return { type: 'object', ...(decl.description ? { description: decl.description } : {}), properties, ...(required.length ? { required } : {}) };
}

/**
 * The OpenAPI v3 schema of a built-in kind and every schema it references, keyed by the
 * Kubernetes definition name; undefined when the kind has no declaration.
 */
export function builtinSchemas(t: ResourceType): { name: string; schemas: JsonObject } | undefined {
  const f = kindFile(t);
  if (!f || !parseFile(f)) return undefined;
  const schemas: JsonObject = {};
  toSchema({ k: 'ref', file: f }, schemas);
  return { name: schemaName(f), schemas };
}

// ---------------------------------------------------------------- decoding

/** A JSON value of the wrong type for a field of a built-in type (a Go decoding error). */
export interface DecodeMismatch {
  /** JSON pointer of the value (`/spec/replicas`). */
  readonly pointer: string;
  /** Go struct holding the field (`DeploymentSpec`). */
  readonly struct: string;
  /** Dotted JSON path without indices, as Go's decoder names it (`spec.template.spec.containers.ports.containerPort`). */
  readonly field: string;
  /** What the field declares: a scalar, or a struct, slice or map (then `goType` names it). */
  readonly declared: 'integer' | 'string' | 'boolean' | 'composite';
  /** The Go type of a composite field as Go prints it (`v1.PodSpec`, `[]v1.Container`, `map[string]string`). */
  readonly goType?: string;
  readonly value: Json;
}

/** The Go type name a declaration file stands for (`PodSpec.d.ts` → `PodSpec`). */
function declName(file: string): string {
  return path.basename(file).replace(/\.d\.ts$/, '');
}

/**
 * Go types whose JSON decoding is their own (a custom UnmarshalJSON taking any JSON value, or
 * the schema union types of CRDs: `additionalProperties: true`, `items: [...]`): never a decode
 * mismatch. Other declarations without properties (`CustomResourceSubresourceStatus`, `Patch`)
 * are empty Go structs and do need an object.
 */
const OWN_JSON_DECODING = new Set(['JSON', 'JSONSchemaPropsOrArray', 'JSONSchemaPropsOrBool', 'JSONSchemaPropsOrStringArray', 'RawExtension', 'FieldsV1']);

/** Of those, the ones the Kubernetes OpenAPI document declares without a `type` (any JSON value). */
const UNTYPED_IN_OPENAPI = new Set(['JSON', 'JSONSchemaPropsOrArray', 'JSONSchemaPropsOrBool', 'JSONSchemaPropsOrStringArray']);

/**
 * The Go type of `t` as `reflect.Type.String()` prints it: structs as `<package>.<Name>` (the
 * package is the API version folder the declaration lives in: `v1`, `v2`), slices `[]T`, maps
 * `map[string]T`; undefined for types with their own JSON decoding (quantities, int-or-string,
 * times, free-form values), whose mismatches are not modelled.
 */
function goTypeName(t: TypeRef): string | undefined {
  switch (t.k) {
    case 'string':
    case 'enum':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'integer':
      return 'int32';
    case 'ref': {
      const decl = parseFile(t.file);
      if (decl === null) {
        const alias = aliases.get(t.file);
        return alias && alias.k !== 'ref' ? goTypeName(alias) : undefined;
      }
      if (OWN_JSON_DECODING.has(declName(t.file))) return undefined;
      return `${path.basename(path.dirname(t.file))}.${path.basename(t.file).replace(/\.d\.ts$/, '')}`;
    }
    case 'array': {
      const item = goTypeName(t.items);
      return item === undefined ? undefined : `[]${item}`;
    }
    case 'map': {
      const value = goTypeName(t.values);
      return value === undefined ? undefined : `map[string]${value}`;
    }
    default:
      return undefined;
  }
}

/** Whether JSON `x` cannot decode into the composite Go type `t` (a struct or map needs an object, a slice an array; null always decodes). */
function compositeMismatch(t: TypeRef, x: Json): boolean {
  if (x === null) return false;
  if (t.k === 'array') return !Array.isArray(x);
  return !isObject(x);
}

function jsonKindMismatch(declared: DecodeMismatch['declared'], x: Json): boolean {
  if (x === null) return false;
  if (declared === 'integer') return typeof x !== 'number' || !Number.isInteger(x);
  if (declared === 'string') return typeof x !== 'string';
  return typeof x !== 'boolean';
}

function scalarOf(t: TypeRef): DecodeMismatch['declared'] | undefined {
  if (t.k === 'integer' || t.k === 'string' || t.k === 'boolean') return t.k;
  if (t.k === 'enum') return 'string';
  if (t.k === 'ref' && parseFile(t.file) === null) {
    const alias = aliases.get(t.file);
    if (alias && (alias.k === 'integer' || alias.k === 'string' || alias.k === 'boolean')) return alias.k;
  }
  return undefined;
}

function firstMismatch(v: Json, file: string, at: string, pointer: string): DecodeMismatch | undefined {
  const decl = parseFile(file);
  if (!decl || !isObject(v)) return undefined;
  const struct = path.basename(file).replace(/\.d\.ts$/, '');
  for (const [k, x] of Object.entries(v)) {
    const p = decl.props.get(k);
    if (!p) continue;
    const field = at === '' ? k : `${at}.${k}`;
    const ptr = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const found = firstInType(x, p.type, struct, field, ptr);
    if (found) return found;
  }
  return undefined;
}

function firstInType(x: Json, t: TypeRef, struct: string, field: string, pointer: string): DecodeMismatch | undefined {
  const scalar = scalarOf(t);
  if (scalar) return jsonKindMismatch(scalar, x) ? { pointer, struct, field, declared: scalar, value: x } : undefined;
  if ((t.k === 'ref' && parseFile(t.file) !== null && !OWN_JSON_DECODING.has(declName(t.file))) || t.k === 'array' || t.k === 'map') {
    const goType = goTypeName(t);
    if (goType !== undefined && compositeMismatch(t, x)) return { pointer, struct, field, declared: 'composite', goType, value: x };
  }
  if (t.k === 'ref') return firstMismatch(x, t.file, field, pointer);
  if (t.k === 'array' && Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const found = firstInType(x[i]!, t.items, struct, field, `${pointer}/${i}`);
      if (found) return found;
    }
  }
  if (t.k === 'map' && isObject(x)) {
    for (const [k, v] of Object.entries(x)) {
      const found = firstInType(v, t.values, struct, field, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Whether the value at JSON `pointer` of a built-in object lies at or below a field of a type
 * with its own JSON decoding (`OWN_JSON_DECODING`): the compiled schema validators type those as
 * objects, the real server takes any JSON value there (`additionalProperties: true`).
 */
export function ownJsonDecodingAt(t: ResourceType, pointer: string): boolean {
  let file = kindFile(t);
  if (!file) return false;
  let type: TypeRef = { k: 'ref', file };
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (type.k === 'array') type = type.items;
    else if (type.k === 'map') type = type.values;
    else if (type.k === 'ref') {
      file = type.file;
      if (OWN_JSON_DECODING.has(declName(file))) return true;
      const next: TypeRef | undefined = parseFile(file)?.props.get(seg)?.type;
      if (!next) return false;
      type = next;
    } else return false;
  }
  return type.k === 'ref' && OWN_JSON_DECODING.has(declName(type.file));
}

/**
 * The first field of a built-in object, in document order, whose JSON value has the wrong type
 * (a scalar of the wrong kind, or a value where a struct, slice or map belongs): where the real server's JSON decoding fails before any
 * validation. Undefined when there is none or the kind is unknown.
 */
export function firstDecodeMismatch(t: ResourceType, obj: KubeObject): DecodeMismatch | undefined {
  const f = kindFile(t);
  return f ? firstMismatch(obj, f, '', '') : undefined;
}
