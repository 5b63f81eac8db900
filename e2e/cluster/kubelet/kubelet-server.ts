/**
 * The kubelet's HTTPS endpoint, the part the API server proxies to: `GET
 * /containerLogs/<namespace>/<pod>/<container>` (what `pods/<name>/log` becomes on a real
 * kube-apiserver: it looks up the Node's address and `daemonEndpoints.kubeletEndpoint.Port` and
 * forwards the query: follow, previous, timestamps, tailLines, sinceSeconds, sinceTime,
 * limitBytes).
 *
 * Authentication is by client certificate signed by the cluster CA (the real kubelet's
 * `--client-ca-file`); authorization admits only the users named in `authorizedUsers` (the API
 * server's `--kubelet-client-certificate` CN), where a real kubelet asks the API server with a
 * SubjectAccessReview for `nodes/proxy`. Answers follow the real kubelet's codes and texts: 401
 * without a certificate, 403 naming the user, 404 for an unknown pod or container, 400 for a
 * container that has not started or a bad query. Other paths are 404.
 */
import https from 'node:https';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { PodLogRequest } from './kubelet.js';
import { remoteCommandOptions, runAttach, runExec, serveRemoteCommand, servePortForward, StreamingError, writeHttpError, type StreamingRuntime } from './streaming.js';

export interface KubeletServerTls {
  /** PEM of the CA that signs client certificates (the cluster CA). */
  readonly ca: string;
  /** PEM serving certificate (naming the node's address) and key. */
  readonly cert: string;
  readonly key: string;
}

/** What the server needs of the kubelet. */
export interface ContainerLogSource {
  /** The pod's container and init container names, or undefined when no such pod runs on this node. */
  containersOf(namespace: string, pod: string): readonly string[] | undefined;
  /** The container's log, or undefined when that instance has not started (or, with `previous`, never ended). */
  open(namespace: string, pod: string, container: string, opts: PodLogRequest): NodeJS.ReadableStream | undefined;
}

export interface KubeletServerOptions {
  /** Address to listen on (the node's InternalIP). */
  readonly host: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  readonly tls: KubeletServerTls;
  /** Certificate common names allowed to read logs. */
  readonly authorizedUsers: readonly string[];
  readonly logs: ContainerLogSource;
  /** Serves `/exec`, `/attach` and `/portForward` (SPDY/3.1 upgrades) when given; otherwise they are 404. */
  readonly streaming?: StreamingRuntime;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses the query the API server forwards. @throws HttpError 400 naming the bad parameter. */
export function parseLogQuery(q: URLSearchParams): PodLogRequest {
  const bool = (k: string): boolean => {
    const v = q.get(k);
    if (v === null || v === '' || v === 'false') return false;
    if (v === 'true') return true;
    throw new HttpError(400, `Unable to decode query: ${k}: invalid boolean ${JSON.stringify(v)}`);
  };
  const int = (k: string): number | undefined => {
    const v = q.get(k);
    if (v === null) return undefined;
    if (!/^-?\d+$/.test(v)) throw new HttpError(400, `Unable to decode query: ${k}: invalid integer ${JSON.stringify(v)}`);
    return Number(v);
  };
  const sinceTime = q.get('sinceTime') ?? undefined;
  if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime))) throw new HttpError(400, `Unable to decode query: sinceTime: parsing time ${JSON.stringify(sinceTime)} as RFC3339: invalid`);
  const sinceSeconds = int('sinceSeconds');
  if (sinceSeconds !== undefined && sinceTime !== undefined) throw new HttpError(400, 'at most one of sinceTime or sinceSeconds may be specified');
  const tailLines = int('tailLines');
  const limitBytes = int('limitBytes');
  for (const [k, v] of [['sinceSeconds', sinceSeconds], ['limitBytes', limitBytes]] as const) if (v !== undefined && v < 1) throw new HttpError(400, `${k}: must be greater than 0`);
  if (tailLines !== undefined && tailLines < 0) throw new HttpError(400, 'tailLines: must be greater than or equal to 0');
  return {
    follow: bool('follow'),
    previous: bool('previous'),
    timestamps: bool('timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined ? { sinceTime } : {}),
  };
}

/** Starts the endpoint; resolves once it listens. */
export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const open = new Set<() => void>();
  /** 401 without a client certificate of the cluster CA, 403 for a user not admitted; undefined when allowed. */
  const refuse = (req: http.IncomingMessage): StreamingError | undefined => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const user = (req.socket as TLSSocket).authorized && peer?.subject ? String(peer.subject.CN) : undefined;
    if (user === undefined) return new StreamingError(401, 'Unauthorized');
    // Every path served here (/containerLogs, /exec, /attach, /portForward) is authorized as the
    // `nodes/proxy` subresource, as by a real kubelet.
    if (!opts.authorizedUsers.includes(user)) return new StreamingError(403, `Forbidden (user=${user}, verb=${req.method === 'GET' ? 'get' : 'create'}, resource=nodes, subresource=proxy)`);
    return undefined;
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]*)$/.exec(url.pathname);
    const denied = refuse(req);
    if (denied) return void res.writeHead(denied.status, { 'content-type': 'text/plain' }).end(denied.message);
    if (opts.streaming && streamingRoute(url.pathname)) {
      return void res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('unable to upgrade: missing upgrade headers in request');
    }
    if (!m || req.method !== 'GET') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    const [ns, pod, container] = [m[1]!, m[2]!, m[3]!].map(decodeURIComponent) as [string, string, string];
    let stream: NodeJS.ReadableStream;
    try {
      if (container === '') throw new HttpError(400, 'Missing container name.');
      const query = parseLogQuery(url.searchParams);
      const containers = opts.logs.containersOf(ns, pod);
      if (!containers) throw new HttpError(404, `pod "${pod}" does not exist`);
      if (!containers.includes(container)) throw new HttpError(404, `container "${container}" not found in pod "${pod}"`);
      const s = opts.logs.open(ns, pod, container, query);
      if (!s) throw new HttpError(400, query.previous ? `previous terminated container "${container}" in pod "${pod}" not found` : `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`);
      stream = s;
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, String(e));
      return void res.writeHead(err.status, { 'content-type': 'text/plain' }).end(err.message);
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    const end = (): void => {
      open.delete(end);
      (stream as unknown as { destroy?: () => void }).destroy?.();
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    // The response closes when the API server (or the client behind it) goes away.
    res.on('close', end);
    res.on('error', end);
    stream.on('data', (c: Buffer | string) => res.write(c));
    stream.on('end', end);
    stream.on('error', end);
  };
  const server = https.createServer({ ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key, requestCert: true, rejectUnauthorized: false }, handle);
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'https://kubelet');
    try {
      const denied = refuse(req);
      if (denied) throw denied;
      const route = opts.streaming ? streamingRoute(url.pathname) : undefined;
      if (!route || !opts.streaming || (req.method !== 'GET' && req.method !== 'POST')) throw new StreamingError(404, '404 page not found');
      serveStreaming(opts.streaming, route, url, req, socket, head);
    } catch (e) {
      const err = e instanceof StreamingError ? e : new StreamingError(500, e instanceof Error ? e.message : String(e));
      writeHttpError(socket, err.status, http.STATUS_CODES[err.status] ?? 'Error', err.message, err.headers);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const end of [...open]) end();
        for (const socket of [...upgraded]) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type StreamingRoute = { kind: 'exec' | 'attach'; namespace: string; pod: string; container: string } | { kind: 'portForward'; namespace: string; pod: string };

/** `/exec|attach/<ns>/<pod>[/<uid>]/<container>` and `/portForward/<ns>/<pod>[/<uid>]`, or undefined. */
function streamingRoute(pathname: string): StreamingRoute | undefined {
  const parts = pathname.split('/').slice(1).map(decodeURIComponent);
  const [kind, namespace, pod] = parts;
  if (!namespace || !pod) return undefined;
  if ((kind === 'exec' || kind === 'attach') && (parts.length === 4 || parts.length === 5)) return { kind, namespace, pod, container: parts[parts.length - 1]! };
  if (kind === 'portForward' && (parts.length === 3 || parts.length === 4)) return { kind, namespace, pod };
  return undefined;
}

/** Starts one streaming session on an upgrade request. @throws StreamingError before the upgrade (bad query, unknown pod, no common protocol). */
function serveStreaming(rt: StreamingRuntime, route: StreamingRoute, url: URL, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  if (route.kind === 'portForward') {
    const { uid } = rt.check(route.namespace, route.pod);
    servePortForward(req, socket, head, `${route.pod}_${route.namespace}`, uid, (port) => rt.dial(route.namespace, route.pod, port));
    return;
  }
  const o = remoteCommandOptions(url.searchParams);
  if (route.kind === 'exec') {
    const argv = url.searchParams.getAll('command');
    if (argv.length === 0) throw new StreamingError(400, 'you must specify a command');
    // The process starts once the client's streams are there; pod and container are checked first.
    rt.check(route.namespace, route.pod, route.container);
    serveRemoteCommand(req, socket, head, o, (streams) =>
      runExec((initialSize) => rt.exec(route.namespace, route.pod, route.container, argv, { stdin: o.stdin, tty: o.tty, ...(initialSize ? { initialSize } : {}) }), streams, argv),
    );
    return;
  }
  rt.check(route.namespace, route.pod, route.container);
  const session = rt.attach(route.namespace, route.pod, route.container, { stdin: o.stdin });
  let started = false;
  socket.once('close', () => {
    if (!started) session.detach();
  });
  serveRemoteCommand(req, socket, head, o, (streams) => {
    started = true;
    return runAttach(session, streams);
  });
}
