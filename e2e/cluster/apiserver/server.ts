/**
 * The API server object: it owns the HTTP server, the store, the resource registry, the
 * garbage collector and the metrics, builds the `ServerContext` the handler modules share, and
 * runs the lifecycle (listen, close). Requests go to `router.ts`, `exec` upgrades to
 * `subresources.ts`. Only `index.ts` constructs it.
 *
 * Contracts: every request is answered (errors as `Status`); background work (garbage
 * collection, namespace termination) runs after writes on the event loop and never throws;
 * `close()` ends open watches and log streams, stops the garbage collector and flushes the store.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import YAML from 'yaml';
import { createInitialNamespaces, publishSelf } from './bootstrap.js';
import type { ServerContext } from './context.js';
import { deleteObject } from './deletion.js';
import { ApiError } from './errors.js';
import { GarbageCollector } from './garbage-collector.js';
import { nameOf, nsOf } from './objects.js';
import type { PodExecProvider, PodLogProvider, StartApiServerOptions } from './options.js';
import { BUILTIN_TYPES, ResourceRegistry } from './resources.js';
import { handleRequest, type RouterHost } from './router.js';
import { ServiceAddressAllocator } from './services.js';
import { ObjectStore } from './store.js';
import { execUpgrade } from './subresources.js';
import { preloadValidators } from './validation.js';
import { commitUpdate, internalOpts, registerCrd } from './writes.js';

export class ApiServer {
  readonly store: ObjectStore;
  readonly registry = new ResourceRegistry();
  readonly #ctx: ServerContext;
  readonly #http: http.Server;
  readonly #sockets = new Set<Socket>();
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
    createInitialNamespaces(this.#ctx);
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
    const router: RouterHost = {
      metrics: { registry: this.#metrics, requests: this.#requests, latency: this.#latency, watchers: this.#watchers },
      serverAddress: () => `${this.#host}:${new URL(this.#url).port}`,
    };
    this.#http = http.createServer((req, res) => {
      void handleRequest(this.#ctx, router, req, res);
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
        publishSelf(this.#ctx, host, a.port);
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
}
