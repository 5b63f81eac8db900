/**
 * `otelcol.exporter.loadbalancing`: routes spans, log records or metrics by `routing_key` onto a
 * consistent-hash ring (`cluster/hash-ring.ts`, 512 tokens per backend) of the backends the
 * `resolver` finds (`static` hostnames, or `dns` A/AAAA records polled every `interval`), and
 * exports each part over OTLP/gRPC with the `protocol > otlp` client, queue and retry. The
 * `kubernetes` resolver watches the Service's core/v1 Endpoints (as upstream: ready addresses, or
 * `<hostname>.<service>.<namespace>` with `return_hostnames`) times each of `ports`, with the
 * in-cluster service account; resolvers take precedence kubernetes > dns > static (upstream's
 * order).
 *
 * Contracts:
 * - `consume` resolves once every part is queued on its backend (or sent, with the backend queue
 *   disabled); with no backend it rejects retryably.
 * - A backend change moves only the keys adjacent to that backend's tokens (about 1/N).
 * - A backend whose export fails retryably (connection refused, UNAVAILABLE, deadline) is taken
 *   off the ring for `EJECT_MS`, and everything queued or in flight for it is routed again over
 *   the remaining backends, so acknowledged data is not lost when one backend dies. (Upstream
 *   keeps retrying the same backend; this collector re-routes.) Data that finds no backend waits,
 *   up to the top-level `queue.queue_size` items, until one appears; beyond that it is dropped
 *   and counted in `otelcol_exporter_send_failed_*`.
 * - The `aws_cloud_map` resolver is not supported (config error naming the alternatives).
 * - With the `kubernetes` resolver, a failing watch keeps the last endpoints and reports the
 *   component unhealthy; it retries with backoff.
 */
import { promises as dns } from 'node:dns';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent } from '../../../../runtime/component.js';
import { block, duration } from '../../../../syntax/vm/schema.js';
import { HashRing } from '../../../../cluster/hash-ring.js';
import type { Telemetry } from '../../../../otlp/data.js';
import { queueSchema, retrySchema } from '../../config.js';
import { ConsumerError, debugMetricsBlock, pause, type Consumer } from '../../consumer.js';
import { GrpcSender, grpcClientSchema } from '../grpc-client.js';
import { ExporterHelper, ExporterMetrics, SendError } from '../helper.js';
import { route, type RoutingKey } from './routing.js';
import { KubeClient, collectionPath, type KubeObject } from '../../../common/kube/client.js';
import { ownNamespace, resolveConnection, type KubeConnection } from '../../../common/kube/config.js';
import { Informer } from '../../../common/kube/informer.js';

const unsupportedResolver = (name: string) =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined) ctx.addIssue({ code: 'custom', message: `resolver.${name} is not supported by this collector yet; use resolver.kubernetes or resolver.dns (or resolver.static)` });
    });

export const argumentsSchema = z
  .object({
    routing_key: z.enum(['traceID', 'service', 'resource', 'metric', 'streamID']).default('traceID'),
    timeout: duration().default(0),
    resolver: block(
      z.object({
        static: block(z.object({ hostnames: z.array(z.string()).min(1, 'static.hostnames needs at least one host:port') })).optional(),
        dns: block(z.object({ hostname: z.string().min(1), interval: duration().default(5_000), timeout: duration().default(1_000), port: z.string().default('4317') })).optional(),
        kubernetes: block(
          z.object({
            service: z.string().min(1, 'kubernetes.service needs a Service name ("name" or "name.namespace")'),
            ports: z.array(z.number().int().min(1).max(65535)).min(1, 'kubernetes.ports needs at least one port').default([4317]),
            timeout: duration().default(1_000),
            return_hostnames: z.boolean().default(false),
          }),
        ).optional(),
        aws_cloud_map: unsupportedResolver('aws_cloud_map'),
      }),
    ),
    protocol: block(
      z.object({
        otlp: block(
          z.object({
            timeout: duration().default(5_000),
            client: block(grpcClientSchema.omit({ endpoint: true })).prefault({}),
            queue: block(queueSchema).prefault({}),
            retry: block(retrySchema).prefault({}),
          }),
        ).prefault({}),
      }),
    ).prefault({}),
    queue: block(queueSchema).prefault({}),
    retry: block(retrySchema).prefault({}),
    debug_metrics: debugMetricsBlock,
  })
  .superRefine((a, ctx) => {
    if (!a.resolver.static && !a.resolver.dns && !a.resolver.kubernetes) ctx.addIssue({ code: 'custom', path: ['resolver'], message: 'resolver needs a static, dns or kubernetes block' });
  });

export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

/** How long a failed backend stays off the ring before it is tried again. */
export const EJECT_MS = 5_000;

interface Backend {
  readonly endpoint: string;
  readonly sender: GrpcSender;
  readonly helper: ExporterHelper;
  /** Set once the backend left the ring: whatever it still holds is routed again. */
  retired: boolean;
}

export interface LoadBalancingHooks {
  readonly lookup?: (host: string) => Promise<string[]>;
  readonly ejectMs?: number;
  /** The API server connection of the `kubernetes` resolver (default: in-cluster). */
  readonly kubeConnection?: () => KubeConnection;
}

interface EndpointsObject extends KubeObject {
  subsets?: Array<{ addresses?: Array<{ ip: string; hostname?: string }> }>;
}

/** `name` or `name.namespace` → both (the namespace defaults to this pod's, then `default`). */
export function serviceRef(service: string, own = ownNamespace()): { name: string; namespace: string } {
  const i = service.indexOf('.');
  return i < 0 ? { name: service, namespace: own ?? 'default' } : { name: service.slice(0, i), namespace: service.slice(i + 1) };
}

/** The endpoints upstream's kubernetes resolver derives from a Service's Endpoints object. */
export function endpointsOf(objs: Iterable<EndpointsObject>, ports: readonly number[], returnHostnames: boolean): string[] {
  const hosts = new Set<string>();
  for (const ep of objs)
    for (const sub of ep.subsets ?? [])
      for (const a of sub.addresses ?? []) {
        if (returnHostnames) {
          if (a.hostname) hosts.add(`${a.hostname}.${ep.metadata.name}.${ep.metadata.namespace ?? 'default'}`);
        } else hosts.add(a.ip);
      }
  const out: string[] = [];
  for (const h of hosts) for (const p of ports) out.push(h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`);
  return out.sort();
}

export class LoadBalancingExporter implements Component<Arguments>, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #metrics: ExporterMetrics;
  readonly #lookup: (host: string) => Promise<string[]>;
  readonly #ejectMs: number;
  readonly #kubeConnection: () => KubeConnection;
  /** Aborts the running kubernetes watch so `run` starts one for the current arguments. */
  #kubeRestart: AbortController | undefined;
  #args: Arguments;
  #kubeArgs: Arguments['resolver']['kubernetes'];
  readonly #ring = new HashRing();
  /** Backends on the ring, in `#ring.nodes` order. */
  #backends: Backend[] = [];
  #resolved: string[] = [];
  readonly #ejected = new Map<string, number>();
  #orphans: Telemetry[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  readonly #background = new Set<Promise<unknown>>();

  constructor(opts: ComponentOptions<Exports>, args: Arguments, hooks: LoadBalancingHooks = {}) {
    this.#opts = opts;
    this.#args = args;
    this.#kubeArgs = args.resolver.kubernetes;
    this.#metrics = new ExporterMetrics(opts.registry);
    this.#lookup = hooks.lookup ?? (async (h) => (await dns.lookup(h, { all: true })).map((a) => a.address));
    this.#ejectMs = hooks.ejectMs ?? EJECT_MS;
    this.#kubeConnection = hooks.kubeConnection ?? (() => resolveConnection({}));
    if (args.resolver.static && !args.resolver.dns && !args.resolver.kubernetes) this.#setEndpoints(args.resolver.static.hostnames);
    opts.onStateChange({ input: { consume: (d) => this.#consume(d) } });
  }

  /** Endpoints currently on the ring. */
  endpoints(): readonly string[] {
    return this.#ring.nodes;
  }

  debugInfo(): unknown {
    return { endpoints: this.endpoints(), ejected: [...this.#ejected.keys()], orphans: this.#orphans.length };
  }

  async #consume(data: Telemetry, depth = 0): Promise<void> {
    if (this.#closed) throw new ConsumerError(`${this.#opts.id} is shutting down`, true, 1000);
    if (this.#backends.length === 0) throw new ConsumerError(`${this.#opts.id}: no backend available (resolver found ${this.#resolved.length}, ${this.#ejected.size} failing)`, true, 1000);
    let parts: Map<number, Telemetry>;
    try {
      parts = route(data, this.#args.routing_key as RoutingKey, this.#ring);
    } catch (err: unknown) {
      throw new ConsumerError(`${this.#opts.id}: ${err instanceof Error ? err.message : String(err)}`, false);
    }
    const backends = this.#backends;
    await Promise.all(
      [...parts].map(async ([i, part]) => {
        const b = backends[i]!;
        try {
          await b.helper.consume(part);
        } catch (err: unknown) {
          // The backend failed while we waited (queue disabled) or left the ring: route again.
          if (b.retired && depth < 3) return this.#consume(part, depth + 1);
          throw err;
        }
      }),
    );
  }

  /** Routes data again (after a backend failed or left); data with nowhere to go waits as an orphan. */
  #reroute(data: Telemetry): void {
    if (this.#closed) {
      this.#metrics.failed[data.signal].inc(data.count);
      return;
    }
    if (this.#backends.length === 0) {
      const held = this.#orphans.reduce((s, t) => s + t.count, 0);
      if (held + data.count > this.#args.queue.queue_size * 100) {
        this.#metrics.failed[data.signal].inc(data.count);
        this.#opts.logger.error(`${this.#opts.id}: dropping ${data.count} ${data.signal} items: no backend and the re-route buffer is full`);
      } else this.#orphans.push(data);
      return;
    }
    const p = this.#consume(data).catch(() => this.#reroute(data));
    this.#track(p);
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  #newBackend(endpoint: string): Backend {
    const otlp = this.#args.protocol.otlp;
    const sender = new GrpcSender({ ...otlp.client, endpoint }, otlp.timeout, this.#opts.logger);
    const backend: { retired: boolean } = { retired: false };
    const helper = new ExporterHelper(
      async (data, signal) => {
        try {
          await sender.send(data, signal);
        } catch (err: unknown) {
          if (err instanceof SendError && err.retryable && !signal.aborted) {
            this.#eject(endpoint, err.message);
            throw new SendError(err.message, false);
          }
          throw err;
        }
      },
      {
        name: `${this.#opts.id} → ${endpoint}`,
        retry: otlp.retry,
        queue: otlp.queue,
        metrics: this.#metrics,
        logger: this.#opts.logger,
        onDrop: (data) => {
          if (!backend.retired) return false;
          this.#reroute(data);
          return true;
        },
      },
    );
    return Object.assign(backend, { endpoint, sender, helper });
  }

  #eject(endpoint: string, why: string): void {
    if (this.#ejected.has(endpoint)) return;
    this.#opts.logger.warn(`${this.#opts.id}: backend ${endpoint} failed (${why}); routing its data to the other backends for ${this.#ejectMs}ms`);
    this.#ejected.set(endpoint, Date.now() + this.#ejectMs);
    this.#applyRing();
    const t = setTimeout(() => {
      this.#ejected.delete(endpoint);
      this.#applyRing();
    }, this.#ejectMs);
    t.unref();
  }

  #setEndpoints(endpoints: readonly string[]): void {
    this.#resolved = [...new Set(endpoints)].sort();
    this.#applyRing();
  }

  /** Rebuilds the ring from resolved minus ejected endpoints; stops removed backends and re-routes their data. */
  #applyRing(): void {
    const want = this.#resolved.filter((e) => !this.#ejected.has(e));
    const old = new Map(this.#backends.map((b) => [b.endpoint, b]));
    this.#ring.setNodes(want);
    this.#backends = this.#ring.nodes.map((e) => old.get(e) ?? this.#newBackend(e));
    for (const [e, b] of old) {
      if (want.includes(e)) continue;
      b.retired = true;
      this.#track(
        b.helper.stop(0).then((left) => {
          b.sender.close();
          for (const t of left) this.#reroute(t);
        }),
      );
    }
    if (this.#backends.length > 0 && this.#orphans.length > 0) for (const t of this.#orphans.splice(0)) this.#reroute(t);
    this.#opts.setHealth('healthy', `${this.#backends.length} backend(s): ${this.#ring.nodes.join(', ') || 'none'}`);
  }

  async #resolveDns(): Promise<void> {
    const d = this.#args.resolver.dns!;
    try {
      const ips = await Promise.race([
        this.#lookup(d.hostname),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${d.timeout}ms`)), d.timeout).unref()),
      ]);
      const eps = ips.map((ip) => (ip.includes(':') ? `[${ip}]:${d.port}` : `${ip}:${d.port}`));
      if (eps.join() !== this.#resolved.join()) this.#setEndpoints(eps.sort());
    } catch (err: unknown) {
      this.#opts.logger.warn(`${this.#opts.id}: DNS lookup of ${d.hostname} failed; keeping the last endpoints`, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Watches the Service's Endpoints until `signal` aborts; never throws. */
  async #watchKubernetes(signal: AbortSignal): Promise<void> {
    const k = this.#args.resolver.kubernetes!;
    const svc = serviceRef(k.service);
    let client: KubeClient;
    try {
      client = new KubeClient(this.#kubeConnection());
    } catch (err: unknown) {
      this.#opts.setHealth('unhealthy', `resolver.kubernetes: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
      return;
    }
    const what = `Endpoints ${svc.namespace}/${svc.name}`;
    let failing = false;
    const informer: Informer<EndpointsObject> = new Informer<EndpointsObject>({
      client,
      path: collectionPath('', 'v1', 'endpoints', svc.namespace),
      fieldSelector: `metadata.name=${svc.name}`,
      onEvent: () => {
        if (informer.synced) this.#setEndpoints(endpointsOf(informer.values(), k.ports, k.return_hostnames));
      },
      onSynced: () => this.#setEndpoints(endpointsOf(informer.values(), k.ports, k.return_hostnames)),
      onStatus: (st) => {
        if (!st.ok) {
          failing = true;
          this.#opts.setHealth('unhealthy', `resolver.kubernetes: watching ${what} failed (keeping ${this.#ring.nodes.length} endpoint(s)): ${st.error.message}`);
        } else if (failing) {
          failing = false;
          this.#applyRing(); // reports healthy with the current endpoints
        }
      },
    });
    const slow = setTimeout(() => {
      if (!informer.synced) this.#opts.logger.warn(`${this.#opts.id}: resolver.kubernetes: ${what} not listed within ${k.timeout}ms; still trying`);
    }, k.timeout);
    try {
      await informer.run(signal);
    } finally {
      clearTimeout(slow);
      client.close();
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!this.#args.resolver.dns && !this.#args.resolver.kubernetes) this.#opts.setHealth('healthy', `${this.#backends.length} backend(s)`);
    while (!signal.aborted) {
      if (this.#args.resolver.kubernetes) {
        const ac = (this.#kubeRestart = new AbortController());
        const stop = (): void => ac.abort();
        signal.addEventListener('abort', stop, { once: true });
        await this.#watchKubernetes(ac.signal);
        signal.removeEventListener('abort', stop);
        continue;
      }
      if (this.#args.resolver.dns) await this.#resolveDns();
      await pause(this.#args.resolver.dns?.interval, signal, (w) => (this.#wake = w));
    }
    const backends = this.#backends;
    this.#backends = [];
    await Promise.all(
      backends.map(async (b) => {
        const left = await b.helper.stop(5_000);
        for (const t of left) this.#metrics.failed[t.signal].inc(t.count);
        b.sender.close();
      }),
    );
    this.#closed = true;
    await Promise.allSettled([...this.#background]);
  }

  update(args: Arguments): void {
    const clientChanged = JSON.stringify({ ...args.protocol, otlp: { ...args.protocol.otlp, client: { ...args.protocol.otlp.client, auth: undefined } } }) !== JSON.stringify({ ...this.#args.protocol, otlp: { ...this.#args.protocol.otlp, client: { ...this.#args.protocol.otlp.client, auth: undefined } } }) || args.protocol.otlp.client.auth !== this.#args.protocol.otlp.client.auth;
    this.#args = args;
    if (clientChanged) {
      // Rebuild every backend with the new client settings; queued data is routed again.
      const resolved = this.#resolved;
      this.#resolved = [];
      this.#applyRing();
      this.#resolved = resolved;
    }
    const oldK8s = JSON.stringify(this.#kubeArgs);
    this.#kubeArgs = args.resolver.kubernetes;
    if (args.resolver.static && !args.resolver.dns && !args.resolver.kubernetes) this.#setEndpoints(args.resolver.static.hostnames);
    else this.#applyRing();
    if (JSON.stringify(args.resolver.kubernetes) !== oldK8s) this.#kubeRestart?.abort();
    this.#wake?.();
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.exporter.loadbalancing',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new LoadBalancingExporter(opts, args),
};
