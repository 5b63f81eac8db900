/**
 * HTTP sender for one remote-write endpoint: POSTs snappy-compressed WriteRequests with the
 * remote-write 1.0 headers, auth, TLS, proxy and timeout settings, and classifies the answer:
 *
 * - 2xx: `ok`.
 * - 5xx, network errors and timeouts: `retry` (honouring `Retry-After`).
 * - 429: `retry` when `retryOn429`, else `fail`.
 * - any other status: `fail` (the batch is dropped and counted as failed).
 *
 * `send` never throws for transport problems; it returns a result. Constructing a client with an
 * invalid URL or unreadable TLS file throws with the option named.
 */
import { redactUrl } from '../../logging/redact.js';
import { Authorizer } from '../../transport/auth.js';
import { HttpTransport, readResponse } from '../../transport/client.js';
import { classifyStatus, parseRetryAfter } from '../../transport/retry.js';

/** Re-exported for existing importers; it lives in `transport/retry.ts`. */
export { parseRetryAfter };

export const USER_AGENT = 'Alloy/v1.15.0 (alloy-ts)';

export interface TlsConfig {
  readonly caPem?: string;
  readonly caFile?: string;
  readonly certPem?: string;
  readonly certFile?: string;
  readonly keyPem?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
  readonly minVersion?: 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';
}

export interface ClientConfig {
  readonly url: string;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly basicAuth?: { readonly username: string; readonly password?: string; readonly passwordFile?: string };
  readonly bearerToken?: string;
  readonly bearerTokenFile?: string;
  readonly authorization?: { readonly type?: string; readonly credentials?: string; readonly credentialsFile?: string };
  readonly tls?: TlsConfig;
  readonly proxyUrl?: string;
  readonly proxyFromEnvironment?: boolean;
  readonly noProxy?: string;
  readonly retryOn429: boolean;
  /**
   * Protocol headers sent instead of the remote-write ones (`content-encoding: snappy`,
   * `content-type: application/x-protobuf`, `x-prometheus-remote-write-version`), for other
   * protocols over the same client (e.g. Pyroscope's push API).
   */
  readonly protocolHeaders?: Readonly<Record<string, string>>;
}

export type SendResult =
  | { readonly kind: 'ok'; readonly status: number }
  | { readonly kind: 'retry'; readonly status?: number; readonly retryAfterMs?: number; readonly message: string; readonly responseText?: string }
  | { readonly kind: 'fail'; readonly status: number; readonly message: string; readonly responseText?: string };

/** Per-request changes to the configured request (used by protocols with several paths). */
export interface SendOptions {
  /** Replaces the configured URL's path and query, e.g. `/ingest?name=app`. */
  readonly pathAndQuery?: string;
  /** Headers set on this request only (after the configured ones). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Sender {
  send(body: Buffer, signal: AbortSignal, options?: SendOptions): Promise<SendResult>;
  close(): void;
}

export class RemoteWriteClient implements Sender {
  readonly #url: URL;
  readonly #cfg: ClientConfig;
  readonly #transport: HttpTransport;
  readonly #auth: Authorizer;
  readonly #baseHeaders: Record<string, string>;

  constructor(cfg: ClientConfig) {
    let url: URL;
    try {
      url = new URL(cfg.url);
    } catch {
      throw new Error(`url: invalid remote_write URL ${JSON.stringify(redactUrl(cfg.url))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`url: unsupported scheme ${url.protocol} in ${redactUrl(cfg.url)} (use http or https)`);
    }
    const authCount = [cfg.basicAuth, cfg.bearerToken, cfg.bearerTokenFile, cfg.authorization].filter((x) => x !== undefined).length;
    if (authCount > 1) {
      throw new Error('at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured');
    }
    this.#url = url;
    this.#cfg = cfg;
    const t = cfg.tls;
    this.#transport = new HttpTransport({
      ...(t
        ? {
            tls: {
              ca: t.caPem,
              caFile: t.caFile,
              cert: t.certPem,
              certFile: t.certFile,
              key: t.keyPem,
              keyFile: t.keyFile,
              serverName: t.serverName,
              insecureSkipVerify: t.insecureSkipVerify,
              minVersion: t.minVersion,
            },
          }
        : {}),
      proxy: { proxyUrl: cfg.proxyUrl, proxyFromEnvironment: cfg.proxyFromEnvironment, noProxy: cfg.noProxy },
    });
    this.#auth = new Authorizer(cfg);
    this.#baseHeaders = {
      ...(cfg.headers ?? {}),
      ...(cfg.protocolHeaders ?? { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' }),
      'user-agent': USER_AGENT,
    };
    if (url.username) {
      this.#baseHeaders['authorization'] =
        `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    }
  }

  async send(body: Buffer, signal: AbortSignal, options?: SendOptions): Promise<SendResult> {
    let auth: string | undefined;
    try {
      auth = await this.#auth.header(signal);
    } catch (err: unknown) {
      return { kind: 'retry', message: `reading credentials: ${err instanceof Error ? err.message : String(err)}` };
    }
    const headers: Record<string, string | number> = { ...this.#baseHeaders, ...(options?.headers ?? {}), 'content-length': body.length };
    if (auth) headers['authorization'] = auth;
    const url = options?.pathAndQuery !== undefined ? new URL(options.pathAndQuery, this.#url) : this.#url;
    let status = 0;
    try {
      const res = await this.#transport.request(url, {
        method: 'POST',
        headers,
        body,
        signal,
        timeoutMs: this.#cfg.timeoutMs,
        timeoutMessage: `context deadline exceeded (remote_timeout ${this.#cfg.timeoutMs}ms)`,
      });
      status = res.statusCode ?? 0;
      const text = (await readResponse(res, 1024)).toString('utf8').trim();
      const outcome = classifyStatus(status, this.#cfg.retryOn429);
      if (outcome === 'ok') return { kind: 'ok', status };
      const message = `server returned HTTP status ${status} ${res.statusMessage ?? ''}: ${text}`.trim();
      if (outcome === 'retry') {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
        return { kind: 'retry', status, message, responseText: text, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      }
      return { kind: 'fail', status, message, responseText: text };
    } catch (err: unknown) {
      const message = err instanceof Error ? err.message : String(err);
      return status ? { kind: 'retry', status, message } : { kind: 'retry', message };
    }
  }

  close(): void {
    this.#transport.close();
  }
}
