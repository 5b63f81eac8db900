/**
 * Defaulting of built-in kinds as the real API server applies it on create and update, and the
 * initial `status` of kinds whose status belongs to a controller. Mutates the object in place.
 */
import { isObject, type Json, type JsonObject, type KubeObject } from './types.js';

function obj(parent: JsonObject, key: string): JsonObject {
  const v = parent[key];
  if (isObject(v)) return v;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function dflt(o: JsonObject, key: string, value: Json): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

function containerDefaults(c: JsonObject): void {
  const image = typeof c['image'] === 'string' ? c['image'] : '';
  const tag = image.includes('@') ? 'digest' : /:[^/]+$/.exec(image)?.[0]?.slice(1) ?? 'latest';
  dflt(c, 'imagePullPolicy', tag === 'latest' ? 'Always' : 'IfNotPresent');
  dflt(c, 'terminationMessagePath', '/dev/termination-log');
  dflt(c, 'terminationMessagePolicy', 'File');
  dflt(c, 'resources', {});
  if (Array.isArray(c['ports'])) for (const p of c['ports']) if (isObject(p)) dflt(p, 'protocol', 'TCP');
  if (Array.isArray(c['env'])) {
    for (const e of c['env']) {
      if (isObject(e) && isObject(e['valueFrom']) && isObject(e['valueFrom']['fieldRef'])) dflt(e['valueFrom']['fieldRef'], 'apiVersion', 'v1');
    }
  }
}

export function podSpecDefaults(spec: JsonObject): void {
  dflt(spec, 'restartPolicy', 'Always');
  dflt(spec, 'terminationGracePeriodSeconds', 30);
  dflt(spec, 'dnsPolicy', 'ClusterFirst');
  dflt(spec, 'securityContext', {});
  dflt(spec, 'schedulerName', 'default-scheduler');
  if (typeof spec['serviceAccountName'] === 'string') dflt(spec, 'serviceAccount', spec['serviceAccountName']);
  for (const key of ['containers', 'initContainers']) {
    const list = spec[key];
    if (Array.isArray(list)) for (const c of list) if (isObject(c)) containerDefaults(c);
  }
  if (Array.isArray(spec['volumes'])) {
    for (const v of spec['volumes']) {
      if (!isObject(v)) continue;
      for (const src of ['configMap', 'secret']) if (isObject(v[src])) dflt(v[src], 'defaultMode', 420);
    }
  }
}

/** An empty or RollingUpdate strategy gets type RollingUpdate and the rolling-update defaults. */
function strategyDefaults(strategy: JsonObject, rolling: JsonObject): void {
  dflt(strategy, 'type', 'RollingUpdate');
  if (strategy['type'] !== 'RollingUpdate') return;
  const ru = obj(strategy, 'rollingUpdate');
  for (const [k, v] of Object.entries(rolling)) dflt(ru, k, v);
}

function templateDefaults(spec: JsonObject): void {
  const tmpl = obj(spec, 'template');
  const tspec = obj(tmpl, 'spec');
  podSpecDefaults(tspec);
}

export function applyDefaults(o: KubeObject): void {
  const spec = isObject(o['spec']) ? o['spec'] : undefined;
  switch (o.kind) {
    case 'Pod':
      if (spec) {
        podSpecDefaults(spec);
        if (typeof spec['serviceAccountName'] !== 'string') {
          spec['serviceAccountName'] = 'default';
          spec['serviceAccount'] = 'default';
        }
        dflt(spec, 'enableServiceLinks', true);
        dflt(spec, 'priority', 0);
        dflt(spec, 'preemptionPolicy', 'PreemptLowerPriority');
      }
      break;
    case 'Service':
      if (spec) {
        dflt(spec, 'type', 'ClusterIP');
        dflt(spec, 'sessionAffinity', 'None');
        dflt(spec, 'internalTrafficPolicy', 'Cluster');
        if (Array.isArray(spec['ports'])) {
          for (const p of spec['ports']) {
            if (!isObject(p)) continue;
            dflt(p, 'protocol', 'TCP');
            dflt(p, 'targetPort', p['port'] ?? 0);
          }
        }
      }
      break;
    case 'StatefulSet':
      if (spec) {
        dflt(spec, 'replicas', 1);
        dflt(spec, 'podManagementPolicy', 'OrderedReady');
        dflt(spec, 'revisionHistoryLimit', 10);
        dflt(spec, 'updateStrategy', {});
        strategyDefaults(obj(spec, 'updateStrategy'), { partition: 0 });
        dflt(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
        templateDefaults(spec);
      }
      break;
    case 'Deployment':
      if (spec) {
        dflt(spec, 'replicas', 1);
        dflt(spec, 'revisionHistoryLimit', 10);
        dflt(spec, 'progressDeadlineSeconds', 600);
        dflt(spec, 'strategy', {});
        strategyDefaults(obj(spec, 'strategy'), { maxSurge: '25%', maxUnavailable: '25%' });
        templateDefaults(spec);
      }
      break;
    case 'DaemonSet':
      if (spec) {
        dflt(spec, 'revisionHistoryLimit', 10);
        dflt(spec, 'updateStrategy', {});
        strategyDefaults(obj(spec, 'updateStrategy'), { maxSurge: 0, maxUnavailable: 1 });
        templateDefaults(spec);
      }
      break;
    case 'ReplicaSet':
      if (spec) {
        dflt(spec, 'replicas', 1);
        templateDefaults(spec);
      }
      break;
    case 'Job':
      if (spec) {
        dflt(spec, 'parallelism', 1);
        dflt(spec, 'completions', 1);
        dflt(spec, 'backoffLimit', 6);
        dflt(spec, 'completionMode', 'NonIndexed');
        dflt(spec, 'suspend', false);
        templateDefaults(spec);
      }
      break;
    case 'Secret':
      dflt(o, 'type', 'Opaque');
      if (isObject(o['stringData'])) {
        const data = obj(o, 'data');
        for (const [k, v] of Object.entries(o['stringData'])) data[k] = Buffer.from(String(v)).toString('base64');
        delete o['stringData'];
      }
      break;
    case 'Namespace': {
      const s = obj(o, 'spec');
      dflt(s, 'finalizers', ['kubernetes']);
      const labels = obj(o.metadata, 'labels');
      labels['kubernetes.io/metadata.name'] = String(o.metadata['name']);
      break;
    }
    default:
      break;
  }
}

/** Guaranteed when every container limits cpu and memory with requests equal to limits, BestEffort with no requests or limits at all. */
export function qosClass(pod: KubeObject): string {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  const containers = [...(Array.isArray(spec['containers']) ? spec['containers'] : []), ...(Array.isArray(spec['initContainers']) ? spec['initContainers'] : [])].filter(isObject);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const r = isObject(c['resources']) ? c['resources'] : {};
    const limits = isObject(r['limits']) ? r['limits'] : {};
    const requests = isObject(r['requests']) ? r['requests'] : {};
    if (Object.keys(limits).length > 0 || Object.keys(requests).length > 0) any = true;
    for (const res of ['cpu', 'memory']) {
      if (limits[res] === undefined || (requests[res] !== undefined && String(requests[res]) !== String(limits[res]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The status a newly created object starts with when status belongs to a controller. */
export function initialStatus(o: KubeObject): Json | undefined {
  switch (o.kind) {
    case 'Pod':
      return { phase: 'Pending', qosClass: qosClass(o) };
    case 'Namespace':
      return { phase: 'Active' };
    case 'Service':
      return { loadBalancer: {} };
    case 'StatefulSet':
      return { replicas: 0, availableReplicas: 0 };
    case 'ReplicaSet':
      return { replicas: 0 };
    case 'DaemonSet':
      return { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
    case 'Deployment':
    case 'Job':
      return {};
    case 'PersistentVolumeClaim':
      return { phase: 'Pending' };
    default:
      return undefined;
  }
}

/** Kinds whose `metadata.generation` tracks spec changes (all custom resources do too). */
export const GENERATION_KINDS = new Set([
  'StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet', 'Job', 'HorizontalPodAutoscaler', 'PodDisruptionBudget',
  'Ingress', 'CustomResourceDefinition',
]);
