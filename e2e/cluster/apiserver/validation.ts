/**
 * Validation of built-in kinds: the Kubernetes OpenAPI schemas compiled by the `kubernetes-models`
 * package (types, required fields, enums), plus the semantic checks users hit first (DNS names,
 * label syntax, container names, workload selectors, immutable fields). Returns causes in the
 * real server's shape; the caller turns them into a 422.
 */
import { badRequest, type StatusCause } from './errors.js';
import { firstDecodeMismatch, ownJsonDecodingAt, type DecodeMismatch } from './known-fields.js';
import { fromLabelSelectorObject, matchLabels } from './selectors.js';
import { deepClone, deepEqual, isObject, type Json, type JsonObject, type KubeObject, type ResourceType } from './types.js';

type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const GROUP_PREFIX: Readonly<Record<string, string>> = {
  '': 'IoK8sApiCore',
  apps: 'IoK8sApiApps',
  'rbac.authorization.k8s.io': 'IoK8sApiRbac',
  'coordination.k8s.io': 'IoK8sApiCoordination',
  policy: 'IoK8sApiPolicy',
  autoscaling: 'IoK8sApiAutoscaling',
  'discovery.k8s.io': 'IoK8sApiDiscovery',
  'events.k8s.io': 'IoK8sApiEvents',
  'networking.k8s.io': 'IoK8sApiNetworking',
  batch: 'IoK8sApiBatch',
  'scheduling.k8s.io': 'IoK8sApiScheduling',
  'storage.k8s.io': 'IoK8sApiStorage',
  'node.k8s.io': 'IoK8sApiNode',
  'admissionregistration.k8s.io': 'IoK8sApiAdmissionregistration',
  'apiextensions.k8s.io': 'IoK8sApiextensionsApiserverPkgApisApiextensions',
};

const validators = new Map<string, Validator | undefined>();

function validatorName(t: ResourceType): string | undefined {
  const prefix = GROUP_PREFIX[t.group];
  if (prefix === undefined) return undefined;
  return `${prefix}${t.version[0]!.toUpperCase()}${t.version.slice(1)}${t.kind}`;
}

/**
 * Loads the compiled schema validators of the given kinds, one after another (concurrent dynamic
 * imports of shared modules are unreliable under some ESM loaders). Returns the kinds whose
 * validator could not be loaded; those are served without schema validation.
 */
export async function preloadValidators(types: readonly ResourceType[]): Promise<string[]> {
  const failed: string[] = [];
  for (const t of types) {
    const name = validatorName(t);
    if (!name || validators.get(name)) continue;
    try {
      const m = (await import(`kubernetes-models/_schemas/${name}`)) as { validate?: Validator };
      validators.set(name, m.validate);
    } catch (e: unknown) {
      validators.set(name, undefined);
      failed.push(`${t.kind}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return failed;
}

/** `/spec/template/spec/containers/0` → `spec.template.spec.containers[0]`. */
export function pointerToField(pointer: string): string {
  let out = '';
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null';
}

function valueAtPointer(obj: Json, pointer: string): unknown {
  let cur: unknown = obj;
  for (const part of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** resource.Quantity's parse pattern, as the real server quotes it. */
const QUANTITY_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

function throwIfUndecodable(t: ResourceType, errors: readonly AjvError[]): void {
  if (errors.some((e) => e.keyword === 'format' && e.params['format'] === 'quantity')) {
    throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: quantities must match the regular expression '${QUANTITY_RE}'`);
  }
}

/**
 * The real server decodes a built-in object's JSON into its Go type before anything else, and
 * answers 400 when that fails: a malformed quantity (its parser aborts decoding at once), else
 * the first field, in document order, whose JSON value has the wrong type: a scalar
 * (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`)
 * or a struct, slice or map (`... into Go struct field PodSpec.spec.containers of type []v1.Container`).
 * Call it on the object as the client sent it, before the server fills in metadata.
 * @throws ApiError 400
 */
export function checkDecodable(t: ResourceType, obj: KubeObject): void {
  const name = validatorName(t);
  const validate = name ? validators.get(name) : undefined;
  if (validate && !validate(obj)) throwIfUndecodable(t, validate.errors ?? []);
  const mismatch = firstDecodeMismatch(t, obj);
  if (mismatch) {
    throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: json: cannot unmarshal ${goValue(mismatch)} into Go struct field ${mismatch.struct}.${mismatch.field} of type ${goType(mismatch, obj, validate)}`);
  }
}

/** Schema problems of a built-in object; kinds whose validator is not preloaded are not checked. */
/** @throws ApiError 400 for a malformed quantity (a decoding error on a real server). */
export function schemaCauses(t: ResourceType, obj: KubeObject): StatusCause[] {
  const name = validatorName(t);
  const validate = name ? validators.get(name) : undefined;
  if (!validate || validate(obj)) return [];
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  const errors = (validate.errors ?? []).filter((e) => !ownJsonDecodingAt(t, e.instancePath));
  throwIfUndecodable(t, errors);
  for (const e of errors) {
    let cause: StatusCause;
    if (e.keyword === 'required' && e.instancePath.startsWith('/status')) {
      // The real server validates status with Go code, not the OpenAPI `required` lists.
      continue;
    } else if (e.keyword === 'required') {
      const base = pointerToField(e.instancePath);
      const field = base === '' ? String(e.params['missingProperty']) : `${base}.${String(e.params['missingProperty'])}`;
      cause = { reason: 'FieldValueRequired', message: 'Required value', field };
    } else if (e.keyword === 'type') {
      const field = pointerToField(e.instancePath);
      const v = valueAtPointer(obj, e.instancePath);
      cause = { reason: 'FieldValueInvalid', message: `Invalid value: ${describe(v)}: ${field} in body must be of type ${String(e.params['type'])}: ${describe(v)}`, field };
    } else if (e.keyword === 'enum') {
      const field = pointerToField(e.instancePath);
      const allowed = (e.params['allowedValues'] as unknown[]).map((a) => JSON.stringify(a)).join(', ');
      cause = { reason: 'FieldValueNotSupported', message: `Unsupported value: ${describe(valueAtPointer(obj, e.instancePath))}: supported values: ${allowed}`, field };
    } else if (e.keyword === 'format') {
      const field = pointerToField(e.instancePath);
      cause = { reason: 'FieldValueInvalid', message: `Invalid value: ${describe(valueAtPointer(obj, e.instancePath))}: must be ${String(e.params['format'])}`, field };
    } else {
      continue;
    }
    const key = `${cause.field}|${cause.reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      causes.push(cause);
    }
  }
  return causes;
}

/** How Go's encoding/json names the offending JSON value. */
function goValue(m: DecodeMismatch): string {
  const v = m.value;
  if (typeof v === 'number') return m.declared === 'integer' ? `number ${String(v)}` : 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return Array.isArray(v) ? 'array' : 'object';
}

/** The Go type of the field: `int32` when the schema bounds it (format int32), else `int64`. */
function goType(m: DecodeMismatch, obj: KubeObject, validate: Validator | undefined): string {
  if (m.goType !== undefined) return m.goType;
  if (m.declared === 'string') return 'string';
  if (m.declared === 'boolean') return 'bool';
  if (!validate) return 'int64';
  // Probe the schema's format with a value only int64 holds, at the same place.
  const probe = deepClone(obj) as unknown as Json;
  const parts = m.pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur = probe as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1]!] = 2 ** 40;
  validate(probe);
  return (validate.errors ?? []).some((e) => e.instancePath === m.pointer && e.keyword === 'format' && e.params['format'] === 'int32') ? 'int32' : 'int64';
}

// ---------------------------------------------------------------- semantic checks

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Total bytes of annotation keys and values an object may carry (apimachinery's TotalAnnotationSizeLimitB). */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function invalidCause(field: string, value: unknown, msg: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${describe(value)}: ${msg}`, field };
}

function checkName(kind: string, name: string, causes: StatusCause[]): void {
  if (kind === 'Service') {
    if (!DNS1035_LABEL.test(name) || name.length > 63) causes.push(invalidCause('metadata.name', name, DNS1035_MSG));
  } else if (kind === 'Namespace') {
    if (!DNS1123_LABEL.test(name) || name.length > 63) causes.push(invalidCause('metadata.name', name, LABEL_MSG));
  } else if (kind === 'Role' || kind === 'ClusterRole' || kind === 'RoleBinding' || kind === 'ClusterRoleBinding') {
    if (name.includes('/') || name.includes('%') || name === '.' || name === '..') causes.push(invalidCause('metadata.name', name, 'may not contain "/" or "%"'));
  } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push(invalidCause('metadata.name', name, SUBDOMAIN_MSG));
  }
}

function checkLabels(field: string, labels: Json | undefined, causes: StatusCause[]): void {
  if (!isObject(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    if (!QUALIFIED_NAME.test(k) || k.split('/').pop()!.length > 63) {
      causes.push(invalidCause(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
    if (typeof v !== 'string' || !LABEL_VALUE.test(v) || v.length > 63) {
      causes.push(invalidCause(`${field}.${k}`, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
  }
}

function checkPodSpec(field: string, spec: Json | undefined, causes: StatusCause[]): void {
  if (!isObject(spec)) return;
  const names = new Set<string>();
  for (const listName of ['initContainers', 'containers']) {
    const list = spec[listName];
    if (listName === 'containers' && (!Array.isArray(list) || list.length === 0)) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${field}.containers` });
      continue;
    }
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      if (!isObject(c)) return;
      const f = `${field}.${listName}[${i}]`;
      const name = c['name'];
      if (typeof name === 'string') {
        if (names.has(name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${describe(name)}`, field: `${f}.name` });
        else if (!DNS1123_LABEL.test(name)) causes.push(invalidCause(`${f}.name`, name, LABEL_MSG));
        names.add(name);
      }
      if (typeof c['image'] !== 'string' || c['image'] === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${f}.image` });
      const ports = c['ports'];
      if (Array.isArray(ports)) {
        ports.forEach((p, j) => {
          if (isObject(p) && typeof p['containerPort'] === 'number' && (p['containerPort'] < 1 || p['containerPort'] > 65535)) {
            causes.push(invalidCause(`${f}.ports[${j}].containerPort`, p['containerPort'], 'must be between 1 and 65535, inclusive'));
          }
        });
      }
    });
  }
  const volumes = spec['volumes'];
  if (Array.isArray(volumes)) {
    const vn = new Set<string>();
    volumes.forEach((v, i) => {
      if (!isObject(v) || typeof v['name'] !== 'string') return;
      if (vn.has(v['name'])) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${describe(v['name'])}`, field: `${field}.volumes[${i}].name` });
      vn.add(v['name']);
    });
  }
}

const WORKLOADS = new Set(['StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet']);

/** Checks that do not depend on the previous object. */
export function semanticCauses(t: ResourceType, obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const md = obj.metadata;
  if (typeof md['name'] === 'string') checkName(t.kind, md['name'], causes);
  checkLabels('metadata.labels', md['labels'], causes);
  if (isObject(md['annotations'])) {
    let bytes = 0;
    for (const [k, v] of Object.entries(md['annotations'])) {
      if (!QUALIFIED_NAME.test(k)) causes.push(invalidCause('metadata.annotations', k, "name part must consist of alphanumeric characters, '-', '_' or '.'"));
      bytes += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    }
    // kube-apiserver's total annotation size limit: what makes client-side `kubectl apply` of a
    // large object (its last-applied-configuration copy) fail.
    if (bytes > ANNOTATIONS_MAX_BYTES) causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`, field: 'metadata.annotations' });
  }
  if (Array.isArray(md['ownerReferences'])) {
    let controllers = 0;
    md['ownerReferences'].forEach((r, i) => {
      if (!isObject(r)) return;
      for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
        if (typeof r[f] !== 'string' || r[f] === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `metadata.ownerReferences[${i}].${f}` });
      }
      if (r['controller'] === true) controllers++;
    });
    if (controllers > 1) causes.push(invalidCause('metadata.ownerReferences', md['ownerReferences'], 'Only one reference can have Controller set to true'));
  }
  if (t.kind === 'Pod') checkPodSpec('spec', obj['spec'], causes);
  if (WORKLOADS.has(t.kind) || t.kind === 'Job') {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const tmpl = isObject(spec['template']) ? spec['template'] : {};
    const tmd = isObject(tmpl['metadata']) ? tmpl['metadata'] : {};
    checkLabels('spec.template.metadata.labels', tmd['labels'], causes);
    checkPodSpec('spec.template.spec', tmpl['spec'], causes);
    if (WORKLOADS.has(t.kind)) {
      const sel = fromLabelSelectorObject(spec['selector']);
      if (isObject(spec['selector']) && sel.length === 0) {
        causes.push(invalidCause('spec.selector', spec['selector'], `empty selector is invalid for ${t.kind.toLowerCase()}`));
      } else if (sel.length > 0 && !matchLabels(sel, tmd['labels'])) {
        causes.push(invalidCause('spec.template.metadata.labels', tmd['labels'] ?? {}, '`selector` does not match template `labels`'));
      }
    }
    if (typeof spec['replicas'] === 'number' && spec['replicas'] < 0) causes.push(invalidCause('spec.replicas', spec['replicas'], 'must be greater than or equal to 0'));
  }
  if (t.kind === 'ConfigMap' || t.kind === 'Secret') {
    for (const field of ['data', 'binaryData', 'stringData']) {
      const d = obj[field];
      if (!isObject(d)) continue;
      for (const k of Object.keys(d)) {
        if (!CONFIG_KEY.test(k)) causes.push(invalidCause(`${field}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
      }
    }
  }
  if (t.kind === 'Service') {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const ports = spec['ports'];
    if (Array.isArray(ports)) {
      const multi = ports.length > 1;
      ports.forEach((p, i) => {
        if (!isObject(p)) return;
        if (multi && (typeof p['name'] !== 'string' || p['name'] === '')) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.ports[${i}].name` });
        if (typeof p['port'] === 'number' && (p['port'] < 1 || p['port'] > 65535)) causes.push(invalidCause(`spec.ports[${i}].port`, p['port'], 'must be between 1 and 65535, inclusive'));
      });
    }
  }
  return causes;
}

/** The pod spec without the fields an update may change. */
function podSpecImmutablePart(spec: JsonObject): JsonObject {
  const out: JsonObject = { ...spec };
  for (const k of ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds', 'schedulingGates']) delete out[k];
  for (const list of ['containers', 'initContainers']) {
    const l = out[list];
    if (Array.isArray(l)) out[list] = l.map((c) => (isObject(c) ? { ...c, image: null } : c));
  }
  return out;
}

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

/** Checks comparing the new object with the stored one (immutable fields). */
export function updateCauses(t: ResourceType, oldObj: KubeObject, newObj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const os = isObject(oldObj['spec']) ? oldObj['spec'] : {};
  const ns = isObject(newObj['spec']) ? newObj['spec'] : {};
  if (t.kind === 'Pod' && !deepEqual(podSpecImmutablePart(os), podSpecImmutablePart(ns))) {
    causes.push({
      reason: 'FieldValueForbidden',
      message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      field: 'spec',
    });
  }
  if (t.kind === 'StatefulSet') {
    const strip = (s: JsonObject): JsonObject => Object.fromEntries(Object.entries(s).filter(([k]) => !STS_MUTABLE.includes(k)));
    if (!deepEqual(strip(os), strip(ns))) {
      causes.push({ reason: 'FieldValueForbidden', message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden", field: 'spec' });
    }
  }
  if ((t.kind === 'Deployment' || t.kind === 'DaemonSet' || t.kind === 'ReplicaSet' || t.kind === 'Job') && !deepEqual(os['selector'], ns['selector'])) {
    causes.push(invalidCause('spec.selector', ns['selector'], 'field is immutable'));
  }
  if (t.kind === 'Service' && os['clusterIP'] !== undefined && ns['clusterIP'] !== undefined && os['clusterIP'] !== ns['clusterIP']) {
    causes.push(invalidCause('spec.clusterIP', ns['clusterIP'], 'field is immutable'));
  }
  if ((t.kind === 'ConfigMap' || t.kind === 'Secret') && oldObj['immutable'] === true) {
    for (const f of ['data', 'binaryData', 'immutable']) {
      if (!deepEqual(oldObj[f], newObj[f])) causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: field is immutable when \`immutable\` is set`, field: f });
    }
  }
  return causes;
}
