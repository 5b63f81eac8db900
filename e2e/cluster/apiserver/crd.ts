/**
 * CustomResourceDefinitions: checking a CRD, turning its served versions into resource types,
 * and handling custom resources with the version's structural `openAPIV3Schema` — validation
 * (type, required, enum, bounds, pattern, nullable, int-or-string), defaulting, pruning of
 * unknown fields (or reporting them under `fieldValidation=Strict|Warn`), `x-kubernetes-validations`
 * rules in the CEL subset of `cel.ts` (evaluated at the schema node that carries them), and
 * list/map types for server-side apply.
 */
import { CelEvalError, CelUnsupported, evaluate, parseRule, usesOldSelf, type CelAst } from './cel.js';
import type { StatusCause } from './errors.js';
import type { ListType, TypeInfo } from './patch-meta.js';
import { deepClone, deepEqual, isObject, type Json, type JsonObject, type KubeObject, type PrinterColumn, type ResourceType } from './types.js';

export interface CrdVersion {
  readonly name: string;
  readonly schema: JsonObject | undefined;
  readonly statusSubresource: boolean;
  readonly scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  readonly printerColumns: readonly PrinterColumn[];
}

export function crdVersions(crd: KubeObject): CrdVersion[] {
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  return versions.map((v) => {
    const sub = isObject(v['subresources']) ? v['subresources'] : {};
    const scale = isObject(sub['scale']) ? sub['scale'] : undefined;
    const schemaWrap = isObject(v['schema']) ? v['schema'] : {};
    return {
      name: String(v['name']),
      schema: isObject(schemaWrap['openAPIV3Schema']) ? schemaWrap['openAPIV3Schema'] : undefined,
      statusSubresource: isObject(sub['status']),
      ...(scale
        ? {
            scale: {
              specReplicasPath: String(scale['specReplicasPath']),
              statusReplicasPath: String(scale['statusReplicasPath']),
              ...(typeof scale['labelSelectorPath'] === 'string' ? { labelSelectorPath: scale['labelSelectorPath'] } : {}),
            },
          }
        : {}),
      printerColumns: (Array.isArray(v['additionalPrinterColumns']) ? v['additionalPrinterColumns'].filter(isObject) : []).map((c) => ({
        name: String(c['name']),
        type: String(c['type'] ?? 'string'),
        jsonPath: String(c['jsonPath']),
        ...(typeof c['format'] === 'string' ? { format: c['format'] } : {}),
        ...(typeof c['description'] === 'string' ? { description: c['description'] } : {}),
        ...(typeof c['priority'] === 'number' ? { priority: c['priority'] } : {}),
      })),
    };
  }).filter((_, i) => versions[i]!['served'] !== false);
}

/** Problems with a CRD itself, as `CustomResourceDefinition.apiextensions.k8s.io "x" is invalid` causes. */
export function crdCauses(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const group = spec['group'];
  if (typeof group !== 'string' || !group.includes('.')) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(group ?? '')}: should be a domain with at least one dot`, field: 'spec.group' });
  if (typeof names['plural'] !== 'string' || names['plural'] === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' });
  if (typeof names['kind'] !== 'string' || names['kind'] === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.kind' });
  if (typeof names['plural'] === 'string' && typeof group === 'string' && crd.metadata['name'] !== `${names['plural']}.${group}`) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(crd.metadata['name'])}: must be spec.names.plural+"."+spec.group`, field: 'metadata.name' });
  }
  if (spec['scope'] !== 'Namespaced' && spec['scope'] !== 'Cluster') {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(spec['scope'] ?? '')}: supported values: "Cluster", "Namespaced"`, field: 'spec.scope' });
  }
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  if (versions.length === 0) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: []: must have exactly one version marked as storage version', field: 'spec.versions' });
  else if (versions.filter((v) => v['storage'] === true).length !== 1) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must have exactly one version marked as storage version', field: 'spec.versions' });
  }
  const schemas = versions.map((v) => (isObject(v['schema']) ? v['schema']['openAPIV3Schema'] : undefined));
  // Identical per-version schemas are reported at `spec.validation` (the real server folds them
  // into the internal top-level field before validating).
  const shared = schemas.length > 0 && schemas.every((sc) => isObject(sc) && deepEqual(sc, schemas[0]));
  schemas.forEach((schema, i) => {
    if (!isObject(schema)) causes.push({ reason: 'FieldValueRequired', message: 'Required value: schemas are required', field: `spec.versions[${i}].schema.openAPIV3Schema` });
    else if (schema['type'] !== 'object') causes.push({ reason: 'FieldValueRequired', message: 'Required value: must be object at the root', field: `spec.versions[${i}].schema.openAPIV3Schema.type` });
    else if (!shared || i === 0) structuralCauses(schema, shared ? 'spec.validation.openAPIV3Schema' : `spec.versions[${i}].schema.openAPIV3Schema`, causes);
  });
  return causes;
}

/**
 * Structural schema rule: every specified object field and array item has a `type`, unless it is
 * `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields` (texts as the real server).
 */
function structuralCauses(schema: JsonObject, path: string, causes: StatusCause[]): void {
  const typed = (sub: JsonObject): boolean => (typeof sub['type'] === 'string' && sub['type'] !== '') || sub['x-kubernetes-int-or-string'] === true || sub['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObject(schema['properties'])) {
    for (const [name, sub] of Object.entries(schema['properties'])) {
      if (!isObject(sub)) continue;
      const p = `${path}.properties[${name}]`;
      if (!typed(sub)) causes.push({ reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified object fields', field: `${p}.type` });
      structuralCauses(sub, p, causes);
    }
  }
  if (isObject(schema['items'])) {
    const p = `${path}.items`;
    if (!typed(schema['items'])) causes.push({ reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified array items', field: `${p}.type` });
    structuralCauses(schema['items'], p, causes);
  }
  if (isObject(schema['additionalProperties'])) structuralCauses(schema['additionalProperties'], `${path}.additionalProperties`, causes);
}

export function crdResourceTypes(crd: KubeObject): ResourceType[] {
  const spec = crd['spec'] as JsonObject;
  const names = spec['names'] as JsonObject;
  const group = String(spec['group']);
  const plural = String(names['plural']);
  return crdVersions(crd).map((v) => ({
    group,
    version: v.name,
    resource: plural,
    singular: String(names['singular'] ?? String(names['kind']).toLowerCase()),
    kind: String(names['kind']),
    listKind: String(names['listKind'] ?? `${String(names['kind'])}List`),
    scope: spec['scope'] === 'Cluster' ? 'Cluster' : 'Namespaced',
    shortNames: Array.isArray(names['shortNames']) ? names['shortNames'].map(String) : [],
    categories: Array.isArray(names['categories']) ? names['categories'].map(String) : [],
    verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
    statusSubresource: v.statusSubresource,
    ...(v.scale ? { scale: v.scale } : {}),
    storageKey: `${group}/${plural}`,
    crdName: String(crd.metadata['name']),
    fieldLabels: [],
  }));
}

/** Sets `status.conditions` NamesAccepted/Established and `acceptedNames` like the CRD controllers. */
export function establish(crd: KubeObject, now: string): void {
  const spec = crd['spec'] as JsonObject;
  const names = deepClone(spec['names'] as JsonObject);
  if (names['singular'] === undefined) names['singular'] = String(names['kind']).toLowerCase();
  if (names['listKind'] === undefined) names['listKind'] = `${String(names['kind'])}List`;
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  const storage = versions.find((v) => v['storage'] === true);
  crd['status'] = {
    acceptedNames: names,
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions: storage ? [String(storage['name'])] : [],
  };
}

// ---------------------------------------------------------------- custom resources

export type UnknownFieldMode = 'Ignore' | 'Warn' | 'Strict';

export interface CrCheck {
  readonly causes: StatusCause[];
  /** Paths of fields the schema does not know (already pruned from the object). */
  readonly unknown: string[];
  /** One per validation rule outside the CEL subset (those rules were skipped). */
  readonly warnings: string[];
}

const parsedRules = new Map<string, CelAst | CelUnsupported>();

function parsedRule(src: string): CelAst | CelUnsupported {
  let p = parsedRules.get(src);
  if (p === undefined) {
    try {
      p = parseRule(src);
    } catch (err: unknown) {
      if (!(err instanceof CelUnsupported)) throw err;
      p = err;
    }
    parsedRules.set(src, p);
  }
  return p;
}

/**
 * Evaluates the `x-kubernetes-validations` of schema node `s` against `v` (and `old`, its value in
 * the stored object on updates; rules reading `oldSelf` run only then). Failures become causes
 * worded like the real server's: `<path>: Invalid value: "<type>": <message>`.
 */
function checkRules(s: JsonObject, v: Json, old: Json | undefined, path: string, causes: StatusCause[], warnings: Set<string>): void {
  const rules = s['x-kubernetes-validations'];
  if (!Array.isArray(rules)) return;
  for (const r of rules) {
    if (!isObject(r) || typeof r['rule'] !== 'string') continue;
    const src = r['rule'];
    const ast = parsedRule(src);
    if (ast instanceof CelUnsupported) {
      warnings.add(`x-kubernetes-validations rule ${JSON.stringify(src)} at ${path === '' ? '<root>' : path} was not evaluated: this test API server supports only a CEL subset (${ast.message})`);
      continue;
    }
    if (usesOldSelf(ast) && old === undefined) continue;
    const vars = old === undefined ? { self: v } : { self: v, oldSelf: old };
    const field = typeof r['fieldPath'] === 'string' && r['fieldPath'].startsWith('.') ? `${path}${r['fieldPath']}` : path;
    const type = JSON.stringify(typeof s['type'] === 'string' ? s['type'] : 'object');
    let ok: Json;
    try {
      ok = evaluate(ast, vars);
    } catch (err: unknown) {
      if (!(err instanceof CelEvalError)) throw err;
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${type}: ${err.message} evaluating rule: ${src}`, field });
      continue;
    }
    if (ok === true) continue;
    let message = typeof r['message'] === 'string' && r['message'] !== '' ? r['message'] : `failed rule: ${src}`;
    if (typeof r['messageExpression'] === 'string') {
      const m = parsedRule(r['messageExpression']);
      if (!(m instanceof CelUnsupported)) {
        try {
          const text = evaluate(m, vars);
          if (typeof text === 'string' && text.trim() !== '') message = text;
        } catch (err: unknown) {
          if (!(err instanceof CelEvalError)) throw err;
        }
      } else warnings.add(`messageExpression ${JSON.stringify(r['messageExpression'])} at ${path === '' ? '<root>' : path} was not evaluated: this test API server supports only a CEL subset (${m.message})`);
    }
    causes.push({ reason: r['reason'] === 'FieldValueForbidden' ? 'FieldValueForbidden' : r['reason'] === 'FieldValueRequired' ? 'FieldValueRequired' : r['reason'] === 'FieldValueDuplicate' ? 'FieldValueDuplicate' : 'FieldValueInvalid', message: ok === false ? `Invalid value: ${type}: ${message}` : `Invalid value: ${type}: rule did not evaluate to a bool: ${src}`, field });
  }
}

function typeOk(schema: JsonObject, v: Json): boolean {
  if (v === null) return schema['nullable'] === true;
  if (schema['x-kubernetes-int-or-string'] === true) return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  switch (schema['type']) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

/** The JSON type name kube-apiserver's schema validator reports (`integer` for whole numbers). */
function jsonType(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** A value as Go's `%#v` prints what `encoding/json` decoded into `interface{}` (kube-apiserver's duplicate messages). */
function goValue(v: Json): string {
  if (v === null) return 'interface {}(nil)';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map(goValue).join(', ')}}`;
  return `map[string]interface {}{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${goValue(v[k]!)}`).join(', ')}}`;
}

/**
 * `x-kubernetes-list-type: set` items and `map` keys must be unique (kube-apiserver's
 * structural list-type validation): each repeat is a `Duplicate value` at its index.
 */
function duplicates(s: JsonObject, v: Json[], path: string, causes: StatusCause[]): void {
  const type = s['x-kubernetes-list-type'];
  const seen = new Set<string>();
  if (type === 'set') {
    v.forEach((item, i) => {
      const key = canonical(item);
      if (seen.has(key)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goValue(item)}`, field: `${path}[${i}]` });
      seen.add(key);
    });
  } else if (type === 'map' && Array.isArray(s['x-kubernetes-list-map-keys'])) {
    const keys = s['x-kubernetes-list-map-keys'].map(String);
    v.forEach((item, i) => {
      if (!isObject(item)) return;
      const id: JsonObject = {};
      for (const k of keys) if (item[k] !== undefined) id[k] = item[k]!;
      const key = canonical(id);
      if (seen.has(key)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goValue(id)}`, field: `${path}[${i}]` });
      seen.add(key);
    });
  }
}

function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`).join(',')}}`;
  return JSON.stringify(v);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Prunes unknown fields, applies defaults and validates `obj` in place against a structural schema.
 * `metadata`, `apiVersion` and `kind` at the root are left to the generic checks. `old` is the stored
 * object on updates (for `oldSelf` in validation rules).
 */
export function checkCustomResource(schema: JsonObject | undefined, obj: KubeObject, old?: KubeObject): CrCheck {
  const causes: StatusCause[] = [];
  const unknown: string[] = [];
  const warnings = new Set<string>();
  if (!schema) return { causes, unknown, warnings: [] };
  // `path` indexes list items (`spec.endpoints[0].port`), as rule, list-type and unknown-field errors
  // name them; `at` does not (`spec.endpoints.port`), as kube-apiserver's OpenAPI schema validator
  // names the fields of its type, required, enum, pattern, bound and length errors.
  const visit = (s: JsonObject, v: Json, path: string, at: string, root: boolean, prev: Json | undefined): Json => {
    if (!typeOk(s, v)) {
      if (s['x-kubernetes-int-or-string'] === true || s['type'] === undefined) {
        causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: ${JSON.stringify(v)}: ${at} in body must be of type ${String(s['type'] ?? 'int-or-string')}: ${JSON.stringify(jsonType(v))}`, field: at });
      } else {
        const got = JSON.stringify(jsonType(v));
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${got}: ${at} in body must be of type ${String(s['type'])}: ${got}`, field: at });
      }
      return v;
    }
    if (v === null) return v;
    if (isObject(v)) {
      const props = isObject(s['properties']) ? s['properties'] : undefined;
      const addl = s['additionalProperties'];
      const preserve = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-embedded-resource'] === true;
      if (props) {
        for (const [k, ps] of Object.entries(props)) {
          if (!isObject(ps)) continue;
          if (v[k] === undefined && ps['default'] !== undefined) v[k] = deepClone(ps['default']);
        }
      }
      for (const k of Object.keys(v)) {
        if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
        const ps = props && isObject(props[k]) ? props[k] : isObject(addl) ? addl : undefined;
        if (ps) v[k] = visit(ps, v[k]!, join(path, k), join(at, k), false, isObject(prev) ? prev[k] : undefined);
        else if (!preserve && addl !== true) {
          unknown.push(join(path, k));
          delete v[k];
        }
      }
      if (Array.isArray(s['required'])) {
        for (const r of s['required']) if (typeof r === 'string' && v[r] === undefined) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: join(at, r) });
      }
      if (typeof s['maxProperties'] === 'number' && Object.keys(v).length > s['maxProperties']) causes.push({ reason: 'FieldValueTooMany', message: `Too many: ${Object.keys(v).length}: must have at most ${s['maxProperties']} items`, field: path });
    } else if (Array.isArray(v)) {
      if (isObject(s['items'])) v.forEach((item, i) => (v[i] = visit(s['items'] as JsonObject, item, `${path}[${i}]`, at, false, undefined)));
      if (typeof s['maxItems'] === 'number' && v.length > s['maxItems']) causes.push({ reason: 'FieldValueTooMany', message: `Too many: ${v.length}: must have at most ${s['maxItems']} items`, field: path });
      if (typeof s['minItems'] === 'number' && v.length < s['minItems']) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${v.length}: ${at} in body should have at least ${s['minItems']} items`, field: at });
      duplicates(s, v, path, causes);
    } else {
      if (Array.isArray(s['enum']) && !s['enum'].some((e) => e === v)) {
        causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${s['enum'].map((e) => JSON.stringify(e)).join(', ')}`, field: at });
      }
      if (typeof v === 'number') {
        if (typeof s['minimum'] === 'number' && v < s['minimum']) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${v}: ${at} in body should be greater than or equal to ${s['minimum']}`, field: at });
        if (typeof s['maximum'] === 'number' && v > s['maximum']) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${v}: ${at} in body should be less than or equal to ${s['maximum']}`, field: at });
      }
      if (typeof v === 'string') {
        if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(v)) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(v)}: ${at} in body should match '${s['pattern']}'`, field: at });
        if (typeof s['maxLength'] === 'number' && v.length > s['maxLength']) causes.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${s['maxLength']} bytes`, field: path });
        if (typeof s['minLength'] === 'number' && v.length < s['minLength']) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(v)}: ${at} in body should be at least ${s['minLength']} chars long`, field: at });
      }
    }
    checkRules(s, v, prev, path, causes, warnings);
    return v;
  };
  visit(schema, obj, '', '', true, old);
  return { causes, unknown, warnings: [...warnings] };
}

/** SSA list/map semantics from `x-kubernetes-list-type`, `-list-map-keys` and `-map-type`. */
export class SchemaTypeInfo implements TypeInfo {
  readonly #schema: JsonObject | undefined;

  constructor(schema: JsonObject | undefined) {
    this.#schema = schema;
  }

  #at(path: readonly string[]): JsonObject | undefined {
    let s = this.#schema;
    for (const seg of path) {
      if (!s) return undefined;
      while (s && s['type'] === 'array' && isObject(s['items'])) s = s['items'];
      const props: Json | undefined = s ? s['properties'] : undefined;
      if (isObject(props) && isObject(props[seg])) s = props[seg];
      else if (s && isObject(s['additionalProperties'])) s = s['additionalProperties'];
      else return undefined;
    }
    return s;
  }

  listType(path: readonly string[]): ListType {
    const s = this.#at(path);
    if (!s) return { kind: 'atomic' };
    if (s['x-kubernetes-list-type'] === 'map' && Array.isArray(s['x-kubernetes-list-map-keys'])) {
      return { kind: 'map', keys: s['x-kubernetes-list-map-keys'].map(String) };
    }
    if (s['x-kubernetes-list-type'] === 'set') return { kind: 'set' };
    return { kind: 'atomic' };
  }

  atomicMap(path: readonly string[]): boolean {
    const s = this.#at(path);
    return s?.['x-kubernetes-map-type'] === 'atomic';
  }
}
