/**
 * One endpoint's in-memory queue: entries are grouped per tenant into batches, a batch is sealed
 * when adding an entry would exceed `batch_size` or `batch_wait` after its first entry, and
 * sealed batches are sent one request at a time (so each stream's order is kept), retried on
 * `retry` results with exponential backoff (`min_backoff_period` doubling up to
 * `max_backoff_period`) up to `max_backoff_retries` times, then dropped and counted.
 *
 * Contracts:
 * - `enqueue` resolves once the entries are in a batch; while more than `capacity` bytes are
 *   buffered it waits (backpressure, `block_on_overflow = true`, the default) or drops the entries
 *   (counted with reason `queue_full`); it rejects once the queue is closed.
 * - An optional `Ack` passed to `enqueue` is told (`done()`) once every one of those entries was
 *   sent or given up for good (retries exhausted, rejected, stream-limited, queue full); entries
 *   dropped because the queue shut down before sending them are never acknowledged, so a WAL
 *   reader keeps them for the next start.
 * - `close(drainMs)` seals every batch and keeps sending until all are delivered or `drainMs`
 *   passed; what is left is dropped (counted with reason `drain_timeout`) and waiting
 *   `enqueue` calls reject. Enqueues during the drain are accepted and sent.
 * - The send loop never throws; failures are counted, logged and kept in `status()`.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'winston';
import { RemoteWriteClient, type Sender } from '../../../prom/remotewrite/client.js';
import { compress } from '../../../prom/snappy/snappy.js';
import { PushRequestEncoder, type PushStream } from '../../../loki/push.js';
import type { LogEntry } from '../../../loki/types.js';
import { sleep } from '../../../clock/clock.js';
import type { EndpointPlan } from './arguments.js';
import { redactUrl } from '../../../logging/redact.js';

/** An entry with its final stream key and tenant, computed once by the component. */
export interface PreparedEntry {
  readonly entry: LogEntry;
  /** Formatted final stream labels (external labels merged, reserved labels removed). */
  readonly key: string;
  readonly tenant: string;
  readonly bytes: number;
}

export type DropReason = 'ingester_error' | 'rate_limited' | 'stream_limited' | 'drain_timeout' | 'queue_full';

/** Delivery acknowledgement for one `enqueue` call (see the contract above). */
export interface Ack {
  remaining: number;
  done(): void;
}

function settle(ack: Ack, n: number): void {
  ack.remaining -= n;
  if (ack.remaining === 0) ack.done();
}

export class WriteMetrics {
  readonly encodedBytes: Counter<'host'>;
  readonly sentBytes: Counter<'host'>;
  readonly droppedBytes: Counter<'host' | 'reason'>;
  readonly sentEntries: Counter<'host'>;
  readonly droppedEntries: Counter<'host' | 'reason'>;
  readonly requestDuration: Histogram<'status_code' | 'host'>;
  readonly retries: Counter<'host' | 'tenant'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.encodedBytes = new Counter({ name: 'loki_write_encoded_bytes_total', help: 'Number of bytes encoded and ready to send.', labelNames: ['host'], registers });
    this.sentBytes = new Counter({ name: 'loki_write_sent_bytes_total', help: 'Number of bytes sent.', labelNames: ['host'], registers });
    this.droppedBytes = new Counter({ name: 'loki_write_dropped_bytes_total', help: 'Number of bytes dropped because failed to be sent to the ingester after all retries.', labelNames: ['host', 'reason'], registers });
    this.sentEntries = new Counter({ name: 'loki_write_sent_entries_total', help: 'Number of log entries sent to the ingester.', labelNames: ['host'], registers });
    this.droppedEntries = new Counter({ name: 'loki_write_dropped_entries_total', help: 'Number of log entries dropped because failed to be sent to the ingester after all retries.', labelNames: ['host', 'reason'], registers });
    this.requestDuration = new Histogram({ name: 'loki_write_request_duration_seconds', help: 'Duration of send requests.', labelNames: ['status_code', 'host'], registers });
    this.retries = new Counter({ name: 'loki_write_batch_retries_total', help: 'Number of times batches has had to be retried.', labelNames: ['host', 'tenant'], registers });
  }
}

interface Batch {
  readonly tenant: string;
  readonly streams: Map<string, LogEntry[]>;
  bytes: number;
  entries: number;
  timer: NodeJS.Timeout | undefined;
  acks: Map<Ack, number> | undefined;
}

export interface QueueStatus {
  readonly name: string;
  readonly url: string;
  readonly bufferedBytes: number;
  readonly pendingBatches: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly lastSuccessAt?: number;
}

export interface QueueOptions {
  readonly plan: EndpointPlan;
  readonly metrics: WriteMetrics;
  readonly logger: Logger;
  /** Creates the HTTP sender for a tenant ('' = none); tests inject fakes. */
  readonly senderFor?: (tenant: string) => Sender;
}

export class EndpointQueue {
  readonly #plan: EndpointPlan;
  readonly #m: WriteMetrics;
  readonly #log: Logger;
  readonly #senderFor: (tenant: string) => Sender;
  readonly #senders = new Map<string, Sender>();
  readonly #encoder = new PushRequestEncoder();
  readonly #open = new Map<string, Batch>();
  readonly #ready: Batch[] = [];
  #buffered = 0;
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #wake: (() => void) | undefined;
  #state: 'running' | 'draining' | 'closed' = 'running';
  readonly #hardStop = new AbortController();
  #loop: Promise<void>;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #lastSuccessAt: number | undefined;

  constructor(opts: QueueOptions) {
    this.#plan = opts.plan;
    this.#m = opts.metrics;
    this.#log = opts.logger;
    this.#senderFor =
      opts.senderFor ??
      ((tenant) =>
        new RemoteWriteClient({
          ...opts.plan.client,
          headers: { ...(opts.plan.client.headers ?? {}), ...(tenant ? { 'X-Scope-OrgID': tenant } : {}) },
        }));
    this.#senderFor(this.#plan.tenantId); // validates URL/TLS/auth settings now, with the option named
    this.#loop = this.#run();
  }

  get name(): string {
    return this.#plan.name;
  }

  async enqueue(items: readonly PreparedEntry[], ack?: Ack): Promise<void> {
    if (this.#state === 'closed') throw new Error(`loki.write endpoint ${this.#plan.name} is shut down`);
    const host = this.#plan.host;
    if (ack) ack.remaining = items.length;
    if (this.#buffered >= this.#plan.capacityBytes && this.#state === 'running' && !this.#plan.blockOnOverflow) {
      let bytes = 0;
      for (const it of items) bytes += it.bytes;
      this.#m.droppedEntries.inc({ host, reason: 'queue_full' }, items.length);
      this.#m.droppedBytes.inc({ host, reason: 'queue_full' }, bytes);
      if (ack && items.length > 0) settle(ack, items.length);
      return;
    }
    while (this.#buffered >= this.#plan.capacityBytes && this.#state === 'running') {
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
    if (this.#isClosed()) throw new Error(`loki.write endpoint ${this.#plan.name} is shut down`);
    if (ack && items.length === 0) ack.done();
    for (const it of items) {
      const tenant = it.tenant || this.#plan.tenantId;
      let b = this.#open.get(tenant);
      if (b && b.entries > 0 && b.bytes + it.bytes > this.#plan.batchSizeBytes) {
        this.#seal(b);
        b = undefined;
      }
      if (!b) b = this.#newBatch(tenant);
      let list = b.streams.get(it.key);
      if (!list) {
        if (this.#plan.maxStreams > 0 && b.streams.size >= this.#plan.maxStreams) {
          this.#m.droppedEntries.inc({ host, reason: 'stream_limited' });
          this.#m.droppedBytes.inc({ host, reason: 'stream_limited' }, it.bytes);
          if (ack) settle(ack, 1);
          continue;
        }
        b.streams.set(it.key, (list = []));
      }
      list.push(it.entry);
      if (ack) (b.acks ??= new Map()).set(ack, (b.acks.get(ack) ?? 0) + 1);
      b.bytes += it.bytes;
      b.entries++;
      this.#buffered += it.bytes;
    }
    if (this.#state === 'draining') for (const b of [...this.#open.values()]) this.#seal(b);
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #newBatch(tenant: string): Batch {
    const b: Batch = { tenant, streams: new Map(), bytes: 0, entries: 0, timer: undefined, acks: undefined };
    b.timer = setTimeout(() => {
      if (this.#open.get(tenant) === b) this.#seal(b);
    }, this.#plan.batchWaitMs);
    this.#open.set(tenant, b);
    return b;
  }

  #seal(b: Batch): void {
    if (b.timer) clearTimeout(b.timer);
    b.timer = undefined;
    if (this.#open.get(b.tenant) === b) this.#open.delete(b.tenant);
    if (b.entries === 0) return;
    this.#ready.push(b);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sender(tenant: string): Sender {
    let s = this.#senders.get(tenant);
    if (!s) this.#senders.set(tenant, (s = this.#senderFor(tenant)));
    return s;
  }

  async #run(): Promise<void> {
    for (;;) {
      const b = this.#ready[0];
      if (!b) {
        if (this.#state !== 'running') return;
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      let outcome: 'done' | 'shutdown' = 'done';
      try {
        outcome = await this.#send(b);
      } catch (err: unknown) {
        this.#log.error('loki.write: unexpected send failure', { endpoint: this.#plan.name, err: String(err) });
      }
      if (outcome === 'done' && b.acks) for (const [ack, n] of b.acks) settle(ack, n);
      this.#ready.shift();
      this.#buffered -= b.bytes;
      this.#release();
    }
  }

  #release(): void {
    if (this.#buffered >= this.#plan.capacityBytes) return;
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.resolve();
  }

  /** Counts a dropped batch; `shutdown` when the queue stopped before it could be sent. */
  #drop(b: Batch, reason: DropReason, why: string): 'done' | 'shutdown' {
    const host = this.#plan.host;
    this.#m.droppedEntries.inc({ host, reason }, b.entries);
    this.#m.droppedBytes.inc({ host, reason }, b.bytes);
    this.#log.warn(`loki.write: dropping batch of ${b.entries} entries: ${why}`, { endpoint: this.#plan.name, tenant: b.tenant, reason });
    return reason === 'drain_timeout' ? 'shutdown' : 'done';
  }

  async #send(b: Batch): Promise<'done' | 'shutdown'> {
    const host = this.#plan.host;
    const streams: PushStream[] = [];
    for (const [labels, entries] of b.streams) streams.push({ labels, entries });
    const body = compress(this.#encoder.encode(streams));
    this.#m.encodedBytes.inc({ host }, body.length);
    const signal = this.#hardStop.signal;
    let backoff = this.#plan.minBackoffMs;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return this.#drop(b, 'drain_timeout', 'shutdown drain timeout reached');
      const t0 = performance.now();
      const res = await this.#sender(b.tenant).send(body, signal);
      this.#m.requestDuration.observe({ status_code: 'status' in res && res.status !== undefined ? String(res.status) : 'error', host }, (performance.now() - t0) / 1000);
      if (res.kind === 'ok') {
        this.#m.sentBytes.inc({ host }, body.length);
        this.#m.sentEntries.inc({ host }, b.entries);
        this.#lastSuccessAt = Date.now();
        return 'done';
      }
      this.#lastError = res.message;
      this.#lastErrorAt = Date.now();
      if (res.kind === 'fail') {
        return this.#drop(b, res.status === 429 ? 'rate_limited' : 'ingester_error', res.message);
      }
      if (signal.aborted) return this.#drop(b, 'drain_timeout', 'shutdown drain timeout reached');
      if (attempt >= this.#plan.maxRetries) {
        return this.#drop(b, res.status === 429 ? 'rate_limited' : 'ingester_error', `giving up after ${attempt + 1} attempts: ${res.message}`);
      }
      this.#m.retries.inc({ host, tenant: b.tenant });
      this.#log.warn('loki.write: error sending batch, will retry', { endpoint: this.#plan.name, status: res.status, err: res.message, backoff_ms: backoff });
      await sleep(Math.max(backoff, res.retryAfterMs ?? 0), signal);
      backoff = Math.min(backoff * 2, this.#plan.maxBackoffMs);
    }
  }

  /** Seals all batches, sends them within `drainMs`, then stops (see the file contract). */
  async close(drainMs: number): Promise<void> {
    if (this.#state !== 'running') {
      await this.#loop;
      return;
    }
    this.#state = 'draining';
    for (const b of [...this.#open.values()]) this.#seal(b);
    for (const w of this.#waiters.splice(0)) w.resolve();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
    const timer = setTimeout(() => this.#hardStop.abort(), drainMs);
    await this.#loop;
    clearTimeout(timer);
    this.#state = 'closed';
    for (const b of this.#open.values()) this.#seal(b);
    for (const b of this.#ready.splice(0)) {
      this.#buffered -= b.bytes;
      this.#drop(b, 'drain_timeout', 'queue closed before the batch could be sent');
    }
    for (const w2 of this.#waiters.splice(0)) w2.reject(new Error(`loki.write endpoint ${this.#plan.name} is shut down`));
    for (const s of this.#senders.values()) s.close();
  }

  status(): QueueStatus {
    return {
      name: this.#plan.name,
      url: redactUrl(this.#plan.url),
      bufferedBytes: this.#buffered,
      pendingBatches: this.#ready.length + this.#open.size,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ...(this.#lastErrorAt !== undefined ? { lastErrorAt: this.#lastErrorAt } : {}),
      ...(this.#lastSuccessAt !== undefined ? { lastSuccessAt: this.#lastSuccessAt } : {}),
    };
  }
}

