/**
 * `otelcol.processor.batch`: groups data per signal (and per combination of `metadata_keys`
 * values) and sends a batch when it reaches `send_batch_size` items or `timeout` after its first
 * item, split so no request exceeds `send_batch_max_size` (when non-zero).
 *
 * Contracts:
 * - `consume` resolves when the batch holding the data was taken by every `output` consumer and
 *   rejects with their error otherwise (so receivers acknowledge nothing that is later dropped;
 *   upstream acknowledges on enqueue instead). The added latency is at most `timeout`.
 * - Batches carry only the `metadata_keys` entries of the client metadata.
 * - More than `metadata_cardinality_limit` distinct metadata combinations: refused, permanently.
 * - On shutdown pending batches are flushed.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../../runtime/component.js';
import { duration } from '../../../../syntax/vm/schema.js';
import { Telemetry, type ClientMetadata } from '../../../../otlp/data.js';
import { ConsumerError, debugMetricsBlock, fanOut, outputBlock, type Consumer, type Output } from '../../consumer.js';

export const argumentsSchema = z
  .object({
    timeout: duration().default(200),
    send_batch_size: z.number().int().min(0).default(8192),
    send_batch_max_size: z.number().int().min(0).default(0),
    metadata_keys: z.array(z.string()).default([]),
    metadata_cardinality_limit: z.number().int().min(0).default(1000),
    output: outputBlock(),
    debug_metrics: debugMetricsBlock,
  })
  .superRefine((a, ctx) => {
    if (a.send_batch_max_size > 0 && a.send_batch_max_size < a.send_batch_size)
      ctx.addIssue({ code: 'custom', path: ['send_batch_max_size'], message: `send_batch_max_size (${a.send_batch_max_size}) must be 0 or >= send_batch_size (${a.send_batch_size})` });
  });

export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

class Batch {
  parts: Telemetry[] = [];
  count = 0;
  waiters: Waiter[] = [];
  timer: NodeJS.Timeout | undefined;
  constructor(readonly metadata: ClientMetadata | undefined) {}
}

export class BatchProcessor implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  #args: Arguments;
  readonly #batches = new Map<string, Batch>();
  readonly #sizeTrigger: Counter;
  readonly #timeoutTrigger: Counter;
  readonly #sendSize: Histogram;
  readonly #cardinality: Gauge;
  #closed = false;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#args = args;
    const registers = [opts.registry];
    this.#sizeTrigger = new Counter({ name: 'otelcol_processor_batch_batch_size_trigger_send_total', help: 'Number of times the batch was sent due to a size trigger.', registers });
    this.#timeoutTrigger = new Counter({ name: 'otelcol_processor_batch_timeout_trigger_send_total', help: 'Number of times the batch was sent due to a timeout trigger.', registers });
    this.#sendSize = new Histogram({ name: 'otelcol_processor_batch_batch_send_size', help: 'Number of units in the batch.', buckets: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000], registers });
    this.#cardinality = new Gauge({ name: 'otelcol_processor_batch_metadata_cardinality', help: 'Number of distinct metadata value combinations being processed.', registers });
    opts.onStateChange({ input: { consume: (d) => this.#consume(d) } });
  }

  #key(data: Telemetry): { key: string; metadata: ClientMetadata | undefined } {
    const keys = this.#args.metadata_keys;
    if (keys.length === 0) return { key: data.signal, metadata: undefined };
    const md = new Map<string, readonly string[]>();
    for (const k of keys) {
      const v = data.metadata?.get(k.toLowerCase());
      if (v) md.set(k.toLowerCase(), v);
    }
    return { key: `${data.signal}\u0000${JSON.stringify([...md])}`, metadata: md };
  }

  #consume(data: Telemetry): Promise<void> {
    if (this.#closed) return Promise.reject(new ConsumerError(`${this.#opts.id} is shutting down`, true, 1000));
    const { key, metadata } = this.#key(data);
    let b = this.#batches.get(key);
    if (!b) {
      if (this.#args.metadata_keys.length > 0 && this.#batches.size >= this.#args.metadata_cardinality_limit)
        return Promise.reject(new ConsumerError(`${this.#opts.id}: too many batcher metadata-value combinations (metadata_cardinality_limit ${this.#args.metadata_cardinality_limit})`, false));
      b = new Batch(metadata);
      this.#batches.set(key, b);
      this.#cardinality.set(this.#batches.size);
    }
    const batch = b;
    batch.parts.push(data);
    batch.count += data.count;
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (this.#args.send_batch_size > 0 && batch.count >= this.#args.send_batch_size) {
      this.#sizeTrigger.inc();
      this.#flush(key, batch);
    } else if (!batch.timer) {
      batch.timer = setTimeout(() => {
        this.#timeoutTrigger.inc();
        this.#flush(key, batch);
      }, this.#args.timeout);
    }
    return done;
  }

  #flush(key: string, b: Batch): void {
    if (b.timer) clearTimeout(b.timer);
    if (this.#batches.get(key) === b) this.#batches.delete(key);
    if (this.#args.metadata_keys.length === 0 || b.parts.length === 0) this.#cardinality.set(this.#batches.size);
    if (b.parts.length === 0) return;
    const merged = Telemetry.merge(b.parts).withMetadata(b.metadata);
    const pieces = merged.split(this.#args.send_batch_max_size);
    const output: Output = this.#args.output;
    void Promise.all(
      pieces.map((p) => {
        this.#sendSize.observe(p.count);
        return fanOut(output, p);
      }),
    ).then(
      () => b.waiters.forEach((w) => w.resolve()),
      (err: unknown) => b.waiters.forEach((w) => w.reject(err)),
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#opts.setHealth('healthy', 'ready');
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.#closed = true;
    for (const [k, b] of [...this.#batches]) this.#flush(k, b);
  }

  update(args: Arguments): void {
    this.#args = args;
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.processor.batch',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new BatchProcessor(opts, args),
};
