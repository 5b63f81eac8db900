/**
 * `loki.source.kubernetes`: tails container logs through the Kubernetes API
 * (`GET /api/v1/namespaces/<ns>/pods/<pod>/log?follow=true&timestamps=true&container=<c>`) for
 * every target and forwards each line to `forward_to`.
 *
 * Contracts:
 * - A target names its container with `__pod_namespace__`, `__pod_name__`,
 *   `__pod_container_name__` and `__pod_uid__` (all required, as upstream), each defaulting to the
 *   `discovery.kubernetes` role pod label (`__meta_kubernetes_namespace`,
 *   `__meta_kubernetes_pod_name`, `__meta_kubernetes_pod_container_name`,
 *   `__meta_kubernetes_pod_uid`). A target missing one is dropped with a warning.
 * - Entry labels: the target's labels without `__`-prefixed ones; `job` defaults to the component
 *   id and `instance` to `<namespace>/<pod>:<container>` when the target does not set them.
 * - Each line's RFC3339Nano prefix is its timestamp. After a stream ends (API restart, dropped
 *   connection, container restart) the tailer reopens it with `sinceTime` = the second of the
 *   last forwarded timestamp and skips the entries before that timestamp plus as many entries
 *   at exactly that timestamp as were forwarded, so lines are neither lost nor repeated (several
 *   lines may share one timestamp). Within one stream every line is forwarded. Positions are
 *   saved to `<dataPath>/positions.yml` (`cursors.ts`) every second and on shutdown, so a
 *   collector restart resumes each container where it stopped (a crash may repeat up to one
 *   second of lines); a pod that is gone has its position removed.
 * - With `clustering { enabled = true }`, a container this node starts owning resumes after the
 *   newest position of this node and its peers, peers that left its view in the last minute
 *   included (`handover.ts`); a shutdown hands the final positions of the containers it tailed,
 *   and of those it gave away in the last minute, to every peer. So an ownership move repeats
 *   nothing unless the previous owner crashed or could not reach the new one.
 * - A tailer stops when its target leaves `targets` (or this node stops owning it with
 *   `clustering { enabled = true }`), when the pod is gone (404, or a new uid), or when the pod
 *   has finished (phase Succeeded/Failed) and its log was read to the end.
 * - API errors make the component unhealthy naming the container and the server's message; the
 *   failing tailer retries with capped backoff; other tailers keep running.
 */
import path from 'node:path';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent, ServiceName } from '../../../../runtime/component.js';
import type { ClusterService, HttpService } from '../../../../runtime/services.js';
import { isLogsReceiver, type Label, type Labels, type LogEntry, type LogsReceiver } from '../../../../loki/types.js';
import { block, capsule } from '../../../../syntax/vm/schema.js';
import { sleep } from '../../../../clock/clock.js';
import { KubeApiError, KubeClient } from '../../../common/kube/client.js';
import { connectionOfBlock, kubeClientBlockSchema } from '../../../common/kube/config.js';
import { clusterKey } from '../../../prometheus/scrape/scrape.js';
import { cursorAfter, Cursors, type Cursor } from './cursors.js';
import { handOverRetrying, resolveHandover, serveHandover } from './handover.js';
import { fingerprint } from '../../../common/fingerprint.js';

const POSITIONS_SYNC_MS = 1000;

export const argumentsSchema = z
  .object({
    targets: z.array(z.record(z.string(), z.string())),
    forward_to: z.array(capsule<LogsReceiver>('LogsReceiver', isLogsReceiver)),
    client: block(kubeClientBlockSchema).prefault({}),
    clustering: block(z.object({ enabled: z.boolean().default(false) }).strict()).prefault({}),
  })
  .strict();

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;

/** Where a target's logs come from, and the labels its entries carry. */
export interface LogTarget {
  readonly key: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly uid: string;
  readonly labels: Labels;
}

const META: ReadonlyArray<readonly [string, string]> = [
  ['__pod_namespace__', '__meta_kubernetes_namespace'],
  ['__pod_name__', '__meta_kubernetes_pod_name'],
  ['__pod_container_name__', '__meta_kubernetes_pod_container_name'],
  ['__pod_uid__', '__meta_kubernetes_pod_uid'],
];

/** Upstream's label preparation; an Error names the missing label. */
export function prepareTarget(t: Readonly<Record<string, string>>, defaultJob: string): LogTarget {
  const l: Record<string, string> = { ...t };
  for (const [own, meta] of META) if (!l[own]) l[own] = l[meta] ?? '';
  for (const [own, meta] of META) if (!l[own]) throw new Error(`target has no ${own} (nor ${meta}) label; use discovery.kubernetes with role = "pod" or set ${own}`);
  const namespace = l['__pod_namespace__']!;
  const pod = l['__pod_name__']!;
  const container = l['__pod_container_name__']!;
  const uid = l['__pod_uid__']!;
  if (!l['job']) l['job'] = defaultJob;
  if (!l['instance']) l['instance'] = `${namespace}/${pod}:${container}`;
  const labels: Label[] = [];
  for (const [name, value] of Object.entries(l)) if (!name.startsWith('__') && value !== '') labels.push({ name, value });
  labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { key: `${namespace}/${pod}:${container}:${uid}`, namespace, pod, container, uid, labels: Object.freeze(labels) };
}

/** A log timestamp as epoch ms plus nanoseconds inside the ms. */
export interface Stamp {
  readonly ms: number;
  readonly nanos: number;
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parses an RFC3339(Nano) timestamp; undefined when it is not one. */
export function parseStamp(s: string): Stamp | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const base = Date.parse(m[1]! + m[3]!);
  if (Number.isNaN(base)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return { ms: base + Number(frac.slice(0, 3)), nanos: Number(frac.slice(3)) };
}

const after = (a: Stamp, b: Stamp): boolean => a.ms > b.ms || (a.ms === b.ms && a.nanos > b.nanos);
const same = (a: Stamp, b: Stamp): boolean => a.ms === b.ms && a.nanos === b.nanos;

/** `sinceTime` for a reconnect: RFC3339 at second precision (the API's own), floored. */
function sinceTimeOf(s: Stamp): string {
  return new Date(Math.floor(s.ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Wait before a newly owned container asks its peers where to resume (membership settling). */
const HANDOVER_SETTLE_MS = 1000;
/**
 * How long a container this node stopped tailing because its ownership moved is still handed
 * over at shutdown, and how long a peer that left the view is still asked for positions: both
 * cover a new owner whose handover is still pending (settling, asking, or slowed by load).
 */
const RECENT_MS = 60_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** Reopen delay after a stream ended cleanly (container exited or restarting). */
const REOPEN_MS = 500;
/** Longest reopen delay for a container whose stream keeps ending without lines. */
const IDLE_MAX_MS = 10_000;

export interface TailerDeps {
  readonly client: () => KubeClient;
  /** Where a previous run stopped (the positions file). */
  readonly start?: Cursor | undefined;
  /**
   * Runs once before the first stream opens; a position it returns that is further than `start`
   * is where tailing resumes (clustering: the previous owner's position, see `handover.ts`).
   */
  readonly resolveStart?: (signal: AbortSignal) => Promise<Cursor | undefined>;
  /** Runs after each forwarded batch with the new position. */
  readonly onAdvance?: (c: Cursor) => void;
  readonly forward: (entries: readonly LogEntry[]) => Promise<void>;
  readonly onError: (err: Error) => void;
  /** Runs once when the tailer stops because the pod is gone. */
  readonly onGone?: () => void;
}

/** Follows one container's log until `stop` aborts or the pod is gone. */
export class LogTailer {
  readonly target: LogTarget;
  readonly #deps: TailerDeps;
  readonly #stop = new AbortController();
  #last: Stamp | undefined;
  /** How many forwarded entries carry exactly `#last` (lines written in one millisecond share it). */
  #atLast = 0;
  lastError: string | undefined;
  /** Lines forwarded and reconnects made (for debug info). */
  lines = 0;
  opens = 0;
  gone = false;
  finished = false;
  readonly done: Promise<void>;

  constructor(target: LogTarget, deps: TailerDeps) {
    this.target = target;
    this.#deps = deps;
    if (deps.start) {
      this.#last = { ms: deps.start.ms, nanos: deps.start.nanos };
      this.#atLast = deps.start.count;
    }
    this.done = this.#run();
  }

  stop(): Promise<void> {
    this.#stop.abort();
    return this.done;
  }

  get lastTimestamp(): Stamp | undefined {
    return this.#last;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    if (this.#deps.resolveStart) {
      const c = await this.#deps.resolveStart(signal).catch((err: unknown) => {
        this.#deps.onError(new Error(`finding where to resume: ${err instanceof Error ? err.message : String(err)}`));
        return undefined;
      });
      if (c !== undefined && cursorAfter(c, this.#last === undefined ? undefined : { ...this.#last, count: this.#atLast })) {
        this.#last = { ms: c.ms, nanos: c.nanos };
        this.#atLast = c.count;
      }
    }
    let backoff = BACKOFF_MIN_MS;
    let idle = REOPEN_MS;
    while (!signal.aborted) {
      try {
        const got = await this.#follow(signal);
        this.lastError = undefined;
        backoff = BACKOFF_MIN_MS;
        const state = got ? 'running' : await this.#podState(signal);
        if (state === 'gone') {
          this.gone = true;
          this.#deps.onGone?.();
          return;
        }
        if (state === 'finished') {
          // Succeeded/Failed: its containers never run again and the whole log was read
          this.finished = true;
          return;
        }
        // a stream that gave nothing (an exited container) is reopened less and less often
        idle = got ? REOPEN_MS : Math.min(idle * 2, IDLE_MAX_MS);
        await sleep(idle, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof KubeApiError && err.status === 400 && /is waiting to start/.test(err.message)) {
          // between container restarts (ContainerCreating, CrashLoopBackOff): not a failure
          await sleep(idle, signal);
          idle = Math.min(idle * 2, IDLE_MAX_MS);
          continue;
        }
        if (err instanceof KubeApiError && err.status === 404 && (await this.#podState(signal).catch(() => 'running')) === 'gone') {
          this.gone = true;
          this.lastError = undefined;
          this.#deps.onGone?.();
          return;
        }
        const e = err instanceof Error ? err : new Error(String(err));
        this.lastError = e.message;
        this.#deps.onError(e);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }

  /** `gone`: no such pod, or another pod of the same name (uid changed); `finished`: phase Succeeded/Failed. */
  async #podState(signal: AbortSignal): Promise<'gone' | 'finished' | 'running'> {
    const t = this.target;
    try {
      const pod = await this.#deps.client().getJson<{ metadata?: { uid?: string }; status?: { phase?: string } }>(`/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}`, {}, signal);
      if (pod.metadata?.uid !== undefined && pod.metadata.uid !== t.uid) return 'gone';
      return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? 'finished' : 'running';
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return 'gone';
      throw err;
    }
  }

  /** Reads one log stream to its end; resolves whether any line was forwarded. */
  async #follow(signal: AbortSignal): Promise<boolean> {
    const t = this.target;
    const logPath = `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/log`;
    const stream = await this.#deps.client().stream(logPath, { follow: 'true', timestamps: 'true', container: t.container, sinceTime: this.#last ? sinceTimeOf(this.#last) : undefined }, signal);
    this.opens++;
    let forwarded = false;
    let buf = '';
    let resume = this.#last ? { ts: this.#last, count: this.#atLast } : undefined;
    let skipped = 0;
    try {
      stream.setEncoding('utf8');
      for await (const chunk of stream as AsyncIterable<string>) {
        buf += chunk;
        const nl = buf.lastIndexOf('\n');
        if (nl < 0) continue;
        const lines = buf.slice(0, nl).split('\n');
        buf = buf.slice(nl + 1);
        const batch: LogEntry[] = [];
        let last = this.#last;
        let atLast = this.#atLast;
        for (const raw of lines) {
          const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
          const sp = line.indexOf(' ');
          const ts = parseStamp(sp < 0 ? line : line.slice(0, sp));
          if (!ts) continue; // not a timestamped log line (the API always prefixes them with timestamps=true)
          if (resume) {
            // the reopened stream starts at the second of the last forwarded entry: skip what was sent
            if (!after(ts, resume.ts) && !(same(ts, resume.ts) && skipped >= resume.count)) {
              if (same(ts, resume.ts)) skipped++;
              continue;
            }
            resume = undefined;
          }
          if (last && same(ts, last)) atLast++;
          else atLast = 1;
          last = ts;
          batch.push({ labels: t.labels, line: sp < 0 ? '' : line.slice(sp + 1), timestampMs: ts.ms, timestampNanos: ts.nanos });
        }
        if (batch.length === 0) continue;
        await this.#deps.forward(batch);
        this.#last = last;
        this.#atLast = atLast;
        this.lines += batch.length;
        this.#deps.onAdvance?.({ ms: last!.ms, nanos: last!.nanos, count: atLast });
        forwarded = true;
      }
    } catch (err) {
      if (signal.aborted) return forwarded;
      // a dropped connection ends this stream; the caller reopens from the last timestamp
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as Error).message === 'aborted') return true;
      throw err;
    } finally {
      stream.destroy();
    }
    return forwarded;
  }
}

interface DroppedTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly error: string;
}

function optionalService<T>(opts: ComponentOptions<Exports>, name: ServiceName): T | undefined {
  try {
    return opts.getService<T>(name);
  } catch {
    return undefined;
  }
}

export class LokiSourceKubernetesComponent implements Component<Arguments>, HealthComponent, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  #args: Arguments;
  #client: KubeClient;
  #clientKey: string;
  readonly #tailers = new Map<string, LogTailer>();
  readonly #cluster: ClusterService | undefined;
  readonly #http: HttpService | undefined;
  /** Tailers told to stop whose last batch may still be in flight, per target key. */
  readonly #stopping = new Map<string, number>();
  /** Their stops, awaited at shutdown before positions are handed over. */
  readonly #stops = new Set<Promise<void>>();
  /** Containers whose final position a peer handed over (it shut down), with when. */
  readonly #handedOver = new Map<string, number>();
  /** Containers this node stopped tailing because another node owns them now, with when. */
  readonly #released = new Map<string, number>();
  /** Peer addresses in the membership (undefined) or when they left it. */
  readonly #peersSeen = new Map<string, number | undefined>();
  #running = false;
  #dropped: DroppedTarget[] = [];
  readonly #cursors: Cursors;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments, cursors: Cursors) {
    this.#opts = opts;
    this.#cursors = cursors;
    this.#args = args;
    this.#cluster = optionalService<ClusterService>(opts, 'cluster');
    this.#http = optionalService<HttpService>(opts, 'http');
    this.#clientKey = fingerprint(args.client);
    this.#client = LokiSourceKubernetesComponent.#newClient(args);
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<LokiSourceKubernetesComponent> {
    const { cursors, warning } = await Cursors.open(path.join(opts.dataPath, 'positions.yml'));
    if (warning) opts.logger.warn(`loki.source.kubernetes: ${warning}`);
    return new LokiSourceKubernetesComponent(opts, args, cursors);
  }

  static #newClient(a: Arguments): KubeClient {
    return new KubeClient(connectionOfBlock(a.client));
  }

  #forward = async (entries: readonly LogEntry[]): Promise<void> => {
    const rs = this.#args.forward_to;
    await Promise.all(rs.map((r) => r.append(entries)));
  };

  /** Starts tailers for owned targets, stops the others. */
  #sync(): void {
    if (!this.#running) return;
    const want = new Map<string, LogTarget>();
    const dropped: DroppedTarget[] = [];
    const sharded = this.#args.clustering.enabled && this.#cluster !== undefined && this.#cluster.enabled;
    for (const raw of this.#args.targets) {
      let t: LogTarget;
      try {
        t = prepareTarget(raw, this.#opts.id);
      } catch (err) {
        dropped.push({ labels: raw, error: (err as Error).message });
        continue;
      }
      if (sharded && !this.#cluster!.owns(clusterKey(raw))) continue;
      if (!want.has(t.key)) want.set(t.key, t);
    }
    if (dropped.length > this.#dropped.length) this.#opts.logger.warn(`loki.source.kubernetes: dropping ${dropped.length} target(s): ${dropped[0]!.error}`);
    this.#dropped = dropped;
    const now = Date.now();
    for (const [key, tailer] of this.#tailers) {
      const w = want.get(key);
      if (!w || !sameLabels(w.labels, tailer.target.labels)) {
        this.#tailers.delete(key);
        void this.#stopTailer(tailer);
        if (!w && sharded) this.#released.set(key, now);
      }
    }
    for (const [key, at] of this.#released) if (want.has(key) || at < now - RECENT_MS) this.#released.delete(key);
    if (sharded) this.#notePeers(now);
    for (const [key, t] of want) {
      if (this.#tailers.has(key)) continue;
      this.#tailers.set(
        key,
        new LogTailer(t, {
          client: () => this.#client,
          start: this.#cursors.get(key),
          ...(sharded ? { resolveStart: (signal: AbortSignal) => this.#handover(key, signal) } : {}),
          onAdvance: (c) => this.#cursors.set(key, c),
          onGone: () => this.#cursors.remove(key),
          forward: this.#forward,
          onError: (e) => this.#opts.logger.warn(`loki.source.kubernetes: ${key}: ${e.message}`),
        }),
      );
    }
  }

  /** Stops a tailer; until its last batch is forwarded, peers asking for its position wait. */
  #stopTailer(tailer: LogTailer): Promise<void> {
    const key = tailer.target.key;
    this.#stopping.set(key, (this.#stopping.get(key) ?? 0) + 1);
    const stopped = tailer.stop().finally(() => {
      this.#stops.delete(stopped);
      const n = (this.#stopping.get(key) ?? 1) - 1;
      if (n <= 0) this.#stopping.delete(key);
      else this.#stopping.set(key, n);
    });
    this.#stops.add(stopped);
    return stopped;
  }

  /** Where a container newly owned by this node resumes: the newest position of this node and its peers. */
  async #handover(key: string, signal: AbortSignal): Promise<Cursor | undefined> {
    if (this.#http === undefined) return this.#cursors.get(key);
    // Membership views converge within a few gossip rounds (and a starting node may not have
    // joined yet): a view missing the current owner would make this node read from the start;
    // tailers of targets it does not keep are stopped (aborting this wait) before they read.
    await sleep(HANDOVER_SETTLE_MS, signal);
    const peers = this.#peerAddrs();
    const departed = this.#departedPeers();
    if (signal.aborted || peers.length + departed.length === 0) return this.#cursors.get(key);
    const { cursor, from } = await resolveHandover({
      peers,
      departed,
      componentPath: this.#http.pathFor(this.#opts.id),
      key,
      local: () => this.#cursors.get(key),
      handedOver: () => this.#handedOver.has(key),
      signal,
      onPeerError: (err) => this.#opts.logger.warn(`loki.source.kubernetes: ${err.message}; lines of ${key} that peer forwarded may repeat`),
    });
    if (from !== undefined) this.#opts.logger.info(`loki.source.kubernetes: ${key}: resuming after the position of peer ${from}`);
    else if (this.#handedOver.has(key)) this.#opts.logger.info(`loki.source.kubernetes: ${key}: resuming after the position a leaving peer handed over`);
    return cursor;
  }

  #peerAddrs(): string[] {
    return (this.#cluster?.peers() ?? []).filter((p) => !p.isSelf && p.addr !== '').map((p) => p.addr);
  }

  /** Records which peers are in the membership and when the others left it. */
  #notePeers(now: number): void {
    const current = new Set(this.#peerAddrs());
    for (const addr of current) this.#peersSeen.set(addr, undefined);
    for (const [addr, leftAt] of this.#peersSeen) {
      if (current.has(addr)) continue;
      if (leftAt === undefined) this.#peersSeen.set(addr, now);
      else if (leftAt < now - RECENT_MS) this.#peersSeen.delete(addr);
    }
  }

  /** Peers that left the membership within `RECENT_MS`: a leaving collector may still hand over. */
  #departedPeers(): string[] {
    this.#notePeers(Date.now());
    return [...this.#peersSeen].filter(([, leftAt]) => leftAt !== undefined).map(([addr]) => addr);
  }

  /** A peer handed over its final position of `key`: keep it when it is further than ours. */
  #accept(key: string, c: Cursor): void {
    if (cursorAfter(c, this.#cursors.get(key))) this.#cursors.set(key, c);
    this.#handedOver.set(key, Date.now());
    // handovers of containers never tailed here are only needed for a short while
    const old = Date.now() - 60_000;
    for (const [k, at] of this.#handedOver) if (at < old) this.#handedOver.delete(k);
  }

  /** Shutting down with clustering: hands the final positions of `keys` to every peer. */
  async #handOverAll(keys: readonly string[]): Promise<void> {
    const peers = this.#peerAddrs();
    if (this.#http === undefined || peers.length === 0) return;
    const componentPath = this.#http.pathFor(this.#opts.id);
    const sends: Array<Promise<void>> = [];
    for (const key of keys) {
      const c = this.#cursors.get(key);
      if (c === undefined) continue;
      for (const p of peers) sends.push(handOverRetrying(p, componentPath, key, c, { timeoutMs: 1000, retryForMs: 2000, pauseMs: 250 }).catch((err: Error) => void this.#opts.logger.warn(`loki.source.kubernetes: ${err.message}; its next owner may repeat lines`)));
    }
    await Promise.all(sends);
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#running = true;
    const unmount = this.#http?.mount(this.#opts.id, (req, res, subpath) =>
      serveHandover(
        req,
        res,
        subpath,
        (key) => ({ cursor: this.#cursors.get(key), active: this.#tailers.has(key) || this.#stopping.has(key) }),
        (key, c) => this.#accept(key, c),
      ),
    );
    const unsubscribe = this.#cluster?.onChange?.(() => this.#sync());
    this.#sync();
    const flush = (): void => void this.#cursors.flush().catch((err: Error) => this.#opts.logger.warn(`loki.source.kubernetes: cannot write ${this.#cursors.file}: ${err.message}`));
    const timer = setInterval(flush, POSITIONS_SYNC_MS);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(timer);
    this.#running = false;
    unsubscribe?.();
    const all = [...this.#tailers.values()];
    this.#tailers.clear();
    for (const t of all) void this.#stopTailer(t);
    await Promise.all([...this.#stops]);
    const sharded = this.#args.clustering.enabled && this.#cluster !== undefined && this.#cluster.enabled;
    // Also the containers given away lately: their new owner may not have asked for them yet,
    // and once this node is gone it cannot.
    const recent = Date.now() - RECENT_MS;
    const released = [...this.#released].filter(([, at]) => at >= recent).map(([key]) => key);
    if (sharded) await this.#handOverAll([...new Set([...all.map((t) => t.target.key), ...released])]);
    unmount?.();
    this.#client.close();
    await this.#cursors.flush().catch((err: Error) => this.#opts.logger.warn(`loki.source.kubernetes: cannot write ${this.#cursors.file}: ${err.message}`));
  }

  update(args: Arguments): void {
    const key = fingerprint(args.client);
    this.#args = args;
    if (key !== this.#clientKey) {
      const old = this.#client;
      this.#client = LokiSourceKubernetesComponent.#newClient(args);
      this.#clientKey = key;
      // tailers read the client per request; stop them so their streams reopen on the new one
      const all = [...this.#tailers.values()];
      this.#tailers.clear();
      void Promise.all(all.map((t) => this.#stopTailer(t))).then(() => old.close());
    }
    this.#sync();
  }

  currentHealth(): Health {
    const now = new Date();
    const failing = [...this.#tailers.values()].filter((t) => t.lastError !== undefined);
    if (failing.length > 0) return { state: 'unhealthy', message: `${failing.length} of ${this.#tailers.size} container log(s) failing, e.g. ${failing[0]!.target.key}: ${failing[0]!.lastError}`, updatedAt: now };
    return { state: 'healthy', message: `tailing ${this.#tailers.size} container log(s)`, updatedAt: now };
  }

  debugInfo(): unknown {
    return {
      targets: [...this.#tailers.values()].map((t) => ({
        container: t.target.key,
        labels: Object.fromEntries(t.target.labels.map((l) => [l.name, l.value])),
        lines: t.lines,
        reconnects: Math.max(0, t.opens - 1),
        ...(t.gone ? { state: 'pod gone' } : t.finished ? { state: 'pod finished' } : {}),
        ...(t.lastError ? { error: t.lastError } : {}),
      })),
      dropped: this.#dropped,
    };
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  return a.length === b.length && a.every((l, i) => l.name === b[i]!.name && l.value === b[i]!.value);
}


export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'loki.source.kubernetes',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: [],
  build: (opts, args) => LokiSourceKubernetesComponent.create(opts, args),
};
