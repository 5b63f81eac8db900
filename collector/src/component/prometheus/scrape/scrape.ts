/**
 * `prometheus.scrape`: scrapes Prometheus/OpenMetrics targets and forwards the samples to
 * `forward_to` receivers. Arguments, defaults and validation follow Alloy's component. Contracts:
 * - Loops start in `run`; `update` with changed `targets` keeps the loops of unchanged targets
 *   (their series caches and staleness state survive); removed targets get staleness markers.
 * - The component stays healthy when targets fail; per-target state is in `debugInfo()`.
 * - Stopping the component writes staleness markers for every series of every target.
 * Files here: `target.ts` (label population, relabel_configs, URL, offset), `http-client.ts`,
 * `scrape-loop.ts` (one target; metric_relabel_configs), `scrape-pool.ts` (the loops of one job,
 * shared with the `prometheus.operator.*` components).
 */
import os from 'node:os';
import { z } from 'zod';
import { Counter, Gauge } from 'prom-client';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, ServiceName } from '../../../runtime/component.js';
import type { ClusterService, HttpService } from '../../../runtime/services.js';
import type { MetricsReceiver, SampleBatch } from '../../../prom/types.js';
import { hashLabels, labelsFromStrings } from '../../../prom/labels/labels.js';
import { acceptHeader, SCRAPE_PROTOCOLS, type ExpositionFormat, type ScrapeProtocol } from '../../../prom/textparse/textparse.js';
import { formatDuration } from '../../../syntax/vm/schema.js';
import { block, capsule, duration } from './schema-helpers.js';
import { checkHttpClientConfig, clientSettings, httpClientConfigFields } from '../../common/http-client-config.js';
import type { LoopConfig, ScrapeCounters, TargetStatus } from './scrape-loop.js';
import { ScrapePool, type DroppedTarget } from './scrape-pool.js';
import type { LiveDebuggingService } from '../../../runtime/live-debugging.js';
import { sampleLines } from '../../../prom/live-text.js';

export const USER_AGENT = 'Alloy/v1.15.0 (alloy-ts)';

/** Alloy spells protocols with dots (`OpenMetricsText1.0.0`); internal keys use underscores. */
const PROTOCOL_NAMES = SCRAPE_PROTOCOLS.map((p) => p.replace(/_/g, '.'));
const protocolName = z.string().refine((s) => PROTOCOL_NAMES.includes(s), {
  error: (iss) => `unknown scrape protocol ${JSON.stringify(iss.input)}; valid values are ${PROTOCOL_NAMES.join(', ')}`,
});

const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, KiB: 1024, MB: 1024 ** 2, MiB: 1024 ** 2, GB: 1024 ** 3, GiB: 1024 ** 3, TB: 1024 ** 4, TiB: 1024 ** 4 };
/** `units.Base2Bytes` as Alloy decodes `body_size_limit`: `"10MB"`, `"512KiB"`, or a number of bytes. */
const byteSize = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(v)}: use a byte count or units such as "10MB" or "512KiB"` });
    return z.NEVER;
  }
  return Math.floor(Number(m[1]) * BYTE_UNITS[m[2] ?? 'B']!);
});

export const argumentsSchema = z
  .object({
    targets: z.array(z.record(z.string(), z.string())),
    forward_to: z.array(capsule<MetricsReceiver>('MetricsReceiver', (v) => typeof (v as MetricsReceiver).append === 'function')),
    job_name: z.string().optional(),
    extra_metrics: z.boolean().default(false),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    track_timestamps_staleness: z.boolean().default(false),
    params: z.record(z.string(), z.array(z.string())).default({}),
    scrape_classic_histograms: z.boolean().default(false),
    scrape_native_histograms: z.boolean().default(false),
    native_histogram_bucket_limit: z.number().int().nonnegative().default(0),
    native_histogram_min_bucket_factor: z.number().nonnegative().default(0),
    convert_classic_histograms_to_nhcb: z.boolean().default(false),
    enable_protobuf_negotiation: z.boolean().default(false),
    scrape_protocols: z.array(protocolName).optional(),
    scrape_fallback_protocol: protocolName.default('PrometheusText0.0.4'),
    scrape_failure_log_file: z.string().optional(),
    honor_metadata: z.boolean().default(false),
    scrape_interval: duration().default(60_000),
    scrape_timeout: duration().default(10_000),
    metrics_path: z.string().default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    body_size_limit: byteSize.default(0),
    sample_limit: z.number().int().nonnegative().default(0),
    target_limit: z.number().int().nonnegative().default(0),
    label_limit: z.number().int().nonnegative().default(0),
    label_name_length_limit: z.number().int().nonnegative().default(0),
    label_value_length_limit: z.number().int().nonnegative().default(0),
    enable_compression: z.boolean().default(true),
    metric_name_validation_scheme: z.enum(['legacy', 'utf8']).default('legacy'),
    metric_name_escaping_scheme: z.enum(['underscores', 'dots', 'values', 'allow-utf-8']).optional(),
    ...httpClientConfigFields,
    clustering: block(z.object({ enabled: z.boolean().default(false) }).strict()).default({ enabled: false }),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.scrape_timeout > a.scrape_interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['scrape_timeout'],
        message: `scrape_timeout (${formatDuration(a.scrape_timeout)}) greater than scrape_interval (${formatDuration(a.scrape_interval)}) for scrape config with job name ${JSON.stringify(a.job_name ?? '')}; lower scrape_timeout or raise scrape_interval`,
      });
    }
    if (a.enable_protobuf_negotiation && a.scrape_protocols !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'both enable_protobuf_negotiation and scrape_protocols are set, only one can be set at a time' });
    }
    if (a.scrape_native_histograms && a.scrape_protocols !== undefined && !a.scrape_protocols.includes('PrometheusProto')) {
      ctx.addIssue({ code: 'custom', path: ['scrape_protocols'], message: 'scrape_native_histograms is set to true, but PrometheusProto is not in scrape_protocols' });
    }
    const seen = new Set<string>();
    for (const p of a.scrape_protocols ?? []) {
      if (seen.has(p)) ctx.addIssue({ code: 'custom', path: ['scrape_protocols'], message: `duplicate scrape protocol ${JSON.stringify(p)}: make sure the scrape protocols provided are unique` });
      seen.add(p);
    }
    if (a.metric_name_escaping_scheme === 'allow-utf-8' && a.metric_name_validation_scheme !== 'utf8') {
      ctx.addIssue({ code: 'custom', path: ['metric_name_escaping_scheme'], message: "metric_name_escaping_scheme cannot be set to 'allow-utf-8' while metric_name_validation_scheme is not set to 'utf8'" });
    }
    if (a.scrape_interval <= 0) ctx.addIssue({ code: 'custom', path: ['scrape_interval'], message: 'scrape_interval must be greater than 0' });
    if (a.scrape_timeout <= 0) ctx.addIssue({ code: 'custom', path: ['scrape_timeout'], message: 'scrape_timeout must be greater than 0' });
    checkHttpClientConfig(a, ctx);
  });

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;

export interface ScrapeDebugInfo {
  /** Alloy names this block `target` (one entry per active target). */
  readonly target: readonly TargetStatus[];
  readonly dropped_targets: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly error: string }>;
  readonly clustering_enabled: boolean;
}

function optionalService<T>(opts: ComponentOptions<Exports>, name: ServiceName): T | undefined {
  try {
    return opts.getService<T>(name);
  } catch {
    return undefined;
  }
}

/** Cluster ownership key of a target: its labels without `__meta_*`, sorted (as Alloy's non-meta label hash). */
export function clusterKey(t: Readonly<Record<string, string>>): string {
  return Object.keys(t)
    .filter((k) => !k.startsWith('__meta_'))
    .sort()
    .map((k) => `${k}=${t[k]}`)
    .join(',');
}

/** Prometheus's default `scrape_protocols`, and the list with the protobuf format first (native histograms). */
export const DEFAULT_SCRAPE_PROTOCOLS: readonly string[] = ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'];
export const PROTO_FIRST_SCRAPE_PROTOCOLS: readonly string[] = ['PrometheusProto', ...DEFAULT_SCRAPE_PROTOCOLS];

/**
 * The Accept header for `scrape_protocols` (Alloy spelling, e.g. `OpenMetricsText1.0.0`). The
 * protobuf format is not parsed here: `PrometheusProto` is left out, with a warning.
 */
export function acceptFor(protocols: readonly string[], escaping: string, warn: (msg: string) => void): string {
  let keys = protocols.map((p) => p.replace(/\./g, '_') as ScrapeProtocol);
  if (keys.includes('PrometheusProto')) {
    warn('the protobuf exposition format is not supported; PrometheusProto is left out of content negotiation');
    keys = keys.filter((p) => p !== 'PrometheusProto');
  }
  return acceptHeader(keys, escaping as Parameters<typeof acceptHeader>[1]);
}

export function fallbackFormat(p: string): ExpositionFormat {
  return p.startsWith('OpenMetrics') ? 'openmetrics' : 'prometheus';
}

export class ScrapeComponent implements Component<Arguments>, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #publish: ((batch: SampleBatch) => void) | undefined;
  #args!: Arguments;
  readonly #pool: ScrapePool;
  #dropped: readonly DroppedTarget[] = [];
  #running = false;
  readonly #seed: number;
  readonly #targetsGauge: Gauge;
  #sync: Promise<void> = Promise.resolve();
  readonly #cluster: ClusterService | undefined;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    const live = optionalService<LiveDebuggingService>(opts, 'livedebugging');
    this.#publish = live ? (batch) => live.publish(opts.id, () => sampleLines(batch)) : undefined;
    this.#seed = hashLabels(labelsFromStrings('hostname', os.hostname(), 'component', opts.id));
    const http = optionalService<HttpService>(opts, 'http');
    this.#cluster = optionalService<ClusterService>(opts, 'cluster');
    this.#targetsGauge = new Gauge({ name: 'prometheus_scrape_targets_gauge', help: 'Number of targets this component is configured to scrape', registers: [opts.registry] });
    const registers = [opts.registry];
    const sampleLimit = new Counter({ name: 'prometheus_target_scrapes_exceeded_sample_limit_total', help: 'Total number of scrapes that hit the sample limit and were rejected.', registers });
    const bodyLimit = new Counter({ name: 'prometheus_target_scrapes_exceeded_body_size_limit_total', help: 'Total number of scrapes that hit the body size limit', registers });
    const duplicates = new Counter({ name: 'prometheus_target_scrapes_sample_duplicate_timestamp_total', help: 'Total number of samples rejected due to duplicate timestamps but different values.', registers });
    const counters: ScrapeCounters = { exceededSampleLimit: () => sampleLimit.inc(), exceededBodySizeLimit: () => bodyLimit.inc(), duplicateTimestamp: (n) => duplicates.inc(n) };
    this.#pool = new ScrapePool({ receivers: () => this.#args.forward_to, publish: this.#publish, logger: opts.logger, counters, seed: this.#seed, dial: http ? (hostPort) => http.dialAddress(hostPort) : undefined });
    this.#apply(args);
  }

  /** @throws Error when HTTP settings are unusable (unreadable TLS files, bad proxy URL). */
  #apply(args: Arguments): void {
    const protocols = args.scrape_protocols ?? (args.scrape_native_histograms || args.enable_protobuf_negotiation ? PROTO_FIRST_SCRAPE_PROTOCOLS : DEFAULT_SCRAPE_PROTOCOLS);
    const loop: LoopConfig = {
      jobName: args.job_name ?? this.#opts.id,
      honorLabels: args.honor_labels,
      honorTimestamps: args.honor_timestamps,
      trackTimestampsStaleness: args.track_timestamps_staleness,
      sampleLimit: args.sample_limit,
      labelLimit: args.label_limit,
      labelNameLengthLimit: args.label_name_length_limit,
      labelValueLengthLimit: args.label_value_length_limit,
      bodySizeLimit: args.body_size_limit,
      enableCompression: args.enable_compression,
      extraMetrics: args.extra_metrics,
      accept: acceptFor(protocols, args.metric_name_escaping_scheme ?? (args.metric_name_validation_scheme === 'utf8' ? 'allow-utf-8' : 'underscores'), (m) => this.#opts.logger.warn(m, { component: this.#opts.id })),
      fallbackFormat: fallbackFormat(args.scrape_fallback_protocol),
      userAgent: USER_AGENT,
      failureLogFile: args.scrape_failure_log_file,
    };
    const defaults = { jobName: loop.jobName, scheme: args.scheme, metricsPath: args.metrics_path, intervalMs: args.scrape_interval, timeoutMs: args.scrape_timeout, params: args.params };
    this.#pool.configure({ loop, defaults, targetLimit: args.target_limit, http: clientSettings(args) });
    this.#args = args;
  }

  update(args: Arguments): void {
    this.#apply(args);
    if (this.#running) this.#queueSync();
  }

  #queueSync(): void {
    this.#sync = this.#sync.then(() => this.#syncTargets()).catch((err: unknown) => {
      this.#opts.logger.error('syncing scrape targets failed', { component: this.#opts.id, error: String(err) });
    });
  }

  async #syncTargets(): Promise<void> {
    const a = this.#args;
    const sharded = a.clustering.enabled && this.#cluster !== undefined && this.#cluster.enabled;
    const res = await this.#pool.sync(a.targets, sharded ? (t) => this.#cluster!.owns(clusterKey(t)) : undefined);
    if (res.error !== undefined) this.#opts.setHealth('unhealthy', res.error);
    else this.#opts.setHealth('healthy', 'started scrape loops');
    this.#dropped = res.dropped;
    this.#targetsGauge.set(this.#pool.size);
  }

  /** Re-evaluates which targets this node owns; the clustering service calls it when peers change. */
  clusterChanged(): void {
    if (this.#running && this.#args.clustering.enabled) this.#queueSync();
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#running = true;
    const unsubscribe = this.#cluster?.onChange?.(() => this.clusterChanged());
    this.#queueSync();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.#running = false;
    unsubscribe?.();
    await this.#sync;
    await this.#pool.stop();
  }

  debugInfo(): ScrapeDebugInfo {
    return {
      target: this.#pool.statuses(),
      dropped_targets: this.#dropped,
      clustering_enabled: this.#args.clustering.enabled,
    };
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'prometheus.scrape',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: [],
  build: (opts, args) => new ScrapeComponent(opts, args),
};
