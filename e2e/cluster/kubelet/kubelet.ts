/**
 * The local node agent: watches Pods, Services, ConfigMaps and Secrets over the API like a real
 * kubelet, binds unscheduled pods to its node, runs each pod with a `PodWorker`, keeps the DNS
 * table file current, and serves container logs to the API server's log provider.
 *
 * Contracts:
 * - `start()` resolves once the informers have synced; `stop()` terminates every pod process it
 *   started (SIGTERM to each process group, SIGKILL after the grace period, capped by
 *   `shutdownGraceSeconds`) and resolves when all are gone.
 * - Pod deletion follows the API server's graceful protocol: on `deletionTimestamp` the kubelet
 *   stops the containers within `deletionGracePeriodSeconds`, then deletes with grace 0.
 * - The node's heartbeat is its Lease `kube-node-lease/<node>` (40 s duration), renewed every
 *   `nodeLeaseRenewMs` as a real kubelet does: without it kube-controller-manager's node lifecycle
 *   controller marks the node Unknown after its 40 s grace period, taints it unreachable and sets
 *   every pod on it `Ready=False`.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import winston, { type Logger } from 'winston';
import type { ConfigMap, KubeObject, Pod, Secret, Service } from '../harness/k8s-types.js';
import { KubeClient, RESOURCES, isNamespaceTerminating, isNotFound, keyOf, type KubeClientTls } from '../harness/kube-client.js';
import { Informer, abortableSleep } from '../harness/informer.js';
import { EventRecorder } from '../harness/events.js';
import { repoRoot } from '../harness/paths.js';
import { buildDnsTable, type DnsTable } from '../dns/table.js';
import { defaultImageRules, type ImageRule } from './image-map.js';
import { PodWorker, type NodeContext } from './pod-worker.js';
import { logFilePath, readLog } from './container-logs.js';
import { ClusterSource, ReferencedSource, podObjectReferences, type ObjectSource } from './referenced-objects.js';
import { ServiceAccountTokens, type TokenRequestStatus } from './service-account-tokens.js';
import type { PodNetwork } from './pod-network.js';
import { startKubeletServer, type KubeletServer, type KubeletServerTls } from './kubelet-server.js';
import { StreamingError, type ExecProcess, type StreamingRuntime } from './streaming.js';
import type { PodExecIO } from '../apiserver/options.js';
import { attachToContainer, dialPod, execInContainer, stopRelay, type RunningContainer } from './container-streams.js';

export interface KubeletOptions {
  /** API server base URL. */
  readonly server: string;
  readonly token?: string;
  /** CA and client certificate for an https server (the node identity `system:node:<node>`). */
  readonly tls?: KubeClientTls;
  /**
   * The identity binding unscheduled pods to this node and recording `Scheduled` events (the
   * scheduler's: a node may not create bindings). @default the kubelet's own identity
   */
  readonly scheduler?: { readonly token?: string; readonly tls?: KubeClientTls };
  /**
   * `cluster`: watch every ConfigMap and Secret. `referenced`: one single-object watch per
   * ConfigMap/Secret this node's pods reference, as a real kubelet (all the Node authorizer
   * allows a node). @default 'cluster'
   */
  readonly objectSources?: 'cluster' | 'referenced';
  /** Issue real ServiceAccount tokens (TokenRequest) into projected volumes. @default false */
  readonly serviceAccountTokens?: boolean;
  /** See `NodeContext.secretMounts`. @default false */
  readonly secretMounts?: boolean;
  /**
   * Run each pod in its own network namespace on this network, with an address `<base>.x.y`
   * (instead of a loopback address; `ipBase` is then ignored). The kubelet owns it and closes it
   * on `stop()`. @default undefined (loopback addresses)
   */
  readonly podNetwork?: PodNetwork;
  /**
   * Serve the kubelet's HTTPS endpoint (`/containerLogs`, which the real API server proxies
   * `pods/log` to) on the node's address and a free port, reported as the Node's
   * `daemonEndpoints.kubeletEndpoint.Port`. `authorizedUsers` are the client certificate CNs
   * allowed (the API server's kubelet client). @default undefined (nothing listens; the Node
   * reports 10250)
   */
  readonly serving?: { readonly tls: KubeletServerTls; readonly authorizedUsers: readonly string[] };
  /** `KUBERNETES_SERVICE_HOST/PORT` for pods. @default the host and port of `server` */
  readonly podApiServer?: { readonly host: string; readonly port: number };
  /** @default 'dev-node' */
  readonly nodeName?: string;
  /** Pod directories, PVC directories and the DNS file live here. */
  readonly stateDir: string;
  /** @default defaultImageRules(repoRoot()) */
  readonly imageRules?: readonly ImageRule[];
  /**
   * Period of each pod's sync, which re-projects its ConfigMap/Secret/downwardAPI volumes, as
   * the kubelet's `syncFrequency`; a pod is also synced at once when its object changes.
   * @default 60000 (the real kubelet's default)
   */
  readonly podSyncPeriodMs?: number;
  /** How often the node Lease is renewed (the real kubelet: a quarter of its 40 s duration). @default 10000 */
  readonly nodeLeaseRenewMs?: number;
  /** Random stretch of each sync period, as a factor (the kubelet's worker resync jitter). @default 0.5 */
  readonly podSyncJitter?: number;
  /**
   * Not what a real node does: also re-project volumes this long after a referenced ConfigMap or
   * Secret changes. For tests of workloads that assume fast propagation without anything
   * touching the pod. @default undefined (off)
   */
  readonly configSyncDelayMs?: number;
  /** Multiplies probe periods and initial delays. @default 1 */
  readonly timeScale?: number;
  /** First CrashLoopBackOff delay. @default 10000 */
  readonly crashLoopBaseMs?: number;
  /** First two octets of pod IPs; pods get `<ipBase>.x.y` from x = 1. @default '127.0' */
  readonly ipBase?: string;
  /** Kubeconfig path handed to pods as KUBECONFIG. */
  readonly podKubeconfig?: string;
  /** Cap on grace periods when the kubelet itself stops. @default 10 */
  readonly shutdownGraceSeconds?: number;
  readonly logger?: Logger;
}

export interface PodLogRequest {
  readonly follow: boolean;
  readonly tailLines?: number;
  readonly previous: boolean;
  readonly limitBytes?: number;
  readonly timestamps?: boolean;
  readonly sinceSeconds?: number;
  readonly sinceTime?: string;
}

export class Kubelet {
  readonly nodeName: string;
  readonly client: KubeClient;
  #opts: KubeletOptions;
  #logger: Logger;
  #ac = new AbortController();
  #pods: Informer<Pod>;
  #services: Informer<Service>;
  #configMaps: ObjectSource<ConfigMap>;
  #secrets: ObjectSource<Secret>;
  #tokens: ServiceAccountTokens | undefined;
  #schedulerClient: KubeClient;
  #workers = new Map<string, PodWorker>();
  #byKey = new Map<string, PodWorker>();
  #ops = new Map<string, Promise<void>>();
  #ips = new Map<string, string>();
  #nextIp = 0;
  #events: EventRecorder;
  #schedulerEvents: EventRecorder;
  #ctx: NodeContext;
  #dnsTimer: NodeJS.Timeout | undefined;
  #dnsFile: string;
  #table: DnsTable = { names: {}, services: {} };
  #runs: Promise<void>[] = [];
  #stopped = false;
  #server: KubeletServer | undefined;

  constructor(opts: KubeletOptions) {
    if (!opts.stateDir) throw new Error('Kubelet: option "stateDir" is required (a writable directory for pod data)');
    this.#opts = opts;
    this.nodeName = opts.nodeName ?? 'dev-node';
    this.#logger = opts.logger ?? winston.createLogger({ level: process.env.DEV_CLUSTER_LOG_LEVEL ?? 'warn', transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })] });
    this.client = new KubeClient({ server: opts.server, token: opts.token, userAgent: `kubelet/${this.nodeName}`, ...(opts.tls ? { tls: opts.tls } : {}) });
    this.#schedulerClient = opts.scheduler
      ? new KubeClient({ server: opts.server, token: opts.scheduler.token, userAgent: 'default-scheduler', ...(opts.scheduler.tls ? { tls: opts.scheduler.tls } : {}) })
      : this.client;
    const onError = (what: string) => (e: unknown): void => {
      if (!this.#stopped && !isNamespaceTerminating(e)) this.#logger.warn(`kubelet ${what}: ${String(e)}`);
    };
    this.#pods = new Informer<Pod>(this.client, RESOURCES.pods, { onError: onError('pods watch') });
    this.#services = new Informer<Service>(this.client, RESOURCES.services, { onError: onError('services watch') });
    const Source = opts.objectSources === 'referenced' ? ReferencedSource : ClusterSource;
    this.#configMaps = new Source<ConfigMap>(this.client, RESOURCES.configmaps, onError('configmaps watch'));
    this.#secrets = new Source<Secret>(this.client, RESOURCES.secrets, onError('secrets watch'));
    this.#tokens = opts.serviceAccountTokens
      ? new ServiceAccountTokens({
          request: async (ns, sa, spec) =>
            (await this.client.request<{ status: TokenRequestStatus }>('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(sa)}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec })).status,
          onError: (m) => this.#logger.warn(`kubelet: ${m}`),
        })
      : undefined;
    this.#events = new EventRecorder(this.client, { component: 'kubelet', host: this.nodeName }, onError('event'));
    this.#schedulerEvents = new EventRecorder(this.#schedulerClient, { component: 'default-scheduler' }, onError('event'));
    this.#dnsFile = path.join(opts.stateDir, 'dns', 'table.json');
    const url = new URL(opts.server);
    const api = opts.podApiServer ? { hostname: opts.podApiServer.host, port: String(opts.podApiServer.port), protocol: url.protocol } : url;
    const hostIP = '127.0.0.1';
    this.#ctx = {
      client: this.client,
      nodeName: this.nodeName,
      hostIP,
      stateDir: opts.stateDir,
      imageRules: opts.imageRules ?? defaultImageRules(repoRoot()),
      preloadUrl: pathToFileURL(path.join(repoRoot(), 'e2e/cluster/kubelet/pod-preload.mjs')).href,
      dnsFile: this.#dnsFile,
      passthrough: [`${api.hostname}:${api.port || (api.protocol === 'https:' ? 443 : 80)}`],
      podKubeconfig: opts.podKubeconfig,
      ...(this.#tokens ? { serviceAccountTokens: this.#tokens } : {}),
      secretMounts: opts.secretMounts ?? false,
      baseEnv: {
        KUBERNETES_SERVICE_HOST: api.hostname,
        KUBERNETES_SERVICE_PORT: api.port || '80',
        KUBERNETES_PORT: `tcp://${api.hostname}:${api.port || '80'}`,
      },
      timeScale: opts.timeScale ?? 1,
      crashLoopBaseMs: opts.crashLoopBaseMs ?? 10_000,
      podSyncPeriodMs: opts.podSyncPeriodMs ?? 60_000,
      podSyncJitter: opts.podSyncJitter ?? 0.5,
      sources: {
        configMap: (ns, name) => this.#configMaps.get(`${ns}/${name}`),
        secret: (ns, name) => this.#secrets.get(`${ns}/${name}`),
      },
      logger: this.#logger,
      event: (pod, type, reason, message, fieldPath) => this.#events.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, type, reason, message, fieldPath),
      statusChanged: () => this.#scheduleDns(),
    };
  }

  async start(): Promise<void> {
    await fsp.mkdir(path.dirname(this.#dnsFile), { recursive: true });
    this.#writeDns();
    this.#pods.on((ev, pod) => this.#onPod(ev, pod));
    this.#services.on(() => this.#scheduleDns());
    const delay = this.#opts.configSyncDelayMs;
    if (delay !== undefined) {
      this.#configMaps.on((_ev, cm) => {
        for (const w of this.#workers.values()) if (w.pod.metadata.namespace === cm.metadata.namespace && w.references('configmap', cm.metadata.name ?? '')) w.resyncVolumes(delay);
      });
      this.#secrets.on((_ev, s) => {
        for (const w of this.#workers.values()) if (w.pod.metadata.namespace === s.metadata.namespace && w.references('secret', s.metadata.name ?? '')) w.resyncVolumes(delay);
      });
    }
    // Sources first so a pod's volumes and env resolve on its first start.
    this.#runs.push(this.#services.run(this.#ac.signal));
    await Promise.all([this.#configMaps.start(this.#ac.signal), this.#secrets.start(this.#ac.signal), this.#services.waitSynced()]);
    if (this.#opts.serving) {
      this.#server = await startKubeletServer({
        host: this.#ctx.hostIP,
        tls: this.#opts.serving.tls,
        authorizedUsers: this.#opts.serving.authorizedUsers,
        logs: {
          containersOf: (ns, name) => {
            const spec = this.worker(ns, name)?.pod.spec;
            return spec ? [...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.name) : undefined;
          },
          open: (ns, name, container, o) => this.logProvider(ns, name, container, o),
        },
        streaming: this.#streamingRuntime(),
      });
    }
    const nodeUid = await this.#registerNode();
    if (nodeUid !== undefined) this.#runs.push(this.#renewLease(nodeUid, this.#ac.signal));
    this.#runs.push(this.#pods.run(this.#ac.signal));
    await this.#pods.waitSynced();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ac.abort();
    const cap = this.#opts.shutdownGraceSeconds ?? 10;
    await Promise.all(
      [...this.#workers.values()].map(async (w) => {
        await w.terminate(Math.min(cap, w.pod.spec.terminationGracePeriodSeconds ?? 30), 'Stopping container (node shutdown)');
        w.markGone();
        if (w.netns) stopRelay(w.netns);
      }),
    );
    await Promise.allSettled([...this.#runs, this.#configMaps.stopped(), this.#secrets.stopped()]);
    if (this.#dnsTimer) clearTimeout(this.#dnsTimer);
    await this.#server?.close();
    await this.#opts.podNetwork?.close().catch((e: unknown) => this.#logger.warn(`kubelet: removing the pod network: ${String(e)}`));
  }

  /** exec, attach and port-forward against this node's pods (the container runtime's part). */
  #streamingRuntime(): StreamingRuntime {
    const podOf = (ns: string, name: string): PodWorker => {
      const w = this.worker(ns, name);
      if (!w || w.terminating) throw new StreamingError(404, 'pod does not exist');
      return w;
    };
    const running = (ns: string, name: string, container: string): RunningContainer => {
      const c = podOf(ns, name).runningContainer(container);
      if (c === 'unknown') throw new StreamingError(404, `container not found (${JSON.stringify(container)})`);
      if (c === 'not-running') throw new StreamingError(500, `container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is not running`);
      return c;
    };
    return {
      check: (ns, name, container) => {
        const w = podOf(ns, name);
        if (container !== undefined) running(ns, name, container);
        return { uid: w.uid };
      },
      exec: (ns, name, container, argv, o) => execInContainer(running(ns, name, container), argv, o),
      attach: (ns, name, container, o) => attachToContainer(running(ns, name, container), o),
      dial: (ns, name, port) => {
        const w = podOf(ns, name);
        return dialPod(w.ip, w.netns, port);
      },
    };
  }

  /** The worker for a pod on this node, by namespace/name. */
  worker(namespace: string, name: string): PodWorker | undefined {
    return this.#byKey.get(`${namespace}/${name}`);
  }

  /** Process ids of every container process currently running on this node. */
  pids(): number[] {
    return [...this.#workers.values()].flatMap((w) => w.pids());
  }

  dnsTable(): DnsTable {
    return this.#table;
  }

  get dnsFile(): string {
    return this.#dnsFile;
  }

  /**
   * For `RunningApiServer.setPodExecProvider` (the test API server's `kubectl exec`): runs `argv`
   * in the container as the kubelet's `/exec` does and resolves with its exit code (127 with the
   * runtime's message on stderr when the executable is missing); undefined when it is not running.
   */
  readonly execProvider = (namespace: string, pod: string, container: string, argv: readonly string[], io: PodExecIO): Promise<number> | undefined => {
    const c = this.worker(namespace, pod)?.runningContainer(container);
    if (c === undefined || typeof c === 'string') return undefined;
    let proc: ExecProcess;
    try {
      proc = execInContainer(c, argv, { stdin: io.stdin !== undefined, tty: io.tty });
    } catch (e) {
      io.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      return Promise.resolve(127);
    }
    if (io.stdin && proc.stdin) io.stdin.pipe(proc.stdin);
    const copy = (from: NodeJS.ReadableStream | undefined, to: NodeJS.WritableStream): Promise<void> =>
      new Promise((resolve) => {
        if (!from) return resolve();
        from.on('data', (chunk: Buffer) => to.write(chunk));
        from.once('end', resolve);
        from.once('close', resolve);
      });
    const drained = Promise.all([copy(proc.stdout, io.stdout), copy(proc.stderr, io.stderr)]);
    return proc.exited.then(async (code) => {
      await drained;
      return code;
    });
  };

  /** For `RunningApiServer.setPodLogProvider`: a stream of a container's log, or undefined (400). */
  readonly logProvider = (namespace: string, pod: string, container: string | undefined, opts: PodLogRequest): NodeJS.ReadableStream | undefined => {
    const w = this.worker(namespace, pod);
    if (!w) return undefined;
    const name = container || w.pod.spec.containers[0]?.name || '';
    const count = w.restartCount(name);
    if (count < 0) return undefined;
    const instance = opts.previous ? count - 1 : count;
    if (instance < 0) return undefined;
    const file = logFilePath(w.dir, name, instance);
    if (!fs.existsSync(file)) return undefined;
    return readLog(file, { follow: opts.follow, tailLines: opts.tailLines, limitBytes: opts.limitBytes, timestamps: opts.timestamps, sinceSeconds: opts.sinceSeconds, sinceTime: opts.sinceTime, finished: () => !w.instanceRunning(name, instance) });
  };

  // ---- pods ----

  #serialize(uid: string, fn: () => Promise<void>): void {
    const prev = this.#ops.get(uid) ?? Promise.resolve();
    const next = prev.then(fn).catch((e: unknown) => void this.#logger.error(`kubelet pod ${uid}: ${String(e)}`));
    this.#ops.set(uid, next);
    void next.then(() => {
      if (this.#ops.get(uid) === next) this.#ops.delete(uid);
    });
  }

  #onPod(ev: 'add' | 'update' | 'delete', pod: Pod): void {
    if (this.#stopped) return;
    const uid = pod.metadata.uid ?? keyOf(pod);
    this.#scheduleDns();
    if (ev === 'delete') {
      this.#serialize(uid, () => this.#removed(uid));
      return;
    }
    if (!pod.spec.nodeName) {
      this.#serialize(uid, () => this.#bind(pod));
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    this.#serialize(uid, () => this.#sync(pod));
  }

  async #bind(pod: Pod): Promise<void> {
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp) return;
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } };
    try {
      await this.#schedulerClient.request('POST', this.client.path(RESOURCES.pods, ns, name, 'binding'), binding);
    } catch (e) {
      if (isNotFound(e) && (await this.client.tryGet(RESOURCES.pods, ns, name)) === undefined) return;
      // Servers without the binding subresource: set the node name directly.
      await this.client.mergePatch(RESOURCES.pods, ns, name, { spec: { nodeName: this.nodeName } });
    }
    this.#schedulerEvents.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${this.nodeName}`);
  }

  async #sync(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const refs = podObjectReferences(pod);
    this.#configMaps.retain(uid, refs.configMaps);
    this.#secrets.retain(uid, refs.secrets);
    let w = this.#workers.get(uid);
    if (!w) {
      if (pod.metadata.deletionTimestamp) {
        await this.client.delete(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, uid }).catch(() => undefined);
        return;
      }
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      const net = pod.spec.hostNetwork ? undefined : this.#opts.podNetwork;
      const ip = pod.spec.hostNetwork ? this.#ctx.hostIP : this.#allocateIp(uid);
      let netns: string | undefined;
      if (net) {
        try {
          netns = await net.attach(uid, ip);
        } catch (e) {
          await net.detach(uid);
          this.#ips.delete(uid);
          this.#events.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
      }
      w = new PodWorker(this.#ctx, pod, ip, netns);
      this.#workers.set(uid, w);
      this.#byKey.set(keyOf(pod), w);
      void w.start();
      return;
    }
    w.update(pod);
    if (pod.metadata.deletionTimestamp && !w.terminating) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      await w.terminate(grace);
      await w.flushStatus();
      w.markGone();
      await this.client.delete(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, uid }).catch((e: unknown) => {
        if (!isNotFound(e) && !this.#stopped) this.#logger.warn(`kubelet: final delete of ${keyOf(pod)}: ${String(e)}`);
      });
    }
  }

  async #removed(uid: string): Promise<void> {
    this.#configMaps.retain(uid, []);
    this.#secrets.retain(uid, []);
    this.#tokens?.release(uid);
    const w = this.#workers.get(uid);
    if (!w) return;
    w.markGone();
    if (!w.terminating) await w.terminate(Math.min(w.pod.metadata.deletionGracePeriodSeconds ?? w.pod.spec.terminationGracePeriodSeconds ?? 30, 30));
    this.#workers.delete(uid);
    if (this.#byKey.get(keyOf(w.pod)) === w) this.#byKey.delete(keyOf(w.pod));
    this.#ips.delete(uid);
    await w.cleanup();
    if (w.netns) stopRelay(w.netns);
    await this.#opts.podNetwork?.detach(uid);
    this.#scheduleDns();
  }

  #allocateIp(uid: string): string {
    const used = new Set(this.#ips.values());
    const base = this.#opts.podNetwork?.base ?? this.#opts.ipBase ?? '127.0';
    for (let i = 0; i < 65_000; i++) {
      const n = (this.#nextIp++ % 64_770) + 256;
      const ip = `${base}.${Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (!used.has(ip)) {
        this.#ips.set(uid, ip);
        return ip;
      }
    }
    throw new Error('kubelet: pod IP range exhausted');
  }

  // ---- node ----

  /** Renews the node Lease until `signal` aborts; errors are logged and retried on the next tick. */
  async #renewLease(nodeUid: string, signal: AbortSignal): Promise<void> {
    const ns = 'kube-node-lease';
    const name = this.nodeName;
    const every = this.#opts.nodeLeaseRenewMs ?? 10_000;
    let lease: (KubeObject & { spec?: Record<string, unknown> }) | undefined;
    let failing = false;
    while (!signal.aborted) {
      // MicroTime: RFC 3339 with microseconds.
      const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      try {
        lease ??= await this.client.tryGet(RESOURCES.leases, ns, name);
        if (lease === undefined) {
          lease = await this.client.create(RESOURCES.leases, ns, {
            metadata: { name, namespace: ns, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeUid }] },
            spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
          } as KubeObject);
        } else {
          lease = await this.client.replace(RESOURCES.leases, { ...lease, spec: { ...lease.spec, holderIdentity: name, leaseDurationSeconds: 40, renewTime } });
        }
        failing = false;
      } catch (e) {
        lease = undefined;
        if (!failing && !this.#stopped) this.#logger.warn(`kubelet: renewing node lease: ${String(e)}`);
        failing = true;
      }
      await abortableSleep(every, signal);
    }
  }

  /** @returns the Node's uid, or undefined on servers that do not serve Nodes. */
  async #registerNode(): Promise<string | undefined> {
    const node = {
      metadata: { name: this.nodeName, labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch, 'node-role.kubernetes.io/control-plane': '' } },
      spec: {},
    };
    try {
      const live: KubeObject = (await this.client.tryGet(RESOURCES.nodes, undefined, this.nodeName)) ?? (await this.client.create<KubeObject>(RESOURCES.nodes, undefined, node));
      const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await this.client.mergePatch(RESOURCES.nodes, undefined, this.nodeName, {
        status: {
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'dev-cluster kubelet is posting ready status', lastHeartbeatTime: ts, lastTransitionTime: ts }],
          addresses: [{ type: 'InternalIP', address: this.#ctx.hostIP }, { type: 'Hostname', address: this.nodeName }],
          // Where the API server proxies pods/log (and Prometheus's node role targets); without `serving` nothing listens on 10250.
          daemonEndpoints: { kubeletEndpoint: { Port: this.#server?.port ?? 10250 } },
          capacity: { cpu: '2', memory: '4Gi', pods: '110' },
          allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
          nodeInfo: { kubeletVersion: 'v1.32.0-dev-cluster', operatingSystem: 'linux', architecture: process.arch, containerRuntimeVersion: 'local-process://1', osImage: 'dev-cluster', kernelVersion: '', kubeProxyVersion: '', machineID: '', systemUUID: '', bootID: '' },
        },
      }, 'status');
      return live.metadata.uid ?? '';
    } catch (e) {
      // Servers that do not serve Nodes: the kubelet works without the object.
      this.#logger.info(`kubelet: node registration skipped: ${String(e)}`);
      return undefined;
    }
  }

  // ---- dns ----

  #scheduleDns(): void {
    if (this.#dnsTimer || this.#stopped) return;
    this.#dnsTimer = setTimeout(() => {
      this.#dnsTimer = undefined;
      this.#writeDns();
    }, 10);
  }

  #writeDns(): void {
    try {
      const pods = this.#pods.list().map((p) => {
        const w = this.#workers.get(p.metadata.uid ?? '');
        return w ? { ...p, status: w.computeStatus() } : p;
      });
      this.#table = buildDnsTable(this.#services.list(), pods);
      const tmp = `${this.#dnsFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.#table));
      fs.renameSync(tmp, this.#dnsFile);
    } catch (e) {
      this.#logger.warn(`kubelet: writing DNS table: ${String(e)}`);
    }
  }
}
