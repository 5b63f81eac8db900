/**
 * The HTTP API server: discovery, OpenAPI, CRUD + watch for every registered resource type,
 * subresources (status, scale, log, binding, eviction), patches, server-side apply, deletion
 * with finalizers and garbage collection. Only `index.ts` constructs it.
 *
 * Contracts: every request is answered (errors as `Status`); background work (garbage
 * collection, namespace termination) runs after writes on the event loop and never throws.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ApiError, badRequest } from './errors.js';
import { ResourceRegistry } from './resources.js';
import { ObjectStore } from './store.js';
import { preloadValidators } from './validation.js';
import { BUILTIN_TYPES } from './resources.js';
import { GarbageCollector } from './garbage-collector.js';
import { ServiceAddressAllocator } from './services.js';
import type { PodExecProvider, PodLogProvider, StartApiServerOptions } from './options.js';
import { present, type ServerContext, type Target, type WriteOptions } from './context.js';
import { readBody, send } from './http-io.js';
import { aggregatedDiscovery, groupList, resourceList, serveOpenApi } from './discovery-serving.js';
import { bindPod, evictPod, execUpgrade, podLog, review, serviceAccountToken } from './subresources.js';
import { deleteCollection, deleteObject } from './deletion.js';
import { getObject, listObjects, watchObjects } from './reads.js';
import { patch } from './patch-requests.js';
import { putScale } from './scale.js';
import { commitUpdate, createObject, internalOpts, registerCrd, updateObject } from './writes.js';
import { asKube, nameOf, nsOf } from './objects.js';
import type { Duplex } from 'node:stream';
import { deepClone, isObject, setPath, type JsonObject, type KubeObject, type ResourceType } from './types.js';

const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: 'alloy-ts-test-apiserver', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' };
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class ApiServer {
  readonly store: ObjectStore;
  readonly registry = new ResourceRegistry();
  readonly #ctx: ServerContext;
  readonly #http: http.Server;
  readonly #sockets = new Set<import('node:net').Socket>();
  readonly #metrics = new Registry();
  readonly #requests = new Counter({ name: 'apiserver_request_total', help: 'Requests by verb, resource and HTTP code.', labelNames: ['verb', 'resource', 'code'] as const, registers: [this.#metrics] });
  readonly #latency = new Histogram({ name: 'apiserver_request_duration_seconds', help: 'Time to answer non-streaming requests.', labelNames: ['verb'] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.#metrics] });
  readonly #watchers = new Gauge({ name: 'apiserver_registered_watchers', help: 'Open watch streams.', registers: [this.#metrics] });
  #url = '';
  #host = '127.0.0.1';
  readonly #gc: GarbageCollector;
  #closed = false;

  constructor(opts: StartApiServerOptions) {
    new Gauge({
      name: 'apiserver_storage_objects',
      help: 'Stored objects by resource.',
      labelNames: ['resource'] as const,
      registers: [this.#metrics],
      collect: function (this: Gauge<'resource'>) {
        this.reset();
        for (const key of store().storageKeys()) this.set({ resource: key }, store().list(key).length);
      },
    });
    const store = (): ObjectStore => this.store;
    new Gauge({ name: 'apiserver_resource_version', help: 'Current global resourceVersion.', registers: [this.#metrics], collect: function (this: Gauge) { this.set(store().resourceVersion); } });
    this.store = new ObjectStore({ ...(opts.historySize !== undefined ? { historySize: opts.historySize } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
    this.#ctx = {
      store: this.store,
      registry: this.registry,
      logger: opts.logger,
      addresses: new ServiceAddressAllocator(opts.serviceCidr ?? '10.96.0.0/16'),
      openapi: { docs: new Map(), hashes: new Map() },
      closers: new Set(),
      bookmarkMs: opts.bookmarkIntervalMs ?? 10_000,
      minRequestTimeoutSeconds: opts.minRequestTimeoutSeconds ?? 1800,
      scheduleGc: () => this.#gc.schedule(),
      logProvider: undefined,
      execProvider: undefined,
    };
    for (const crd of this.store.list('apiextensions.k8s.io/customresourcedefinitions')) registerCrd(this.#ctx, crd);
    this.#bootstrap();
    this.#gc = new GarbageCollector({
      store: this.store,
      typeFor: (key) => this.registry.byStorageKey(key)[0],
      delete: (t, o, policy) => {
        try {
          deleteObject(this.#ctx, { t, ns: nsOf(o), name: nameOf(o), sub: undefined }, new URLSearchParams({ propagationPolicy: policy }), {});
        } catch (e: unknown) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      },
      update: (t, cur, next) => {
        commitUpdate(this.#ctx, t, cur, next, internalOpts('kube-controller-manager'));
      },
      ...(this.#ctx.logger ? { logger: this.#ctx.logger } : {}),
    });
    this.store.subscribe((e) => this.#gc.onEvent(e));
    this.#http = http.createServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#http.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => execUpgrade(this.#ctx, req, socket));
    this.#http.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  /** Watch streams open right now (the `apiserver_registered_watchers` gauge). */
  async openWatches(): Promise<number> {
    return (await this.#watchers.get()).values[0]?.value ?? 0;
  }

  get url(): string {
    return this.#url;
  }

  async listen(host: string, port: number): Promise<void> {
    this.#host = host;
    const failed = await preloadValidators(BUILTIN_TYPES);
    if (failed.length > 0) this.#ctx.logger?.warn('schema validators not loaded; those kinds are served without schema validation', { failed });
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(port, host, () => {
        const a = this.#http.address() as AddressInfo;
        this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
        this.#publishSelf(host, a.port);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#ctx.closers]) c();
    this.#gc.stop();
    this.store.flush();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }

  setPodLogProvider(fn: PodLogProvider | undefined): void {
    this.#ctx.logProvider = fn;
  }

  setPodExecProvider(fn: PodExecProvider | undefined): void {
    this.#ctx.execProvider = fn;
  }

  writeKubeconfig(p: string): string {
    const cfg = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: this.#url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'local', user: { token: 'local-test-token' } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'local', namespace: 'default' } }],
      'current-context': 'local',
      preferences: {},
    };
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, YAML.stringify(cfg));
    return p;
  }

  #bootstrap(): void {
    const nsType = this.registry.get('', 'v1', 'namespaces')!;
    for (const ns of INITIAL_NAMESPACES) {
      if (this.store.get(nsType.storageKey, undefined, ns)) continue;
      createObject(this.#ctx, nsType, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, internalOpts());
    }
  }

  /**
   * The `kubernetes` Service in `default` and its Endpoints/EndpointSlice pointing at this
   * server's own address, as the real API server maintains them. Called once the port is known.
   */
  #publishSelf(host: string, port: number): void {
    const sys = internalOpts();
    const svcType = this.registry.get('', 'v1', 'services')!;
    if (!this.store.get(svcType.storageKey, 'default', 'kubernetes')) {
      createObject(this.#ctx, svcType, 'default', {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { clusterIP: this.#ctx.addresses.ip(1), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
      }, sys);
    } else {
      const cur = this.store.get(svcType.storageKey, 'default', 'kubernetes')!;
      const next = deepClone(cur);
      setPath(next, 'spec.ports', [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }]);
      commitUpdate(this.#ctx, svcType, cur, next, sys);
    }
    const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : '127.0.0.1';
    const epType = this.registry.get('', 'v1', 'endpoints')!;
    const ep: KubeObject = {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
    };
    const curEp = this.store.get(epType.storageKey, 'default', 'kubernetes');
    if (curEp) commitUpdate(this.#ctx, epType, curEp, { ...deepClone(curEp), subsets: ep['subsets']! }, sys);
    else createObject(this.#ctx, epType, 'default', ep, sys);
    const sliceType = this.registry.get('discovery.k8s.io', 'v1', 'endpointslices')!;
    const slice: KubeObject = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    };
    const curSlice = this.store.get(sliceType.storageKey, 'default', 'kubernetes');
    if (curSlice) commitUpdate(this.#ctx, sliceType, curSlice, { ...deepClone(curSlice), endpoints: slice['endpoints']!, ports: slice['ports']! }, sys);
    else createObject(this.#ctx, sliceType, 'default', slice, sys);
  }

  // ---------------------------------------------------------------- HTTP plumbing

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const started = process.hrtime.bigint();
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' || url.pathname.includes('/watch/');
    const verb = watching ? 'watch' : (req.method ?? 'GET').toLowerCase();
    if (watching) this.#watchers.inc();
    res.once('close', () => {
      const parts = url.pathname.split('/').filter(Boolean);
      const resource = parts[0] === 'api' ? parts[parts[2] === 'namespaces' && parts.length > 4 ? 4 : 2] ?? '' : parts[0] === 'apis' ? parts[parts[3] === 'namespaces' && parts.length > 5 ? 5 : 3] ?? '' : parts[0] ?? '';
      this.#requests.inc({ verb, resource, code: String(res.statusCode) });
      if (watching) this.#watchers.dec();
      else this.#latency.observe({ verb }, Number(process.hrtime.bigint() - started) / 1e9);
      this.#ctx.logger?.debug('request', { verb, path: url.pathname, code: res.statusCode });
    });
    try {
      await this.#route(req, res, url);
    } catch (e: unknown) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
      if (err.code >= 500) this.#ctx.logger?.error('request failed', { method: req.method, url: req.url, error: e instanceof Error ? e.stack : String(e) });
      if (!res.headersSent) send(res, err.code, err.toStatus());
      else res.end();
    }
  }

  async #route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const segs = p.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (p === '/version') return send(res, 200, SERVER_VERSION);
    if (p === '/metrics') {
      const text = await this.#metrics.metrics();
      res.writeHead(200, { 'Content-Type': this.#metrics.contentType });
      res.end(text);
      return;
    }
    if (p === '/healthz' || p === '/livez' || p === '/readyz' || /^\/(healthz|livez|readyz)\//.test(p)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      const kind = p.split('/')[1]!;
      res.end(url.searchParams.has('verbose') ? `[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/crd-informer-synced ok\n${kind} check passed\n` : 'ok');
      return;
    }
    if (segs[0] === 'openapi') return serveOpenApi(this.#ctx, res, segs, url);
    if ((p === '/api' || p === '/apis') && /as=APIGroupDiscoveryList/.test(String(req.headers['accept'] ?? '')) && /v=v2(?!beta)/.test(String(req.headers['accept'] ?? ''))) {
      const data = JSON.stringify(aggregatedDiscovery(this.#ctx, p === '/api'));
      res.writeHead(200, { 'Content-Type': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'Content-Length': Buffer.byteLength(data) });
      res.end(data);
      return;
    }
    if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${this.#host}:${new URL(this.#url).port}` }] });
    if (p === '/apis') return send(res, 200, groupList(this.#ctx));
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
        const g = groupList(this.#ctx).groups as JsonObject[];
        const found = g.find((x) => x['name'] === group);
        if (!found) throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
        return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...found });
      }
      version = segs[2]!;
      rest = segs.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (rest.length === 0) return send(res, 200, resourceList(this.#ctx, group, version));
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
    const t = this.registry.get(group, version, resource);
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
    if (sub !== undefined && !this.#subresourceAllowed(t, sub)) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${resource}/${sub})`);
    const q = url.searchParams;
    const watch = watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
    if (t.virtual && method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method.toLowerCase()} ${t.resource}.${t.group})`);
    switch (method) {
      case 'GET':
        if (name === undefined) return watch ? watchObjects(this.#ctx, req, res, t, target.ns, q) : listObjects(this.#ctx, req, res, t, target.ns, q);
        if (sub === 'log') return podLog(this.#ctx, req, res, target, q);
        return getObject(this.#ctx, req, res, target);
      case 'POST': {
        const body = await readBody(req);
        if (name !== undefined && sub === 'binding') return bindPod(this.#ctx, res, target, body);
        if (name !== undefined && sub === 'eviction') return evictPod(this.#ctx, res, target);
        if (name !== undefined && sub === 'token') return send(res, 201, serviceAccountToken(this.#ctx, target, body));
        if (name !== undefined) throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
        if (t.virtual) return send(res, 201, review(this.#ctx, t, target.ns, asKube(body, 'create')));
        const opts = this.#writeOpts(req, q);
        const created = createObject(this.#ctx, t, target.ns, asKube(body, 'create'), opts, true);
        return send(res, 201, present(t, created), opts.warnings);
      }
      case 'PUT': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = await readBody(req);
        const opts = this.#writeOpts(req, q, sub);
        const out = sub === 'scale' ? putScale(this.#ctx, target, asKube(body, 'update'), opts) : updateObject(this.#ctx, target, asKube(body, 'update'), opts);
        return send(res, 200, out, opts.warnings);
      }
      case 'PATCH': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = await readBody(req);
        const opts = this.#writeOpts(req, q, sub);
        const out = patch(this.#ctx, target, body, String(req.headers['content-type'] ?? ''), q, opts);
        return send(res, out.created ? 201 : 200, out.obj, opts.warnings);
      }
      case 'DELETE': {
        const body = await readBody(req);
        const opts = isObject(body) ? body : {};
        if (name === undefined) return send(res, 200, deleteCollection(this.#ctx, t, target.ns, q, opts));
        const out = deleteObject(this.#ctx, target, q, opts);
        return send(res, out.code, out.body);
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `method ${method} is not supported`);
    }
  }

  #subresourceAllowed(t: ResourceType, sub: string): boolean {
    if (sub === 'status') return t.statusSubresource;
    if (sub === 'scale') return t.scale !== undefined;
    if (sub === 'log' || sub === 'binding' || sub === 'eviction') return t.kind === 'Pod';
    if (sub === 'finalize') return t.kind === 'Namespace';
    if (sub === 'token') return t.kind === 'ServiceAccount';
    return false;
  }

  #writeOpts(req: http.IncomingMessage, q: URLSearchParams, sub?: string): WriteOptions {
    const dry = q.getAll('dryRun');
    for (const d of dry) if (d !== 'All') throw badRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
    const fv = q.get('fieldValidation') ?? 'Warn';
    if (fv !== 'Ignore' && fv !== 'Warn' && fv !== 'Strict') throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
    const ua = String(req.headers['user-agent'] ?? 'unknown');
    const manager = q.get('fieldManager') ?? (ua.split('/')[0] || 'unknown');
    if (manager.length > 128) throw badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    return { manager, dryRun: dry.length > 0, fieldValidation: fv, warnings: [], ...(sub ? { sub } : {}) };
  }
}
