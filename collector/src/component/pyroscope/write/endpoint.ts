/**
 * One `pyroscope.write` endpoint: sends a push (Connect `PusherService/Push`) or forwards an
 * `/ingest` request, retrying with exponential backoff (`min_backoff_period` doubling up to
 * `max_backoff_period`, with jitter, `Retry-After` honoured) until `max_backoff_retries` attempts
 * (0: no limit) were made.
 *
 * Retried: network errors and timeouts, 5xx, 408, 429 (when `retry_on_http_429`), and push
 * errors whose Connect code upstream retries (`unknown`, `internal`, `unavailable`,
 * `resource_exhausted`, `deadline_exceeded`, `data_loss`, `aborted`). Other 4xx fail at once.
 * `send` never throws for transport problems: it returns the final outcome.
 */
import { sleep } from '../../../clock/clock.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import { RemoteWriteClient, type SendResult, type Sender } from '../../../prom/remotewrite/client.js';
import { Code, codeName, CONTENT_TYPE_PROTO, isRetryableCode, PUSH_PATH, responseCode } from '../../../pyroscope/push.js';
import type { EndpointPlan } from './arguments.js';

export class WriteMetrics {
  readonly sentBytes: Counter<'endpoint'>;
  readonly droppedBytes: Counter<'endpoint'>;
  readonly sentProfiles: Counter<'endpoint'>;
  readonly droppedProfiles: Counter<'endpoint'>;
  readonly retries: Counter<'endpoint'>;
  readonly latency: Histogram<'endpoint' | 'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sentBytes = new Counter({ name: 'pyroscope_write_sent_bytes_total', help: 'Total number of compressed bytes sent to Pyroscope.', labelNames: ['endpoint'], registers });
    this.droppedBytes = new Counter({ name: 'pyroscope_write_dropped_bytes_total', help: 'Total number of compressed bytes dropped by Pyroscope.', labelNames: ['endpoint'], registers });
    this.sentProfiles = new Counter({ name: 'pyroscope_write_sent_profiles_total', help: 'Total number of profiles sent to Pyroscope.', labelNames: ['endpoint'], registers });
    this.droppedProfiles = new Counter({ name: 'pyroscope_write_dropped_profiles_total', help: 'Total number of profiles dropped by Pyroscope.', labelNames: ['endpoint'], registers });
    this.retries = new Counter({ name: 'pyroscope_write_retries_total', help: 'Total number of retries to Pyroscope.', labelNames: ['endpoint'], registers });
    this.latency = new Histogram({ name: 'pyroscope_write_latency', help: 'Write latency for sending profiles to pyroscope', labelNames: ['endpoint', 'type'], registers });
  }
}

export type Outcome = { readonly ok: true } | { readonly ok: false; readonly status: number; readonly code: Code; readonly message: string; readonly attempts: number };

export interface EndpointStatus {
  readonly name: string;
  readonly url: string;
  readonly lastError?: string;
  readonly lastErrorAt?: string;
  readonly lastSuccessAt?: string;
}

/** Joins the endpoint URL's path with `suffix` (as Go's `path.Join`). */
export function joinPath(base: string, suffix: string): string {
  return `${base.replace(/\/+$/, '')}/${suffix.replace(/^\/+/, '')}`;
}

export class Endpoint {
  readonly plan: EndpointPlan;
  readonly #sender: Sender;
  readonly #metrics: WriteMetrics;
  readonly #basePath: string;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #lastSuccessAt: number | undefined;

  constructor(plan: EndpointPlan, metrics: WriteMetrics, sender?: Sender) {
    this.plan = plan;
    this.#metrics = metrics;
    this.#sender = sender ?? new RemoteWriteClient(plan.client);
    this.#basePath = new URL(plan.url).pathname;
  }

  close(): void {
    this.#sender.close();
  }

  status(): EndpointStatus {
    return {
      name: this.plan.name,
      url: this.plan.url,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError, lastErrorAt: new Date(this.#lastErrorAt!).toISOString() } : {}),
      ...(this.#lastSuccessAt !== undefined ? { lastSuccessAt: new Date(this.#lastSuccessAt).toISOString() } : {}),
    };
  }

  /** Sends an encoded PushRequest. */
  push(body: Buffer, profiles: number, rawBytes: number, signal: AbortSignal): Promise<Outcome> {
    const headers = { 'content-type': CONTENT_TYPE_PROTO, 'connect-protocol-version': '1', 'connect-timeout-ms': String(this.plan.timeoutMs) };
    return this.#send('push', body, profiles, rawBytes, signal, { pathAndQuery: joinPath(this.#basePath, PUSH_PATH), headers }, true);
  }

  /** Forwards an `/ingest` request body with its content type(s) and query. */
  ingest(body: Buffer, path: string, query: URLSearchParams, contentType: readonly string[], signal: AbortSignal): Promise<Outcome> {
    const headers: Record<string, string> = {};
    if (contentType.length > 0) headers['content-type'] = contentType.join(', ');
    const q = query.toString();
    return this.#send('ingest', body, 1, body.length, signal, { pathAndQuery: joinPath(this.#basePath, path) + (q ? `?${q}` : ''), headers }, false);
  }

  async #send(kind: 'push' | 'ingest', body: Buffer, profiles: number, rawBytes: number, signal: AbortSignal, opts: { pathAndQuery: string; headers: Record<string, string> }, connect: boolean): Promise<Outcome> {
    const url = this.plan.url;
    const endTotal = this.#metrics.latency.startTimer({ endpoint: url, type: `${kind}_endpoint` });
    let backoff = this.plan.minBackoffMs;
    let attempts = 0;
    try {
      for (;;) {
        attempts++;
        const endDown = this.#metrics.latency.startTimer({ endpoint: url, type: `${kind}_downstream` });
        const res = await this.#sender.send(body, signal, opts);
        endDown();
        if (res.kind === 'ok') {
          this.#metrics.sentBytes.inc({ endpoint: url }, rawBytes);
          this.#metrics.sentProfiles.inc({ endpoint: url }, profiles);
          this.#lastSuccessAt = Date.now();
          return { ok: true };
        }
        const c = this.#classify(res, connect);
        this.#lastError = c.message;
        this.#lastErrorAt = Date.now();
        const exhausted = this.plan.maxRetries > 0 && attempts >= this.plan.maxRetries;
        if (!c.retry || exhausted || signal.aborted) {
          this.#metrics.droppedBytes.inc({ endpoint: url }, rawBytes);
          this.#metrics.droppedProfiles.inc({ endpoint: url }, profiles);
          const why = signal.aborted ? 'cancelled (component stopped or the caller gave up)' : exhausted && c.retry ? `gave up after ${attempts} attempts` : 'not retryable';
          return { ok: false, status: c.status, code: c.code, message: `${kind} to ${url} failed (${why}): ${c.message}`, attempts };
        }
        const wait = Math.max(res.kind === 'retry' && res.retryAfterMs !== undefined ? res.retryAfterMs : 0, backoff / 2 + Math.random() * (backoff / 2));
        backoff = Math.min(backoff * 2, this.plan.maxBackoffMs);
        await sleep(wait, signal);
        this.#metrics.retries.inc({ endpoint: url });
      }
    } finally {
      endTotal();
    }
  }

  #classify(res: Exclude<SendResult, { kind: 'ok' }>, connect: boolean): { retry: boolean; status: number; code: Code; message: string } {
    if (res.status === undefined) return { retry: true, status: 503, code: Code.Unavailable, message: res.message };
    const status = res.status;
    if (status === 429 && !this.plan.retryOn429) return { retry: false, status, code: Code.ResourceExhausted, message: res.message };
    const byStatus = status >= 500 || status === 408 || status === 429;
    if (connect) {
      // A Connect error body decides by its code (as upstream); anything else (a proxy's page) by status.
      const { code, message, fromBody } = responseCode(status, res.responseText);
      const retry = fromBody ? isRetryableCode(code) || byStatus : byStatus;
      return { retry, status, code, message: `HTTP ${status} (${codeName(code)}): ${message || res.message}` };
    }
    const retry = byStatus;
    return { retry, status, code: responseCode(status, undefined).code, message: res.message };
  }
}
