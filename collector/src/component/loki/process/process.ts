/**
 * `loki.process`: runs every entry appended to its exported `receiver` through the `stage.*`
 * blocks in source order and forwards what is left to `forward_to`.
 *
 * Contracts:
 * - The `receiver` export never changes identity; `update` rebuilds the stages (buffered
 *   entries of the old stages are flushed first, `stage.metrics` series restart from zero).
 * - `append` resolves after the processed batch was accepted by every `forward_to` receiver; it
 *   waits (backpressure) while a blocking `stage.limit` holds entries back.
 * - Entries released later by buffering stages (`multiline` timeouts, blocking `limit`) are
 *   forwarded in the background; failures there are logged.
 * - A stage never throws for a line it cannot handle (see `pipeline.ts`); the component is
 *   unhealthy only when its configuration is invalid (the runtime reports that).
 * - Output labels are shared `Labels` objects per (input stream, label edits), so downstream
 *   per-stream caches stay effective.
 */
import { z } from 'zod';
import { Counter } from 'prom-client';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../runtime/component.js';
import { isLogsReceiver, type LogEntry, type LogsReceiver } from '../../../loki/types.js';
import { processLiveLine } from '../../../loki/live-text.js';
import { optionalService, type LiveDebuggingService } from '../../../runtime/live-debugging.js';
import { capsule } from '../../../syntax/vm/schema.js';
import { asCapsule } from '../../../syntax/vm/value.js';
import { toLogEntry, toPEntry, type PEntry } from './entry.js';
import { buildPipeline, type Pipeline, type StageConfig, type StageContext } from './pipeline.js';
import { STAGE_DEFS, stagesSchema } from './stages/index.js';

export const argumentsSchema = z
  .object({
    forward_to: z.array(capsule<LogsReceiver>('LogsReceiver', isLogsReceiver)),
    stages: stagesSchema.default([]),
  })
  .strict();

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly receiver: LogsReceiver;
}

export interface ProcessOptions {
  /** Clock for stages (tests). */
  readonly now?: () => number;
  /** Sees every entry that leaves the stages, with its extracted map (tests). */
  readonly tap?: (e: Readonly<PEntry>) => void;
}

export class LokiProcessComponent implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  readonly receiver: LogsReceiver;
  readonly #dropped: Counter<'reason'>;
  readonly #droppedByLabel: Counter<'label_name' | 'label_value'>;
  readonly #now: () => number;
  readonly #tap: ((e: Readonly<PEntry>) => void) | undefined;
  readonly #live: LiveDebuggingService | undefined;
  #forward: readonly LogsReceiver[];
  #pipeline: Pipeline;
  #metricNames: string[] = [];
  /** Output of the batch being processed synchronously; undefined outside `append`. */
  #batch: LogEntry[] | undefined;
  #late: LogEntry[] = [];
  #lateScheduled = false;
  readonly #background = new Set<Promise<void>>();

  constructor(opts: ComponentOptions<Exports>, args: Arguments, options: ProcessOptions = {}) {
    this.#opts = opts;
    this.#now = options.now ?? Date.now;
    this.#tap = options.tap;
    this.#live = optionalService((n) => opts.getService<LiveDebuggingService>(n));
    const registers = [opts.registry];
    this.#dropped = new Counter({ name: 'loki_process_dropped_lines_total', help: 'A count of all log lines dropped as a result of a pipeline stage', labelNames: ['reason'], registers });
    this.#droppedByLabel = new Counter({
      name: 'loki_process_dropped_lines_by_label_total',
      help: 'A count of all log lines dropped as a result of a pipeline stage',
      labelNames: ['label_name', 'label_value'],
      registers,
    });
    this.#forward = args.forward_to;
    this.#pipeline = this.#build(args.stages);
    this.receiver = asCapsule<LogsReceiver>({ append: (entries) => this.#append(entries) }, 'LogsReceiver');
    opts.onStateChange({ receiver: this.receiver });
  }

  #build(stages: readonly StageConfig[]): Pipeline {
    const names: string[] = [];
    const ctx: StageContext = {
      logger: this.#opts.logger,
      registry: this.#opts.registry,
      dropped: this.#dropped,
      droppedByLabel: this.#droppedByLabel,
      now: this.#now,
      ownMetric: (n) => names.push(n),
    };
    try {
      const p = buildPipeline(stages, STAGE_DEFS, ctx, this.#sink);
      this.#metricNames = names;
      return p;
    } catch (err: unknown) {
      for (const n of names) this.#opts.registry.removeSingleMetric(n);
      throw err;
    }
  }

  readonly #sink = (e: PEntry): void => {
    this.#tap?.(e);
    const out = toLogEntry(e);
    if (this.#batch !== undefined) {
      this.#batch.push(out);
      return;
    }
    this.#late.push(out);
    if (!this.#lateScheduled) {
      this.#lateScheduled = true;
      setImmediate(() => this.#flushLate());
    }
  };

  #flushLate(): void {
    this.#lateScheduled = false;
    const batch = this.#late;
    this.#late = [];
    if (batch.length === 0) return;
    const p: Promise<void> = this.#send(batch)
      .catch((err: unknown) => {
        this.#opts.logger.warn(`loki.process: forwarding ${batch.length} released entries failed: ${(err as Error).message}`);
      })
      .finally(() => this.#background.delete(p));
    this.#background.add(p);
  }

  async #send(batch: readonly LogEntry[]): Promise<void> {
    this.#live?.publish(this.#opts.id, () => batch.map((e) => processLiveLine('OUT', e)));
    const fw = this.#forward;
    if (fw.length === 1) return fw[0]!.append(batch);
    await Promise.all(fw.map((r) => r.append(batch)));
  }

  /** Runs entries through the stages synchronously; returns what came out. */
  processBatch(entries: readonly LogEntry[]): LogEntry[] {
    const out: LogEntry[] = [];
    this.#batch = out;
    try {
      const head = this.#pipeline.head;
      for (let i = 0; i < entries.length; i++) head(toPEntry(entries[i]!));
    } finally {
      this.#batch = undefined;
    }
    return out;
  }

  async #append(entries: readonly LogEntry[]): Promise<void> {
    this.#live?.publish(this.#opts.id, () => entries.map((e) => processLiveLine('IN', e)));
    const out = this.processBatch(entries);
    if (out.length > 0) await this.#send(out);
    while (this.#pipeline.pending() > 0) await new Promise((r) => setTimeout(r, 5));
  }

  update(args: Arguments): void {
    const old = this.#pipeline;
    const oldNames = this.#metricNames;
    for (const n of oldNames) this.#opts.registry.removeSingleMetric(n);
    let next: Pipeline;
    try {
      next = this.#build(args.stages);
    } catch (err: unknown) {
      this.#metricNames = oldNames;
      throw err;
    }
    this.#forward = args.forward_to;
    this.#pipeline = next;
    old.close();
  }

  async run(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.#pipeline.close();
    this.#flushLate();
    await Promise.all([...this.#background]);
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'loki.process',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['receiver'],
  build: (opts, args) => new LokiProcessComponent(opts, args),
};
