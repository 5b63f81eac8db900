/**
 * The OTLP/gRPC client of `otelcol.exporter.otlp` (and of each `otelcol.exporter.loadbalancing`
 * backend): the `client` block schema with Alloy's names and defaults, and a `Send` over one
 * `@grpc/grpc-js` channel. Request bytes are the `Telemetry` encoding (received bytes reused).
 *
 * Failures follow the OTLP spec: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
 * DATA_LOSS and RESOURCE_EXHAUSTED-with-RetryInfo are retryable (RetryInfo's delay honoured);
 * everything else is permanent. A partial success is logged, not retried.
 */
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import type { Logger } from 'winston';
import { block, duration } from '../../../syntax/vm/schema.js';
import { byteSize } from '../../../loki/bytes.js';
import { SERVICE_PATH } from '../../../otlp/grpc.js';
import { Types } from '../../../otlp/schema.js';
import type { Signal, Telemetry } from '../../../otlp/data.js';
import { handlerCapsule } from '../auth.js';
import { tlsClientSchema, tlsMaterial } from '../config.js';
import { SendError, type Send } from './helper.js';

export const grpcClientSchema = z.object({
  endpoint: z.string().min(1, 'client.endpoint is required: host:port of the OTLP gRPC server'),
  auth: handlerCapsule().optional(),
  authority: z.string().optional(),
  balancer_name: z.enum(['round_robin', 'pick_first']).default('round_robin'),
  compression: z.enum(['gzip', 'deflate', 'none', '']).default('gzip'),
  headers: z.record(z.string(), z.string()).default({}),
  read_buffer_size: byteSize().optional(),
  write_buffer_size: byteSize().default(512 * 1024),
  wait_for_ready: z.boolean().default(false),
  tls: block(tlsClientSchema).prefault({}),
  keepalive: block(
    z.object({
      ping_wait: duration().optional(),
      ping_response_timeout: duration().optional(),
      ping_without_stream: z.boolean().optional(),
    }),
  ).optional(),
});

export type GrpcClientArguments = z.output<typeof grpcClientSchema>;

const RESPONSE_TYPE = { traces: Types.traceResponse, metrics: Types.metricsResponse, logs: Types.logsResponse } as const;
const REJECTED_FIELD = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' } as const;
const RETRYABLE = new Set([grpc.status.CANCELLED, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.OUT_OF_RANGE, grpc.status.UNAVAILABLE, grpc.status.DATA_LOSS]);

/** The retry delay of a `google.rpc.RetryInfo` in the error's status details, if any. */
function retryDelayMs(err: grpc.ServiceError): number | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (!(bin instanceof Buffer)) return undefined;
  try {
    const st = Types.status.decode(bin) as unknown as { details: { typeUrl: string; value: Uint8Array }[] };
    const d = st.details.find((x) => x.typeUrl.endsWith('google.rpc.RetryInfo'));
    if (!d) return undefined;
    const info = Types.retryInfo.decode(d.value) as unknown as { retryDelay?: { seconds?: { toNumber(): number } | number; nanos?: number } };
    const s = info.retryDelay?.seconds;
    return (typeof s === 'number' ? s : (s?.toNumber() ?? 0)) * 1000 + (info.retryDelay?.nanos ?? 0) / 1e6;
  } catch {
    return undefined;
  }
}

/** `host:port` target and whether the endpoint's scheme asks for plaintext. */
function target(endpoint: string): { address: string; plaintext: boolean | undefined } {
  const m = /^(https?):\/\/(.*)$/.exec(endpoint);
  if (m) return { address: m[2]!.replace(/\/+$/, ''), plaintext: m[1] === 'http' };
  return { address: endpoint, plaintext: undefined };
}

export class GrpcSender {
  readonly #client: grpc.Client;
  readonly #cfg: GrpcClientArguments;
  readonly #timeoutMs: number;
  readonly #log: Logger;

  /** @throws Error naming the field when TLS material cannot be read. */
  constructor(cfg: GrpcClientArguments, timeoutMs: number, log: Logger) {
    this.#cfg = cfg;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
    const { address, plaintext } = target(cfg.endpoint);
    let creds: grpc.ChannelCredentials;
    if (plaintext === true || (plaintext === undefined && cfg.tls.insecure)) creds = grpc.credentials.createInsecure();
    else {
      const t = tlsMaterial(cfg.tls);
      creds = grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null, cfg.tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
    }
    const ka = cfg.keepalive;
    const options: grpc.ChannelOptions = {
      'grpc.default_compression_algorithm': cfg.compression === 'gzip' ? 2 : cfg.compression === 'deflate' ? 1 : 0,
      'grpc.max_send_message_length': -1,
      'grpc.lb_policy_name': cfg.balancer_name,
      ...(cfg.authority ? { 'grpc.default_authority': cfg.authority } : {}),
      ...(cfg.tls.server_name ? { 'grpc.ssl_target_name_override': cfg.tls.server_name } : {}),
      ...(ka?.ping_wait ? { 'grpc.keepalive_time_ms': ka.ping_wait } : {}),
      ...(ka?.ping_response_timeout ? { 'grpc.keepalive_timeout_ms': ka.ping_response_timeout } : {}),
      ...(ka?.ping_without_stream ? { 'grpc.keepalive_permit_without_calls': 1 } : {}),
    };
    this.#client = new grpc.Client(address, creds, options);
  }

  readonly send: Send = async (data, signal) => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.#cfg.headers)) md.set(k, v);
    if (this.#cfg.auth?.clientHeaders) for (const [k, v] of Object.entries(await this.#cfg.auth.clientHeaders(data.metadata))) md.set(k.toLowerCase(), v);
    const body = Buffer.from(data.encode().buffer, data.encode().byteOffset, data.encode().byteLength);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = this.#client.makeUnaryRequest(
        SERVICE_PATH[data.signal],
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        { deadline: Date.now() + this.#timeoutMs, ...(this.#cfg.wait_for_ready ? { waitForReady: true } : {}) } as grpc.CallOptions,
        (err, res) => {
          signal.removeEventListener('abort', cancel);
          if (!err) return resolve(res ?? Buffer.alloc(0));
          const delay = retryDelayMs(err);
          const retryable = RETRYABLE.has(err.code) || (err.code === grpc.status.RESOURCE_EXHAUSTED && delay !== undefined);
          reject(new SendError(`OTLP gRPC export to ${this.#cfg.endpoint} failed: ${grpc.status[err.code]}: ${err.details}`, retryable, delay));
        },
      );
      const cancel = (): void => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
    this.#partial(data.signal, reply, data);
  };

  #partial(signal: Signal, reply: Buffer, data: Telemetry): void {
    if (reply.length === 0) return;
    try {
      const res = RESPONSE_TYPE[signal].decode(reply) as unknown as { partialSuccess?: Record<string, unknown> };
      const ps = res.partialSuccess;
      const rejected = Number(String(ps?.[REJECTED_FIELD[signal]] ?? 0));
      if (ps && (rejected > 0 || ps['errorMessage'])) this.#log.warn(`partial success from ${this.#cfg.endpoint}: ${rejected} of ${data.count} ${signal} items rejected: ${String(ps['errorMessage'] ?? '')}`);
    } catch {
      // An undecodable success response still means the server accepted the request.
    }
  }

  close(): void {
    this.#client.close();
  }
}
