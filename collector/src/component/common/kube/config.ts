/**
 * Where a component's Kubernetes API connection comes from, in client-go's order:
 * - `api_server` (+ the component's HTTP client settings: auth, TLS, proxy);
 * - `kubeconfig_file` (current context; token, token file, client certificate, basic auth, CA,
 *   `insecure-skip-tls-verify`, `tls-server-name`, `proxy-url`; `exec` and `auth-provider` users
 *   are rejected with a message naming them);
 * - in cluster: `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the service account's CA and
 *   token (the token file is re-read for every request, so rotated tokens are picked up).
 * `resolveConnection` throws an Error naming the argument (or environment variable) at fault.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkHttpClientConfig, clientSettings, httpClientConfigFields, type HttpClientConfigArguments } from '../http-client-config.js';
import type { HttpClientSettings } from '../../prometheus/scrape/http-client.js';
import type { SecretLike } from '../../prometheus/scrape/schema-helpers.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConnection {
  /** API server base URL (may carry a path prefix). */
  readonly server: URL;
  readonly settings: HttpClientSettings;
  /** How the connection was found, for messages: `api_server`, `kubeconfig_file <path>`, `in-cluster`. */
  readonly source: string;
}

export interface ConnectionOptions {
  readonly apiServer?: string | undefined;
  readonly kubeconfigFile?: string | undefined;
  /** Used with `apiServer`; ignored otherwise (callers reject the combination at validation). */
  readonly settings?: HttpClientSettings | undefined;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default SERVICE_ACCOUNT_DIR */
  readonly serviceAccountDir?: string;
}

const secretOf = (v: string): SecretLike => ({ reveal: () => v });

function parseUrl(raw: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${what}: invalid URL ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what}: unsupported scheme ${u.protocol} in ${raw} (use http or https)`);
  return u;
}

/** Resolves the connection. @throws Error naming the argument or variable at fault. */
export function resolveConnection(o: ConnectionOptions): KubeConnection {
  if (o.apiServer) {
    return { server: parseUrl(o.apiServer, 'api_server'), settings: o.settings ?? { follow_redirects: true }, source: 'api_server' };
  }
  if (o.kubeconfigFile) return loadKubeconfig(o.kubeconfigFile);
  return inCluster(o.env ?? process.env, o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
}

function inCluster(env: NodeJS.ProcessEnv, dir: string): KubeConnection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new Error(
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined; ' +
        'outside a pod set kubeconfig_file or api_server',
    );
  }
  const tokenFile = path.join(dir, 'token');
  try {
    readFileSync(tokenFile);
  } catch (err) {
    throw new Error(`in-cluster configuration: cannot read the service account token ${tokenFile}: ${(err as Error).message}`);
  }
  const caFile = path.join(dir, 'ca.crt');
  let hasCa = true;
  try {
    readFileSync(caFile);
  } catch {
    hasCa = false; // client-go logs and continues with the system roots
  }
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    server: new URL(`https://${h}:${port}`),
    settings: { follow_redirects: true, bearer_token_file: tokenFile, tls_config: { insecure_skip_verify: false, ...(hasCa ? { ca_file: caFile } : {}) } },
    source: 'in-cluster',
  };
}

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}

/** Reads a kubeconfig file. @throws Error starting with `kubeconfig_file` and naming the problem. */
export function loadKubeconfig(file: string): KubeConnection {
  const what = `kubeconfig_file ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what}: cannot read: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${what}: not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${what}: not a kubeconfig (expected a mapping with clusters, users and contexts)`);
  const list = <T>(k: string): Array<Named<T>> => (Array.isArray(doc[k]) ? (doc[k] as Array<Named<T>>) : []);
  const contexts = list<{ cluster?: string; user?: string }>('contexts');
  const current = typeof doc['current-context'] === 'string' ? (doc['current-context'] as string) : undefined;
  const ctx = (current ? contexts.find((c) => c.name === current) : contexts[0])?.context;
  if (!ctx) throw new Error(`${what}: ${current ? `current-context "${current}" is not defined` : 'no context defined'}`);
  const cluster = list<Record<string, unknown>>('clusters').find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new Error(`${what}: cluster "${ctx.cluster ?? ''}" of the current context is not defined`);
  const user = (ctx.user !== undefined ? list<Record<string, unknown>>('users').find((u) => u.name === ctx.user)?.user : undefined) ?? {};
  const dir = path.dirname(path.resolve(file));
  const rel = (p: unknown): string | undefined => (typeof p === 'string' && p !== '' ? path.resolve(dir, p) : undefined);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const b64 = (v: unknown, field: string): string | undefined => {
    const s = str(v);
    if (s === undefined) return undefined;
    return Buffer.from(s, 'base64').toString('utf8') || (() => { throw new Error(`${what}: ${field} is not valid base64`); })();
  };
  const server = str(cluster['server']);
  if (!server) throw new Error(`${what}: cluster "${ctx.cluster ?? ''}" has no server`);
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) {
    throw new Error(`${what}: user "${ctx.user ?? ''}" uses ${user['exec'] !== undefined ? 'exec' : 'auth-provider'} credentials, which this collector does not run; use a token, tokenFile or client certificate`);
  }
  const ca = b64(cluster['certificate-authority-data'], 'certificate-authority-data');
  const cert = b64(user['client-certificate-data'], 'client-certificate-data');
  const key = b64(user['client-key-data'], 'client-key-data');
  const token = str(user['token']);
  const tokenFile = rel(user['tokenFile']);
  const username = str(user['username']);
  const settings: HttpClientSettings = {
    follow_redirects: true,
    tls_config: {
      insecure_skip_verify: cluster['insecure-skip-tls-verify'] === true,
      ...(ca !== undefined ? { ca } : { ca_file: rel(cluster['certificate-authority']) }),
      ...(cert !== undefined ? { cert } : { cert_file: rel(user['client-certificate']) }),
      ...(key !== undefined ? { key: secretOf(key) } : { key_file: rel(user['client-key']) }),
      server_name: str(cluster['tls-server-name']),
    },
    ...(token !== undefined ? { bearer_token: secretOf(token) } : tokenFile !== undefined ? { bearer_token_file: tokenFile } : {}),
    ...(token === undefined && tokenFile === undefined && username !== undefined ? { basic_auth: { username, password: secretOf(str(user['password']) ?? '') } } : {}),
    proxy_url: str(cluster['proxy-url']),
  };
  return { server: parseUrl(server, `${what}: cluster server`), settings, source: what };
}

/** The namespace of the pod this process runs in (service account `namespace` file), if any. */
export function ownNamespace(dir = SERVICE_ACCOUNT_DIR, env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const ns = readFileSync(path.join(dir, 'namespace'), 'utf8').trim();
    if (ns !== '') return ns;
  } catch {
    // not in a pod
  }
  return env['POD_NAMESPACE'] || undefined;
}

/**
 * The checks Alloy makes on a component's connection arguments (`discovery.kubernetes`, the
 * `client` block of `loki.source.kubernetes`): `api_server` xor `kubeconfig_file`, an http(s)
 * `api_server`, a readable and usable kubeconfig, and the HTTP client settings' own checks.
 */
export function checkKubeConnectionArgs(a: HttpClientConfigArguments & { readonly api_server?: string | undefined; readonly kubeconfig_file?: string | undefined }, ctx: z.RefinementCtx): void {
  if (a.api_server && a.kubeconfig_file) {
    ctx.addIssue({ code: 'custom', path: ['kubeconfig_file'], message: "cannot use 'kubeconfig_file' and 'api_server' simultaneously; remove one of them" });
  }
  if (a.api_server) {
    try {
      const u = new URL(a.api_server);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      ctx.addIssue({ code: 'custom', path: ['api_server'], message: `invalid api_server URL ${JSON.stringify(a.api_server)}; use http(s)://host:port` });
    }
  }
  if (a.kubeconfig_file) {
    try {
      loadKubeconfig(a.kubeconfig_file);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['kubeconfig_file'], message: (err as Error).message });
    }
  }
  checkHttpClientConfig(a, ctx);
}

/**
 * Alloy's `client` block of the components that talk to the API without being discovery
 * (`loki.source.kubernetes`, `prometheus.operator.*`): `api_server`, `kubeconfig_file` and the
 * HTTP client options, checked as `checkKubeConnectionArgs` does.
 */
export const kubeClientBlockSchema = z
  .object({ api_server: z.string().optional(), kubeconfig_file: z.string().optional(), ...httpClientConfigFields })
  .strict()
  .superRefine(checkKubeConnectionArgs);

export type KubeClientBlock = z.output<typeof kubeClientBlockSchema>;

/** The connection a `client` block describes. @throws Error naming the argument at fault. */
export function connectionOfBlock(c: KubeClientBlock): KubeConnection {
  return resolveConnection({ apiServer: c.api_server, kubeconfigFile: c.kubeconfig_file, settings: clientSettings(c) });
}
