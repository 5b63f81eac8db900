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
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'winston';
import { ApiError, STALE_MESSAGE, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js';
import { ResourceRegistry } from './resources.js';
import { ObjectStore, type StoreEvent } from './store.js';
import { fromLabelSelectorObject, labelSelectorString, matchFields, matchLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from './selectors.js';
import { GENERATION_KINDS, initialStatus } from './defaults.js';
import { checkDecodable, preloadValidators } from './validation.js';
import { BUILTIN_TYPES } from './resources.js';
import { crdResourceTypes, crdVersions, establish, SchemaTypeInfo, type CrdVersion } from './crd.js';
import { BuiltinTypeInfo, type TypeInfo } from './patch-meta.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { serverSideApply, trackUpdate, type WriteContext } from './managed-fields.js';
import { toTable } from './table.js';
import { docHash, openApiV2Protobuf, openApiV3Doc, openApiV3Index } from './openapi.js';
import { builtinSchemas } from './known-fields.js';
import { decodeProtobuf } from './protobuf.js';
import { eventFieldToCore, eventFromCore, eventToCore } from './conversion.js';
import { GarbageCollector } from './garbage-collector.js';
import { ServiceAddressAllocator } from './services.js';
import { podLogOptions, type PodExecProvider, type PodLogProvider, type StartApiServerOptions } from './options.js';
import { acceptChannelSocket } from './websocket.js';
import { admit } from './admission.js';
import { asKube, eventLine, jobSelector, MetaFirstTypeInfo, nameOf, now, nsOf, partialMetadata, sameOwnership, specPart, withoutVolatile } from './objects.js';
import { PassThrough, Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { apiVersionOf, deepClone, deepEqual, getPath, isObject, setPath, type Json, type JsonObject, type KubeObject, type ResourceType } from './types.js';

const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: 'alloy-ts-test-apiserver', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' };
/** Kinds whose PUT creates a missing object (`AllowCreateOnUpdate` in the real strategies). */
const CREATE_ON_UPDATE = new Set(['Lease', 'Endpoints']);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

interface WriteOptions {
  readonly manager: string;
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  readonly sub?: string;
  /** Set by server-side apply: ownership already computed. */
  readonly managedFields?: JsonObject[];
  readonly warnings: string[];
}

interface Target {
  readonly t: ResourceType;
  readonly ns: string | undefined;
  readonly name: string | undefined;
  readonly sub: string | undefined;
}

/** Head start given to exec clients before the command's output starts flowing (see the exec upgrade handler). */
const EXEC_START_DELAY_MS = 150;
export class ApiServer {
  readonly store: ObjectStore;
  readonly registry = new ResourceRegistry();
  readonly #logger: Logger | undefined;
  readonly #http: http.Server;
  readonly #bookmarkMs: number;
  readonly #minRequestTimeout: number;
  readonly #closers = new Set<() => void>();
  readonly #sockets = new Set<import('node:net').Socket>();
  readonly #addresses: ServiceAddressAllocator;
  readonly #metrics = new Registry();
  readonly #requests = new Counter({ name: 'apiserver_request_total', help: 'Requests by verb, resource and HTTP code.', labelNames: ['verb', 'resource', 'code'] as const, registers: [this.#metrics] });
  readonly #latency = new Histogram({ name: 'apiserver_request_duration_seconds', help: 'Time to answer non-streaming requests.', labelNames: ['verb'] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.#metrics] });
  readonly #watchers = new Gauge({ name: 'apiserver_registered_watchers', help: 'Open watch streams.', registers: [this.#metrics] });
  #url = '';
  #host = '127.0.0.1';
  #logProvider: PodLogProvider | undefined;
  #execProvider: PodExecProvider | undefined;
  readonly #gc: GarbageCollector;
  /** OpenAPI v3 documents by group/version; cleared whenever a CRD changes. */
  readonly #openapiCache = new Map<string, JsonObject | undefined>();
  readonly #openapiHashes = new Map<string, string>();
  #closed = false;

  constructor(opts: StartApiServerOptions) {
    this.#logger = opts.logger;
    this.#bookmarkMs = opts.bookmarkIntervalMs ?? 10_000;
    this.#minRequestTimeout = opts.minRequestTimeoutSeconds ?? 1800;
    this.#addresses = new ServiceAddressAllocator(opts.serviceCidr ?? '10.96.0.0/16');
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
    for (const crd of this.store.list('apiextensions.k8s.io/customresourcedefinitions')) this.#registerCrd(crd);
    this.#bootstrap();
    this.#gc = new GarbageCollector({
      store: this.store,
      typeFor: (key) => this.registry.byStorageKey(key)[0],
      delete: (t, o, policy) => {
        try {
          this.#deleteObject({ t, ns: nsOf(o), name: nameOf(o), sub: undefined }, new URLSearchParams({ propagationPolicy: policy }), {});
        } catch (e: unknown) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      },
      update: (t, cur, next) => {
        this.#commitUpdate(t, cur, next, this.#internalOpts('kube-controller-manager'));
      },
      ...(this.#logger ? { logger: this.#logger } : {}),
    });
    this.store.subscribe((e) => this.#gc.onEvent(e));
    this.#http = http.createServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#http.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => this.#upgrade(req, socket));
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
    if (failed.length > 0) this.#logger?.warn('schema validators not loaded; those kinds are served without schema validation', { failed });
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
    for (const c of [...this.#closers]) c();
    this.#gc.stop();
    this.store.flush();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }

  setPodLogProvider(fn: PodLogProvider | undefined): void {
    this.#logProvider = fn;
  }

  setPodExecProvider(fn: PodExecProvider | undefined): void {
    this.#execProvider = fn;
  }

  /** Upgrade requests: `pods/<name>/exec` over the WebSocket channel protocol; anything else is refused with a Status. */
  #upgrade(req: http.IncomingMessage, socket: Duplex): void {
    const refuse = (err: ApiError): void => {
      const body = JSON.stringify(err.toStatus());
      socket.end(`HTTP/1.1 ${err.code} ${http.STATUS_CODES[err.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
      const t = this.registry.get('', 'v1', 'pods')!;
      if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const [, ns, name, sub] = m as unknown as [string, string, string, string];
      const pod = this.#mustGet({ t, ns, name, sub: undefined });
      if (sub !== 'exec' || !this.#execProvider || !/websocket/i.test(String(req.headers['upgrade'] ?? ''))) {
        throw new ApiError(404, 'NotFound', `pods/${sub} ${sub === 'exec' && this.#execProvider ? 'needs a WebSocket upgrade (v5.channel.k8s.io)' : 'is not supported by the local test API server'}: pods are local processes on their own loopback IP (see status.podIP), connect to it directly instead`);
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
      const provider = this.#execProvider;
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
      this.#createObject(nsType, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, this.#internalOpts());
    }
  }

  /**
   * The `kubernetes` Service in `default` and its Endpoints/EndpointSlice pointing at this
   * server's own address, as the real API server maintains them. Called once the port is known.
   */
  #publishSelf(host: string, port: number): void {
    const sys = this.#internalOpts();
    const svcType = this.registry.get('', 'v1', 'services')!;
    if (!this.store.get(svcType.storageKey, 'default', 'kubernetes')) {
      this.#createObject(svcType, 'default', {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { clusterIP: this.#addresses.ip(1), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
      }, sys);
    } else {
      const cur = this.store.get(svcType.storageKey, 'default', 'kubernetes')!;
      const next = deepClone(cur);
      setPath(next, 'spec.ports', [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }]);
      this.#commitUpdate(svcType, cur, next, sys);
    }
    const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : '127.0.0.1';
    const epType = this.registry.get('', 'v1', 'endpoints')!;
    const ep: KubeObject = {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
    };
    const curEp = this.store.get(epType.storageKey, 'default', 'kubernetes');
    if (curEp) this.#commitUpdate(epType, curEp, { ...deepClone(curEp), subsets: ep['subsets']! }, sys);
    else this.#createObject(epType, 'default', ep, sys);
    const sliceType = this.registry.get('discovery.k8s.io', 'v1', 'endpointslices')!;
    const slice: KubeObject = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    };
    const curSlice = this.store.get(sliceType.storageKey, 'default', 'kubernetes');
    if (curSlice) this.#commitUpdate(sliceType, curSlice, { ...deepClone(curSlice), endpoints: slice['endpoints']!, ports: slice['ports']! }, sys);
    else this.#createObject(sliceType, 'default', slice, sys);
  }

  #internalOpts(manager = 'kube-apiserver'): WriteOptions {
    return { manager, dryRun: false, fieldValidation: 'Ignore', warnings: [] };
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
      this.#logger?.debug('request', { verb, path: url.pathname, code: res.statusCode });
    });
    try {
      await this.#route(req, res, url);
    } catch (e: unknown) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
      if (err.code >= 500) this.#logger?.error('request failed', { method: req.method, url: req.url, error: e instanceof Error ? e.stack : String(e) });
      if (!res.headersSent) this.#send(res, err.code, err.toStatus());
      else res.end();
    }
  }

  #send(res: http.ServerResponse, code: number, body: Json, warnings: readonly string[] = []): void {
    const data = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) };
    if (warnings.length > 0) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(data);
  }

  async #body(req: http.IncomingMessage): Promise<Json> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const ct = String(req.headers['content-type'] ?? 'application/json');
    if (ct.startsWith('application/vnd.kubernetes.protobuf') && raw.length > 0) return decodeProtobuf(raw);
    const text = raw.toString('utf8');
    if (text.trim() === '') return null;
    try {
      if (ct.includes('yaml')) return YAML.parse(text) as Json;
      return JSON.parse(text) as Json;
    } catch (e: unknown) {
      throw badRequest(`the request body could not be decoded as ${ct.includes('yaml') ? 'YAML' : 'JSON'}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async #route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const segs = p.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (p === '/version') return this.#send(res, 200, SERVER_VERSION);
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
    if (segs[0] === 'openapi') return this.#openapi(res, segs, url);
    if ((p === '/api' || p === '/apis') && /as=APIGroupDiscoveryList/.test(String(req.headers['accept'] ?? '')) && /v=v2(?!beta)/.test(String(req.headers['accept'] ?? ''))) {
      const data = JSON.stringify(this.#aggregatedDiscovery(p === '/api'));
      res.writeHead(200, { 'Content-Type': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'Content-Length': Buffer.byteLength(data) });
      res.end(data);
      return;
    }
    if (p === '/api') return this.#send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${this.#host}:${new URL(this.#url).port}` }] });
    if (p === '/apis') return this.#send(res, 200, this.#groupList());
    if (p === '/') return this.#send(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
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
        const g = this.#groupList().groups as JsonObject[];
        const found = g.find((x) => x['name'] === group);
        if (!found) throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
        return this.#send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...found });
      }
      version = segs[2]!;
      rest = segs.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (rest.length === 0) return this.#send(res, 200, this.#resourceList(group, version));
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
        if (name === undefined) return watch ? this.#watch(req, res, t, target.ns, q) : this.#list(req, res, t, target.ns, q);
        if (sub === 'log') return this.#log(req, res, target, q);
        return this.#get(req, res, target);
      case 'POST': {
        const body = await this.#body(req);
        if (name !== undefined && sub === 'binding') return this.#bind(res, target, body);
        if (name !== undefined && sub === 'eviction') return this.#evict(res, target);
        if (name !== undefined && sub === 'token') return this.#send(res, 201, this.#token(target, body));
        if (name !== undefined) throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
        if (t.virtual) return this.#send(res, 201, this.#review(t, target.ns, asKube(body, 'create')));
        const opts = this.#writeOpts(req, q);
        const created = this.#createObject(t, target.ns, asKube(body, 'create'), opts, true);
        return this.#send(res, 201, this.#present(t, created), opts.warnings);
      }
      case 'PUT': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = await this.#body(req);
        const opts = this.#writeOpts(req, q, sub);
        const out = sub === 'scale' ? this.#putScale(target, asKube(body, 'update'), opts) : this.#updateObject(target, asKube(body, 'update'), opts);
        return this.#send(res, 200, out, opts.warnings);
      }
      case 'PATCH': {
        if (name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = await this.#body(req);
        const opts = this.#writeOpts(req, q, sub);
        const out = this.#patch(target, body, String(req.headers['content-type'] ?? ''), q, opts);
        return this.#send(res, out.created ? 201 : 200, out.obj, opts.warnings);
      }
      case 'DELETE': {
        const body = await this.#body(req);
        const opts = isObject(body) ? body : {};
        if (name === undefined) return this.#send(res, 200, this.#deleteCollection(t, target.ns, q, opts));
        const out = this.#deleteObject(target, q, opts);
        return this.#send(res, out.code, out.body);
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

  /** The type objects are stored and validated as (events.k8s.io Events are stored as core Events). */
  #storageType(t: ResourceType): ResourceType {
    return t.group === 'events.k8s.io' ? this.registry.get('', 'v1', 'events')! : t;
  }

  #present(t: ResourceType, o: KubeObject): KubeObject {
    if (t.group === 'events.k8s.io') return eventFromCore(o);
    const av = apiVersionOf(t);
    return o.apiVersion === av ? o : { ...o, apiVersion: av };
  }

  // ---------------------------------------------------------------- discovery and OpenAPI

  #groupList(): JsonObject {
    const groups: JsonObject[] = [];
    for (const [g, versions] of this.registry.groups()) {
      if (g === '') continue;
      const vs = versions.map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
      groups.push({ name: g, versions: vs, preferredVersion: vs[0]! });
    }
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }

  /** Aggregated discovery (`apidiscovery.k8s.io/v2`): every group, version and resource in one document. */
  #aggregatedDiscovery(core: boolean): JsonObject {
    const items: JsonObject[] = [];
    for (const [group, versions] of this.registry.groups()) {
      if ((group === '') !== core) continue;
      items.push({
        metadata: group === '' ? {} : { name: group },
        versions: versions.map((version) => ({
          version,
          freshness: 'Current',
          resources: this.registry.inGroupVersion(group, version).map((t) => {
            const kind = { group: t.group, version: t.version, kind: t.kind };
            const subresources: JsonObject[] = [];
            if (t.statusSubresource) subresources.push({ subresource: 'status', responseKind: kind, verbs: ['get', 'patch', 'update'] });
            if (t.scale) subresources.push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
            if (t.kind === 'Pod') {
              subresources.push({ subresource: 'log', responseKind: kind, verbs: ['get'] });
              subresources.push({ subresource: 'binding', responseKind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] });
              subresources.push({ subresource: 'eviction', responseKind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
            }
            if (t.kind === 'ServiceAccount') subresources.push({ subresource: 'token', responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, verbs: ['create'] });
            return {
              resource: t.resource,
              responseKind: kind,
              scope: t.scope,
              singularResource: t.singular,
              verbs: [...t.verbs],
              ...(t.shortNames.length ? { shortNames: [...t.shortNames] } : {}),
              ...(t.categories.length ? { categories: [...t.categories] } : {}),
              ...(subresources.length ? { subresources } : {}),
            };
          }),
        })),
      });
    }
    return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
  }

  #resourceList(group: string, version: string): JsonObject {
    const types = this.registry.inGroupVersion(group, version);
    if (types.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const resources: JsonObject[] = [];
    for (const t of types) {
      const namespaced = t.scope === 'Namespaced';
      resources.push({
        name: t.resource, singularName: t.singular, namespaced, kind: t.kind, verbs: [...t.verbs],
        ...(t.shortNames.length ? { shortNames: [...t.shortNames] } : {}),
        ...(t.categories.length ? { categories: [...t.categories] } : {}),
        storageVersionHash: Buffer.from(t.storageKey).toString('base64').slice(0, 11),
      });
      if (t.statusSubresource) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
      if (t.scale) resources.push({ name: `${t.resource}/scale`, singularName: '', namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
      if (t.kind === 'Pod') {
        resources.push({ name: 'pods/log', singularName: '', namespaced, kind: 'Pod', verbs: ['get'] });
        resources.push({ name: 'pods/binding', singularName: '', namespaced, kind: 'Binding', verbs: ['create'] });
        resources.push({ name: 'pods/eviction', singularName: '', namespaced, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
      }
      if (t.kind === 'ServiceAccount') resources.push({ name: 'serviceaccounts/token', singularName: '', namespaced, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
      if (t.kind === 'Namespace') resources.push({ name: 'namespaces/finalize', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['update'] });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
  }

  #crdSchema(t: ResourceType): JsonObject | undefined {
    if (!t.crdName) return undefined;
    const v = this.#crdVersion(t);
    return v?.schema;
  }

  #crdVersion(t: ResourceType): CrdVersion | undefined {
    if (!t.crdName) return undefined;
    const crd = this.store.get('apiextensions.k8s.io/customresourcedefinitions', undefined, t.crdName);
    return crd ? crdVersions(crd).find((v) => v.name === t.version) : undefined;
  }

  #openapi(res: http.ServerResponse, segs: string[], url: URL): void {
    if (segs[1] === 'v2') {
      const body = openApiV2Protobuf();
      const accept = url.searchParams.get('format');
      if (accept === 'json') return this.#send(res, 200, { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: {}, definitions: {} });
      res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    if (segs[1] !== 'v3') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const docFor = (g: string, v: string): JsonObject | undefined => {
      const key = `${g}/${v}`;
      if (this.#openapiCache.has(key)) return this.#openapiCache.get(key);
      const doc = openApiV3Doc(this.registry, g, v, (t) => {
        if (!t.crdName) return builtinSchemas(t);
        const s = this.#crdSchema(t);
        const name = `${t.group.split('.').reverse().join('.')}.${t.version}.${t.kind}`;
        return s ? { name, schemas: { [name]: s } } : undefined;
      });
      this.#openapiCache.set(key, doc);
      return doc;
    };
    if (segs.length === 2) {
      return this.#send(res, 200, openApiV3Index(this.registry, (g, v) => {
        const key = `${g}/${v}`;
        let h = this.#openapiHashes.get(key);
        if (!h) this.#openapiHashes.set(key, (h = docHash(docFor(g, v) ?? {})));
        return h;
      }));
    }
    const rest = segs.slice(2);
    const [group, version] = rest[0] === 'api' ? ['', rest[1]!] : [rest[1]!, rest[2]!];
    const doc = docFor(group, version ?? '');
    if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    this.#send(res, 200, doc);
  }

  // ---------------------------------------------------------------- reads

  #acceptsTable(req: http.IncomingMessage): boolean {
    return /as=Table/.test(String(req.headers['accept'] ?? ''));
  }

  /** Metadata-only clients (`as=PartialObjectMetadata[List]`), such as metadata informers. */
  #acceptsPartial(req: http.IncomingMessage): boolean {
    return /as=PartialObjectMetadata/.test(String(req.headers['accept'] ?? ''));
  }

  #printerColumns(t: ResourceType): CrdVersion['printerColumns'] | undefined {
    if (!t.crdName) return undefined;
    return this.#crdVersion(t)?.printerColumns ?? [];
  }

  #get(req: http.IncomingMessage, res: http.ServerResponse, target: Target): void {
    const { t } = target;
    const o = this.#mustGet(target);
    if (target.sub === 'scale') return this.#send(res, 200, this.#scaleOf(t, o));
    if (this.#acceptsTable(req) && target.sub === undefined) {
      return this.#send(res, 200, toTable(t.kind, [o], { resourceVersion: String(o.metadata['resourceVersion']) }, this.#printerColumns(t)));
    }
    if (this.#acceptsPartial(req) && target.sub === undefined) return this.#send(res, 200, partialMetadata(o));
    this.#send(res, 200, this.#present(t, o));
  }

  #mustGet(target: Target): KubeObject {
    const { t, ns, name } = target;
    if (t.scope === 'Namespaced' && ns === undefined) throw notFound(t.resource, t.group, String(name));
    const o = this.store.get(t.storageKey, ns, String(name));
    if (!o) throw notFound(t.resource, t.group, String(name));
    return o;
  }

  #selectors(t: ResourceType, q: URLSearchParams): { labels: LabelSelector; fields: FieldRequirement[] } {
    const fields = parseFieldSelector(q.get('fieldSelector') ?? '', t.fieldLabels);
    return {
      labels: parseLabelSelector(q.get('labelSelector') ?? ''),
      fields: t.group === 'events.k8s.io' ? fields.map((r) => ({ ...r, field: eventFieldToCore(r.field) })) : fields,
    };
  }

  #matches(o: KubeObject, sel: { labels: LabelSelector; fields: FieldRequirement[] }): boolean {
    return matchLabels(sel.labels, o.metadata['labels']) && matchFields(sel.fields, o);
  }

  #list(req: http.IncomingMessage, res: http.ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams): void {
    const sel = this.#selectors(t, q);
    const limit = Number(q.get('limit') ?? 0);
    const cont = q.get('continue');
    const rvParam = q.get('resourceVersion');
    const rvMatch = q.get('resourceVersionMatch');
    let atRv = this.store.resourceVersion;
    let startAfter: string | undefined;
    if (cont) {
      let token: { rv: number; start: string };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: number; start: string };
      } catch {
        throw badRequest(`continue key is not valid: ${cont}`);
      }
      atRv = token.rv;
      startAfter = token.start;
      if (atRv < this.store.oldestResourceVersion) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
    } else if (rvParam && rvParam !== '0') {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv)) throw badRequest(`Invalid value: "${rvParam}": resourceVersion must be an integer`);
      if (rvMatch === 'Exact') atRv = rv;
      else if (rv > this.store.resourceVersion) {
        throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.store.resourceVersion}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
      }
    } else if (rvMatch && rvMatch !== 'NotOlderThan') {
      throw badRequest(`resourceVersionMatch "${rvMatch}" requires a resourceVersion`);
    }
    const all = atRv === this.store.resourceVersion ? this.store.list(t.storageKey, ns) : this.store.listAt(t.storageKey, ns, atRv);
    let items = all.filter((o) => this.#matches(o, sel));
    if (startAfter !== undefined) items = items.filter((o) => `${nsOf(o) ?? ''}/${nameOf(o)}` > startAfter!);
    const listMeta: JsonObject = { resourceVersion: String(atRv) };
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1]!;
      listMeta['continue'] = Buffer.from(JSON.stringify({ rv: atRv, start: `${nsOf(last) ?? ''}/${nameOf(last)}` })).toString('base64url');
      listMeta['remainingItemCount'] = items.length - limit;
      items = items.slice(0, limit);
    }
    if (this.#acceptsTable(req)) return this.#send(res, 200, toTable(t.kind, items, listMeta, this.#printerColumns(t), q.get('includeObject') ?? 'Metadata'));
    if (this.#acceptsPartial(req)) return this.#send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: items.map(partialMetadata) });
    this.#send(res, 200, { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: listMeta, items: items.map((o) => this.#present(t, o)) });
  }

  #watch(req: http.IncomingMessage, res: http.ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams): void {
    const sel = this.#selectors(t, q);
    const rvParam = q.get('resourceVersion') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
    const sendInitial = q.get('sendInitialEvents') === 'true';
    const requested = Number(q.get('timeoutSeconds') ?? 0);
    const timeout = requested > 0 ? requested : this.#minRequestTimeout * (1 + Math.random());
    const table = this.#acceptsTable(req);
    const partial = !table && this.#acceptsPartial(req);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const write = (type: string, object: JsonObject): void => {
      if (res.writableEnded) return;
      if (table && type !== 'BOOKMARK' && type !== 'ERROR') {
        const tbl = toTable(t.kind, [object as KubeObject], { resourceVersion: String((object as KubeObject).metadata['resourceVersion']) }, this.#printerColumns(t));
        res.write(`${JSON.stringify({ type, object: tbl })}\n`);
        return;
      }
      if (partial && type !== 'BOOKMARK' && type !== 'ERROR') {
        res.write(`${JSON.stringify({ type, object: partialMetadata(object as KubeObject) })}\n`);
        return;
      }
      res.write(eventLine(type, object));
    };
    const inScope = (o: KubeObject): boolean => ns === undefined || nsOf(o) === ns;
    const deliver = (e: StoreEvent): void => {
      if (e.storageKey !== t.storageKey || !inScope(e.obj)) return;
      const nowMatch = this.#matches(e.obj, sel);
      const prevMatch = e.prev ? this.#matches(e.prev, sel) : false;
      if (e.type === 'ADDED') {
        if (nowMatch) write('ADDED', this.#present(t, e.obj));
      } else if (e.type === 'MODIFIED') {
        if (nowMatch && prevMatch) write('MODIFIED', this.#present(t, e.obj));
        else if (nowMatch) write('ADDED', this.#present(t, e.obj));
        else if (prevMatch) write('DELETED', this.#present(t, e.obj));
      } else if (nowMatch || prevMatch) {
        write('DELETED', this.#present(t, e.obj));
      }
    };
    const bookmark = (extra: JsonObject = {}): void => {
      write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.store.resourceVersion), ...extra } });
    };
    let unsubscribe: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ticker: NodeJS.Timeout | undefined;
    const finish = (): void => {
      unsubscribe?.();
      if (timer) clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      this.#closers.delete(finish);
      if (!res.writableEnded) res.end();
    };
    this.#closers.add(finish);
    req.on('close', finish);
    res.on('close', finish);
    try {
      if (rvParam === '' || rvParam === '0' || sendInitial) {
        for (const o of this.store.list(t.storageKey, ns)) if (this.#matches(o, sel)) write('ADDED', this.#present(t, o));
        if (sendInitial && bookmarks) bookmark({ annotations: { 'k8s.io/initial-events-end': 'true' } });
      } else {
        const rv = Number(rvParam);
        if (!Number.isInteger(rv)) throw badRequest(`Invalid value: "${rvParam}": resourceVersion must be an integer`);
        for (const e of this.store.eventsSince(t.storageKey, rv)) deliver(e);
      }
    } catch (e: unknown) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', String(e));
      write('ERROR', err.toStatus());
      finish();
      return;
    }
    unsubscribe = this.store.subscribe(deliver);
    timer = setTimeout(finish, timeout * 1000);
    if (bookmarks) ticker = setInterval(() => bookmark(), this.#bookmarkMs);
  }

  #log(req: http.IncomingMessage, res: http.ServerResponse, target: Target, q: URLSearchParams): void {
    const pod = this.#mustGet(target);
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
    const stream = this.#logProvider?.(String(target.ns), String(target.name), container, opts);
    if (!stream) throw badRequest(`container "${container}" in pod "${String(target.name)}" is waiting to start: ContainerCreating`);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    const end = (): void => {
      this.#closers.delete(end);
      const d = stream as unknown as { destroy?: () => void };
      d.destroy?.();
      if (!res.writableEnded) res.end();
    };
    this.#closers.add(end);
    req.on('close', end);
    stream.on('data', (c: Buffer | string) => res.write(c));
    stream.on('end', end);
    stream.on('error', end);
  }

  // ---------------------------------------------------------------- writes

  #typeInfo(t: ResourceType): TypeInfo {
    if (t.crdName) return new MetaFirstTypeInfo(new SchemaTypeInfo(this.#crdSchema(t)));
    return new BuiltinTypeInfo(t.kind);
  }

  #ctx(t: ResourceType, opts: WriteOptions, time: string): WriteContext {
    return { manager: opts.manager, apiVersion: apiVersionOf(t), info: this.#typeInfo(t), now: time, ...(opts.sub && opts.sub !== 'scale' ? { subresource: opts.sub } : {}) };
  }

  /** Defaulting, pruning and validation shared by create and update; throws 400/422. */
  #admit(t: ResourceType, o: KubeObject, old: KubeObject | undefined, opts: WriteOptions): void {
    admit(t, o, old, opts, t.crdName ? this.#crdSchema(t) : undefined);
  }

  #checkKind(t: ResourceType, o: KubeObject): void {
    const av = apiVersionOf(t);
    if (o.kind === undefined || o.kind === null) o.kind = t.kind;
    if (o.apiVersion === undefined || o.apiVersion === null) o.apiVersion = av;
    if (o.kind !== t.kind) throw badRequest(`the object provided is unrecognized (kind ${String(o.kind)} sent to ${t.resource}, which serves ${t.kind})`);
    if (o.apiVersion !== av) {
      const other = this.registry.byKind(String(o.apiVersion), t.kind);
      if (!other || other.storageKey !== t.storageKey) throw badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${av})`);
      o.apiVersion = av;
    }
  }

  /** `owned`: the caller hands over `input` (a freshly parsed body), so it is not copied. */
  #createObject(requested: ResourceType, ns: string | undefined, input: KubeObject, opts: WriteOptions, owned = false): KubeObject {
    let o = owned ? input : deepClone(input);
    this.#checkKind(requested, o);
    if (!requested.crdName) checkDecodable(requested, o);
    const t = this.#storageType(requested);
    if (t !== requested) o = eventToCore(o);
    const md = o.metadata;
    if (t.scope === 'Namespaced') {
      if (ns === undefined) throw badRequest('the namespace of the object must be set in the request path');
      if (md['namespace'] !== undefined && md['namespace'] !== '' && md['namespace'] !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      md['namespace'] = ns;
      const nsObj = this.store.get('/namespaces', undefined, ns);
      if (!nsObj) throw notFound('namespaces', '', ns);
      if (nsObj.metadata['deletionTimestamp']) {
        throw new ApiError(403, 'Forbidden', `${t.resource} "${String(md['name'] ?? md['generateName'] ?? '')}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, { causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] });
      }
    } else {
      delete md['namespace'];
    }
    if ((md['name'] === undefined || md['name'] === '') && typeof md['generateName'] === 'string' && md['generateName'] !== '') {
      const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
      let suffix = '';
      for (const b of randomBytes(5)) suffix += alphabet[b % alphabet.length];
      md['name'] = `${md['generateName']}${suffix}`;
    }
    if (typeof md['name'] !== 'string' || md['name'] === '') {
      throw invalid(t.kind, t.group, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
    }
    if (this.store.get(t.storageKey, nsOf(o), nameOf(o))) throw alreadyExists(t.resource, t.group, nameOf(o));
    const time = now();
    md['uid'] = randomUUID();
    md['creationTimestamp'] = time;
    delete md['deletionTimestamp'];
    delete md['deletionGracePeriodSeconds'];
    delete md['resourceVersion'];
    if (GENERATION_KINDS.has(t.kind) || t.crdName) md['generation'] = 1;
    else delete md['generation'];
    // Like kube-apiserver's node strategy, a Node keeps the status it is created with (the
    // kubelet registers with its addresses and daemon endpoints); other kinds start from scratch.
    if (t.statusSubresource && t.kind !== 'Node') {
      const st = t.crdName ? undefined : initialStatus(o);
      if (st === undefined) delete o['status'];
      else o['status'] = st;
    }
    if (t.kind === 'Service') {
      const problem = this.#addresses.allocate(o, this.store.list('/services'));
      if (problem) throw invalid('Service', '', nameOf(o), [problem]);
    }
    if (t.kind === 'Job') jobSelector(o);
    this.#admit(t, o, undefined, opts);
    if (t.kind === 'Pod') this.#admitServiceAccount(o);
    if (t.kind === 'CustomResourceDefinition') establish(o, time);
    md['managedFields'] = opts.managedFields ?? trackUpdate(undefined, { ...o, metadata: { ...md, managedFields: [] } }, this.#ctx(t, opts, time), md['managedFields']);
    if (opts.dryRun) return o;
    const stored = this.store.put(t.storageKey, o);
    this.#afterWrite(t, undefined, stored);
    return stored;
  }

  /** The ServiceAccount admission plugin: a pod's service account must exist in its namespace. */
  #admitServiceAccount(pod: KubeObject): void {
    const sa = String(getPath(pod, 'spec.serviceAccountName') ?? 'default');
    const ns = String(pod.metadata['namespace']);
    if (!this.store.get('/serviceaccounts', ns, sa)) {
      throw new ApiError(403, 'Forbidden', `pods "${nameOf(pod)}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`, { name: nameOf(pod), kind: 'pods' });
    }
  }

  #updateObject(target: Target, input: KubeObject, opts: WriteOptions): KubeObject {
    const { t } = target;
    if (CREATE_ON_UPDATE.has(t.kind) && opts.sub === undefined && !this.store.get(t.storageKey, target.ns, String(target.name))) {
      const body = deepClone(input);
      if (body.metadata['name'] === undefined) body.metadata['name'] = String(target.name);
      return this.#present(t, this.#createObject(t, target.ns, body, opts));
    }
    const old = this.#mustGet(target);
    let body = deepClone(input);
    this.#checkKind(t, body);
    const st = this.#storageType(t);
    if (st !== t) body = eventToCore(body);
    if (body.metadata['name'] !== undefined && body.metadata['name'] !== target.name) {
      throw badRequest(`the name of the object (${String(body.metadata['name'])}) does not match the name on the URL (${String(target.name)})`);
    }
    const rv = body.metadata['resourceVersion'];
    if (rv !== undefined && rv !== '' && rv !== old.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
    const out = this.#commitUpdate(st, old, body, opts);
    return this.#present(t, out);
  }

  /** Applies an update on top of `old`: subresource rules, immutable metadata, generation, ownership. */
  #commitUpdate(t: ResourceType, old: KubeObject, input: KubeObject, opts: WriteOptions): KubeObject {
    if (!t.crdName) checkDecodable(t, input);
    let next: KubeObject;
    if (opts.sub === 'status') {
      next = deepClone(old);
      if (input['status'] === undefined) delete next['status'];
      else next['status'] = deepClone(input['status']);
    } else {
      next = input;
      if (t.statusSubresource) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = deepClone(old['status']);
      }
    }
    const md = next.metadata;
    const omd = old.metadata;
    for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
      if (omd[k] === undefined) delete md[k];
      else md[k] = omd[k]!;
    }
    if (md['resourceVersion'] === undefined || md['resourceVersion'] === '') md['resourceVersion'] = omd['resourceVersion']!;
    if (omd['deletionTimestamp']) {
      const before = new Set((Array.isArray(omd['finalizers']) ? omd['finalizers'] : []).map(String));
      const added = (Array.isArray(md['finalizers']) ? md['finalizers'] : []).map(String).filter((f) => !before.has(f));
      if (added.length > 0) {
        throw invalid(t.kind, t.group, nameOf(old), [{ reason: 'FieldValueForbidden', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((a) => JSON.stringify(a)).join(', ')}}`, field: 'metadata.finalizers' }]);
      }
    }
    if (t.kind === 'Service' && isObject(next['spec']) && isObject(old['spec'])) {
      for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
        if ((next['spec'][k] === undefined || next['spec'][k] === '') && old['spec'][k] !== undefined) next['spec'][k] = deepClone(old['spec'][k]!);
      }
    }
    this.#admit(t, next, old, opts);
    if (t.kind === 'CustomResourceDefinition') {
      next['status'] = deepClone(old['status'] ?? {});
      establish(next, now());
      if (isObject(old['status']) && Array.isArray(old['status']['conditions'])) (next['status'] as JsonObject)['conditions'] = deepClone(old['status']['conditions']);
    }
    if ((GENERATION_KINDS.has(t.kind) || t.crdName) && !deepEqual(specPart(old), specPart(next))) {
      md['generation'] = (typeof omd['generation'] === 'number' ? omd['generation'] : 1) + 1;
    }
    const time = now();
    // A request that sets managedFields explicitly replaces the stored ownership (`[]` clears it).
    const requested = md['managedFields'];
    const base = Array.isArray(requested) && !deepEqual(requested, omd['managedFields'] ?? []) ? requested : omd['managedFields'];
    md['managedFields'] = opts.managedFields ?? trackUpdate(old, next, this.#ctx(t, opts, time), base);
    if (deepEqual(withoutVolatile(old), withoutVolatile(next)) && sameOwnership(omd['managedFields'], md['managedFields'])) return old;
    if (opts.dryRun) return next;
    if (md['deletionTimestamp'] && (!Array.isArray(md['finalizers']) || md['finalizers'].length === 0) && !(t.kind === 'Pod' && md['deletionGracePeriodSeconds'] !== 0 && md['deletionGracePeriodSeconds'] !== undefined)) {
      const removed = this.store.remove(t.storageKey, nsOf(old), nameOf(old));
      this.#afterWrite(t, old, undefined);
      return removed ?? next;
    }
    const stored = this.store.put(t.storageKey, next);
    this.#afterWrite(t, old, stored);
    return stored;
  }

  #patch(target: Target, body: Json, contentType: string, q: URLSearchParams, opts: WriteOptions): { obj: KubeObject | JsonObject; created: boolean } {
    const { t } = target;
    const ct = contentType.split(';')[0]!.trim();
    if (ct === 'application/apply-patch+yaml' || ct === 'application/apply-patch+cbor') return this.#apply(target, body, q, opts);
    if (q.get('force') === 'true') throw badRequest('force: Invalid value: true: may not be specified for non-apply patch');
    if (target.sub === 'scale') {
      const o = this.#mustGet(target);
      const scale = this.#scaleOf(t, o);
      const patched = this.#patchDoc(t, scale, body, ct);
      return { obj: this.#putScale(target, patched as KubeObject, opts), created: false };
    }
    const old = this.#mustGet(target);
    const st = this.#storageType(t);
    let patched = this.#patchDoc(t, this.#present(t, old), body, ct) as KubeObject;
    if (!isObject(patched['metadata'])) patched['metadata'] = {};
    const prv = patched.metadata['resourceVersion'];
    if (prv !== undefined && prv !== old.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
    if (patched.metadata['uid'] !== undefined && patched.metadata['uid'] !== old.metadata['uid']) {
      throw conflict(t.resource, t.group, String(target.name), `Precondition failed: UID in precondition: ${String(patched.metadata['uid'])}, UID in object meta: ${String(old.metadata['uid'])}`);
    }
    this.#checkKind(t, patched);
    if (st !== t) patched = eventToCore(patched);
    return { obj: this.#present(t, this.#commitUpdate(st, old, patched, opts)), created: false };
  }

  #patchDoc(t: ResourceType, doc: JsonObject, body: Json, ct: string): JsonObject {
    const base = { ...doc, metadata: { ...(doc['metadata'] as JsonObject) } };
    switch (ct) {
      case 'application/json-patch+json':
        return applyJsonPatch(base, body);
      case 'application/merge-patch+json':
        return applyMergePatch(base, body) as JsonObject;
      case 'application/strategic-merge-patch+json': {
        if (t.crdName) {
          throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        }
        const info = new BuiltinTypeInfo(t.kind);
        return applyStrategicMergePatch(base, body, (p) => info.patchMeta(p));
      }
      default:
        throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${t.crdName ? '' : ', application/strategic-merge-patch+json'}`);
    }
  }

  #apply(target: Target, body: Json, q: URLSearchParams, opts: WriteOptions): { obj: KubeObject; created: boolean } {
    const { t } = target;
    if (!q.get('fieldManager')) {
      throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    let applied = asKube(deepClone(body), 'apply');
    if (applied.metadata['managedFields'] !== undefined && applied.metadata['managedFields'] !== null) {
      throw badRequest('metadata.managedFields must be nil');
    }
    this.#checkKind(t, applied);
    const st = this.#storageType(t);
    if (st !== t) applied = eventToCore(applied);
    if (applied.metadata['name'] !== undefined && applied.metadata['name'] !== target.name) {
      throw badRequest(`the name of the object (${String(applied.metadata['name'])}) does not match the name on the URL (${String(target.name)})`);
    }
    applied.metadata['name'] = String(target.name);
    if (t.scope === 'Namespaced') {
      if (applied.metadata['namespace'] !== undefined && applied.metadata['namespace'] !== target.ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const sub = opts.sub;
    if (sub === 'status') {
      for (const k of Object.keys(applied)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete applied[k];
      applied.metadata = { name: applied.metadata['name']!, ...(applied.metadata['namespace'] ? { namespace: applied.metadata['namespace'] } : {}) };
    } else if (t.statusSubresource) {
      delete applied['status'];
    }
    const force = q.get('force') === 'true';
    const existing = t.scope === 'Namespaced' && target.ns === undefined ? undefined : this.store.get(t.storageKey, target.ns, String(target.name));
    const time = now();
    const ctx = this.#ctx(st, opts, time);
    if (!existing) {
      if (sub) throw notFound(t.resource, t.group, String(target.name));
      const result = serverSideApply(undefined, applied, ctx, force);
      const o = result.obj as KubeObject;
      o.apiVersion = apiVersionOf(st);
      o.kind = st.kind;
      const created = this.#createObject(st, target.ns, o, { ...opts, managedFields: result.managedFields });
      return { obj: this.#present(t, created), created: true };
    }
    const rv = applied.metadata['resourceVersion'];
    if (rv !== undefined && rv !== existing.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
    const lastApplied = this.#lastApplied(existing, opts.manager);
    const result = serverSideApply(existing, applied, ctx, force, lastApplied);
    const next = result.obj as KubeObject;
    if (lastApplied) {
      const ann = isObject(next.metadata['annotations']) ? next.metadata['annotations'] : (next.metadata['annotations'] = {});
      const copy = deepClone(applied);
      delete copy.metadata['managedFields'];
      ann[LAST_APPLIED] = `${JSON.stringify(copy)}\n`;
    }
    return { obj: this.#present(t, this.#commitUpdate(st, existing, next, { ...opts, managedFields: result.managedFields })), created: false };
  }

  /**
   * The last-applied configuration of an object managed by `kubectl apply` (client side), when
   * `kubectl apply --server-side` (manager "kubectl") takes it over: its fields may be taken
   * over without conflicts, and the annotation is kept in sync.
   */
  #lastApplied(live: KubeObject, manager: string): JsonObject | undefined {
    if (manager !== 'kubectl') return undefined;
    const ann = live.metadata['annotations'];
    const text = isObject(ann) ? ann[LAST_APPLIED] : undefined;
    if (typeof text !== 'string') return undefined;
    try {
      const parsed = JSON.parse(text) as Json;
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** `serviceaccounts/<name>/token`: an unsigned JWT-shaped token naming the service account. */
  #token(target: Target, body: Json): JsonObject {
    this.#mustGet(target);
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
  #review(t: ResourceType, ns: string | undefined, body: KubeObject): JsonObject {
    this.#checkKind(t, body);
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

  // ---------------------------------------------------------------- scale, binding, eviction

  #scaleOf(t: ResourceType, o: KubeObject): JsonObject {
    const sc = t.scale!;
    const spec = getPath(o, sc.specReplicasPath);
    const status = getPath(o, sc.statusReplicasPath);
    let selector: string | undefined;
    if (t.crdName) {
      const s = sc.labelSelectorPath ? getPath(o, sc.labelSelectorPath) : undefined;
      selector = typeof s === 'string' ? s : undefined;
    } else {
      selector = labelSelectorString(getPath(o, 'spec.selector'));
    }
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata['name']!, namespace: o.metadata['namespace'] ?? null, uid: o.metadata['uid']!, resourceVersion: o.metadata['resourceVersion']!, creationTimestamp: o.metadata['creationTimestamp']! },
      spec: { replicas: typeof spec === 'number' ? spec : 0 },
      status: { replicas: typeof status === 'number' ? status : 0, ...(selector ? { selector } : {}) },
    };
  }

  #putScale(target: Target, scale: KubeObject, opts: WriteOptions): JsonObject {
    const { t } = target;
    const old = this.#mustGet(target);
    const rv = isObject(scale['metadata']) ? scale['metadata']['resourceVersion'] : undefined;
    if (rv !== undefined && rv !== null && rv !== '' && rv !== old.metadata['resourceVersion']) throw conflict(t.resource, t.group, String(target.name), STALE_MESSAGE);
    const replicas = getPath(scale, 'spec.replicas');
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid('Scale', 'autoscaling', String(target.name), [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`, field: 'spec.replicas' }]);
    }
    const next = deepClone(old);
    setPath(next, t.scale!.specReplicasPath, replicas);
    const out = this.#commitUpdate(t, old, next, { ...opts, sub: 'scale' });
    return this.#scaleOf(t, out);
  }

  #bind(res: http.ServerResponse, target: Target, body: Json): void {
    const pod = this.#mustGet(target);
    const node = isObject(body) && isObject(body['target']) ? body['target']['name'] : undefined;
    if (typeof node !== 'string' || node === '') throw invalid('Binding', '', String(target.name), [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }]);
    if (getPath(pod, 'spec.nodeName')) throw conflict('pods/binding', '', String(target.name), `pod ${String(target.name)} is already assigned to node "${String(getPath(pod, 'spec.nodeName'))}"`);
    const next = deepClone(pod);
    (next['spec'] as JsonObject)['nodeName'] = node;
    this.store.put(target.t.storageKey, next);
    this.#send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  /**
   * Eviction honours PodDisruptionBudgets: a healthy pod covered by a budget that allows no more
   * disruptions is refused with 429, which `kubectl drain` retries. Allowed disruptions are
   * computed from the live pods (the real server reads the disruption controller's status).
   */
  #evict(res: http.ServerResponse, target: Target): void {
    const pod = this.#mustGet(target);
    const ready = (p: KubeObject): boolean => {
      const conds = getPath(p, 'status.conditions');
      return !p.metadata['deletionTimestamp'] && Array.isArray(conds) && conds.some((c) => isObject(c) && c['type'] === 'Ready' && c['status'] === 'True');
    };
    if (ready(pod)) {
      const pods = this.store.list('/pods', nsOf(pod));
      for (const pdb of this.store.list('policy/poddisruptionbudgets', nsOf(pod))) {
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
    this.#deleteObject({ ...target, sub: undefined }, new URLSearchParams(), {});
    this.#send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  // ---------------------------------------------------------------- delete and garbage collection

  #deleteObject(target: Target, q: URLSearchParams, body: JsonObject): { code: number; body: Json } {
    const { t } = target;
    const o = this.#mustGet(target);
    const pre = isObject(body['preconditions']) ? body['preconditions'] : {};
    if (pre['uid'] !== undefined && pre['uid'] !== o.metadata['uid']) {
      throw conflict(t.resource, t.group, nameOf(o), `Precondition failed: UID in precondition: ${String(pre['uid'])}, UID in object meta: ${String(o.metadata['uid'])}`);
    }
    if (pre['resourceVersion'] !== undefined && pre['resourceVersion'] !== o.metadata['resourceVersion']) {
      throw conflict(t.resource, t.group, nameOf(o), `Precondition failed: ResourceVersion in precondition: ${String(pre['resourceVersion'])}, ResourceVersion in object meta: ${String(o.metadata['resourceVersion'])}`);
    }
    const dryRun = q.getAll('dryRun').includes('All') || (Array.isArray(body['dryRun']) && body['dryRun'].includes('All'));
    let policy = String(q.get('propagationPolicy') ?? body['propagationPolicy'] ?? '');
    const orphanDependents = body['orphanDependents'] ?? (q.get('orphanDependents') === null ? undefined : q.get('orphanDependents') === 'true');
    // Without a policy or orphanDependents in the request, an object already being deleted keeps
    // the garbage-collection finalizers it has; with one, they are replaced by the request's.
    const explicitPolicy = policy !== '' || orphanDependents !== undefined;
    if (policy === '') policy = orphanDependents === true ? 'Orphan' : 'Background';
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) throw badRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
    const graceParam = q.get('gracePeriodSeconds') ?? (body['gracePeriodSeconds'] !== undefined ? String(body['gracePeriodSeconds']) : null);
    const success = (obj: KubeObject): { code: number; body: Json } =>
      t.kind === 'Pod' || t.crdName ? { code: 200, body: this.#present(t, obj) } : { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: nameOf(o), ...(t.group ? { group: t.group } : {}), kind: t.resource, uid: String(o.metadata['uid']) } } };
    if (dryRun) return success(o);

    const next = deepClone(o);
    const md = next.metadata;
    const finalizers = (Array.isArray(md['finalizers']) ? md['finalizers'] : []).map(String).filter((f) => !explicitPolicy || (f !== 'foregroundDeletion' && f !== 'orphan'));
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    // As the real handler: 200 with the object while finalizers keep it; 202 only when the
    // client asked for cascading deletion with the deprecated `orphanDependents: false`.
    const pendingCode = orphanDependents === false ? 202 : 200;

    if (t.kind === 'Namespace') {
      if (['default', 'kube-system', 'kube-public'].includes(nameOf(o))) {
        throw new ApiError(403, 'Forbidden', `namespaces "${nameOf(o)}" is forbidden: this namespace may not be deleted`);
      }
      if (!md['deletionTimestamp']) {
        md['deletionTimestamp'] = now();
        md['deletionGracePeriodSeconds'] = 0;
        if (finalizers.length) md['finalizers'] = finalizers;
        next['status'] = { ...(isObject(next['status']) ? next['status'] : {}), phase: 'Terminating' };
        this.store.put(t.storageKey, next);
        this.#gc.schedule();
      }
      return { code: 200, body: this.#present(t, this.store.get(t.storageKey, undefined, nameOf(o)) ?? next) };
    }

    if (t.kind === 'Pod') {
      const phase = getPath(o, 'status.phase');
      const bound = typeof getPath(o, 'spec.nodeName') === 'string' && getPath(o, 'spec.nodeName') !== '';
      const dflt = getPath(o, 'spec.terminationGracePeriodSeconds');
      let grace = graceParam !== null ? Number(graceParam) : typeof dflt === 'number' ? dflt : 30;
      if (!bound || phase === 'Succeeded' || phase === 'Failed') grace = 0;
      const current = md['deletionGracePeriodSeconds'];
      if (grace > 0 && (current === undefined || (typeof current === 'number' && grace < current))) {
        md['deletionTimestamp'] = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        md['deletionGracePeriodSeconds'] = grace;
        if (finalizers.length) md['finalizers'] = finalizers;
        const stored = this.store.put(t.storageKey, next);
        return { code: 200, body: this.#present(t, stored) };
      }
      if (grace > 0 && current !== undefined) return { code: 200, body: this.#present(t, o) };
      if (finalizers.length > 0) {
        md['deletionGracePeriodSeconds'] = 0;
      }
    }

    if (finalizers.length > 0) {
      if (!md['deletionTimestamp']) md['deletionTimestamp'] = now();
      md['deletionGracePeriodSeconds'] = 0;
      md['finalizers'] = finalizers;
      if (deepEqual(next, o)) return { code: pendingCode, body: this.#present(t, o) };
      const stored = this.store.put(t.storageKey, next);
      this.#gc.schedule();
      return { code: pendingCode, body: this.#present(t, stored) };
    }
    if (t.kind === 'CustomResourceDefinition') this.#removeCustomResources(o);
    const removed = this.store.remove(t.storageKey, nsOf(o), nameOf(o));
    this.#afterWrite(t, o, undefined);
    return success(removed ?? o);
  }

  #deleteCollection(t: ResourceType, ns: string | undefined, q: URLSearchParams, body: JsonObject): JsonObject {
    const sel = this.#selectors(t, q);
    const items = this.store.list(t.storageKey, ns).filter((o) => this.#matches(o, sel));
    for (const o of items) {
      try {
        this.#deleteObject({ t, ns: nsOf(o), name: nameOf(o), sub: undefined }, q, body);
      } catch (e: unknown) {
        if (!(e instanceof ApiError) || e.code !== 404) throw e;
      }
    }
    return { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.store.resourceVersion) }, items: items.map((o) => this.#present(t, o)) };
  }

  #afterWrite(t: ResourceType, old: KubeObject | undefined, now_: KubeObject | undefined): void {
    if (t.kind === 'CustomResourceDefinition') {
      this.#openapiCache.clear();
      this.#openapiHashes.clear();
      const name = nameOf((now_ ?? old)!);
      this.registry.removeCrd(name);
      if (now_) this.#registerCrd(now_);
    }
    if (t.kind === 'Namespace' && now_ && !old) {
      const sa = this.registry.get('', 'v1', 'serviceaccounts')!;
      const ns = nameOf(now_);
      if (!this.store.get(sa.storageKey, ns, 'default')) {
        this.#createObject(sa, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }, this.#internalOpts('kube-controller-manager'));
      }
    }
  }

  /** Deleting a CRD deletes every object of it, as the CRD cleanup finalizer does. */
  #removeCustomResources(crd: KubeObject): void {
    const types = crdResourceTypes(crd);
    const key = types[0]?.storageKey;
    if (!key) return;
    for (const o of this.store.list(key)) this.store.remove(key, nsOf(o), nameOf(o));
  }

  #registerCrd(crd: KubeObject): void {
    if (crd.metadata['deletionTimestamp']) return;
    for (const rt of crdResourceTypes(crd)) this.registry.add(rt);
  }
}
