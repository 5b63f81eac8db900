/**
 * `loki.write`: exports a `receiver`; entries appended to it get `external_labels` (entry labels
 * win), lose the reserved `__tenant_id__` label (it selects the tenant, overriding `tenant_id`)
 * and are queued on every `endpoint` (see `queue.ts`), which pushes them to Loki's push API as
 * snappy-compressed protobuf.
 *
 * Contracts:
 * - The receiver is published before `build` returns and never changes identity.
 * - Without a WAL, `append` resolves once every endpoint queued the entries (in memory), waits
 *   while an endpoint's buffer is full (unless `block_on_overflow = false`: then they are
 *   dropped), and rejects once the component is shut down.
 * - With `wal { enabled = true }`, `append` resolves once the entries are fdatasync'ed to
 *   `<dataPath>/wal`; one reader per endpoint feeds its queue from the WAL (see `wal.ts`), so
 *   accepted entries survive a crash and are delivered at least once after a restart. On shutdown
 *   the readers drain for up to `wal.drain_timeout`; the rest waits in the WAL for the next start.
 *   Turning the WAL on or off needs a restart.
 * - `update` restarts only endpoints whose settings changed; a replaced endpoint drains its
 *   buffered entries in the background (bounded by its `drain_timeout`).
 * - On shutdown every endpoint drains for up to its `queue_config.drain_timeout`.
 */
import path from 'node:path';
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent } from '../../../runtime/component.js';
import { formatStreamLabels } from '../../../loki/labels.js';
import type { Label, Labels, LogEntry, LogsReceiver } from '../../../loki/types.js';
import { argumentsSchema, planEndpoints, type Arguments, type EndpointPlan } from './arguments.js';
import { EndpointQueue, WriteMetrics, type PreparedEntry } from './queue.js';
import { LogsWal, WalReader } from './wal.js';
import type { Sender } from '../../../prom/remotewrite/client.js';
import { redactUrl } from '../../../logging/redact.js';
import { asCapsule } from '../../../syntax/vm/value.js';
import { withIsoTimes } from '../../common/debug-times.js';

export type { Arguments } from './arguments.js';

export interface Exports {
  readonly receiver: LogsReceiver;
}

const TENANT_LABEL = '__tenant_id__';
const FAILING_FOR_MS = 5 * 60_000;

interface StreamInfo {
  readonly key: string;
  readonly tenant: string;
}

interface Running {
  readonly plan: EndpointPlan;
  readonly queue: EndpointQueue;
  readonly reader: WalReader | undefined;
}

const WAL_MAINTENANCE_MS = 1000;

export interface WriteTestHooks {
  readonly senderFor?: (plan: EndpointPlan, tenant: string) => Sender;
}

export class LokiWriteComponent implements Component<Arguments>, HealthComponent, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #log: Logger;
  readonly #metrics: WriteMetrics;
  readonly #hooks: WriteTestHooks;
  #args: Arguments;
  #external: Labels = [];
  #streams = new WeakMap<Labels, StreamInfo>();
  #endpoints = new Map<string, Running>();
  #closed = false;
  readonly #background = new Set<Promise<void>>();
  readonly #wal: LogsWal | undefined;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments, hooks: WriteTestHooks, wal: LogsWal | undefined) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#args = args;
    this.#hooks = hooks;
    this.#wal = wal;
    this.#metrics = new WriteMetrics(opts.registry);
    this.#setExternal(args);
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments, hooks: WriteTestHooks = {}): Promise<LokiWriteComponent> {
    const plans = planEndpoints(args);
    const wal = args.wal.enabled ? await LogsWal.open(path.join(opts.dataPath, 'wal'), opts.logger) : undefined;
    const c = new LokiWriteComponent(opts, args, hooks, wal);
    c.#apply(plans);
    opts.onStateChange({ receiver: asCapsule<LogsReceiver>({ append: (entries) => c.#append(entries) }, 'LogsReceiver') });
    return c;
  }

  #setExternal(args: Arguments): void {
    this.#external = Object.entries(args.external_labels)
      .filter(([, v]) => v !== '')
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.#streams = new WeakMap();
  }

  #stream(labels: Labels): StreamInfo {
    let s = this.#streams.get(labels);
    if (s) return s;
    let tenant = '';
    const merged = new Map<string, string>();
    for (const l of this.#external) merged.set(l.name, l.value);
    for (const l of labels) {
      if (l.name === TENANT_LABEL) tenant = l.value;
      else merged.set(l.name, l.value);
    }
    const final: Label[] = [...merged].map(([name, value]) => ({ name, value }));
    final.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    s = { key: formatStreamLabels(final), tenant };
    this.#streams.set(labels, s);
    return s;
  }

  async #append(entries: readonly LogEntry[]): Promise<void> {
    if (this.#closed) throw new Error(`${this.#opts.id} is shut down`);
    if (entries.length === 0 || this.#endpoints.size === 0) return;
    const items: PreparedEntry[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const s = this.#stream(e.labels);
      let bytes = Buffer.byteLength(e.line);
      if (e.structuredMetadata) for (const l of e.structuredMetadata) bytes += l.name.length + l.value.length;
      items[i] = { entry: e, key: s.key, tenant: s.tenant, bytes };
    }
    if (this.#wal) return this.#wal.append(items);
    const eps = [...this.#endpoints.values()];
    if (eps.length === 1) return eps[0]!.queue.enqueue(items);
    await Promise.all(eps.map((ep) => ep.queue.enqueue(items)));
  }

  #apply(plans: EndpointPlan[]): void {
    const next = new Map<string, Running>();
    const wanted = new Map(plans.map((p) => [p.name, p]));
    for (const [name, ep] of this.#endpoints) {
      const p = wanted.get(name);
      if (p && p.fingerprint === ep.plan.fingerprint) {
        next.set(name, ep);
        continue;
      }
      this.#log.info(`loki.write: ${p ? 'restarting changed' : 'removing'} endpoint ${name}`, { url: redactUrl(ep.plan.url) });
      const done = (async () => {
        await ep.reader?.stop();
        await ep.queue.close(ep.plan.drainTimeoutMs);
      })().finally(() => this.#background.delete(done));
      this.#background.add(done);
    }
    for (const p of plans) {
      if (next.has(p.name)) continue;
      const senderFor = this.#hooks.senderFor;
      const queue = new EndpointQueue({
        plan: p,
        metrics: this.#metrics,
        logger: this.#log,
        ...(senderFor ? { senderFor: (tenant: string) => senderFor(p, tenant) } : {}),
      });
      const w = this.#args.wal;
      const reader = this.#wal ? new WalReader({ name: p.name, wal: this.#wal, queue, minReadMs: w.min_read_frequency, maxReadMs: w.max_read_frequency, logger: this.#log }) : undefined;
      next.set(p.name, { plan: p, queue, reader });
    }
    this.#endpoints = next;
  }

  async #walMaintenance(): Promise<void> {
    const wal = this.#wal!;
    const names = [...this.#endpoints.keys()];
    try {
      await wal.flushMarkers(names);
      await wal.truncate(names, this.#args.wal.max_segment_age);
    } catch (err: unknown) {
      this.#log.warn(`loki.write: WAL maintenance failed: ${(err as Error).message}`);
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    const maintenance = this.#wal ? setInterval(() => void this.#walMaintenance(), WAL_MAINTENANCE_MS) : undefined;
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(maintenance);
    if (this.#wal) {
      this.#closed = true;
      const deadline = Date.now() + this.#args.wal.drain_timeout;
      const eps = [...this.#endpoints.values()];
      while (Date.now() < deadline && !eps.every((ep) => ep.reader!.caughtUp())) await new Promise((r) => setTimeout(r, 20));
      await Promise.all(eps.map((ep) => ep.reader!.stop()));
      // What is not delivered by the deadline stays in the WAL for the next start.
      const left = Math.max(0, deadline - Date.now());
      await Promise.all(eps.map((ep) => ep.queue.close(Math.min(left, ep.plan.drainTimeoutMs))));
    }
    await Promise.all([...this.#endpoints.values()].map((ep) => ep.queue.close(ep.plan.drainTimeoutMs)));
    this.#closed = true;
    await Promise.all([...this.#background]);
    if (this.#wal) {
      await this.#walMaintenance();
      await this.#wal.close();
    }
  }

  update(args: Arguments): void {
    if (args.wal.enabled !== this.#args.wal.enabled) throw new Error(`turning the loki.write WAL ${args.wal.enabled ? 'on' : 'off'} needs a restart of the collector`);
    const plans = planEndpoints(args);
    if (JSON.stringify(args.external_labels) !== JSON.stringify(this.#args.external_labels)) this.#setExternal(args);
    this.#args = args;
    this.#apply(plans);
  }

  currentHealth(): Health {
    const now = Date.now();
    for (const ep of this.#endpoints.values()) {
      const s = ep.queue.status();
      if (s.lastErrorAt !== undefined && (s.lastSuccessAt ?? 0) < s.lastErrorAt && s.pendingBatches > 0 && now - (s.lastSuccessAt ?? s.lastErrorAt) > FAILING_FOR_MS) {
        return { state: 'unhealthy', message: `endpoint ${s.name} (${s.url}) is failing: ${s.lastError ?? ''}`, updatedAt: new Date(now) };
      }
    }
    return { state: 'healthy', message: 'ok', updatedAt: new Date(now) };
  }

  debugInfo(): unknown {
    return { endpoints: [...this.#endpoints.values()].map((e) => withIsoTimes(e.queue.status(), ['lastSuccessAt', 'lastErrorAt'])) };
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'loki.write',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: ['receiver'],
  build: (opts, args) => LokiWriteComponent.create(opts, args),
};
