/**
 * Request routing of the API server: request metrics and error answers around every request,
 * the fixed paths (`/version`, `/metrics`, health, `/`), discovery and OpenAPI, and the dispatch
 * of resource URLs by method to the reads, writes, patches, deletion and subresource handlers.
 *
 * Contracts: every request is answered (errors as `Status`); the handlers throw `ApiError`s and
 * never answer twice.
 */
import type http from 'node:http';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { present, type ServerContext, type Target, type WriteOptions } from './context.js';
import { deleteCollection, deleteObject } from './deletion.js';
import { aggregatedDiscovery, groupList, resourceList, serveOpenApi } from './discovery-serving.js';
import { ApiError, badRequest } from './errors.js';
import { readBody, send } from './http-io.js';
import { asKube } from './objects.js';
import { patch } from './patch-requests.js';
import { getObject, listObjects, watchObjects } from './reads.js';
import { putScale } from './scale.js';
import { bindPod, evictPod, podLog, review, serviceAccountToken } from './subresources.js';
import { isObject, type JsonObject, type ResourceType } from './types.js';
import { createObject, updateObject } from './writes.js';

const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: 'alloy-ts-test-apiserver', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' };

/** The request metrics and the registry `/metrics` serves. */
export interface RequestMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'verb' | 'resource' | 'code'>;
  readonly latency: Histogram<'verb'>;
  /** Open watch streams (`apiserver_registered_watchers`). */
  readonly watchers: Gauge;
}

/** What routing needs from the server object besides the handlers' context. */
export interface RouterHost {
  readonly metrics: RequestMetrics;
  /** `host:port` the server listens on, for `/api`'s `serverAddressByClientCIDRs`. */
  serverAddress(): string;
}

/**
 * Answers one HTTP request: counts it in the request metrics, routes it, and turns a thrown
 * error into its Status (500 for anything but an `ApiError`, logged). Never rejects.
 */
export async function handleRequest(ctx: ServerContext, host: RouterHost, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const started = process.hrtime.bigint();
  const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' || url.pathname.includes('/watch/');
  const verb = watching ? 'watch' : (req.method ?? 'GET').toLowerCase();
  if (watching) host.metrics.watchers.inc();
  res.once('close', () => {
    const parts = url.pathname.split('/').filter(Boolean);
    const resource = parts[0] === 'api' ? parts[parts[2] === 'namespaces' && parts.length > 4 ? 4 : 2] ?? '' : parts[0] === 'apis' ? parts[parts[3] === 'namespaces' && parts.length > 5 ? 5 : 3] ?? '' : parts[0] ?? '';
    host.metrics.requests.inc({ verb, resource, code: String(res.statusCode) });
    if (watching) host.metrics.watchers.dec();
    else host.metrics.latency.observe({ verb }, Number(process.hrtime.bigint() - started) / 1e9);
    ctx.logger?.debug('request', { verb, path: url.pathname, code: res.statusCode });
  });
  try {
    await route(ctx, host, req, res, url);
  } catch (e: unknown) {
    const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
    if (err.code >= 500) ctx.logger?.error('request failed', { method: req.method, url: req.url, error: e instanceof Error ? e.stack : String(e) });
    if (!res.headersSent) send(res, err.code, err.toStatus());
    else res.end();
  }
}

/** URL → handler: fixed paths, discovery and OpenAPI, then `/api[s]/<group>/<version>/[namespaces/<ns>/]<resource>[/<name>[/<sub>]]` by method. */
async function route(ctx: ServerContext, host: RouterHost, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const p = url.pathname.replace(/\/+$/, '') || '/';
  const segs = p.split('/').filter(Boolean);
  const method = req.method ?? 'GET';
  if (p === '/version') return send(res, 200, SERVER_VERSION);
  if (p === '/metrics') {
    const text = await host.metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': host.metrics.registry.contentType });
    res.end(text);
    return;
  }
  if (p === '/healthz' || p === '/livez' || p === '/readyz' || /^\/(healthz|livez|readyz)\//.test(p)) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    const kind = p.split('/')[1]!;
    res.end(url.searchParams.has('verbose') ? `[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/crd-informer-synced ok\n${kind} check passed\n` : 'ok');
    return;
  }
  if (segs[0] === 'openapi') return serveOpenApi(ctx, res, segs, url);
  if ((p === '/api' || p === '/apis') && /as=APIGroupDiscoveryList/.test(String(req.headers['accept'] ?? '')) && /v=v2(?!beta)/.test(String(req.headers['accept'] ?? ''))) {
    const data = JSON.stringify(aggregatedDiscovery(ctx, p === '/api'));
    res.writeHead(200, { 'Content-Type': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'Content-Length': Buffer.byteLength(data) });
    res.end(data);
    return;
  }
  if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host.serverAddress() }] });
  if (p === '/apis') return send(res, 200, groupList(ctx));
  if (p === '/') return send(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) {
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 2) {
    group = segs[1]!;
    if (segs.length === 2) {
      const g = groupList(ctx).groups as JsonObject[];
      const found = g.find((x) => x['name'] === group);
      if (!found) throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
      return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...found });
    }
    version = segs[2]!;
    rest = segs.slice(3);
  } else {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  if (rest.length === 0) return send(res, 200, resourceList(ctx, group, version));
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize') && rest.length === 3)) {
    ns = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource, name, sub] = rest;
  if (!resource) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const t = ctx.registry.get(group, version, resource);
  if (!t) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${method.toLowerCase()} ${resource}${group ? `.${group}` : ''})`);
  if (t.scope === 'Cluster' && ns !== undefined && !(t.kind === 'Namespace')) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (rest.length > 3) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const target: Target = { t, ns: t.scope === 'Namespaced' ? ns : undefined, name, sub };
  if (t.kind === 'Pod' && sub !== undefined && ['exec', 'attach', 'portforward', 'proxy'].includes(sub)) {
    throw new ApiError(404, 'NotFound', `pods/${sub} is not supported by the local test API server: pods are local processes on their own loopback IP (see status.podIP), connect to it directly instead of kubectl ${sub === 'portforward' ? 'port-forward' : sub}`);
  }
  if (t.kind === 'Service' && sub === 'proxy') {
    throw new ApiError(404, 'NotFound', 'services/proxy is not supported by the local test API server: connect to a pod IP from the Service endpoints instead');
  }
  if (sub !== undefined && !subresourceAllowed(t, sub)) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${resource}/${sub})`);
  const q = url.searchParams;
  const watch = watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
  if (t.virtual && method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method.toLowerCase()} ${t.resource}.${t.group})`);
  switch (method) {
    case 'GET':
      if (name === undefined) return watch ? watchObjects(ctx, req, res, t, target.ns, q) : listObjects(ctx, req, res, t, target.ns, q);
      if (sub === 'log') return podLog(ctx, req, res, target, q);
      return getObject(ctx, req, res, target);
    case 'POST': {
      const body = await readBody(req);
      if (name !== undefined && sub === 'binding') return bindPod(ctx, res, target, body);
      if (name !== undefined && sub === 'eviction') return evictPod(ctx, res, target);
      if (name !== undefined && sub === 'token') return send(res, 201, serviceAccountToken(ctx, target, body));
      if (name !== undefined) throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      if (t.virtual) return send(res, 201, review(ctx, t, target.ns, asKube(body, 'create')));
      const opts = writeOpts(req, q);
      const created = createObject(ctx, t, target.ns, asKube(body, 'create'), opts, true);
      return send(res, 201, present(t, created), opts.warnings);
    }
    case 'PUT': {
      if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const body = await readBody(req);
      const opts = writeOpts(req, q, sub);
      const out = sub === 'scale' ? putScale(ctx, target, asKube(body, 'update'), opts) : updateObject(ctx, target, asKube(body, 'update'), opts);
      return send(res, 200, out, opts.warnings);
    }
    case 'PATCH': {
      if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const body = await readBody(req);
      const opts = writeOpts(req, q, sub);
      const out = patch(ctx, target, body, String(req.headers['content-type'] ?? ''), q, opts);
      return send(res, out.created ? 201 : 200, out.obj, opts.warnings);
    }
    case 'DELETE': {
      const body = await readBody(req);
      const opts = isObject(body) ? body : {};
      if (name === undefined) return send(res, 200, deleteCollection(ctx, t, target.ns, q, opts));
      const out = deleteObject(ctx, target, q, opts);
      return send(res, out.code, out.body);
    }
    default:
      throw new ApiError(405, 'MethodNotAllowed', `method ${method} is not supported`);
  }
}

/** Whether type `t` serves subresource `sub`. */
function subresourceAllowed(t: ResourceType, sub: string): boolean {
  if (sub === 'status') return t.statusSubresource;
  if (sub === 'scale') return t.scale !== undefined;
  if (sub === 'log' || sub === 'binding' || sub === 'eviction') return t.kind === 'Pod';
  if (sub === 'finalize') return t.kind === 'Namespace';
  if (sub === 'token') return t.kind === 'ServiceAccount';
  return false;
}

/** The write options of a request: `dryRun`, `fieldValidation` (default Warn) and the field manager (default: the user agent's program name). */
function writeOpts(req: http.IncomingMessage, q: URLSearchParams, sub?: string): WriteOptions {
  const dry = q.getAll('dryRun');
  for (const d of dry) if (d !== 'All') throw badRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (fv !== 'Ignore' && fv !== 'Warn' && fv !== 'Strict') throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  const ua = String(req.headers['user-agent'] ?? 'unknown');
  const manager = q.get('fieldManager') ?? (ua.split('/')[0] || 'unknown');
  if (manager.length > 128) throw badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
  return { manager, dryRun: dry.length > 0, fieldValidation: fv, warnings: [], ...(sub ? { sub } : {}) };
}
