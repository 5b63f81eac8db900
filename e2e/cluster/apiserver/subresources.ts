/**
 * Subresources of the API server other than status and scale: pod logs, `exec` over the
 * WebSocket channel protocol (an HTTP upgrade), pod binding and eviction (PodDisruptionBudgets
 * honoured), ServiceAccount tokens, and the virtual review resources (access and token reviews,
 * answered and never stored).
 *
 * Contracts: log streams register their end in `ctx.closers`; an exec that fails after the
 * upgrade ends with a Failure Status on the error channel, never with a thrown error.
 */
import http from 'node:http';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { mustGet, type ServerContext, type Target } from './context.js';
import { deleteObject } from './deletion.js';
import { ApiError, badRequest, conflict, invalid } from './errors.js';
import { send } from './http-io.js';
import { podLogOptions } from './options.js';
import { nameOf, now, nsOf } from './objects.js';
import { fromLabelSelectorObject, matchLabels } from './selectors.js';
import { deepClone, getPath, isObject, type Json, type JsonObject, type KubeObject, type ResourceType } from './types.js';
import { acceptChannelSocket } from './websocket.js';
import { checkKind } from './writes.js';

/** Head start given to exec clients before the command's output starts flowing (see `execUpgrade`). */
const EXEC_START_DELAY_MS = 150;

/** Upgrade requests: `pods/<name>/exec` over the WebSocket channel protocol; anything else is refused with a Status. */
export function execUpgrade(ctx: Pick<ServerContext, 'store' | 'registry' | 'execProvider'>, req: http.IncomingMessage, socket: Duplex): void {
  const refuse = (err: ApiError): void => {
    const body = JSON.stringify(err.toStatus());
    socket.end(`HTTP/1.1 ${err.code} ${http.STATUS_CODES[err.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
  try {
    const url = new URL(req.url ?? '/', 'http://local');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
    const t = ctx.registry.get('', 'v1', 'pods')!;
    if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const [, ns, name, sub] = m as unknown as [string, string, string, string];
    const pod = mustGet(ctx, { t, ns, name, sub: undefined });
    if (sub !== 'exec' || !ctx.execProvider || !/websocket/i.test(String(req.headers['upgrade'] ?? ''))) {
      throw new ApiError(404, 'NotFound', `pods/${sub} ${sub === 'exec' && ctx.execProvider ? 'needs a WebSocket upgrade (v5.channel.k8s.io)' : 'is not supported by the local test API server'}: pods are local processes on their own loopback IP (see status.podIP), connect to it directly instead`);
    }
    const q = url.searchParams;
    const containers = (Array.isArray(getPath(pod, 'spec.containers')) ? (getPath(pod, 'spec.containers') as Json[]) : []).filter(isObject).map((c) => String(c['name']));
    const container = q.get('container') ?? (containers.length === 1 ? containers[0]! : undefined);
    if (!container) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    const command = q.getAll('command');
    if (command.length === 0) throw badRequest('you must specify at least 1 command');
    const ws = acceptChannelSocket(req, socket);
    if (!ws) return;
    const stdin = q.get('stdin') === 'true' ? new PassThrough() : undefined;
    const out = (channel: number): Writable => new Writable({ write: (chunk: Buffer, _enc, cb) => { ws.send(channel, chunk); cb(); } });
    ws.onMessage((channel, data) => {
      if (channel === 0) stdin?.write(data);
      else if (channel === 255 && data[0] === 0) stdin?.end();
    });
    ws.onClose(() => stdin?.end());
    // client-go registers its stdout/stderr streams concurrently with its read loop and drops
    // frames for streams it has not registered yet ("Unknown stream id 2, discarding message"),
    // so output sent in the first milliseconds of the socket can be lost. A real kubelet takes
    // far longer than that to start an exec; give the client the same head start.
    const provider = ctx.execProvider;
    const failExec = (e: unknown): void => {
      ws.send(3, JSON.stringify({ metadata: {}, status: 'Failure', message: `exec failed: ${e instanceof Error ? e.message : String(e)}`, reason: 'InternalError', code: 500 }));
      ws.close();
    };
    setTimeout(() => {
      try {
        const run = provider(ns, name, container, command, { ...(stdin ? { stdin } : {}), stdout: out(1), stderr: out(2), tty: q.get('tty') === 'true' });
        if (!run) {
          ws.send(3, JSON.stringify({ metadata: {}, status: 'Failure', message: `container ${container} is not running`, reason: 'BadRequest', code: 400 }));
          ws.close();
          return;
        }
        run.then(
          (code) => {
            const status = code === 0
              ? { metadata: {}, status: 'Success' }
              : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
            ws.send(3, JSON.stringify(status));
            ws.close();
          },
          failExec,
        );
      } catch (e: unknown) {
        failExec(e);
      }
    }, EXEC_START_DELAY_MS);
  } catch (e: unknown) {
    refuse(e instanceof ApiError ? e : new ApiError(500, 'InternalError', String(e)));
  }
}

/** `pods/<name>/log`: streams the log the pod log provider gives; 400 while the container has none (not started). */
export function podLog(ctx: Pick<ServerContext, 'store' | 'closers' | 'logProvider'>, req: http.IncomingMessage, res: http.ServerResponse, target: Target, q: URLSearchParams): void {
  const pod = mustGet(ctx, target);
  const containers = (Array.isArray(getPath(pod, 'spec.containers')) ? (getPath(pod, 'spec.containers') as Json[]) : []).filter(isObject).map((c) => String(c['name']));
  let container = q.get('container') ?? undefined;
  if (container === undefined) {
    if (containers.length !== 1) {
      throw badRequest(`a container name must be specified for pod ${String(target.name)}, choose one of: [${containers.join(' ')}]`);
    }
    container = containers[0]!;
  } else if (!containers.includes(container) && !(Array.isArray(getPath(pod, 'spec.initContainers')) && (getPath(pod, 'spec.initContainers') as Json[]).filter(isObject).some((c) => c['name'] === container))) {
    throw badRequest(`container ${container} is not valid for pod ${String(target.name)}`);
  }
  const opts = podLogOptions(q);
  if (typeof opts === 'string') throw badRequest(opts);
  const stream = ctx.logProvider?.(String(target.ns), String(target.name), container, opts);
  if (!stream) throw badRequest(`container "${container}" in pod "${String(target.name)}" is waiting to start: ContainerCreating`);
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  const end = (): void => {
    ctx.closers.delete(end);
    const d = stream as unknown as { destroy?: () => void };
    d.destroy?.();
    if (!res.writableEnded) res.end();
  };
  ctx.closers.add(end);
  req.on('close', end);
  stream.on('data', (c: Buffer | string) => res.write(c));
  stream.on('end', end);
  stream.on('error', end);
}

/** `pods/<name>/binding`: assigns an unbound pod to a node, as the scheduler does. */
export function bindPod(ctx: Pick<ServerContext, 'store'>, res: http.ServerResponse, target: Target, body: Json): void {
  const pod = mustGet(ctx, target);
  const node = isObject(body) && isObject(body['target']) ? body['target']['name'] : undefined;
  if (typeof node !== 'string' || node === '') throw invalid('Binding', '', String(target.name), [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }]);
  if (getPath(pod, 'spec.nodeName')) throw conflict('pods/binding', '', String(target.name), `pod ${String(target.name)} is already assigned to node "${String(getPath(pod, 'spec.nodeName'))}"`);
  const next = deepClone(pod);
  (next['spec'] as JsonObject)['nodeName'] = node;
  ctx.store.put(target.t.storageKey, next);
  send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

/**
 * Eviction honours PodDisruptionBudgets: a healthy pod covered by a budget that allows no more
 * disruptions is refused with 429, which `kubectl drain` retries. Allowed disruptions are
 * computed from the live pods (the real server reads the disruption controller's status).
 */
export function evictPod(ctx: ServerContext, res: http.ServerResponse, target: Target): void {
  const pod = mustGet(ctx, target);
  const ready = (p: KubeObject): boolean => {
    const conds = getPath(p, 'status.conditions');
    return !p.metadata['deletionTimestamp'] && Array.isArray(conds) && conds.some((c) => isObject(c) && c['type'] === 'Ready' && c['status'] === 'True');
  };
  if (ready(pod)) {
    const pods = ctx.store.list('/pods', nsOf(pod));
    for (const pdb of ctx.store.list('policy/poddisruptionbudgets', nsOf(pod))) {
      const sel = fromLabelSelectorObject(getPath(pdb, 'spec.selector'));
      if (sel.length === 0 || !matchLabels(sel, pod.metadata['labels'])) continue;
      const covered = pods.filter((p) => matchLabels(sel, p.metadata['labels']));
      const healthy = covered.filter(ready).length;
      const amount = (v: Json | undefined): number | undefined => {
        if (typeof v === 'number') return v;
        if (typeof v === 'string' && /^\d+%$/.test(v)) return Math.ceil((covered.length * Number(v.slice(0, -1))) / 100);
        return undefined;
      };
      const minAvailable = amount(getPath(pdb, 'spec.minAvailable'));
      const maxUnavailable = amount(getPath(pdb, 'spec.maxUnavailable'));
      const desired = minAvailable ?? (maxUnavailable !== undefined ? Math.max(0, covered.length - maxUnavailable) : covered.length);
      if (healthy - desired < 1) {
        throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${nameOf(pdb)} needs ${desired} healthy pods and has ${healthy} currently` }],
        });
      }
    }
  }
  deleteObject(ctx, { ...target, sub: undefined }, new URLSearchParams(), {});
  send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

/** `serviceaccounts/<name>/token`: an unsigned JWT-shaped token naming the service account. */
export function serviceAccountToken(ctx: Pick<ServerContext, 'store'>, target: Target, body: Json): JsonObject {
  mustGet(ctx, target);
  const spec = isObject(body) && isObject(body['spec']) ? body['spec'] : {};
  const seconds = typeof spec['expirationSeconds'] === 'number' ? spec['expirationSeconds'] : 3600;
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const b64 = (v: Json): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const sub = `system:serviceaccount:${String(target.ns)}:${String(target.name)}`;
  const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: 'https://kubernetes.default.svc', sub, aud: spec['audiences'] ?? ['https://kubernetes.default.svc'], exp, iat: exp - seconds })}.local`;
  return {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: String(target.name), namespace: String(target.ns), creationTimestamp: now() },
    spec: { audiences: spec['audiences'] ?? ['https://kubernetes.default.svc'], expirationSeconds: seconds, boundObjectRef: null },
    status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
}

/** Access and token reviews: this test server authenticates and authorizes everything. */
export function review(ctx: Pick<ServerContext, 'registry'>, t: ResourceType, ns: string | undefined, body: KubeObject): JsonObject {
  checkKind(ctx, t, body);
  const out: JsonObject = { ...body, metadata: { ...body.metadata, creationTimestamp: null, ...(ns ? { namespace: ns } : {}) } };
  const user = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
  switch (t.kind) {
    case 'TokenReview':
      out['status'] = { authenticated: true, user, audiences: getPath(body, 'spec.audiences') ?? [] };
      break;
    case 'SelfSubjectReview':
      out['status'] = { userInfo: user };
      break;
    case 'SelfSubjectRulesReview':
      out['status'] = { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }], incomplete: false };
      break;
    default:
      out['status'] = { allowed: true, reason: 'the test API server authorizes every request' };
  }
  return out;
}
