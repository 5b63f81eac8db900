/**
 * The `Authorization` header of an HTTP client: basic auth, a bearer token, a typed
 * `authorization` credential, or OAuth2 client credentials. Credential files are read again for
 * every header (they may be rotated on disk) and trimmed; OAuth2 tokens are cached until shortly
 * before they expire.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { redactUrl } from '../logging/redact.js';
import { revealSecret, type Secret } from './tls.js';

export interface OAuth2Settings {
  readonly clientId: string;
  readonly clientSecret?: Secret | undefined;
  readonly clientSecretFile?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly tokenUrl: string;
  readonly endpointParams?: Readonly<Record<string, string>> | undefined;
}

/** At most one kind is set (the component's argument checks enforce it). */
export interface Credentials {
  readonly basicAuth?: { readonly username: string; readonly password?: Secret | undefined; readonly passwordFile?: string | undefined } | undefined;
  readonly bearerToken?: Secret | undefined;
  readonly bearerTokenFile?: string | undefined;
  readonly authorization?: { readonly type?: string | undefined; readonly credentials?: Secret | undefined; readonly credentialsFile?: string | undefined } | undefined;
  readonly oauth2?: OAuth2Settings | undefined;
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err: unknown) {
    throw new Error(`unable to read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The file's trimmed content when a file is named, else the inline secret ('' when unset). */
function secretOrFile(inline: Secret | undefined, file: string | undefined, what: string): Promise<string> | string {
  if (file) return readSecretFile(file, what);
  return inline !== undefined ? revealSecret(inline) : '';
}

/** Builds `Authorization` headers for one client. */
export class Authorizer {
  readonly #c: Credentials;
  readonly #oauth2: OAuth2TokenSource | undefined;

  /** `oauth2Tls`: TLS options for the token endpoint. @throws Error naming an invalid `oauth2.token_url`. */
  constructor(c: Credentials, oauth2Tls: tls.ConnectionOptions = {}) {
    this.#c = c;
    if (c.oauth2) this.#oauth2 = new OAuth2TokenSource(c.oauth2, oauth2Tls);
  }

  /** True when a header will be produced. */
  get configured(): boolean {
    const c = this.#c;
    return !!(c.oauth2 || c.basicAuth || c.bearerToken !== undefined || c.bearerTokenFile || c.authorization);
  }

  /** The header value, or undefined without credentials. @throws Error naming an unreadable file or a failed token fetch. */
  async header(signal: AbortSignal): Promise<string | undefined> {
    const c = this.#c;
    if (this.#oauth2) return this.#oauth2.header(signal);
    if (c.bearerToken !== undefined) return `Bearer ${revealSecret(c.bearerToken)}`;
    if (c.bearerTokenFile) return `Bearer ${await readSecretFile(c.bearerTokenFile, 'bearer_token_file')}`;
    if (c.authorization) {
      const cred = await secretOrFile(c.authorization.credentials, c.authorization.credentialsFile, 'authorization.credentials_file');
      return `${c.authorization.type || 'Bearer'} ${cred}`;
    }
    if (c.basicAuth) {
      const pw = await secretOrFile(c.basicAuth.password, c.basicAuth.passwordFile, 'basic_auth.password_file');
      return `Basic ${Buffer.from(`${c.basicAuth.username}:${pw}`).toString('base64')}`;
    }
    return undefined;
  }
}

/**
 * OAuth2 client-credentials tokens (golang.org/x/oauth2/clientcredentials semantics): client
 * credentials in a Basic header first, in the form body if the server rejects that; tokens are
 * reused until 10 s before `expires_in`.
 */
export class OAuth2TokenSource {
  readonly #cfg: OAuth2Settings;
  readonly #tls: tls.ConnectionOptions;
  #token: { header: string; expiresAt: number } | undefined;
  #bodyAuth = false;

  /** @throws Error naming an invalid `oauth2.token_url`. */
  constructor(cfg: OAuth2Settings, tlsOpts: tls.ConnectionOptions) {
    this.#cfg = cfg;
    this.#tls = tlsOpts;
    try {
      new URL(cfg.tokenUrl);
    } catch {
      throw new Error(`oauth2.token_url ${JSON.stringify(redactUrl(cfg.tokenUrl))} is not a valid URL`);
    }
  }

  async header(signal: AbortSignal): Promise<string> {
    if (this.#token && Date.now() < this.#token.expiresAt) return this.#token.header;
    const secret = await secretOrFile(this.#cfg.clientSecret, this.#cfg.clientSecretFile, 'oauth2.client_secret_file');
    let res = await this.#request(secret, this.#bodyAuth, signal);
    if (!this.#bodyAuth && (res.status === 400 || res.status === 401)) {
      this.#bodyAuth = true;
      res = await this.#request(secret, true, signal);
    }
    if (res.status < 200 || res.status > 299) throw new Error(`oauth2: cannot fetch token from ${redactUrl(this.#cfg.tokenUrl)}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    let tok: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      tok = JSON.parse(res.body) as typeof tok;
    } catch {
      throw new Error(`oauth2: token response from ${redactUrl(this.#cfg.tokenUrl)} is not JSON`);
    }
    if (typeof tok.access_token !== 'string' || tok.access_token === '') throw new Error('oauth2: server response missing access_token');
    const type = typeof tok.token_type === 'string' && tok.token_type !== '' && tok.token_type.toLowerCase() !== 'bearer' ? tok.token_type : 'Bearer';
    const expiresIn = Number(tok.expires_in);
    const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 - 10_000 : Number.POSITIVE_INFINITY;
    this.#token = { header: `${type} ${tok.access_token}`, expiresAt };
    return this.#token.header;
  }

  #request(secret: string, inBody: boolean, signal: AbortSignal): Promise<{ status: number; body: string }> {
    const url = new URL(this.#cfg.tokenUrl);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.#cfg.scopes && this.#cfg.scopes.length > 0) form.set('scope', this.#cfg.scopes.join(' '));
    for (const [k, v] of Object.entries(this.#cfg.endpointParams ?? {})) form.set(k, v);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (inBody) {
      form.set('client_id', this.#cfg.clientId);
      form.set('client_secret', secret);
    } else {
      headers['authorization'] = 'Basic ' + Buffer.from(`${encodeURIComponent(this.#cfg.clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    }
    const body = form.toString();
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const r = mod.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal, ...(url.protocol === 'https:' ? this.#tls : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.once('error', reject);
      });
      r.once('error', reject);
      r.end(body);
    });
  }
}
