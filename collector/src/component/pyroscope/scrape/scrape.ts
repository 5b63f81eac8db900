/**
 * `pyroscope.scrape`: pulls pprof profiles from targets (one loop per target and enabled profile
 * type, see `target.ts`) every `scrape_interval` and appends each to every `forward_to` receiver
 * with the target's labels. Arguments, defaults and checks follow Alloy's component.
 *
 * Contracts:
 * - A scrape succeeds when the target answered 2xx with a valid pprof body (checked, bounded)
 *   and every receiver accepted it; otherwise the target is `down` with the error, in
 *   `debugInfo()` (the UI/API) — other targets are unaffected. The component stays healthy.
 * - Delta types (`process_cpu`, `fgprof` by default) are fetched with `seconds=` (the profile is
 *   collected over that window on the target) and their timeout grows by `scrape_interval - 1s`.
 * - Cumulative types scraped without `seconds=` (memory, mutex, block; not godeltaprof) are sent
 *   as deltas from the target's previous profile with `__delta__="false"`, as upstream; the first
 *   scrape of such a target only primes the state (target `up`, nothing forwarded).
 * - `update` keeps the loops of unchanged targets; stopping waits for running scrapes to end.
 */
import { z } from 'zod';
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, ServiceName } from '../../../runtime/component.js';
import type { ClusterService, HttpService } from '../../../runtime/services.js';
import { block, capsule, duration, labelledBlocks } from '../../../syntax/vm/schema.js';
import { formatDuration } from '../../../syntax/vm/schema.js';
import { checkHttpClientConfig, clientSettings, httpClientConfigFields } from '../../common/http-client-config.js';
import { clusterKey, USER_AGENT } from '../../prometheus/scrape/scrape.js';
import { ScrapeClientSlot, ScrapeHttpClient } from '../../prometheus/scrape/http-client.js';
import { CUMULATIVE_TYPES, DeltaComputer } from '../../../pyroscope/delta.js';
import { checkPprofPayload } from '../../../pyroscope/formats.js';
import { isProfilesReceiver, type ProfilesReceiver } from '../../../pyroscope/types.js';
import { buildTargets, type ProfileTarget, type ProfileTypeConfig } from './target.js';

/** Largest profile body accepted from a target, and the size it may decompress to. */
export const MAX_PROFILE_BYTES = 64 * 1024 * 1024;
const DEFAULT_DELTA_DURATION = 14_000;

const profileBlock = (path: string, enabled: boolean, delta: boolean) =>
  block(z.object({ enabled: z.boolean().default(enabled), path: z.string().default(path), delta: z.boolean().default(delta) }).strict()).prefault({});
const godeltaBlock = (path: string) => block(z.object({ enabled: z.boolean().default(false), path: z.string().default(path) }).strict()).prefault({});

const profilingConfigSchema = z
  .object({
    path_prefix: z.string().default(''),
    'profile.memory': profileBlock('/debug/pprof/allocs', true, false),
    'profile.block': profileBlock('/debug/pprof/block', true, false),
    'profile.goroutine': profileBlock('/debug/pprof/goroutine', true, false),
    'profile.mutex': profileBlock('/debug/pprof/mutex', true, false),
    'profile.process_cpu': profileBlock('/debug/pprof/profile', true, true),
    'profile.fgprof': profileBlock('/debug/fgprof', false, true),
    'profile.godeltaprof_memory': godeltaBlock('/debug/pprof/delta_heap'),
    'profile.godeltaprof_mutex': godeltaBlock('/debug/pprof/delta_mutex'),
    'profile.godeltaprof_block': godeltaBlock('/debug/pprof/delta_block'),
    'profile.custom': labelledBlocks(z.object({ enabled: z.boolean(), path: z.string(), delta: z.boolean().default(false) }).strict()).default([]),
  })
  .strict();

export const argumentsSchema = z
  .object({
    targets: z.array(z.record(z.string(), z.string())),
    forward_to: z.array(capsule<ProfilesReceiver>('ProfilesReceiver', isProfilesReceiver)),
    job_name: z.string().optional(),
    params: z.record(z.string(), z.array(z.string())).default({}),
    scrape_interval: duration().default(15_000),
    scrape_timeout: duration().default(10_000),
    scheme: z.enum(['http', 'https']).default('http'),
    delta_profiling_duration: duration().default(DEFAULT_DELTA_DURATION),
    ...httpClientConfigFields,
    profiling_config: block(profilingConfigSchema).prefault({}),
    clustering: block(z.object({ enabled: z.boolean().default(false) }).strict()).default({ enabled: false }),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.scrape_timeout <= 0) ctx.addIssue({ code: 'custom', path: ['scrape_timeout'], message: 'scrape_timeout must be greater than 0' });
    // Delta profiles ask for `seconds = scrape_interval - 1s`, which must be at least 1.
    if (a.scrape_interval < 2000) ctx.addIssue({ code: 'custom', path: ['scrape_interval'], message: `scrape_interval must be at least 2 seconds (got ${formatDuration(a.scrape_interval)})` });
    if (a.delta_profiling_duration <= 1000) ctx.addIssue({ code: 'custom', path: ['delta_profiling_duration'], message: 'delta_profiling_duration must be larger than 1 second' });
    if (a.delta_profiling_duration !== DEFAULT_DELTA_DURATION && a.delta_profiling_duration >= a.scrape_interval) {
      ctx.addIssue({ code: 'custom', path: ['delta_profiling_duration'], message: `delta_profiling_duration (${formatDuration(a.delta_profiling_duration)}) must be smaller than scrape_interval (${formatDuration(a.scrape_interval)})` });
    }
    const seen = new Set<string>();
    for (const c of a.profiling_config['profile.custom']) {
      if (seen.has(c.label)) ctx.addIssue({ code: 'custom', path: ['profiling_config', 'profile.custom'], message: `profile.custom "${c.label}" is defined twice; labels must be unique` });
      seen.add(c.label);
    }
    checkHttpClientConfig(a, ctx);
  });

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;

export interface ProfileTargetStatus {
  readonly job: string;
  readonly url: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly labels: Record<string, string>;
  readonly discovered_labels: Readonly<Record<string, string>>;
  readonly last_error: string;
  readonly last_scrape: string | null;
  readonly last_scrape_duration: string;
}

function profileTypes(a: Arguments): Array<readonly [string, ProfileTypeConfig]> {
  const p = a.profiling_config;
  const out: Array<readonly [string, ProfileTypeConfig]> = [];
  for (const [key, v] of Object.entries(p)) {
    if (!key.startsWith('profile.') || key === 'profile.custom') continue;
    const b = v as { enabled: boolean; path: string; delta?: boolean };
    out.push([key.slice('profile.'.length), { enabled: b.enabled, path: b.path, delta: b.delta ?? false }]);
  }
  for (const c of p['profile.custom']) out.push([c.label, { enabled: c.body.enabled, path: c.body.path, delta: c.body.delta }]);
  return out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

interface LoopDeps {
  readonly client: () => ScrapeHttpClient;
  readonly receivers: () => readonly ProfilesReceiver[];
  readonly logger: Logger;
}

class ProfileLoop {
  target: ProfileTarget;
  #intervalMs: number;
  #timeoutMs: number;
  readonly #deps: LoopDeps;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #health: 'up' | 'down' | 'unknown' = 'unknown';
  #lastError = '';
  #lastScrape: Date | undefined;
  #lastDuration = 0;
  readonly #delta: DeltaComputer | undefined;

  constructor(target: ProfileTarget, intervalMs: number, timeoutMs: number, deps: LoopDeps) {
    this.target = target;
    this.#delta = target.cumulative ? new DeltaComputer(CUMULATIVE_TYPES[target.profileType]!) : undefined;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
    this.#deps = deps;
  }

  setTiming(intervalMs: number, timeoutMs: number): void {
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
  }

  start(offsetMs: number): void {
    const tick = (): void => {
      if (this.#stop.signal.aborted) return;
      this.#running = this.#scrape().finally(() => {
        if (!this.#stop.signal.aborted) this.#timer = setTimeout(tick, Math.max(0, this.#intervalMs - this.#lastDuration));
      });
    };
    this.#timer = setTimeout(tick, offsetMs);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #scrape(): Promise<void> {
    const start = Date.now();
    const t = this.target;
    try {
      // A `seconds=` profile takes that long to collect on the target.
      const timeoutMs = this.#timeoutMs + (t.url.searchParams.has('seconds') ? this.#intervalMs - 1000 : 0);
      const res = await this.#deps.client().fetch({ url: t.url, headers: { 'User-Agent': USER_AGENT }, timeoutMs, bodySizeLimit: MAX_PROFILE_BYTES, signal: this.#stop.signal });
      if (res.status < 200 || res.status >= 300) {
        const text = res.body.subarray(0, 512).toString('utf8').trim();
        throw new Error(`server returned HTTP status (${res.status}) ${text}`);
      }
      if (res.body.length === 0) throw new Error(`empty ${t.profileType} profile`);
      try {
        checkPprofPayload(res.body, MAX_PROFILE_BYTES, `${t.profileType} profile`);
      } catch (err: unknown) {
        throw new Error(`invalid profile data: ${err instanceof Error ? err.message : String(err)}`);
      }
      let profile: Uint8Array | undefined = res.body;
      if (this.#delta) {
        try {
          profile = this.#delta.delta(res.body, MAX_PROFILE_BYTES);
        } catch (err: unknown) {
          throw new Error(`computing the delta profile: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      const receivers = this.#deps.receivers();
      if (profile) await Promise.all(receivers.map((r) => r.append(t.labels, [{ rawProfile: profile }], this.#stop.signal)));
      this.#health = 'up';
      this.#lastError = '';
    } catch (err: unknown) {
      if (this.#stop.signal.aborted) return;
      this.#health = 'down';
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#deps.logger.warn('pyroscope.scrape: scrape failed', { url: t.url.href, error: this.#lastError });
    } finally {
      this.#lastScrape = new Date(start);
      this.#lastDuration = Date.now() - start;
    }
  }

  status(): ProfileTargetStatus {
    return {
      job: this.target.labels.find((l) => l.name === 'job')?.value ?? '',
      url: this.target.url.href,
      health: this.#health,
      labels: Object.fromEntries(this.target.labels.filter((l) => !l.name.startsWith('__')).map((l) => [l.name, l.value])),
      discovered_labels: this.target.discovered,
      last_error: this.#lastError,
      last_scrape: this.#lastScrape ? this.#lastScrape.toISOString() : null,
      last_scrape_duration: formatDuration(this.#lastDuration),
    };
  }
}

function optionalService<T>(opts: ComponentOptions<Exports>, name: ServiceName): T | undefined {
  try {
    return opts.getService<T>(name);
  } catch {
    return undefined;
  }
}

/** Stable per-target slot within the interval (FNV-1a of the key). */
function offsetOf(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  const base = intervalMs - (Date.now() % intervalMs);
  return (base + (h % intervalMs)) % intervalMs;
}

export class PyroscopeScrapeComponent implements Component<Arguments>, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  #args!: Arguments;
  readonly #loops = new Map<string, ProfileLoop>();
  #dropped: Array<{ labels: Readonly<Record<string, string>>; error: string }> = [];
  #running = false;
  #sync: Promise<void> = Promise.resolve();
  readonly #clients: ScrapeClientSlot;
  readonly #cluster: ClusterService | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    const http = optionalService<HttpService>(opts, 'http');
    this.#clients = new ScrapeClientSlot(http ? (hostPort) => http.dialAddress(hostPort) : undefined);
    this.#cluster = optionalService<ClusterService>(opts, 'cluster');
    this.#apply(args);
  }

  /** @throws Error when HTTP settings are unusable (unreadable TLS files, bad proxy URL). */
  #apply(args: Arguments): void {
    this.#clients.apply(clientSettings(args));
    this.#args = args;
  }

  update(args: Arguments): void {
    this.#apply(args);
    if (this.#running) this.#queueSync();
  }

  #queueSync(): void {
    this.#sync = this.#sync.then(() => this.#syncTargets()).catch((err: unknown) => {
      this.#opts.logger.error('pyroscope.scrape: syncing targets failed', { error: String(err) });
    });
  }

  async #syncTargets(): Promise<void> {
    const a = this.#args;
    const sharded = a.clustering.enabled && this.#cluster !== undefined && this.#cluster.enabled;
    const discovered = sharded ? a.targets.filter((t) => this.#cluster!.owns(clusterKey(t))) : a.targets;
    const deltaSeconds = a.delta_profiling_duration !== DEFAULT_DELTA_DURATION ? Math.floor(a.delta_profiling_duration / 1000) : Math.floor(a.scrape_interval / 1000) - 1;
    const { targets, dropped } = buildTargets(discovered, {
      jobName: a.job_name ?? this.#opts.id,
      scheme: a.scheme,
      params: a.params,
      pathPrefix: a.profiling_config.path_prefix,
      intervalMs: a.scrape_interval,
      deltaSeconds,
      types: profileTypes(a),
    });
    this.#dropped = dropped;
    const wanted = new Map(targets.map((t) => [t.key, t]));
    const stops: Promise<void>[] = [];
    for (const [key, loop] of this.#loops) {
      const t = wanted.get(key);
      if (!t) {
        this.#loops.delete(key);
        stops.push(loop.stop());
      } else {
        loop.target = t;
        loop.setTiming(a.scrape_interval, a.scrape_timeout);
      }
    }
    for (const [key, t] of wanted) {
      if (this.#loops.has(key)) continue;
      const loop = new ProfileLoop(t, a.scrape_interval, a.scrape_timeout, { client: () => this.#clients.client, receivers: () => this.#args.forward_to, logger: this.#opts.logger });
      this.#loops.set(key, loop);
      loop.start(offsetOf(key, a.scrape_interval));
    }
    this.#opts.setHealth('healthy', `scraping ${this.#loops.size} profile targets`);
    await Promise.all(stops);
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#running = true;
    const unsubscribe = this.#cluster?.onChange?.(() => {
      if (this.#running && this.#args.clustering.enabled) this.#queueSync();
    });
    this.#queueSync();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.#running = false;
    unsubscribe?.();
    await this.#sync;
    const loops = [...this.#loops.values()];
    this.#loops.clear();
    await Promise.all(loops.map((l) => l.stop()));
    this.#clients.close();
  }

  debugInfo(): { target: ProfileTargetStatus[]; dropped_targets: PyroscopeScrapeComponent['droppedTargets']; clustering_enabled: boolean } {
    return { target: [...this.#loops.values()].map((l) => l.status()), dropped_targets: this.droppedTargets, clustering_enabled: this.#args.clustering.enabled };
  }

  get droppedTargets(): ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly error: string }> {
    return this.#dropped;
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'pyroscope.scrape',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: [],
  build: (opts, args) => new PyroscopeScrapeComponent(opts, args),
};
