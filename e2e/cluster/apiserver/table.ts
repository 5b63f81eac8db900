/**
 * `meta.k8s.io/v1` Table responses (what `kubectl get` prints): per-kind columns like the real
 * server's printers, CRD `additionalPrinterColumns`, and Name/Age for everything else.
 */
import { getPath, isObject, type Json, type JsonObject, type KubeObject, type PrinterColumn } from './types.js';

interface Column {
  readonly name: string;
  readonly type: string;
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly cell: (o: KubeObject) => Json;
}

export function age(ts: Json | undefined, now = Date.now()): string {
  if (typeof ts !== 'string') return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', cell: (o) => String(o.metadata['name']) };
const ageCol: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp', cell: (o) => age(o.metadata['creationTimestamp']) };

function num(o: KubeObject, path: string): number {
  const v = getPath(o, path);
  return typeof v === 'number' ? v : 0;
}

function count(v: Json | undefined): number {
  return isObject(v) ? Object.keys(v).length : Array.isArray(v) ? v.length : 0;
}

function podStatus(o: KubeObject): string {
  if (o.metadata['deletionTimestamp']) return 'Terminating';
  const st = isObject(o['status']) ? o['status'] : {};
  let reason = typeof st['reason'] === 'string' ? st['reason'] : String(st['phase'] ?? 'Pending');
  const cs = Array.isArray(st['containerStatuses']) ? st['containerStatuses'].filter(isObject) : [];
  for (const c of cs) {
    const state = isObject(c['state']) ? c['state'] : {};
    if (isObject(state['waiting']) && typeof state['waiting']['reason'] === 'string') reason = state['waiting']['reason'];
    else if (isObject(state['terminated']) && typeof state['terminated']['reason'] === 'string') reason = state['terminated']['reason'];
  }
  return reason;
}

function podReady(o: KubeObject): string {
  const spec = isObject(o['spec']) ? o['spec'] : {};
  const total = Array.isArray(spec['containers']) ? spec['containers'].length : 0;
  const st = isObject(o['status']) ? o['status'] : {};
  const cs = Array.isArray(st['containerStatuses']) ? st['containerStatuses'].filter(isObject) : [];
  return `${cs.filter((c) => c['ready'] === true).length}/${total}`;
}

function podRestarts(o: KubeObject): number {
  const st = isObject(o['status']) ? o['status'] : {};
  const cs = Array.isArray(st['containerStatuses']) ? st['containerStatuses'].filter(isObject) : [];
  return cs.reduce((n, c) => n + (typeof c['restartCount'] === 'number' ? c['restartCount'] : 0), 0);
}

function servicePorts(o: KubeObject): string {
  const ports = getPath(o, 'spec.ports');
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .filter(isObject)
    .map((p) => `${String(p['port'])}${p['nodePort'] ? `:${String(p['nodePort'])}` : ''}/${String(p['protocol'] ?? 'TCP')}`)
    .join(',');
}

function selectorString(v: Json | undefined): string {
  return isObject(v) ? Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).join(',') || '<none>' : '<none>';
}

const COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Pod: [
    name,
    { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', cell: podReady },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: podStatus },
    { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted.', cell: (o) => String(podRestarts(o)) },
    ageCol,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => String(getPath(o, 'status.podIP') ?? '<none>') },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => String(getPath(o, 'spec.nodeName') ?? '<none>') },
  ],
  Namespace: [name, { name: 'Status', type: 'string', cell: (o) => String(getPath(o, 'status.phase') ?? '') }, ageCol],
  ConfigMap: [name, { name: 'Data', type: 'integer', cell: (o) => count(o['data']) + count(o['binaryData']) }, ageCol],
  Secret: [name, { name: 'Type', type: 'string', cell: (o) => String(o['type'] ?? 'Opaque') }, { name: 'Data', type: 'integer', cell: (o) => count(o['data']) }, ageCol],
  ServiceAccount: [name, { name: 'Secrets', type: 'integer', cell: (o) => count(o['secrets']) }, ageCol],
  Service: [
    name,
    { name: 'Type', type: 'string', cell: (o) => String(getPath(o, 'spec.type') ?? 'ClusterIP') },
    { name: 'Cluster-IP', type: 'string', cell: (o) => String(getPath(o, 'spec.clusterIP') ?? '<none>') },
    { name: 'External-IP', type: 'string', cell: () => '<none>' },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    ageCol,
    { name: 'Selector', type: 'string', priority: 1, cell: (o) => selectorString(getPath(o, 'spec.selector')) },
  ],
  StatefulSet: [name, { name: 'Ready', type: 'string', cell: (o) => `${num(o, 'status.readyReplicas')}/${num(o, 'spec.replicas')}` }, ageCol],
  Deployment: [
    name,
    { name: 'Ready', type: 'string', cell: (o) => `${num(o, 'status.readyReplicas')}/${num(o, 'spec.replicas')}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(o, 'status.updatedReplicas') },
    { name: 'Available', type: 'integer', cell: (o) => num(o, 'status.availableReplicas') },
    ageCol,
  ],
  DaemonSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => num(o, 'status.desiredNumberScheduled') },
    { name: 'Current', type: 'integer', cell: (o) => num(o, 'status.currentNumberScheduled') },
    { name: 'Ready', type: 'integer', cell: (o) => num(o, 'status.numberReady') },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(o, 'status.updatedNumberScheduled') },
    { name: 'Available', type: 'integer', cell: (o) => num(o, 'status.numberAvailable') },
    { name: 'Node Selector', type: 'string', cell: (o) => selectorString(getPath(o, 'spec.template.spec.nodeSelector')) },
    ageCol,
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => num(o, 'spec.replicas') },
    { name: 'Current', type: 'integer', cell: (o) => num(o, 'status.replicas') },
    { name: 'Ready', type: 'integer', cell: (o) => num(o, 'status.readyReplicas') },
    ageCol,
  ],
  Event: [
    { name: 'Last Seen', type: 'string', cell: (o) => age(o['lastTimestamp'] ?? o['eventTime'] ?? o.metadata['creationTimestamp']) },
    { name: 'Type', type: 'string', cell: (o) => String(o['type'] ?? '') },
    { name: 'Reason', type: 'string', cell: (o) => String(o['reason'] ?? '') },
    { name: 'Object', type: 'string', cell: (o) => `${String(getPath(o, 'involvedObject.kind') ?? '').toLowerCase()}/${String(getPath(o, 'involvedObject.name') ?? '')}` },
    { name: 'Message', type: 'string', cell: (o) => String(o['message'] ?? '') },
  ],
  Node: [
    name,
    { name: 'Status', type: 'string', cell: (o) => {
      const conds = getPath(o, 'status.conditions');
      const ready = Array.isArray(conds) ? conds.filter(isObject).find((c) => c['type'] === 'Ready') : undefined;
      const status = ready?.['status'] === 'True' ? 'Ready' : 'NotReady';
      return getPath(o, 'spec.unschedulable') === true ? `${status},SchedulingDisabled` : status;
    } },
    { name: 'Roles', type: 'string', cell: (o) => {
      const labels = o.metadata['labels'];
      const roles = isObject(labels) ? Object.keys(labels).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)) : [];
      return roles.length ? roles.sort().join(',') : '<none>';
    } },
    ageCol,
    { name: 'Version', type: 'string', cell: (o) => String(getPath(o, 'status.nodeInfo.kubeletVersion') ?? '') },
  ],
  CustomResourceDefinition: [name, { name: 'Created At', type: 'date', cell: (o) => String(o.metadata['creationTimestamp'] ?? '') }],
  Endpoints: [
    name,
    { name: 'Endpoints', type: 'string', cell: (o) => {
      const subsets = Array.isArray(o['subsets']) ? o['subsets'].filter(isObject) : [];
      const eps: string[] = [];
      for (const ss of subsets) {
        const addrs = Array.isArray(ss['addresses']) ? ss['addresses'].filter(isObject) : [];
        const ports = Array.isArray(ss['ports']) ? ss['ports'].filter(isObject) : [];
        for (const a of addrs) for (const p of ports.length ? ports : [{}]) eps.push(p['port'] !== undefined ? `${String(a['ip'])}:${String(p['port'])}` : String(a['ip']));
      }
      return eps.length ? eps.slice(0, 3).join(',') + (eps.length > 3 ? ` + ${eps.length - 3} more...` : '') : '<none>';
    } },
    ageCol,
  ],
  EndpointSlice: [
    name,
    { name: 'AddressType', type: 'string', cell: (o) => String(o['addressType'] ?? '') },
    { name: 'Ports', type: 'string', cell: (o) => (Array.isArray(o['ports']) ? o['ports'].filter(isObject).map((p) => String(p['port'])).join(',') : '') || '<unset>' },
    { name: 'Endpoints', type: 'string', cell: (o) => (Array.isArray(o['endpoints']) ? o['endpoints'].filter(isObject).flatMap((e) => (Array.isArray(e['addresses']) ? e['addresses'].map(String) : [])).join(',') : '') || '<unset>' },
    ageCol,
  ],
  Lease: [name, { name: 'Holder', type: 'string', cell: (o) => String(getPath(o, 'spec.holderIdentity') ?? '') }, ageCol],
};

/** Evaluates a simple CRD printer-column JSONPath (`.spec.replicas`, `.status.conditions[?(@.type=="Ready")].status`). */
export function evalJsonPath(o: Json, path: string): Json | undefined {
  const p = path.replace(/^\{|\}$/g, '');
  let cur: Json | undefined = o;
  const re = /\.([^.[\]]+)|\[\?\(@\.([^=]+)==["']([^"']*)["']\)\]|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(p))) {
    if (cur === undefined || cur === null) return undefined;
    if (m[1] !== undefined) cur = isObject(cur) ? cur[m[1]] : undefined;
    else if (m[2] !== undefined) cur = Array.isArray(cur) ? cur.filter(isObject).find((x) => String(x[m![2]!]) === m![3]) : undefined;
    else if (m[4] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[4])] : undefined;
  }
  return cur;
}

function crdColumns(cols: readonly PrinterColumn[]): Column[] {
  const out: Column[] = [name];
  for (const c of cols) {
    out.push({
      name: c.name,
      type: c.type,
      ...(c.format ? { format: c.format } : {}),
      ...(c.description ? { description: c.description } : {}),
      ...(c.priority ? { priority: c.priority } : {}),
      cell: (o) => {
        const v = evalJsonPath(o, c.jsonPath);
        if (v === undefined || v === null) return null;
        if (c.type === 'date') return typeof v === 'string' ? age(v) : null;
        return isObject(v) || Array.isArray(v) ? JSON.stringify(v) : v;
      },
    });
  }
  // As apiextensions: the default Age column only when the version declares no columns.
  if (cols.length === 0) out.push(ageCol);
  return out;
}

function partialMeta(o: KubeObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(kind: string, objs: readonly KubeObject[], listMeta: JsonObject, printerColumns?: readonly PrinterColumn[], includeObject = 'Metadata'): JsonObject {
  const cols = printerColumns ? crdColumns(printerColumns) : COLUMNS[kind] ?? [name, ageCol];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    rows: objs.map((o) => ({
      cells: cols.map((c) => c.cell(o)),
      object: includeObject === 'None' ? null : includeObject === 'Object' ? o : partialMeta(o),
    })),
  };
}
