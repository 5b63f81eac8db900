/**
 * Blocks shared by otelcol.* components, with Alloy's names and defaults: the TLS server and
 * client blocks, the `retry_on_failure` and `sending_queue` blocks of exporters, and parsing of
 * `host:port` endpoints. Certificate material is read when a server or client is built.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { block, duration, secret } from '../../syntax/vm/schema.js';

const tlsCommon = {
  ca_file: z.string().optional(),
  ca_pem: z.string().optional(),
  cert_file: z.string().optional(),
  cert_pem: z.string().optional(),
  key_file: z.string().optional(),
  key_pem: secret().optional(),
  min_version: z.string().optional(),
  max_version: z.string().optional(),
  reload_interval: duration().optional(),
  cipher_suites: z.array(z.string()).optional(),
  curve_preferences: z.array(z.string()).optional(),
  include_system_ca_certs_pool: z.boolean().default(false),
  tpm: z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined) ctx.addIssue({ code: 'custom', message: 'tls.tpm is not supported by this collector; give key_file or key_pem' });
    }),
};

export const tlsServerSchema = z.object({ ...tlsCommon, client_ca_file: z.string().optional() });
export const tlsClientSchema = z.object({
  ...tlsCommon,
  insecure: z.boolean().default(false),
  insecure_skip_verify: z.boolean().default(false),
  server_name: z.string().optional(),
});

export type TlsServerArguments = z.output<typeof tlsServerSchema>;
export type TlsClientArguments = z.output<typeof tlsClientSchema>;

export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

function pick(pem: string | undefined, file: string | undefined, what: string): Buffer | undefined {
  if (pem !== undefined && file !== undefined) throw new Error(`tls: set at most one of ${what}_pem and ${what}_file`);
  if (pem !== undefined) return Buffer.from(pem);
  if (file !== undefined) return readFileSync(file);
  return undefined;
}

/**
 * Reads the PEM material of a TLS block.
 * @throws Error naming the field when both the inline and the file form are set or a file is unreadable.
 */
export function tlsMaterial(t: TlsServerArguments | TlsClientArguments): TlsMaterial {
  const ca = pick(t.ca_pem, t.ca_file, 'ca');
  const cert = pick(t.cert_pem, t.cert_file, 'cert');
  const key = pick(t.key_pem?.reveal(), t.key_file, 'key');
  if ((cert === undefined) !== (key === undefined)) throw new Error('tls: cert and key must be set together');
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** `retry_on_failure` of exporters (upstream `configretry.BackOffConfig`). */
export const retrySchema = z.object({
  enabled: z.boolean().default(true),
  initial_interval: duration().default(5_000),
  randomization_factor: z.number().min(0).max(1).default(0.5),
  multiplier: z.number().min(1).default(1.5),
  max_interval: duration().default(30_000),
  max_elapsed_time: duration().default(300_000),
});
export type RetryArguments = z.output<typeof retrySchema>;

/** `sending_queue` of exporters (in memory; `storage` is not supported). */
export const queueSchema = z.object({
  enabled: z.boolean().default(true),
  num_consumers: z.number().int().min(1).default(10),
  queue_size: z.number().int().min(1).default(1000),
  blocking: z.boolean().default(false),
  block_on_overflow: z.boolean().default(false),
  sizer: z.enum(['requests', 'items', 'bytes']).default('requests'),
  storage: z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined) ctx.addIssue({ code: 'custom', message: 'sending_queue.storage is not supported by this collector; the queue is in memory' });
    }),
});
export type QueueArguments = z.output<typeof queueSchema>;

export const retryBlock = block(retrySchema).prefault({});
export const queueBlock = block(queueSchema).prefault({});

/** Splits `host:port` (`[v6]:port`, `:port`); an empty host means all interfaces. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(endpoint.trim());
  if (!m) throw new Error(`invalid endpoint ${JSON.stringify(endpoint)}: expected host:port such as "0.0.0.0:4317"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid endpoint ${JSON.stringify(endpoint)}: port out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Delay before retry `attempt` (0-based) with exponential backoff and jitter. */
export function backoffDelay(r: RetryArguments, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(r.max_interval, r.initial_interval * Math.pow(r.multiplier, attempt));
  const delta = r.randomization_factor * base;
  return Math.max(0, base - delta + random() * 2 * delta);
}
