/**
 * `prometheus.remote_write`: exports a `receiver`; every batch appended to it is written to this
 * component's WAL (`<dataPath>/wal`) and `append` resolves once it is fsync'ed. One queue per
 * `endpoint` block ships the WAL to its URL with the remote-write 1.0 protocol.
 *
 * Contracts:
 * - The receiver is published before `build` returns and never changes identity.
 * - `update` keeps the WAL; only endpoints whose settings changed are restarted (a restarted
 *   endpoint resumes from its delivery marker), removed endpoints release their WAL segments.
 * - The WAL is truncated every `wal.truncate_frequency`; health turns unhealthy when the WAL
 *   cannot be written or an endpoint has failed for longer than 5 minutes with data pending.
 * - `metadata_config` and `send_native_histograms` are accepted for config compatibility, but the
 *   pipeline's `SampleBatch` carries neither metric metadata nor native histograms, so none are sent.
 * - sigv4, azuread and oauth2 blocks are rejected with an error naming the supported auth options.
 */
import { join } from 'node:path';
import type { Logger } from 'winston';
import type {
  Component,
  ComponentDefinition,
  ComponentOptions,
  DebugComponent,
  Health,
  HealthComponent,
} from '../../../runtime/component.js';
import type { MetricsReceiver, SampleBatch } from '../../../prom/types.js';
import { Wal } from '../../../prom/wal/wal.js';
import { RemoteWriteClient } from '../../../prom/remotewrite/client.js';
import { RemoteWriteMetrics } from '../../../prom/remotewrite/metrics.js';
import { QueueManager, type Clock, systemClock } from '../../../prom/remotewrite/queue-manager.js';
import { redactUrl } from '../../../logging/redact.js';
import { argumentsSchema, externalLabels, planEndpoints, type Arguments, type EndpointPlan } from './arguments.js';
import { asCapsule } from '../../../syntax/vm/value.js';
import { withIsoTimes } from '../../common/debug-times.js';
import { optionalService, type LiveDebuggingService } from '../../../runtime/live-debugging.js';
import { sampleLines } from '../../../prom/live-text.js';

export type { Arguments } from './arguments.js';

export interface Exports {
  readonly receiver: MetricsReceiver;
}

interface RunningEndpoint {
  readonly plan: EndpointPlan;
  readonly queue: QueueManager;
}

const FAILING_FOR_MS = 5 * 60_000;

export class RemoteWriteComponent implements Component<Arguments>, HealthComponent, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #log: Logger;
  readonly #wal: Wal;
  readonly #metrics: RemoteWriteMetrics;
  readonly #clock: Clock;
  #args: Arguments;
  #endpoints = new Map<string, RunningEndpoint>();
  #highest = 0;
  #walError: string | undefined;
  #updating: Promise<void> = Promise.resolve();
  #truncateTimer: NodeJS.Timeout | undefined;
  readonly #live: LiveDebuggingService | undefined;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments, wal: Wal, clock: Clock) {
    this.#opts = opts;
    this.#live = optionalService((n) => opts.getService<LiveDebuggingService>(n));
    this.#log = opts.logger;
    this.#args = args;
    this.#wal = wal;
    this.#clock = clock;
    this.#metrics = new RemoteWriteMetrics(opts.registry);
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments, clock: Clock = systemClock): Promise<RemoteWriteComponent> {
    const plans = planEndpoints(args);
    const wal = await Wal.open({ dir: join(opts.dataPath, 'wal'), logger: opts.logger, registry: opts.registry });
    const c = new RemoteWriteComponent(opts, args, wal, clock);
    const receiver = asCapsule<MetricsReceiver>({ append: (batch) => c.#append(batch) }, 'MetricsReceiver');
    opts.onStateChange({ receiver });
    await c.#apply(plans);
    return c;
  }

  async #append(batch: SampleBatch): Promise<void> {
    this.#live?.publish(this.#opts.id, () => sampleLines(batch));
    const ts = batch.timestamps;
    let hi = this.#highest;
    for (let i = 0; i < batch.length; i++) if (ts[i]! > hi) hi = ts[i]!;
    if (hi > this.#highest) {
      this.#highest = hi;
      this.#metrics.highestTimestamp.set(hi / 1000);
    }
    try {
      await this.#wal.append(batch);
      if (this.#walError !== undefined) {
        this.#walError = undefined;
        this.#opts.setHealth('healthy', 'writing the WAL works again');
      }
    } catch (err: unknown) {
      this.#walError = err instanceof Error ? err.message : String(err);
      this.#opts.setHealth('unhealthy', `writing the WAL failed: ${this.#walError}`);
      throw err;
    }
  }

  async #apply(plans: EndpointPlan[]): Promise<void> {
    const next = new Map<string, RunningEndpoint>();
    const wanted = new Map(plans.map((p) => [p.markerName, p]));
    for (const [name, ep] of this.#endpoints) {
      const p = wanted.get(name);
      if (p && p.fingerprint === ep.plan.fingerprint) {
        next.set(name, ep);
      } else {
        await ep.queue.stop(!p);
        this.#log.info(`remote_write: ${p ? 'restarting changed' : 'removed'} endpoint ${ep.plan.remoteName}`, { url: redactUrl(ep.plan.url) });
      }
    }
    const ext = externalLabels(this.#args);
    for (const p of plans) {
      if (next.has(p.markerName)) continue;
      const queue = new QueueManager({
        name: p.remoteName,
        // Shown in metric labels, status and logs: credentials removed.
        url: redactUrl(p.url),
        markerName: p.markerName,
        wal: this.#wal,
        queue: p.queue,
        sender: new RemoteWriteClient(p.client),
        externalLabels: ext,
        writeRelabel: p.writeRelabel,
        sendExemplars: p.sendExemplars,
        logger: this.#log,
        metrics: this.#metrics,
        clock: this.#clock,
      });
      await queue.start();
      next.set(p.markerName, { plan: p, queue });
    }
    this.#endpoints = next;
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#scheduleTruncate();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (this.#truncateTimer) clearTimeout(this.#truncateTimer);
    await this.#updating.catch(() => undefined);
    for (const ep of this.#endpoints.values()) await ep.queue.stop(false);
    await this.#wal.close();
  }

  #scheduleTruncate(): void {
    const every = this.#args.wal.truncate_frequency;
    this.#truncateTimer = setTimeout(() => {
      const w = this.#args.wal;
      this.#wal
        .truncate({ minKeepaliveMs: w.min_keepalive_time, maxKeepaliveMs: w.max_keepalive_time })
        .then((r) => {
          if (r.deletedSegments > 0) this.#log.debug('remote_write: WAL truncated', { ...r });
        })
        .catch((err: unknown) => this.#log.warn('remote_write: WAL truncation failed', { err: String(err) }))
        .finally(() => this.#scheduleTruncate());
    }, every);
    this.#truncateTimer.unref();
  }

  async update(args: Arguments): Promise<void> {
    const plans = planEndpoints(args);
    const prev = this.#args;
    this.#args = args;
    if (prev.wal.truncate_frequency !== args.wal.truncate_frequency && this.#truncateTimer) {
      clearTimeout(this.#truncateTimer);
      this.#scheduleTruncate();
    }
    const run = this.#updating.then(() => this.#apply(plans));
    this.#updating = run.catch(() => undefined);
    await run;
  }

  currentHealth(): Health {
    const now = this.#clock.now();
    if (this.#walError) return { state: 'unhealthy', message: `writing the WAL failed: ${this.#walError}`, updatedAt: new Date(now) };
    for (const ep of this.#endpoints.values()) {
      const s = ep.queue.status();
      const failingSince = s.lastErrorAt !== undefined && (s.lastSuccessAt ?? 0) < s.lastErrorAt ? (s.lastSuccessAt ?? s.lastErrorAt) : undefined;
      if (failingSince !== undefined && s.pendingSamples > 0 && now - failingSince > FAILING_FOR_MS) {
        return { state: 'unhealthy', message: `endpoint ${s.name} (${s.url}) is failing: ${s.lastError ?? ''}`, updatedAt: new Date(now) };
      }
    }
    return { state: 'healthy', message: 'ok', updatedAt: new Date(now) };
  }

  debugInfo(): unknown {
    return {
      wal: { dir: this.#wal.dir, sizeBytes: this.#wal.sizeBytes, activeSeries: this.#wal.activeSeries, segments: this.#wal.segments },
      endpoints: [...this.#endpoints.values()].map((e) => withIsoTimes(e.queue.status(), ['lastSuccessAt', 'lastErrorAt'])),
    };
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'prometheus.remote_write',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: ['receiver'],
  build: (opts, args) => RemoteWriteComponent.create(opts, args),
};
