/**
 * The runtime shared by `prometheus.operator.servicemonitors`, `.podmonitors`, `.probes` and
 * `.scrapeconfigs` (Alloy's `crdManager`): watches the resources of one kind (list + watch per
 * namespace of `namespaces`, with `selector` as the label selector), turns each into scrape jobs
 * (`configgen.ts`, `configgen-scrapeconfig.ts`), gets each job's targets from a Kubernetes
 * discovery (the `discovery.kubernetes` engine, shared by jobs with equal settings), an HTTP
 * discovery (`discovery/http/http-sd.ts`, one per job) or its static list, shards targets over
 * the cluster when `clustering` is enabled, and scrapes them into `forward_to` with one scrape
 * pool per job.
 *
 * Contracts:
 * - A resource that cannot be turned into jobs (invalid relabeling, missing Secret, bad
 *   duration, unknown scrape class) is skipped: its jobs are removed, the others keep running,
 *   and the component reports unhealthy with the resource named (also in debug info
 *   `crds[].reconcile_error`). Fixing or deleting it clears the message.
 * - API failures make the component unhealthy with the server's message; the running jobs
 *   and their last targets are kept; informers retry with backoff.
 * - Initial sync (Alloy's `informer_sync_timeout`): every informer must complete its first list
 *   within `informer_sync_timeout` of the run's start. When one does not (the API hangs, refuses
 *   the list, or does not serve the resource), the run stops everything it started and the
 *   component reports unhealthy with Alloy's message (`failed to configure informers: timeout
 *   exceeded while configuring informers. Check the connection to the Kubernetes API is stable
 *   and that Alloy has appropriate RBAC permissions for *v1.ServiceMonitor`, or `... no matches
 *   for kind ...` when the resource is not served); a new run starts 30 s later and clears the
 *   message once its informers have synced.
 * - `update` stops everything and starts again with the new arguments (as Alloy recreates its
 *   manager); a resource changed in the API rebuilds only that resource's jobs.
 * - Secrets referenced by a resource are read when the resource is (re)processed and every
 *   5 minutes (the resync Alloy's informers do).
 */
import os from 'node:os';
import { Counter } from 'prom-client';
import { systemClock } from '../../../clock/clock.js';
import type { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent, ServiceName, Stability } from '../../../runtime/component.js';
import type { ClusterService, HttpService } from '../../../runtime/services.js';
import { hashLabels, labelsFromStrings } from '../../../prom/labels/labels.js';
import { KubeApiError, KubeClient, collectionPath, type KubeObject } from '../../common/kube/client.js';
import { connectionOfBlock } from '../../common/kube/config.js';
import { fingerprint } from '../../common/fingerprint.js';
import { Informer, keyOf } from '../../common/kube/informer.js';
import { HttpDiscovery } from '../../discovery/http/http-sd.js';
import { Discovery } from '../../discovery/kubernetes/kubernetes.js';
import type { LabelSet } from '../../discovery/kubernetes/targets.js';
import { acceptFor, clusterKey, DEFAULT_SCRAPE_PROTOCOLS, PROTO_FIRST_SCRAPE_PROTOCOLS, USER_AGENT } from '../scrape/scrape.js';
import { ScrapePool } from '../scrape/scrape-pool.js';
import type { ScrapeCounters, TargetStatus } from '../scrape/scrape-loop.js';
import { argumentsSchema, labelSelectorString, type Arguments } from './arguments.js';
import { podMonitorJob, probeJob, serviceMonitorJob, type GeneratorOptions, type PodMonitor, type Probe, type JobDiscovery, type ScrapeJob, type SecretKeySelector, type SecretSource, type ServiceMonitor } from './configgen.js';
import { scrapeConfigJobs, type ScrapeConfig } from './configgen-scrapeconfig.js';

export type MonitorKind = 'ServiceMonitor' | 'PodMonitor' | 'Probe' | 'ScrapeConfig';

const PLURAL: Record<MonitorKind, string> = { ServiceMonitor: 'servicemonitors', PodMonitor: 'podmonitors', Probe: 'probes', ScrapeConfig: 'scrapeconfigs' };
const VERSION: Record<MonitorKind, string> = { ServiceMonitor: 'v1', PodMonitor: 'v1', Probe: 'v1', ScrapeConfig: 'v1alpha1' };
const RESYNC_MS = 5 * 60_000;
/** Alloy's pause before running its CRD manager again after a failed run. */
export const RETRY_AFTER_FAILURE_MS = 30_000;
/** The Go type Alloy's error names (`%T` of the informer's prototype). */
const GO_TYPE: Record<MonitorKind, string> = { ServiceMonitor: '*v1.ServiceMonitor', PodMonitor: '*v1.PodMonitor', Probe: '*v1.Probe', ScrapeConfig: '*v1alpha1.ScrapeConfig' };
const SYNC_KEY = 'initial sync';
/** setTimeout's largest delay; a longer `informer_sync_timeout` waits this long (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DiscoveredResource {
  readonly namespace: string;
  readonly name: string;
  readonly last_reconcile: string;
  readonly reconcile_error: string;
}

export interface OperatorDebugInfo {
  readonly crds: readonly DiscoveredResource[];
  readonly targets: readonly TargetStatus[];
}

type KubernetesJobDiscovery = Extract<JobDiscovery, { kind: 'kubernetes' }>;
type HttpJobDiscovery = Extract<JobDiscovery, { kind: 'http' }>;

/** Starts an HTTP discovery for a job; returns when `signal` aborts. Never throws. */
type StartHttpDiscovery = (d: HttpJobDiscovery, onTargets: (t: readonly LabelSet[]) => void, onError: (e: string | undefined) => void, signal: AbortSignal) => Promise<void>;

/**
 * A Kubernetes discovery shared by every job with the same role, namespaces and node metadata
 * (Prometheus's discovery manager runs one provider per distinct SD config the same way).
 */
class SharedDiscovery {
  readonly #ac = new AbortController();
  readonly #subscribers = new Set<(t: readonly LabelSet[]) => void>();
  readonly #done: Promise<void>;
  #targets: readonly LabelSet[] | undefined;

  constructor(d: KubernetesJobDiscovery, client: KubeClient, onError: (error: string | undefined) => void) {
    const disc = new Discovery(
      { role: d.role, selectors: (d.selectors ?? []).map((x) => ({ ...x })), namespaces: { own_namespace: d.ownNamespace ?? false, names: [...d.namespaces] }, attach_metadata: { node: d.attachNode, namespace: false } },
      client.connection,
      (targets) => {
        this.#targets = targets;
        for (const s of this.#subscribers) s(targets);
      },
      onError,
    );
    this.#done = disc.run(this.#ac.signal);
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  subscribe(onTargets: (t: readonly LabelSet[]) => void): void {
    this.#subscribers.add(onTargets);
    if (this.#targets) onTargets(this.#targets);
  }

  unsubscribe(onTargets: (t: readonly LabelSet[]) => void): void {
    this.#subscribers.delete(onTargets);
  }

  async stop(): Promise<void> {
    this.#ac.abort();
    await this.#done;
  }
}

/** One generated job: its targets and its scrape pool. */
class JobRunner {
  readonly job: ScrapeJob;
  readonly fingerprint: string;
  readonly #pool: ScrapePool;
  readonly #ac = new AbortController();
  #targets: readonly LabelSet[] = [];
  #unsubscribe: (() => void) | undefined;
  #discovery: Promise<void> = Promise.resolve();
  #sync: Promise<void> = Promise.resolve();
  readonly #owns: () => ((t: Readonly<Record<string, string>>) => boolean) | undefined;
  readonly #onError: (job: string, error: string | undefined) => void;

  constructor(job: ScrapeJob, pool: ScrapePool, owns: () => ((t: Readonly<Record<string, string>>) => boolean) | undefined, onError: (key: string, error: string | undefined) => void) {
    this.job = job;
    this.fingerprint = jobFingerprint(job);
    this.#pool = pool;
    this.#owns = owns;
    this.#onError = onError;
  }

  /** Starts receiving targets: static ones at once, discovered ones through `subscribe` or an HTTP discovery of its own. */
  start(subscribe: (d: KubernetesJobDiscovery, onTargets: (t: readonly LabelSet[]) => void) => () => void, startHttp: StartHttpDiscovery): void {
    const d = this.job.discovery;
    if (d.kind === 'static') {
      this.#targets = d.targets;
      this.resync();
      return;
    }
    if (d.kind === 'http') {
      const onTargets = (targets: readonly LabelSet[]): void => {
        this.#targets = targets;
        this.resync();
      };
      this.#discovery = startHttp(d, onTargets, (e) => this.#onError(`${this.job.jobName} discovery`, e), this.#ac.signal);
      return;
    }
    this.#unsubscribe = subscribe(d, (targets) => {
      this.#targets = targets;
      this.resync();
    });
  }

  /** Re-filters the current targets (after discovery or a cluster change). */
  resync(): void {
    if (this.#ac.signal.aborted) return;
    this.#sync = this.#sync.then(async () => {
      if (this.#ac.signal.aborted) return;
      const res = await this.#pool.sync(this.#targets, this.#owns());
      this.#onError(`${this.job.jobName} targets`, res.error);
    });
  }

  get targetCount(): number {
    return this.#pool.size;
  }

  statuses(): TargetStatus[] {
    return this.#pool.statuses();
  }

  async stop(): Promise<void> {
    this.#ac.abort();
    this.#unsubscribe?.();
    await this.#discovery;
    await this.#sync;
    await this.#pool.stop();
  }
}

/** One run of the component for fixed arguments. */
class Manager {
  readonly #kind: MonitorKind;
  readonly #args: Arguments;
  readonly #opts: ComponentOptions<object>;
  readonly #client: KubeClient;
  readonly #cluster: ClusterService | undefined;
  readonly #dial: ((hostPort: string) => string) | undefined;
  readonly #counters: ScrapeCounters;
  readonly #seed: number;
  readonly #health: (error: string | undefined) => void;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #jobs = new Map<string, JobRunner>();
  readonly #discoveries = new Map<string, SharedDiscovery>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #jobsOf = new Map<string, string[]>();
  readonly #debug = new Map<string, DiscoveredResource>();
  readonly #errors = new Map<string, string>();
  /** Per resource key: the processing chain, so events of one resource apply in order. */
  readonly #chains = new Map<string, Promise<void>>();
  #stopped = false;
  #silenced = false;
  #unsynced: number;
  readonly #allSynced: { promise: Promise<void>; resolve: () => void };

  /** `pendingError`: the failure of the previous run, reported until this run's informers have synced. */
  constructor(kind: MonitorKind, args: Arguments, opts: ComponentOptions<object>, deps: { cluster: ClusterService | undefined; dial: ((h: string) => string) | undefined; counters: ScrapeCounters; seed: number; health: (e: string | undefined) => void; pendingError?: string | undefined }) {
    if (deps.pendingError !== undefined) this.#errors.set(SYNC_KEY, deps.pendingError);
    let resolve = (): void => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.#allSynced = { promise, resolve };
    this.#kind = kind;
    this.#args = args;
    this.#opts = opts;
    this.#client = new KubeClient(connectionOfBlock(args.client));
    this.#cluster = deps.cluster;
    this.#dial = deps.dial;
    this.#counters = deps.counters;
    this.#seed = deps.seed;
    this.#health = deps.health;
    const namespaces = args.namespaces.length > 0 ? args.namespaces : [''];
    const labelSelector = args.selector ? labelSelectorString(args.selector) : undefined;
    for (const ns of namespaces) {
      const what = `watching ${PLURAL[kind]}${ns ? ` in namespace ${JSON.stringify(ns)}` : ''}`;
      const inf: Informer<KubeObject> = new Informer<KubeObject>({
        client: this.#client,
        path: collectionPath('monitoring.coreos.com', VERSION[kind], PLURAL[kind], ns || undefined),
        labelSelector: labelSelector || undefined,
        onEvent: (type, obj) => this.#enqueue(keyOf(obj), type === 'delete' ? undefined : obj),
        onStatus: (st) => this.#setError(what, st.ok ? undefined : describeApiError(st.error, PLURAL[kind], VERSION[kind])),
        onSynced: () => {
          if (--this.#unsynced === 0) this.#allSynced.resolve();
        },
      });
      this.#informers.push(inf);
    }
    this.#unsynced = this.#informers.length;
  }

  /**
   * Runs until `signal` aborts (resolves `undefined`) or until the initial sync misses
   * `informer_sync_timeout` (stops everything and resolves the error message). Never rejects.
   */
  async run(signal: AbortSignal): Promise<string | undefined> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let failure: string | undefined;
    const syncTimer = setTimeout(() => {
      failure = this.#syncFailure();
      this.#silenced = true; // what stopping reports must not overwrite the failure
      ac.abort();
    }, Math.min(this.#args.informer_sync_timeout, MAX_TIMER_MS));
    void this.#allSynced.promise.then(() => {
      clearTimeout(syncTimer);
      this.#setError(SYNC_KEY, undefined);
    });
    const resync = setInterval(() => {
      for (const inf of this.#informers) for (const o of inf.values()) this.#enqueue(keyOf(o), o);
    }, RESYNC_MS);
    resync.unref();
    try {
      await Promise.all(this.#informers.map((i) => i.run(ac.signal)));
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(syncTimer);
      clearInterval(resync);
      this.#stopped = true;
      await Promise.all([...this.#chains.values()]);
      await Promise.all([...this.#jobs.values()].map((j) => j.stop()));
      this.#jobs.clear();
      await Promise.all([...this.#discoveries.values()].map((d) => d.stop()));
      this.#discoveries.clear();
      await Promise.all([...this.#stopping]);
      this.#client.close();
    }
    return signal.aborted ? undefined : failure;
  }

  /** Alloy's error for informers that did not sync in time: its RBAC/connection hint, or `no matches for kind` when the resource is not served. */
  #syncFailure(): string {
    const notServed = this.#informers.some((i) => !i.synced && i.lastError instanceof KubeApiError && i.lastError.status === 404);
    if (notServed) {
      return `failed to configure informers: no matches for kind ${JSON.stringify(this.#kind)} in version ${JSON.stringify(`monitoring.coreos.com/${VERSION[this.#kind]}`)} (install its CRD: \`kubectl apply --server-side -f crds/monitoring.coreos.com/\` from this repository, or the Prometheus Operator's)`;
    }
    return `failed to configure informers: timeout exceeded while configuring informers. Check the connection to the Kubernetes API is stable and that Alloy has appropriate RBAC permissions for ${GO_TYPE[this.#kind]}`;
  }

  clusterChanged(): void {
    for (const j of this.#jobs.values()) j.resync();
  }

  debugInfo(): OperatorDebugInfo {
    return {
      crds: [...this.#debug.values()].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)),
      targets: [...this.#jobs.values()].flatMap((j) => j.statuses()),
    };
  }

  #owns = (): ((t: Readonly<Record<string, string>>) => boolean) | undefined => {
    const c = this.#cluster;
    if (!this.#args.clustering.enabled || !c || !c.enabled) return undefined;
    return (t) => c.owns(clusterKey(t));
  };

  #setError(key: string, error: string | undefined): void {
    if (error === undefined) this.#errors.delete(key);
    else this.#errors.set(key, error);
    if (this.#silenced) return;
    const first = this.#errors.values().next();
    this.#health(first.done ? undefined : first.value);
  }

  #enqueue(key: string, obj: KubeObject | undefined): void {
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.#reconcile(key, obj)).catch((err: unknown) => {
      this.#opts.logger.error('reconciling a monitor failed', { component: this.#opts.id, resource: key, err: String(err) });
    });
    this.#chains.set(key, next);
    void next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
  }

  async #reconcile(key: string, obj: KubeObject | undefined): Promise<void> {
    if (this.#stopped) return;
    const errKey = `${this.#kind} ${key}`;
    if (!obj) {
      await this.#replaceJobs(key, []);
      this.#debug.delete(key);
      this.#setError(errKey, undefined);
      return;
    }
    let jobs: readonly ScrapeJob[];
    let error: string | undefined;
    try {
      const r = await this.#generate(obj);
      jobs = r.jobs;
      if (r.errors.length > 0) error = r.errors.join('; ');
    } catch (err) {
      jobs = [];
      error = (err as Error).message;
    }
    if (this.#stopped) return;
    // A resource whose entries failed only in part keeps the jobs of its good entries (as Alloy does for ScrapeConfigs).
    const skipped = jobs.length === 0 ? 'skipped' : 'partly skipped';
    if (error !== undefined) this.#opts.logger.warn(`${this.#kind} ${key} ${skipped}: ${error}`, { component: this.#opts.id });
    await this.#replaceJobs(key, jobs);
    this.#debug.set(key, { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, last_reconcile: new Date().toISOString(), reconcile_error: error ?? '' });
    this.#setError(errKey, error === undefined ? undefined : `${this.#kind} ${key} ${skipped}: ${error}`);
  }

  async #generate(obj: KubeObject): Promise<{ jobs: readonly ScrapeJob[]; errors: readonly string[] }> {
    if (this.#kind === 'ScrapeConfig') {
      const a = this.#args;
      return scrapeConfigJobs(obj as ScrapeConfig, { rules: a.rule, scrape: a.scrape, scrapeClasses: a.scrape_class, secrets: this.#secrets });
    }
    return { jobs: await this.#generateMonitor(obj), errors: [] };
  }

  async #generateMonitor(obj: KubeObject): Promise<ScrapeJob[]> {
    const a = this.#args;
    const o: GeneratorOptions = { rules: a.rule, scrape: a.scrape, scrapeClasses: a.scrape_class, secrets: this.#secrets };
    switch (this.#kind) {
      case 'ServiceMonitor': {
        const m = obj as ServiceMonitor;
        const out: ScrapeJob[] = [];
        const eps = m.spec?.endpoints ?? [];
        for (let i = 0; i < eps.length; i++) out.push(await serviceMonitorJob(m, eps[i]!, i, a.kubernetes_role as 'endpoints' | 'endpointslice', o));
        return out;
      }
      case 'PodMonitor': {
        const m = obj as PodMonitor;
        const out: ScrapeJob[] = [];
        const eps = m.spec?.podMetricsEndpoints ?? [];
        for (let i = 0; i < eps.length; i++) out.push(await podMonitorJob(m, eps[i]!, i, o));
        return out;
      }
      case 'Probe':
        return [await probeJob(obj as Probe, o)];
      case 'ScrapeConfig':
        throw new Error('ScrapeConfigs are generated by scrapeConfigJobs');
    }
  }

  readonly #secrets: SecretSource = {
    secret: (ns, sel) => this.#readKey('secrets', ns, sel),
    configMap: (ns, sel) => this.#readKey('configmaps', ns, sel),
  };

  async #readKey(resource: 'secrets' | 'configmaps', ns: string, sel: SecretKeySelector): Promise<string> {
    const what = `${resource === 'secrets' ? 'secret' : 'configmap'} ${ns}/${sel.name}`;
    let obj: { data?: Record<string, string>; binaryData?: Record<string, string> };
    try {
      obj = await this.#client.getJson(`/api/v1/namespaces/${encodeURIComponent(ns)}/${resource}/${encodeURIComponent(sel.name)}`, {}, AbortSignal.timeout(30_000), `reading ${what}`);
    } catch (err) {
      throw new Error(describeApiError(err as Error, resource));
    }
    const raw = obj.data?.[sel.key] ?? (resource === 'configmaps' ? obj.binaryData?.[sel.key] : undefined);
    if (raw === undefined) throw new Error(`key ${JSON.stringify(sel.key)} not found in ${what}`);
    return resource === 'secrets' || obj.data?.[sel.key] === undefined ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  }

  async #replaceJobs(key: string, jobs: readonly ScrapeJob[]): Promise<void> {
    const stops: Promise<void>[] = [];
    const names = new Set(jobs.map((j) => j.jobName));
    for (const name of this.#jobsOf.get(key) ?? []) {
      const r = this.#jobs.get(name);
      if (!r || names.has(name)) continue;
      this.#jobs.delete(name);
      this.#setError(`${name} targets`, undefined);
      this.#setError(`${name} discovery`, undefined);
      stops.push(r.stop());
    }
    for (const job of jobs) {
      const old = this.#jobs.get(job.jobName);
      // An unchanged job (a resync, or a change elsewhere in the resource) keeps its loops, so
      // its series get no staleness markers; as Prometheus keeps scrape pools of equal configs.
      if (old && old.fingerprint === jobFingerprint(job)) continue;
      if (old) {
        this.#jobs.delete(job.jobName);
        stops.push(old.stop());
      }
      const pool = new ScrapePool({ receivers: () => this.#args.forward_to, logger: this.#opts.logger, counters: this.#counters, seed: this.#seed, dial: this.#dial });
      pool.configure({
        loop: {
          jobName: job.jobName,
          honorLabels: job.honorLabels,
          honorTimestamps: job.honorTimestamps,
          trackTimestampsStaleness: false,
          sampleLimit: job.sampleLimit,
          labelLimit: job.labelLimit,
          labelNameLengthLimit: job.labelNameLengthLimit,
          labelValueLengthLimit: job.labelValueLengthLimit,
          bodySizeLimit: 0,
          enableCompression: true,
          extraMetrics: false,
          accept: acceptFor(job.scrapeProtocols ?? (this.#args.scrape.scrape_native_histograms ? PROTO_FIRST_SCRAPE_PROTOCOLS : DEFAULT_SCRAPE_PROTOCOLS), 'underscores', (m) => this.#opts.logger.debug(m)),
          fallbackFormat: 'prometheus',
          userAgent: USER_AGENT,
          metricRelabel: job.metricRelabel,
        },
        defaults: { jobName: job.jobName, scheme: job.scheme, metricsPath: job.metricsPath, intervalMs: job.intervalMs, timeoutMs: job.timeoutMs, params: job.params, relabel: job.relabel },
        targetLimit: job.targetLimit,
        http: job.http,
      });
      const r = new JobRunner(job, pool, this.#owns, (k, e) => this.#setError(k, e));
      this.#jobs.set(job.jobName, r);
      r.start(this.#subscribe, this.#startHttp);
    }
    this.#jobsOf.set(key, [...names]);
    if (names.size === 0) this.#jobsOf.delete(key);
    await Promise.all(stops);
  }

  /** Subscribes a job to the shared discovery for its settings; the last unsubscribe stops it. */
  #subscribe = (d: KubernetesJobDiscovery, onTargets: (t: readonly LabelSet[]) => void): (() => void) => {
    const selectors = [...(d.selectors ?? [])].map((x) => [x.role, x.label, x.field]).sort();
    const key = JSON.stringify([d.role, [...d.namespaces].sort(), d.attachNode, d.ownNamespace ?? false, selectors]);
    const where = d.namespaces.length > 0 || d.ownNamespace ? [...d.namespaces, ...(d.ownNamespace ? ['its own namespace'] : [])].join(', ') : 'all namespaces';
    const what = `${d.role} discovery in ${where}${selectors.length > 0 ? ` (selectors ${selectors.map((x) => x.join(':')).join(', ')})` : ''}`;
    let shared = this.#discoveries.get(key);
    if (!shared) {
      try {
        shared = new SharedDiscovery(d, this.#client, (e) => this.#setError(what, e === undefined ? undefined : `${what}: ${e}`));
      } catch (err) {
        // e.g. ownNamespace outside a pod: reported, the job gets no targets.
        this.#setError(what, `${what}: ${(err as Error).message}`);
        return () => this.#setError(what, undefined);
      }
      this.#discoveries.set(key, shared);
    }
    const s = shared;
    s.subscribe(onTargets);
    return () => {
      s.unsubscribe(onTargets);
      if (s.subscribers > 0 || this.#discoveries.get(key) !== s) return;
      this.#discoveries.delete(key);
      this.#setError(what, undefined);
      const stopping = s.stop().finally(() => this.#stopping.delete(stopping));
      this.#stopping.add(stopping);
    };
  };

  #startHttp: StartHttpDiscovery = async (d, onTargets, onError, signal) => {
    let sd: HttpDiscovery;
    try {
      sd = new HttpDiscovery({ url: d.url, refreshIntervalMs: d.refreshIntervalMs, http: d.http, userAgent: USER_AGENT, onTargets, onError, dial: this.#dial });
    } catch (err) {
      onError(`HTTP service discovery from ${d.url}: ${(err as Error).message}`);
      return;
    }
    await sd.run(signal);
  };

  /** Distinct Kubernetes discoveries running (jobs with equal settings share one). */
  get discoveries(): number {
    return this.#discoveries.size;
  }
}

/** The job's settings with secrets revealed (compiled rules left out: the configs they come from are in). */
function jobFingerprint(job: ScrapeJob): string {
  return fingerprint({ ...job, relabel: undefined, metricRelabel: undefined });
}

function describeApiError(err: Error, resource: string, version = 'v1'): string {
  if (err instanceof KubeApiError && err.status === 404 && resource !== 'secrets' && resource !== 'configmaps') {
    return `${err.message} (is the monitoring.coreos.com/${version} CRD for ${resource} installed? install it with \`kubectl apply --server-side -f crds/monitoring.coreos.com/\` from this repository)`;
  }
  return err.message;
}

function optionalService<T>(opts: ComponentOptions<object>, name: ServiceName): T | undefined {
  try {
    return opts.getService<T>(name);
  } catch {
    return undefined;
  }
}

export class OperatorComponent implements Component<Arguments>, HealthComponent, DebugComponent {
  readonly #kind: MonitorKind;
  readonly #opts: ComponentOptions<object>;
  #args: Arguments;
  #current: { ac: AbortController; done: Promise<void> } | undefined;
  /** The manager of the current (or last failed) run, for debug info and cluster changes. */
  #manager: Manager | undefined;
  readonly #retryDelayMs: number;
  #signal: AbortSignal | undefined;
  #health: Health = { state: 'unknown', message: 'starting', updatedAt: new Date() };
  readonly #cluster: ClusterService | undefined;
  readonly #dial: ((h: string) => string) | undefined;
  readonly #counters: ScrapeCounters;
  readonly #seed: number;

  /** `timing.retryDelayMs`: the pause after a failed run (tests shorten it). @default RETRY_AFTER_FAILURE_MS */
  constructor(kind: MonitorKind, opts: ComponentOptions<object>, args: Arguments, timing: { readonly retryDelayMs?: number } = {}) {
    this.#kind = kind;
    this.#retryDelayMs = timing.retryDelayMs ?? RETRY_AFTER_FAILURE_MS;
    this.#opts = opts;
    this.#args = args;
    connectionOfBlock(args.client); // fails the build (config error) when no connection can be made
    this.#cluster = optionalService<ClusterService>(opts, 'cluster');
    const http = optionalService<HttpService>(opts, 'http');
    this.#dial = http ? (h) => http.dialAddress(h) : undefined;
    this.#seed = hashLabels(labelsFromStrings('hostname', os.hostname(), 'component', opts.id));
    const registers = [opts.registry];
    const sampleLimit = new Counter({ name: 'prometheus_target_scrapes_exceeded_sample_limit_total', help: 'Total number of scrapes that hit the sample limit and were rejected.', registers });
    const bodyLimit = new Counter({ name: 'prometheus_target_scrapes_exceeded_body_size_limit_total', help: 'Total number of scrapes that hit the body size limit', registers });
    const duplicates = new Counter({ name: 'prometheus_target_scrapes_sample_duplicate_timestamp_total', help: 'Total number of samples rejected due to duplicate timestamps but different values.', registers });
    this.#counters = { exceededSampleLimit: () => sampleLimit.inc(), exceededBodySizeLimit: () => bodyLimit.inc(), duplicateTimestamp: (n) => duplicates.inc(n) };
  }

  #setHealth(error: string | undefined): void {
    const state = error === undefined ? 'healthy' : 'unhealthy';
    const message = error ?? '';
    if (this.#health.state === state && this.#health.message === message) return;
    this.#health = { state, message, updatedAt: new Date() };
    this.#opts.setHealth(state, message);
  }

  #start(): void {
    if (!this.#signal || this.#signal.aborted) return;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    this.#signal.addEventListener('abort', onAbort, { once: true });
    const done = this.#runManagers(ac.signal).finally(() => this.#signal?.removeEventListener('abort', onAbort));
    this.#current = { ac, done };
  }

  /** Alloy's component loop: a manager per run; after a failed run, another one `retryDelayMs` later. Never rejects. */
  async #runManagers(signal: AbortSignal): Promise<void> {
    let pendingError: string | undefined;
    while (!signal.aborted) {
      let m: Manager;
      try {
        m = new Manager(this.#kind, this.#args, this.#opts, { cluster: this.#cluster, dial: this.#dial, counters: this.#counters, seed: this.#seed, health: (e) => this.#setHealth(e), pendingError });
      } catch (err) {
        this.#setHealth((err as Error).message);
        return;
      }
      if (pendingError === undefined) this.#setHealth(undefined);
      this.#manager = m;
      const failure = await m.run(signal);
      if (failure === undefined || signal.aborted) return;
      this.#opts.logger.error('error running crd manager', { component: this.#opts.id, err: failure });
      this.#setHealth(failure);
      pendingError = failure;
      await systemClock.sleep(this.#retryDelayMs, signal);
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    const unsubscribe = this.#cluster?.onChange(() => {
      if (this.#args.clustering.enabled) this.#manager?.clusterChanged();
    });
    this.#start();
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    unsubscribe?.();
    await this.#current?.done;
  }

  async update(args: Arguments): Promise<void> {
    connectionOfBlock(args.client); // throws (keeping the old arguments) when no connection can be made
    this.#args = args;
    const old = this.#current;
    this.#current = undefined;
    if (old) {
      old.ac.abort();
      await old.done;
    }
    this.#start();
  }

  currentHealth(): Health {
    return this.#health;
  }

  debugInfo(): OperatorDebugInfo {
    return this.#manager?.debugInfo() ?? { crds: [], targets: [] };
  }
}

/**
 * The definition of the `prometheus.operator.*` component for one resource kind: the shared
 * arguments, no exports. `timing` is for tests (see `OperatorComponent`).
 */
export function operatorComponent(name: string, kind: MonitorKind, stability: Stability, timing: { readonly retryDelayMs?: number } = {}): ComponentDefinition<Arguments, Record<string, never>> {
  return {
    name,
    stability,
    args: argumentsSchema as unknown as z.ZodType<Arguments>,
    exports: [],
    build: (opts, args) => new OperatorComponent(kind, opts, args, timing),
  };
}
