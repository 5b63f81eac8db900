/**
 * What every otelcol exporter shares (upstream `exporterhelper`): the in-memory `sending_queue`,
 * `retry_on_failure` with exponential backoff, and the exporter metrics.
 *
 * Contracts:
 * - With the queue enabled, `consume` resolves once the data is queued; a full queue rejects with
 *   a retryable `ConsumerError` (or waits, with `block_on_overflow`). Queued data is sent by
 *   `num_consumers` workers and retried until `max_elapsed_time`; data that still fails then, or
 *   fails permanently, is dropped, logged and counted in `otelcol_exporter_send_failed_*`.
 * - With the queue disabled, `consume` resolves only after the data was sent (retries included)
 *   and rejects with the last error otherwise, so the sender learns about the failure.
 * - `stop` stops accepting, lets the workers drain for up to `drainMs`, then abandons what is
 *   left (counted as failed) and returns it, so a caller (the load balancer) can re-route it.
 * - Senders throw `SendError` (or any error, treated as retryable) and never hang past their timeout.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'winston';
import { SIGNALS, type Signal, type Telemetry } from '../../../otlp/data.js';
import { backoffDelay, type QueueArguments, type RetryArguments } from '../config.js';
import { ConsumerError } from '../consumer.js';
import { sleep } from '../../../clock/clock.js';

export class SendError extends Error {
  override readonly name = 'SendError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export type Send = (data: Telemetry, signal: AbortSignal) => Promise<void>;

const ITEM_METRIC: Record<Signal, string> = { traces: 'spans', metrics: 'metric_points', logs: 'log_records' };

export class ExporterMetrics {
  readonly sent: Record<Signal, Counter>;
  readonly failed: Record<Signal, Counter>;
  readonly enqueueFailed: Record<Signal, Counter>;
  readonly queueSize: Gauge;
  readonly queueCapacity: Gauge;
  constructor(registry: Registry) {
    const registers = [registry];
    const per = (prefix: string, help: string): Record<Signal, Counter> =>
      Object.fromEntries(SIGNALS.map((s) => [s, new Counter({ name: `otelcol_exporter_${prefix}_${ITEM_METRIC[s]}_total`, help: `${help} (${ITEM_METRIC[s]}).`, registers })])) as Record<Signal, Counter>;
    this.sent = per('sent', 'Number of items successfully sent to destination');
    this.failed = per('send_failed', 'Number of items in failed attempts to send to destination');
    this.enqueueFailed = per('enqueue_failed', 'Number of items that could not be added to the sending queue');
    this.queueSize = new Gauge({ name: 'otelcol_exporter_queue_size', help: 'Current size of the retry queue (in batches, or items with sizer "items").', registers });
    this.queueCapacity = new Gauge({ name: 'otelcol_exporter_queue_capacity', help: 'Fixed capacity of the retry queue.', registers });
  }
}

export interface HelperOptions {
  readonly name: string;
  readonly retry: RetryArguments;
  readonly queue: QueueArguments;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /**
   * Called when queued data failed for good (permanent error, retries exhausted, or aborted by
   * `stop`); returns true when it took the data over (e.g. routed it elsewhere), else the data
   * is dropped, logged and counted as failed.
   */
  readonly onDrop?: (data: Telemetry, err: unknown) => boolean;
}


export class ExporterHelper {
  readonly #send: Send;
  readonly #o: HelperOptions;
  readonly #queue: Telemetry[] = [];
  #queued = 0;
  #inFlight = 0;
  #stopping = false;
  readonly #abort = new AbortController();
  #wakeWorkers: (() => void)[] = [];
  #wakeSpace: (() => void)[] = [];
  readonly #workers: Promise<void>[] = [];

  constructor(send: Send, o: HelperOptions) {
    this.#send = send;
    this.#o = o;
    if (o.queue.enabled) {
      o.metrics.queueCapacity.set(o.queue.queue_size);
      for (let i = 0; i < o.queue.num_consumers; i++) this.#workers.push(this.#worker());
    }
  }

  /** Items or requests waiting in the queue plus those being sent. */
  get pending(): number {
    return this.#queue.length + this.#inFlight;
  }

  #size(t: Telemetry): number {
    return this.#o.queue.sizer === 'requests' ? 1 : this.#o.queue.sizer === 'items' ? t.count : t.encode().length;
  }

  async consume(data: Telemetry): Promise<void> {
    if (this.#stopping) throw new ConsumerError(`${this.#o.name} is shutting down`, true, 1000);
    if (!this.#o.queue.enabled) {
      try {
        await this.sendWithRetry(data, this.#abort.signal);
        return;
      } catch (err: unknown) {
        this.#o.metrics.failed[data.signal].inc(data.count);
        const retryable = !(err instanceof SendError) || err.retryable;
        throw new ConsumerError(`${this.#o.name}: ${err instanceof Error ? err.message : String(err)}`, retryable, err instanceof SendError ? err.retryAfterMs : undefined);
      }
    }
    const size = this.#size(data);
    while (this.#queued + size > this.#o.queue.queue_size && this.#queued > 0) {
      if (!(this.#o.queue.block_on_overflow || this.#o.queue.blocking) || this.#stopping) {
        this.#o.metrics.enqueueFailed[data.signal].inc(data.count);
        throw new ConsumerError(`${this.#o.name}: sending queue is full (${this.#o.queue.queue_size} ${this.#o.queue.sizer})`, true, 1000);
      }
      await new Promise<void>((r) => this.#wakeSpace.push(r));
    }
    this.#queue.push(data);
    this.#queued += size;
    this.#o.metrics.queueSize.set(this.#queued);
    this.#wakeWorkers.shift()?.();
  }

  async #worker(): Promise<void> {
    for (;;) {
      const data = this.#queue.shift();
      if (data === undefined) {
        if (this.#stopping) return;
        await new Promise<void>((r) => this.#wakeWorkers.push(r));
        continue;
      }
      this.#queued -= this.#size(data);
      this.#o.metrics.queueSize.set(this.#queued);
      this.#wakeSpace.splice(0).forEach((w) => w());
      this.#inFlight++;
      try {
        await this.sendWithRetry(data, this.#abort.signal);
      } catch (err: unknown) {
        if (this.#o.onDrop?.(data, err) !== true) {
          this.#o.metrics.failed[data.signal].inc(data.count);
          this.#o.logger.error(`${this.#o.name}: dropping ${data.count} ${data.signal} items after failed export`, { error: err instanceof Error ? err.message : String(err) });
        }
      } finally {
        this.#inFlight--;
      }
    }
  }

  /** Sends with `retry_on_failure`; throws the last error when giving up. */
  async sendWithRetry(data: Telemetry, signal: AbortSignal): Promise<void> {
    const r = this.#o.retry;
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#send(data, signal);
        this.#o.metrics.sent[data.signal].inc(data.count);
        return;
      } catch (err: unknown) {
        const retryable = !(err instanceof SendError) || err.retryable;
        if (!retryable || !r.enabled || signal.aborted) throw err;
        let delay = backoffDelay(r, attempt);
        if (err instanceof SendError && err.retryAfterMs !== undefined) delay = Math.max(delay, err.retryAfterMs);
        if (r.max_elapsed_time > 0 && Date.now() - start + delay > r.max_elapsed_time) throw err;
        this.#o.logger.debug(`${this.#o.name}: export failed, retrying in ${Math.round(delay)}ms`, { error: err instanceof Error ? err.message : String(err) });
        await sleep(delay, signal);
        if (signal.aborted) throw err;
      }
    }
  }

  /**
   * Stops accepting data, waits up to `drainMs` for the queue to empty, then aborts the senders.
   * Returns the data that was still queued (not sent, not counted as sent).
   */
  async stop(drainMs: number): Promise<Telemetry[]> {
    this.#stopping = true;
    this.#wakeSpace.splice(0).forEach((w) => w());
    const deadline = Date.now() + drainMs;
    while (this.#queue.length > 0 && Date.now() < deadline && this.#workers.length > 0) await new Promise((r) => setTimeout(r, 10));
    const left = this.#queue.splice(0);
    this.#queued = 0;
    this.#o.metrics.queueSize.set(0);
    this.#abort.abort();
    this.#wakeWorkers.splice(0).forEach((w) => w());
    await Promise.all(this.#workers);
    return left;
  }
}
