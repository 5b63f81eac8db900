/**
 * `pyroscope.receive_http`: an HTTP server for what Pyroscope SDKs and other collectors send,
 * forwarding to `forward_to`:
 * - `POST /push.v1.PusherService/Push`: the push API (Connect protocol, unary; `application/proto`
 *   or `application/json`, optionally `Content-Encoding: gzip`). Every series goes to every
 *   receiver's `append` with `service_name` ensured (from `__name__` when missing; when present,
 *   `app_name` gets `__name__`, as upstream).
 * - `POST /ingest`: Pyroscope's HTTP ingest API. The body is checked for its `format` and
 *   forwarded unchanged with `appendIngest`; labels come from the `name` query parameter.
 *   Accepted formats: `pprof` (raw or multipart `profile`/`prev_profile`/`sample_type_config`,
 *   gzip or not), `jfr` (raw or multipart `jfr`/`labels`), `folded` (the default) and `lines`.
 *   Refused with 415: `trie`, `tree` (pre-1.0 SDK wire formats) and `speedscope`, and any other
 *   format name.
 *
 * Contracts:
 * - A request is answered 200 only after every receiver accepted all of it; a downstream that
 *   gave up is answered with its status (push: Connect `internal` for retryable failures so the
 *   sender retries, the downstream's own code for permanent ones).
 * - Bad input never reaches a receiver: 400 for malformed/truncated protobuf, pprof, gzip, JFR or
 *   text and a bad `name`; 413 for a body over `MAX_BODY_BYTES` or a profile decompressing past
 *   `MAX_PROFILE_BYTES` (gzip bombs stop there); 415 for an unknown content type, encoding or
 *   format. Messages name the problem.
 * - Memory: request bodies in flight are limited to `MAX_INFLIGHT_BYTES` in total (beyond it 429
 *   with `Retry-After`); each profile is decompressed alone, checked and dropped.
 * - A push's `Connect-Timeout-Ms`, and a client hanging up, reach the receivers as an abort
 *   signal: downstream retries stop when the sender no longer waits for the answer.
 * - Changing the `http` block restarts the listener; changing only `forward_to` does not.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { Gauge } from 'prom-client';
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent } from '../../../runtime/component.js';
import { BodyBudget, BodyError, BodyLease, readBody } from '../../common/body-budget.js';
import { closeHttpServer, GRPC_NOT_SERVED, grpcServerSchema, httpServerSchema, listenHttpServer } from '../../common/http-server.js';
import { block, capsule, duration } from '../../../syntax/vm/schema.js';
import { Code, codeName, connectErrorResponse, CONTENT_TYPE_JSON, CONTENT_TYPE_PROTO, decodePush, PUSH_PATH } from '../../../pyroscope/push.js';
import { checkJfr, checkPprofPayload, checkText, gunzipBounded, PayloadError } from '../../../pyroscope/formats.js';
import { parseLabelSet } from '../../../pyroscope/labelset.js';
import { isProfilesReceiver, LABEL_NAME, LABEL_SERVICE_NAME, ProfilesWriteError, type Label, type Labels, type ProfilesReceiver, type RawSample } from '../../../pyroscope/types.js';

export const INGEST_PATH = '/ingest';
/** Largest accepted request body (compressed). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Largest size one profile (or a gzip-encoded push body) may decompress to. */
export const MAX_PROFILE_BYTES = 64 * 1024 * 1024;
/** Request bytes all connections together may hold while being checked and forwarded. */
export const MAX_INFLIGHT_BYTES = 256 * 1024 * 1024;

export const argumentsSchema = z.object({
  // Upstream's default connection limit for this component is 16k.
  http: block(httpServerSchema.extend({ conn_limit: z.number().int().min(0).default(16 * 1024) })).prefault({}),
  grpc: block(grpcServerSchema).optional(),
  graceful_shutdown_timeout: duration().default(30_000),
  forward_to: z.array(capsule<ProfilesReceiver>('ProfilesReceiver', isProfilesReceiver)),
});

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: Code = Code.InvalidArgument,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

const byName = (a: Label, b: Label): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Upstream's `ensureServiceName`: service_name from `__name__` when missing, else `app_name` = `__name__`. */
export function ensureServiceName(labels: Labels): Labels {
  const m = new Map(labels.map((l) => [l.name, l.value] as const));
  const name = m.get(LABEL_NAME) ?? '';
  if (!m.has(LABEL_SERVICE_NAME)) {
    if (name !== '') m.set(LABEL_SERVICE_NAME, name);
  } else if (name !== '') m.set('app_name', name);
  else m.delete('app_name');
  return [...m].map(([n, value]) => ({ name: n, value })).sort(byName);
}

type IngestFormat = 'pprof' | 'jfr' | 'folded' | 'lines';

/** The `/ingest` format from `format=` or a `binary/octet-stream+<fmt>` content type. */
export function ingestFormat(query: URLSearchParams, contentType: string): IngestFormat {
  let f = query.get('format') ?? '';
  const m = /^binary\/octet-stream\+(\w+)/.exec(contentType);
  if (m) f = m[1]!;
  switch (f) {
    case 'pprof':
    case 'jfr':
    case 'lines':
      return f;
    case '':
    case 'folded':
      return 'folded';
    case 'trie':
    case 'tree':
      throw new HttpError(415, `format ${JSON.stringify(f)} (the pre-1.0 Pyroscope SDK wire format) is not accepted by this collector; upgrade the SDK so it sends pprof`);
    case 'speedscope':
      throw new HttpError(415, 'format "speedscope" is not accepted by this collector; send pprof, jfr, folded or lines');
    default:
      throw new HttpError(415, `unknown format ${JSON.stringify(f)}; accepted formats are pprof, jfr, folded and lines`);
  }
}

async function multipartParts(body: Buffer, contentType: string): Promise<Map<string, Uint8Array>> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (err: unknown) {
    throw new HttpError(400, `malformed multipart/form-data body: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parts = new Map<string, Uint8Array>();
  for (const [name, v] of form) parts.set(name, typeof v === 'string' ? Buffer.from(v) : new Uint8Array(await v.arrayBuffer()));
  return parts;
}

/** Checks an `/ingest` body for its format; throws HttpError/PayloadError naming the problem. */
export async function checkIngestBody(body: Buffer, format: IngestFormat, contentType: string): Promise<void> {
  if (body.length === 0) throw new HttpError(400, 'empty request body');
  const multipart = /^multipart\/form-data/i.test(contentType);
  if (format === 'pprof') {
    if (!multipart) return void checkPprofPayload(body, MAX_PROFILE_BYTES);
    const parts = await multipartParts(body, contentType);
    const profile = parts.get('profile');
    if (!profile) throw new HttpError(400, 'multipart pprof upload has no "profile" part');
    checkPprofPayload(profile, MAX_PROFILE_BYTES, 'profile');
    const prev = parts.get('prev_profile');
    if (prev && prev.length > 0) checkPprofPayload(prev, MAX_PROFILE_BYTES, 'prev_profile');
    const cfg = parts.get('sample_type_config');
    if (cfg) {
      try {
        JSON.parse(Buffer.from(cfg).toString('utf8'));
      } catch {
        throw new HttpError(400, 'multipart part "sample_type_config" is not valid JSON');
      }
    }
    return;
  }
  if (format === 'jfr') {
    if (!multipart) return void checkJfr(body, MAX_PROFILE_BYTES);
    const parts = await multipartParts(body, contentType);
    const jfr = parts.get('jfr');
    if (!jfr) throw new HttpError(400, 'multipart jfr upload has no "jfr" part');
    checkJfr(jfr, MAX_PROFILE_BYTES);
    return;
  }
  if (multipart) throw new HttpError(415, `multipart bodies are accepted for pprof and jfr only, not for format ${format}`);
  checkText(gunzipBounded(body, MAX_PROFILE_BYTES, `${format} profile`), format);
}

export class PyroscopeReceiveHttpComponent implements Component<Arguments>, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #log: Logger;
  #args: Arguments;
  #server: http.Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #connections: Gauge<'protocol'>;
  readonly #connLimit: Gauge;
  readonly #budget = new BodyBudget(MAX_INFLIGHT_BYTES);

  private constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#log = opts.logger;
    if (args.grpc) opts.logger.warn(`pyroscope.receive_http: ${GRPC_NOT_SERVED}`);
    this.#args = args;
    const registers = [opts.registry];
    this.#connections = new Gauge({ name: 'pyroscope_receive_http_tcp_connections', help: 'Current number of accepted TCP connections.', labelNames: ['protocol'], registers });
    this.#connLimit = new Gauge({ name: 'pyroscope_receive_http_tcp_connections_limit', help: 'The max number of TCP connections that can be accepted (0 means no limit).', registers });
    this.#connections.set({ protocol: 'http' }, 0);
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<PyroscopeReceiveHttpComponent> {
    const c = new PyroscopeReceiveHttpComponent(opts, args);
    await c.#listen(args.http);
    return c;
  }

  get address(): { host: string; port: number } | undefined {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  debugInfo(): unknown {
    const a = this.address;
    return { address: a ? `${a.host}:${a.port}` : null, paths: [PUSH_PATH, INGEST_PATH], inflight_bytes: this.#budget.inFlight };
  }

  async #listen(cfg: Arguments['http']): Promise<void> {
    const server = await listenHttpServer('pyroscope.receive_http', cfg, (req, res) => void this.#handle(req, res), { sockets: this.#sockets, connections: this.#connections });
    server.on('error', (err) => this.#opts.setHealth('unhealthy', `HTTP server error: ${err.message}`));
    this.#server = server;
    this.#connLimit.set(cfg.conn_limit);
    this.#opts.setHealth('healthy', `listening on ${cfg.listen_address || '0.0.0.0'}:${this.address?.port ?? cfg.listen_port}`);
  }

  async #close(graceMs: number): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeHttpServer(server, graceMs);
  }

  /**
   * Reads the body within `MAX_BODY_BYTES` and this receiver's in-flight budget; `release` frees
   * the budget. A refused body closes the connection instead of being read to its end.
   */
  async #readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<{ body: Buffer; release: () => void }> {
    const lease = new BodyLease(this.#budget);
    try {
      const body = await readBody(req, MAX_BODY_BYTES, lease, 'the limit');
      return { body, release: () => lease.release() };
    } catch (err: unknown) {
      lease.release();
      if (!(err instanceof BodyError)) throw err;
      res.setHeader('Connection', 'close');
      if (err.status === 503) throw new HttpError(429, `too many request bytes in flight (limit ${MAX_INFLIGHT_BYTES}); retry later`, Code.ResourceExhausted, 1);
      throw new HttpError(413, err.message);
    }
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const push = url.pathname === PUSH_PATH;
    let release: (() => void) | undefined;
    // The sender's deadline (Connect) and its connection: retries downstream stop when either ends.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const timeoutMs = Number(req.headers['connect-timeout-ms']);
    const signal = Number.isFinite(timeoutMs) && timeoutMs > 0 ? AbortSignal.any([gone.signal, AbortSignal.timeout(timeoutMs)]) : gone.signal;
    const writeTimeout = this.#args.http.server_write_timeout;
    const timer = writeTimeout > 0 ? setTimeout(() => req.socket.destroy(), writeTimeout) : undefined;
    try {
      if (!push && url.pathname !== INGEST_PATH) throw new HttpError(404, `404 page not found; profiles go to POST ${PUSH_PATH} or POST ${INGEST_PATH}`, Code.Unimplemented);
      if (req.method !== 'POST') throw new HttpError(405, `method ${req.method ?? ''} not allowed; use POST`, Code.Unimplemented);
      if (push) {
        const json = this.#checkPushHeaders(req);
        const read = await this.#readBody(req, res);
        release = read.release;
        await this.#push(read.body, json, req.headers['content-encoding'], signal);
        const b = json ? Buffer.from('{}') : Buffer.alloc(0);
        res.writeHead(200, { 'content-type': json ? CONTENT_TYPE_JSON : CONTENT_TYPE_PROTO, 'content-length': b.length });
        res.end(b);
      } else {
        const ct = req.headers['content-type'] ?? '';
        const format = ingestFormat(url.searchParams, ct);
        const read = await this.#readBody(req, res);
        release = read.release;
        await this.#ingest(read.body, url, format, req.headers['content-type'] ?? '', signal);
        res.writeHead(200).end();
      }
    } catch (err: unknown) {
      this.#answerError(res, err, push);
    } finally {
      release?.();
      if (timer) clearTimeout(timer);
    }
  }

  /** Returns whether the body is JSON. */
  #checkPushHeaders(req: http.IncomingMessage): boolean {
    const v = req.headers['connect-protocol-version'];
    if (v !== undefined && v !== '1') throw new HttpError(400, `unsupported connect-protocol-version ${JSON.stringify(v)}; expected "1"`);
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct === CONTENT_TYPE_PROTO) return false;
    if (ct === CONTENT_TYPE_JSON) return true;
    throw new HttpError(415, `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: the push API takes application/proto or application/json (Connect unary)`, Code.Unimplemented);
  }

  async #push(body: Buffer, json: boolean, encoding: string | undefined, signal: AbortSignal): Promise<void> {
    let raw: Uint8Array = body;
    if (encoding !== undefined && encoding !== 'identity') {
      if (encoding !== 'gzip') throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}; use gzip or none`, Code.Unimplemented);
      raw = gunzipBounded(body, MAX_PROFILE_BYTES, 'push request');
    }
    let msg;
    try {
      msg = decodePush(raw, json);
    } catch (err: unknown) {
      throw new HttpError(400, `malformed or truncated PushRequest (${json ? 'JSON' : 'protobuf'}): ${err instanceof Error ? err.message : String(err)}`);
    }
    const series: Array<{ labels: Labels; samples: RawSample[] }> = [];
    for (const [i, s] of msg.series.entries()) {
      const samples: RawSample[] = [];
      for (const [j, x] of s.samples.entries()) {
        checkPprofPayload(x.rawProfile, MAX_PROFILE_BYTES, `series ${i} sample ${j}`);
        samples.push({ rawProfile: x.rawProfile, ...(x.ID ? { id: x.ID } : {}) });
      }
      series.push({ labels: ensureServiceName(s.labels.map((l) => ({ name: l.name, value: l.value }))), samples });
    }
    const receivers = this.#args.forward_to;
    await this.#forward(receivers.map(async (r) => {
      for (const s of series) await r.append(s.labels, s.samples, signal);
    }));
  }

  async #ingest(body: Buffer, url: URL, format: IngestFormat, contentType: string, signal: AbortSignal): Promise<void> {
    const name = url.searchParams.get('name');
    if (!name) throw new HttpError(400, 'the name query parameter is required (e.g. name=my.app.cpu{env=prod})');
    let labels: Labels;
    try {
      labels = ensureServiceName(parseLabelSet(name));
    } catch (err: unknown) {
      throw new HttpError(400, err instanceof Error ? err.message : String(err));
    }
    await checkIngestBody(body, format, contentType);
    const contentTypes = contentType ? [contentType] : [];
    const receivers = this.#args.forward_to;
    await this.#forward(receivers.map((r) => r.appendIngest({ body, contentType: contentTypes, path: INGEST_PATH, query: url.searchParams, labels }, signal)));
  }

  /** Waits for every receiver; the first failure decides the answer. */
  async #forward(work: Promise<void>[]): Promise<void> {
    const results = await Promise.allSettled(work);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failed.length === 0) return;
    const msg = failed.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
    const permanent = failed.every((e) => e instanceof ProfilesWriteError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408);
    if (permanent) {
      const e = failed[0] as ProfilesWriteError;
      throw new HttpError(e.status, `forwarding failed: ${msg}`, Code.InvalidArgument);
    }
    throw new HttpError(500, `forwarding failed, retry later: ${msg}`, Code.Internal);
  }

  #answerError(res: http.ServerResponse, err: unknown, push: boolean): void {
    let status = 500;
    let code = Code.Internal;
    let message: string;
    let retryAfter: number | undefined;
    if (err instanceof HttpError) {
      status = err.status;
      code = err.code;
      message = err.message;
      retryAfter = err.retryAfterSec;
    } else if (err instanceof PayloadError) {
      status = err.status;
      code = err.status === 415 ? Code.Unimplemented : Code.InvalidArgument;
      message = err.message;
    } else message = err instanceof Error ? err.message : String(err);
    if (status >= 500) this.#log.warn(`pyroscope.receive_http: ${message}`);
    else this.#log.debug(`pyroscope.receive_http: rejected request: ${message}`, { status, code: codeName(code) });
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = {};
    if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
    // An unread body cannot be skipped cheaply: close the connection after answering.
    if (status === 413 || status === 429) res.shouldKeepAlive = false;
    if (push) {
      const r = connectErrorResponse(code, message, status);
      res.writeHead(r.status, { ...headers, 'content-type': CONTENT_TYPE_JSON, 'content-length': r.body.length });
      res.end(r.body);
    } else {
      const b = Buffer.from(message + '\n');
      res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': b.length });
      res.end(b);
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await this.#close(this.#args.graceful_shutdown_timeout);
  }

  async update(args: Arguments): Promise<void> {
    const prev = this.#args;
    this.#args = args;
    if (JSON.stringify(prev.http) === JSON.stringify(args.http)) return;
    await this.#close(0);
    try {
      await this.#listen(args.http);
    } catch (err: unknown) {
      this.#args = prev;
      await this.#listen(prev.http).catch(() => undefined);
      throw err;
    }
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'pyroscope.receive_http',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: [],
  build: (opts, args) => PyroscopeReceiveHttpComponent.create(opts, args),
};
