/**
 * The component shell of exporters that send each request to one destination
 * (`otelcol.exporter.otlp`, `otelcol.exporter.otlphttp`): exports a stable `input` consumer that
 * feeds an `ExporterHelper` (queue + retry) over a sender built from the arguments.
 *
 * Contracts:
 * - `input` never changes identity; `update` builds a new sender and helper, and the data still
 *   queued in the old helper moves to the new one (nothing queued is lost on reload).
 * - On shutdown the queue drains for up to 5s; what is left is dropped and counted as failed.
 */
import type { Component, ComponentOptions } from '../../../runtime/component.js';
import type { Telemetry } from '../../../otlp/data.js';
import { untilAborted, type Consumer } from '../consumer.js';
import type { QueueArguments, RetryArguments } from '../config.js';
import { ExporterHelper, ExporterMetrics, type Send } from './helper.js';

export interface Sender {
  readonly send: Send;
  close(): void;
}

export interface Exports {
  readonly input: Consumer;
}

export interface ExporterSettings {
  readonly retry_on_failure: RetryArguments;
  readonly sending_queue: QueueArguments;
}

const DRAIN_MS = 5_000;

export class QueuedExporter<A extends ExporterSettings> implements Component<A> {
  readonly #opts: ComponentOptions<Exports>;
  readonly #makeSender: (args: A) => Sender;
  readonly #metrics: ExporterMetrics;
  #sender: Sender;
  #helper: ExporterHelper;

  /** @throws Error from `makeSender` for arguments it cannot use (bad TLS files, URLs). */
  constructor(opts: ComponentOptions<Exports>, args: A, makeSender: (args: A) => Sender) {
    this.#opts = opts;
    this.#makeSender = makeSender;
    this.#metrics = new ExporterMetrics(opts.registry);
    this.#sender = makeSender(args);
    this.#helper = this.#newHelper(args, this.#sender);
    opts.onStateChange({ input: { consume: (data: Telemetry) => this.#helper.consume(data) } });
  }

  #newHelper(args: A, sender: Sender): ExporterHelper {
    return new ExporterHelper(sender.send, { name: this.#opts.id, retry: args.retry_on_failure, queue: args.sending_queue, metrics: this.#metrics, logger: this.#opts.logger });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#opts.setHealth('healthy', 'ready');
    await untilAborted(signal);
    const left = await this.#helper.stop(DRAIN_MS);
    for (const t of left) this.#metrics.failed[t.signal].inc(t.count);
    this.#sender.close();
  }

  async update(args: A): Promise<void> {
    const sender = this.#makeSender(args);
    const oldHelper = this.#helper;
    const oldSender = this.#sender;
    this.#sender = sender;
    this.#helper = this.#newHelper(args, sender);
    const left = await oldHelper.stop(0);
    oldSender.close();
    for (const t of left) await this.#helper.consume(t).catch(() => this.#metrics.failed[t.signal].inc(t.count));
  }
}
