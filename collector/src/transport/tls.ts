/**
 * Client TLS settings (Alloy's `tls_config` of an HTTP client) mapped to Node's TLS options.
 *
 * Contracts: PEM text and files are alternatives (at most one of each pair); files are read when the
 * options are built, so an unreadable file fails the client's construction with the option named
 * (`tls_config: cannot read ca_file /x: ...`); a client certificate needs its key.
 */
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';

/** A secret as components hold it (redacting wrapper) or as plain text. */
export type Secret = string | { reveal(): string };

export function revealSecret(s: Secret): string {
  return typeof s === 'string' ? s : s.reveal();
}

export interface TlsSettings {
  readonly ca?: string | undefined;
  readonly caFile?: string | undefined;
  readonly cert?: string | undefined;
  readonly certFile?: string | undefined;
  readonly key?: Secret | undefined;
  readonly keyFile?: string | undefined;
  readonly serverName?: string | undefined;
  readonly insecureSkipVerify?: boolean | undefined;
  /** `TLS10` … `TLS13`. */
  readonly minVersion?: string | undefined;
}

const TLS_VERSIONS: Readonly<Record<string, tls.SecureVersion>> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

function material(pem: string | undefined, file: string | undefined, what: string, name: string): string | undefined {
  if (pem !== undefined && file) throw new Error(`${what}: set at most one of ${name}_pem and ${name}_file`);
  if (pem !== undefined) return pem;
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err: unknown) {
    throw new Error(`${what}: cannot read ${name}_file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Node TLS options for `t`; `what` names the block in messages (`tls_config`, `oauth2.tls_config`).
 * @throws Error naming an unreadable file, a certificate without its key, or an unknown version.
 */
export function tlsOptions(t: TlsSettings | undefined, what = 'tls_config'): tls.ConnectionOptions {
  if (!t) return {};
  const ca = material(t.ca, t.caFile, what, 'ca');
  const cert = material(t.cert, t.certFile, what, 'cert');
  const key = material(t.key === undefined ? undefined : revealSecret(t.key), t.keyFile, what, 'key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(`${what}: a client certificate and its key must be set together (cert_pem/cert_file and key_pem/key_file)`);
  }
  const opts: tls.ConnectionOptions = {};
  if (ca !== undefined) opts.ca = ca;
  if (cert !== undefined) opts.cert = cert;
  if (key !== undefined) opts.key = key;
  if (t.serverName) opts.servername = t.serverName;
  if (t.insecureSkipVerify) opts.rejectUnauthorized = false;
  if (t.minVersion) {
    const v = TLS_VERSIONS[t.minVersion];
    if (!v) throw new Error(`${what}.min_version ${JSON.stringify(t.minVersion)} is invalid; use one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    opts.minVersion = v;
  }
  return opts;
}
