/**
 * `otelcol.processor.batch`: groups data per signal (and per combination of `metadata_keys`
 * values) and sends a batch when it reaches `send_batch_size` items or `timeout` after its first
 * item, split so no request exceeds `send_batch_max_size` (when non-zero).
 *
 * Contracts:
 * - `consume` resolves once the data is held in a batch (as upstream). A batch the output refuses
 *   retryably is kept and re-sent (after the refusal's retry hint, else 1s) until it is taken, so
 *   acknowledged data is not dropped for back-pressure; a permanent refusal drops the batch,
 *   logged and counted in `otelcol_processor_batch_dropped_items_total`.
 * - At most `BUFFER_BATCHES × max(send_batch_size, send_batch_max_size)` items (at least
 *   `MIN_BUFFER_ITEMS`) are held, pending or waiting for a retry; beyond that `consume` rejects
 *   retryably, which receivers turn into HTTP 503 / gRPC UNAVAILABLE.
 * - Batches carry only the `metadata_keys` entries of the client metadata.
 * - More than `metadata_cardinality_limit` distinct metadata combinations: refused, permanently.
 * - On shutdown pending batches are flushed once; what the output still refuses is dropped and logged.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../../runtime/component.js';
import { duration } from '../../../../syntax/vm/schema.js';
import { Telemetry, type ClientMetadata } from '../../../../otlp/data.js';
import { ConsumerError, debugMetricsBlock, fanOut, outputBlock, untilAborted, type Consumer, type Output } from '../../consumer.js';
import { telemetryPublisher, type TelemetryPublisher } from '../../live-debugging.js';

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

export const BUFFER_BATCHES = 10;
export const MIN_BUFFER_ITEMS = 10_000;

class Batch {
  parts: Telemetry[] = [];
  count = 0;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly metadata: ClientMetadata | undefined) {}
}

export class BatchProcessor implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  readonly #publish: TelemetryPublisher;
  #args: Arguments;
  readonly #batches = new Map<string, Batch>();
  readonly #sizeTrigger: Counter;
  readonly #timeoutTrigger: Counter;
  readonly #sendSize: Histogram;
  readonly #cardinality: Gauge;
  readonly #dropped: Counter;
  /** Items in pending batches plus items waiting to be re-sent. */
  #held = 0;
  readonly #retries = new Set<{ timer: NodeJS.Timeout; data: Telemetry }>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#publish = telemetryPublisher(opts);
    this.#args = args;
    const registers = [opts.registry];
    this.#sizeTrigger = new Counter({ name: 'otelcol_processor_batch_batch_size_trigger_send_total', help: 'Number of times the batch was sent due to a size trigger.', registers });
    this.#timeoutTrigger = new Counter({ name: 'otelcol_processor_batch_timeout_trigger_send_total', help: 'Number of times the batch was sent due to a timeout trigger.', registers });
    this.#sendSize = new Histogram({ name: 'otelcol_processor_batch_batch_send_size', help: 'Number of units in the batch.', buckets: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000], registers });
    this.#cardinality = new Gauge({ name: 'otelcol_processor_batch_metadata_cardinality', help: 'Number of distinct metadata value combinations being processed.', registers });
    this.#dropped = new Counter({ name: 'otelcol_processor_batch_dropped_items_total', help: 'Items dropped because the output refused them permanently (or at shutdown).', registers });
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
    const limit = Math.max(MIN_BUFFER_ITEMS, BUFFER_BATCHES * Math.max(this.#args.send_batch_size, this.#args.send_batch_max_size));
    if (this.#held > 0 && this.#held + data.count > limit) return Promise.reject(new ConsumerError(`${this.#opts.id}: batch buffer is full (${this.#held} items held while the output refuses data)`, true, 1000));
    const batch = b;
    batch.parts.push(data);
    batch.count += data.count;
    this.#held += data.count;
    if (this.#args.send_batch_size > 0 && batch.count >= this.#args.send_batch_size) {
      this.#sizeTrigger.inc();
      this.#flush(key, batch);
    } else if (!batch.timer) {
      batch.timer = setTimeout(() => {
        this.#timeoutTrigger.inc();
        this.#flush(key, batch);
      }, this.#args.timeout);
    }
    return Promise.resolve();
  }

  #flush(key: string, b: Batch): void {
    if (b.timer) clearTimeout(b.timer);
    if (this.#batches.get(key) === b) this.#batches.delete(key);
    if (this.#args.metadata_keys.length === 0 || b.parts.length === 0) this.#cardinality.set(this.#batches.size);
    if (b.parts.length === 0) return;
    const merged = Telemetry.merge(b.parts).withMetadata(b.metadata);
    for (const p of merged.split(this.#args.send_batch_max_size)) {
      this.#sendSize.observe(p.count);
      this.#publish(p);
      this.#send(p);
    }
  }

  /** Sends one request; keeps and re-sends it after a retryable refusal. */
  #send(data: Telemetry): void {
    const output: Output = this.#args.output;
    const p = fanOut(output, data).then(
      () => {
        this.#held -= data.count;
      },
      (err: unknown) => {
        if (err instanceof ConsumerError && !err.retryable) return this.#drop(data, err);
        if (this.#closed) return this.#drop(data, err);
        const entry = {
          data,
          timer: setTimeout(() => {
            this.#retries.delete(entry);
            this.#send(data);
          }, (err instanceof ConsumerError ? err.retryAfterMs : undefined) ?? 1000),
        };
        this.#retries.add(entry);
      },
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #drop(data: Telemetry, err: unknown): void {
    this.#held -= data.count;
    this.#dropped.inc(data.count);
    this.#opts.logger.error(`${this.#opts.id}: dropping ${data.count} ${data.signal} items the output refused`, { error: err instanceof Error ? err.message : String(err) });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#opts.setHealth('healthy', 'ready');
    await untilAborted(signal);
    this.#closed = true;
    for (const [k, b] of [...this.#batches]) this.#flush(k, b);
    for (const r of [...this.#retries]) {
      clearTimeout(r.timer);
      this.#retries.delete(r);
      this.#send(r.data);
    }
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  update(args: Arguments): void {
    this.#args = args;
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.processor.batch',
  liveDebugging: true,
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => new BatchProcessor(opts, args),
};
