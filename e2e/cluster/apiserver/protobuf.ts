/**
 * Decoding of the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`), which
 * kubectl's typed generators use for request bodies (`kubectl create configmap|secret|namespace|
 * serviceaccount|deployment|service|job|cronjob|role|clusterrole|rolebinding|clusterrolebinding|
 * poddisruptionbudget|priorityclass|quota`, and the access reviews of `kubectl auth`).
 *
 * Messages are described by field-number tables taken from the `protobuf:"..."` tags of the
 * Kubernetes Go types. A field this table does not know is an error (415 naming message and
 * field number), never silently dropped. As with Go's decoding followed by JSON encoding with
 * `omitempty`, zero-valued scalars of non-pointer fields are treated as unset; fields that are
 * pointers in Go (`keep`) keep their zero values. Responses are always JSON, which clients accept.
 */
import { ApiError } from './errors.js';
import type { Json, JsonObject } from './types.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Kind = 'string' | 'int' | 'bool' | 'bytes' | 'msg' | 'map-string' | 'map-bytes' | 'map-quantity' | 'int-or-string' | 'time' | 'skip';

interface FieldSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly msg?: string;
  readonly repeated?: boolean;
  /** A Go pointer field: zero values are meaningful and kept. */
  readonly keep?: boolean;
}

const f = (name: string, kind: Kind, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, kind, ...extra });
const m = (name: string, msg: string, repeated = false): FieldSpec => ({ name, kind: 'msg', msg, ...(repeated ? { repeated } : {}) });
const rs = (name: string): FieldSpec => ({ name, kind: 'string', repeated: true });

const MESSAGES: Readonly<Record<string, Readonly<Record<number, FieldSpec>>>> = {
  ObjectMeta: {
    1: f('name', 'string'), 2: f('generateName', 'string'), 3: f('namespace', 'string'), 4: f('selfLink', 'string'),
    5: f('uid', 'string'), 6: f('resourceVersion', 'string'), 7: f('generation', 'int'), 8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time'), 10: f('deletionGracePeriodSeconds', 'int', { keep: true }), 11: f('labels', 'map-string'),
    12: f('annotations', 'map-string'), 13: m('ownerReferences', 'OwnerReference', true), 14: rs('finalizers'),
  },
  OwnerReference: { 1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('controller', 'bool', { keep: true }), 7: f('blockOwnerDeletion', 'bool', { keep: true }) },
  LabelSelector: { 1: f('matchLabels', 'map-string'), 2: m('matchExpressions', 'LabelSelectorRequirement', true) },
  LabelSelectorRequirement: { 1: f('key', 'string'), 2: f('operator', 'string'), 3: rs('values') },
  LocalObjectReference: { 1: f('name', 'string') },
  ObjectReference: { 1: f('kind', 'string'), 2: f('namespace', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('resourceVersion', 'string'), 7: f('fieldPath', 'string') },
  TypeMeta: { 1: f('apiVersion', 'string'), 2: f('kind', 'string') },

  ConfigMap: { 1: m('metadata', 'ObjectMeta'), 2: f('data', 'map-string'), 3: f('binaryData', 'map-bytes'), 4: f('immutable', 'bool', { keep: true }) },
  Secret: { 1: m('metadata', 'ObjectMeta'), 2: f('data', 'map-bytes'), 3: f('type', 'string'), 4: f('stringData', 'map-string'), 5: f('immutable', 'bool', { keep: true }) },
  Namespace: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'NamespaceSpec'), 3: f('status', 'skip') },
  NamespaceSpec: { 1: rs('finalizers') },
  ServiceAccount: { 1: m('metadata', 'ObjectMeta'), 2: m('secrets', 'ObjectReference', true), 3: m('imagePullSecrets', 'LocalObjectReference', true), 4: f('automountServiceAccountToken', 'bool', { keep: true }) },

  Deployment: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'DeploymentSpec'), 3: f('status', 'skip') },
  DeploymentSpec: {
    1: f('replicas', 'int', { keep: true }), 2: m('selector', 'LabelSelector'), 3: m('template', 'PodTemplateSpec'), 4: m('strategy', 'DeploymentStrategy'),
    5: f('minReadySeconds', 'int'), 6: f('revisionHistoryLimit', 'int', { keep: true }), 7: f('paused', 'bool'), 9: f('progressDeadlineSeconds', 'int', { keep: true }),
  },
  DeploymentStrategy: { 1: f('type', 'string'), 2: m('rollingUpdate', 'RollingUpdateDeployment') },
  RollingUpdateDeployment: { 1: f('maxUnavailable', 'int-or-string'), 2: f('maxSurge', 'int-or-string') },
  PodTemplateSpec: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'PodSpec') },
  PodSpec: {
    2: m('containers', 'Container', true), 3: f('restartPolicy', 'string'), 4: f('terminationGracePeriodSeconds', 'int', { keep: true }),
    5: f('activeDeadlineSeconds', 'int', { keep: true }), 6: f('dnsPolicy', 'string'), 7: f('nodeSelector', 'map-string'), 8: f('serviceAccountName', 'string'),
    9: f('serviceAccount', 'string'), 10: f('nodeName', 'string'), 11: f('hostNetwork', 'bool'), 15: m('imagePullSecrets', 'LocalObjectReference', true),
    16: f('hostname', 'string'), 17: f('subdomain', 'string'), 19: f('schedulerName', 'string'), 20: m('initContainers', 'Container', true),
    21: f('automountServiceAccountToken', 'bool', { keep: true }), 24: f('priorityClassName', 'string'), 25: f('priority', 'int', { keep: true }),
    30: f('enableServiceLinks', 'bool', { keep: true }), 31: f('preemptionPolicy', 'string'), 12: f('hostPID', 'bool'), 13: f('hostIPC', 'bool'),
    14: m('securityContext', 'PodSecurityContext'), 27: f('shareProcessNamespace', 'bool', { keep: true }), 35: f('setHostnameAsFQDN', 'bool', { keep: true }),
  },
  PodSecurityContext: { 2: f('runAsUser', 'int', { keep: true }), 3: f('runAsNonRoot', 'bool', { keep: true }), 4: f('supplementalGroups', 'int', { repeated: true }), 5: f('fsGroup', 'int', { keep: true }), 6: f('runAsGroup', 'int', { keep: true }) },
  VolumeMount: { 1: f('name', 'string'), 2: f('readOnly', 'bool'), 3: f('mountPath', 'string'), 4: f('subPath', 'string') },
  Container: {
    1: f('name', 'string'), 2: f('image', 'string'), 3: rs('command'), 4: rs('args'), 5: f('workingDir', 'string'), 6: m('ports', 'ContainerPort', true),
    7: m('env', 'EnvVar', true), 8: m('resources', 'ResourceRequirements'), 13: f('terminationMessagePath', 'string'), 14: f('imagePullPolicy', 'string'),
    16: f('stdin', 'bool'), 17: f('stdinOnce', 'bool'), 18: f('tty', 'bool'), 20: f('terminationMessagePolicy', 'string'), 9: m('volumeMounts', 'VolumeMount', true),
  },
  ContainerPort: { 1: f('name', 'string'), 2: f('hostPort', 'int'), 3: f('containerPort', 'int'), 4: f('protocol', 'string'), 5: f('hostIP', 'string') },
  EnvVar: { 1: f('name', 'string'), 2: f('value', 'string') },
  ResourceRequirements: { 1: f('limits', 'map-quantity'), 2: f('requests', 'map-quantity') },

  Service: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'ServiceSpec'), 3: f('status', 'skip') },
  ServiceSpec: {
    1: m('ports', 'ServicePort', true), 2: f('selector', 'map-string'), 3: f('clusterIP', 'string'), 4: f('type', 'string'), 5: rs('externalIPs'),
    7: f('sessionAffinity', 'string'), 8: f('loadBalancerIP', 'string'), 10: f('externalName', 'string'), 11: f('externalTrafficPolicy', 'string'),
    13: f('publishNotReadyAddresses', 'bool'), 17: f('ipFamilyPolicy', 'string'), 18: rs('clusterIPs'), 19: rs('ipFamilies'),
    20: f('allocateLoadBalancerNodePorts', 'bool', { keep: true }), 22: f('internalTrafficPolicy', 'string'), 12: f('healthCheckNodePort', 'int'),
  },
  ServicePort: { 1: f('name', 'string'), 2: f('protocol', 'string'), 3: f('port', 'int'), 4: f('targetPort', 'int-or-string'), 5: f('nodePort', 'int'), 6: f('appProtocol', 'string') },

  Job: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'JobSpec'), 3: f('status', 'skip') },
  JobSpec: {
    1: f('parallelism', 'int', { keep: true }), 2: f('completions', 'int', { keep: true }), 3: f('activeDeadlineSeconds', 'int', { keep: true }), 4: m('selector', 'LabelSelector'),
    5: f('manualSelector', 'bool', { keep: true }), 6: m('template', 'PodTemplateSpec'), 7: f('backoffLimit', 'int', { keep: true }),
    8: f('ttlSecondsAfterFinished', 'int', { keep: true }), 9: f('completionMode', 'string'), 10: f('suspend', 'bool', { keep: true }),
  },
  CronJob: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'CronJobSpec'), 3: f('status', 'skip') },
  CronJobSpec: {
    1: f('schedule', 'string'), 2: f('startingDeadlineSeconds', 'int', { keep: true }), 3: f('concurrencyPolicy', 'string'), 4: f('suspend', 'bool', { keep: true }),
    5: m('jobTemplate', 'JobTemplateSpec'), 6: f('successfulJobsHistoryLimit', 'int', { keep: true }), 7: f('failedJobsHistoryLimit', 'int', { keep: true }), 8: f('timeZone', 'string'),
  },
  JobTemplateSpec: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'JobSpec') },

  Role: { 1: m('metadata', 'ObjectMeta'), 2: m('rules', 'PolicyRule', true) },
  ClusterRole: { 1: m('metadata', 'ObjectMeta'), 2: m('rules', 'PolicyRule', true), 3: m('aggregationRule', 'AggregationRule') },
  AggregationRule: { 1: m('clusterRoleSelectors', 'LabelSelector', true) },
  PolicyRule: { 1: rs('verbs'), 2: rs('apiGroups'), 3: rs('resources'), 4: rs('resourceNames'), 5: rs('nonResourceURLs') },
  RoleBinding: { 1: m('metadata', 'ObjectMeta'), 2: m('subjects', 'Subject', true), 3: m('roleRef', 'RoleRef') },
  ClusterRoleBinding: { 1: m('metadata', 'ObjectMeta'), 2: m('subjects', 'Subject', true), 3: m('roleRef', 'RoleRef') },
  Subject: { 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') },
  RoleRef: { 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') },

  PodDisruptionBudget: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'PodDisruptionBudgetSpec'), 3: f('status', 'skip') },
  PodDisruptionBudgetSpec: { 1: f('minAvailable', 'int-or-string'), 2: m('selector', 'LabelSelector'), 3: f('maxUnavailable', 'int-or-string'), 4: f('unhealthyPodEvictionPolicy', 'string') },
  PriorityClass: { 1: m('metadata', 'ObjectMeta'), 2: f('value', 'int', { keep: true }), 3: f('globalDefault', 'bool'), 4: f('description', 'string'), 5: f('preemptionPolicy', 'string') },
  ResourceQuota: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'ResourceQuotaSpec'), 3: f('status', 'skip') },
  ResourceQuotaSpec: { 1: f('hard', 'map-quantity'), 2: rs('scopes') },
};

/** apiVersion/kind → root message. */
const ROOTS: Readonly<Record<string, string>> = {
  'v1/ConfigMap': 'ConfigMap', 'v1/Secret': 'Secret', 'v1/Namespace': 'Namespace', 'v1/ServiceAccount': 'ServiceAccount', 'v1/Service': 'Service',
  'v1/ResourceQuota': 'ResourceQuota', 'apps/v1/Deployment': 'Deployment', 'batch/v1/Job': 'Job', 'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role', 'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding', 'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'policy/v1/PodDisruptionBudget': 'PodDisruptionBudget', 'scheduling.k8s.io/v1/PriorityClass': 'PriorityClass',
};

interface Raw {
  readonly no: number;
  readonly wire: number;
  readonly int?: bigint;
  readonly bytes?: Buffer;
}

function readVarint(b: Buffer, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[pos.i++];
    if (byte === undefined) throw new ApiError(400, 'BadRequest', 'protobuf body is truncated');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

function rawFields(b: Buffer): Raw[] {
  const out: Raw[] = [];
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const tag = Number(readVarint(b, pos));
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, int: readVarint(b, pos) });
    else if (wire === 2) {
      const len = Number(readVarint(b, pos));
      if (pos.i + len > b.length) throw new ApiError(400, 'BadRequest', 'protobuf body is truncated');
      out.push({ no, wire, bytes: b.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 1) pos.i += 8;
    else if (wire === 5) pos.i += 4;
    else throw new ApiError(400, 'BadRequest', `protobuf body has unsupported wire type ${wire}`);
  }
  return out;
}

function toInt(v: bigint | undefined): number {
  const n = BigInt.asIntN(64, v ?? 0n);
  return Number(n);
}

function str(r: Raw): string {
  return (r.bytes ?? Buffer.alloc(0)).toString('utf8');
}

function mapEntry(r: Raw, value: (v: Raw) => Json): [string, Json] {
  let k = '';
  let v: Json = '';
  for (const e of rawFields(r.bytes ?? Buffer.alloc(0))) {
    if (e.no === 1) k = str(e);
    if (e.no === 2) v = value(e);
  }
  return [k, v];
}

function intOrString(r: Raw): Json {
  let type = 0;
  let intVal = 0;
  let strVal = '';
  for (const e of rawFields(r.bytes ?? Buffer.alloc(0))) {
    if (e.no === 1) type = toInt(e.int);
    if (e.no === 2) intVal = toInt(e.int);
    if (e.no === 3) strVal = str(e);
  }
  return type === 1 ? strVal : intVal;
}

function quantity(r: Raw): Json {
  for (const e of rawFields(r.bytes ?? Buffer.alloc(0))) if (e.no === 1) return str(e);
  return '0';
}

function time(r: Raw): Json | undefined {
  let seconds = 0;
  for (const e of rawFields(r.bytes ?? Buffer.alloc(0))) if (e.no === 1) seconds = toInt(e.int);
  return seconds === 0 ? undefined : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeMessage(b: Buffer, msg: string): JsonObject {
  const table = MESSAGES[msg];
  if (!table) throw new ApiError(415, 'UnsupportedMediaType', `protobuf message ${msg} is not supported by this test server; send application/json`);
  const out: JsonObject = {};
  for (const r of rawFields(b)) {
    const spec = table[r.no];
    // Go encodes every non-pointer field; an unknown one holding its zero value is simply unset.
    if (!spec && ((r.wire === 0 && r.int === 0n) || (r.wire === 2 && r.bytes!.length === 0))) continue;
    if (!spec) {
      throw new ApiError(415, 'UnsupportedMediaType', `protobuf field ${r.no} of ${msg} is not supported by this test server; send the object as application/json (e.g. kubectl create ... --dry-run=client -o yaml | kubectl apply -f -)`);
    }
    let value: Json | undefined;
    switch (spec.kind) {
      case 'skip':
        continue;
      case 'string':
        value = str(r);
        if (value === '' && !spec.repeated) value = undefined;
        break;
      case 'int':
        value = toInt(r.int);
        if (value === 0 && !spec.keep) value = undefined;
        break;
      case 'bool':
        value = (r.int ?? 0n) !== 0n;
        if (value === false && !spec.keep) value = undefined;
        break;
      case 'bytes':
        value = (r.bytes ?? Buffer.alloc(0)).toString('base64');
        break;
      case 'msg':
        value = decodeMessage(r.bytes ?? Buffer.alloc(0), spec.msg!);
        break;
      case 'int-or-string':
        value = intOrString(r);
        break;
      case 'time':
        value = time(r);
        break;
      case 'map-string':
      case 'map-bytes':
      case 'map-quantity': {
        const conv = spec.kind === 'map-string' ? str : spec.kind === 'map-bytes' ? (e: Raw): Json => (e.bytes ?? Buffer.alloc(0)).toString('base64') : quantity;
        const [k, v] = mapEntry(r, conv);
        const cur = (out[spec.name] as JsonObject | undefined) ?? {};
        cur[k] = v;
        out[spec.name] = cur;
        continue;
      }
    }
    if (value === undefined) continue;
    if (spec.repeated) out[spec.name] = [...((out[spec.name] as Json[] | undefined) ?? []), value];
    else out[spec.name] = value;
  }
  return out;
}

export function decodeProtobuf(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ApiError(400, 'BadRequest', 'protobuf body does not start with the "k8s\\0" envelope');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const r of rawFields(body.subarray(4))) {
    if (r.no === 1) {
      const tm = decodeMessage(r.bytes!, 'TypeMeta');
      apiVersion = String(tm['apiVersion'] ?? '');
      kind = String(tm['kind'] ?? '');
    } else if (r.no === 2) raw = r.bytes!;
  }
  const root = ROOTS[`${apiVersion}/${kind}`];
  if (!root) {
    // Reviews and token requests are answered from their kind alone.
    if (kind.endsWith('Review') || kind === 'TokenRequest') return { apiVersion, kind, metadata: {} };
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (protobuf for ${apiVersion}/${kind} is not supported by this test server) - accepted media types include: application/json, application/yaml`);
  }
  const obj = decodeMessage(raw, root);
  return { apiVersion, kind, ...obj, metadata: (obj['metadata'] as JsonObject | undefined) ?? {} };
}
