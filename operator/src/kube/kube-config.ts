/**
 * Where the API server is and how to authenticate to it: a kubeconfig file (the `KUBECONFIG`
 * list merged as kubectl does, or `~/.kube/config`) or the in-cluster ServiceAccount. Written
 * here instead of using `@kubernetes/client-node`'s `KubeConfig`, whose module graph loads every
 * generated API model (about 50 MiB of the operator's RSS) for what is a few fields of YAML.
 *
 * Supported: clusters with `server`, `certificate-authority(-data)`, `insecure-skip-tls-verify`,
 * `tls-server-name`; users with `token`, `tokenFile` (re-read, so rotated tokens are used),
 * `client-certificate(-data)` / `client-key(-data)`, `username`/`password`, and `exec`
 * credential plugins (`client.authentication.k8s.io` v1 and v1beta1, cached until their
 * `expirationTimestamp`). Rejected with a message naming the fix: `auth-provider` (removed from
 * kubectl; use its exec plugin, e.g. kubelogin or gke-gcloud-auth-plugin) and `proxy-url`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** TLS settings for node's https module. */
export interface KubeTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

/** Credentials for one request: headers to add, or a client certificate from an exec plugin. */
export interface KubeCredentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface KubeAccess {
  /** API server URL (may carry a path prefix). */
  readonly server: URL;
  readonly tls: KubeTls;
  /** Namespace of the current context, when it names one. */
  readonly namespace?: string;
  /** Where this came from (file path or `in-cluster`), for messages. */
  readonly source: string;
  /** Credentials for the next request; cheap when cached. @throws when an exec plugin fails. */
  credentials(): Promise<KubeCredentials>;
}

const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** As client-go: a token file is re-read at most once a minute. */
const TOKEN_FILE_TTL_MS = 60_000;

interface Named<T> {
  name: string;
  value: T;
}
interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}
interface RawExec {
  command?: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion?: string;
}
interface RawUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: RawExec;
  'auth-provider'?: { name?: string };
}
interface RawContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}
interface RawConfig {
  clusters?: Array<{ name: string; cluster: RawCluster }>;
  users?: Array<{ name: string; user: RawUser }>;
  contexts?: Array<{ name: string; context: RawContext }>;
  'current-context'?: string;
}

/** An entry with the folder of the file it came from (relative paths resolve against it). */
interface Sourced<T> {
  value: T;
  dir: string;
}

function readRelative(dir: string, file: string): Buffer {
  return readFileSync(path.isAbsolute(file) ? file : path.join(dir, file));
}

function bytes(dir: string, data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data !== undefined) return Buffer.from(data, 'base64');
  if (file !== undefined) return readRelative(dir, file);
  return undefined;
}

/** A file-backed or static bearer token / basic auth / client certificate / exec plugin. */
function credentialsOf(user: Sourced<RawUser>, now: () => number): () => Promise<KubeCredentials> {
  const u = user.value;
  if (u['auth-provider'] !== undefined) {
    throw new Error(`kubeconfig user uses auth-provider "${u['auth-provider'].name ?? '?'}", which kubectl no longer supports; switch the user to its exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin)`);
  }
  const cert = bytes(user.dir, u['client-certificate-data'], u['client-certificate']);
  const key = bytes(user.dir, u['client-key-data'], u['client-key']);
  const withCert = (headers: Record<string, string>): KubeCredentials => ({ headers, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) });
  if (u.exec !== undefined) return execCredentials(u.exec, user.dir, now);
  if (u.token !== undefined) {
    const fixed = withCert({ authorization: `Bearer ${u.token}` });
    return async () => fixed;
  }
  if (u.tokenFile !== undefined) {
    const file = path.isAbsolute(u.tokenFile) ? u.tokenFile : path.join(user.dir, u.tokenFile);
    let cached: { token: string; at: number } | undefined;
    return async () => {
      if (cached === undefined || now() - cached.at >= TOKEN_FILE_TTL_MS) cached = { token: readFileSync(file, 'utf8').trim(), at: now() };
      return withCert({ authorization: `Bearer ${cached.token}` });
    };
  }
  if (u.username !== undefined) {
    const fixed = withCert({ authorization: `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}` });
    return async () => fixed;
  }
  const none = withCert({});
  return async () => none;
}

interface ExecStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

function execCredentials(exec: RawExec, dir: string, now: () => number): () => Promise<KubeCredentials> {
  if (exec.command === undefined) throw new Error('kubeconfig user exec plugin has no command');
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  // A command with a slash is relative to the kubeconfig file (as kubectl does); a bare name is looked up in PATH.
  const command = exec.command.includes('/') && !path.isAbsolute(exec.command) ? path.join(dir, exec.command) : exec.command;
  let cached: { creds: KubeCredentials; expires: number } | undefined;
  let pending: Promise<KubeCredentials> | undefined;
  const run = (): Promise<KubeCredentials> =>
    new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }) };
      for (const e of exec.env ?? []) env[e.name] = e.value;
      execFile(command, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`kubeconfig exec plugin ${exec.command} failed: ${err.message}${stderr !== '' ? `: ${stderr.trim().slice(0, 300)}` : ''}`));
          return;
        }
        let status: ExecStatus | undefined;
        try {
          status = (JSON.parse(stdout) as { status?: ExecStatus }).status;
        } catch (e) {
          reject(new Error(`kubeconfig exec plugin ${exec.command} printed no ExecCredential JSON: ${e instanceof Error ? e.message : String(e)}`));
          return;
        }
        if (status === undefined || (status.token === undefined && status.clientCertificateData === undefined)) {
          reject(new Error(`kubeconfig exec plugin ${exec.command} returned neither status.token nor status.clientCertificateData`));
          return;
        }
        const creds: KubeCredentials = {
          headers: status.token !== undefined ? { authorization: `Bearer ${status.token}` } : {},
          ...(status.clientCertificateData !== undefined ? { cert: Buffer.from(status.clientCertificateData) } : {}),
          ...(status.clientKeyData !== undefined ? { key: Buffer.from(status.clientKeyData) } : {}),
        };
        const expires = status.expirationTimestamp !== undefined ? Date.parse(status.expirationTimestamp) : Infinity;
        cached = { creds, expires };
        resolve(creds);
      });
    });
  return async () => {
    // Refresh 10 s before expiry so a request never carries a token that expires in flight.
    if (cached !== undefined && now() < cached.expires - 10_000) return cached.creds;
    pending ??= run().finally(() => (pending = undefined));
    return pending;
  };
}

function lookup<T>(list: ReadonlyArray<Named<Sourced<T>>>, name: string | undefined, what: string, source: string): Sourced<T> {
  const found = list.find((e) => e.name === name);
  if (found === undefined) throw new Error(`kubeconfig ${source}: ${what} "${name ?? ''}" of the current context is not defined`);
  return found.value;
}

/**
 * Merges kubeconfig files as kubectl does for a `KUBECONFIG` list: the first file that defines a
 * name (or `current-context`) wins.
 * @throws naming the file when one cannot be read or parsed, or the current context is incomplete.
 */
export function loadKubeConfigFiles(files: readonly string[], opts: { now?: () => number } = {}): KubeAccess {
  const clusters: Array<Named<Sourced<RawCluster>>> = [];
  const users: Array<Named<Sourced<RawUser>>> = [];
  const contexts: Array<Named<Sourced<RawContext>>> = [];
  let current: string | undefined;
  for (const file of files) {
    let raw: RawConfig;
    try {
      raw = (parseYaml(readFileSync(file, 'utf8')) as RawConfig | null) ?? {};
    } catch (e) {
      throw new Error(`kubeconfig ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const dir = path.dirname(path.resolve(file));
    const add = <T>(into: Array<Named<Sourced<T>>>, items: Array<{ name: string } & Record<string, unknown>> | undefined, field: string): void => {
      for (const item of items ?? []) if (!into.some((e) => e.name === item.name)) into.push({ name: item.name, value: { value: (item[field] ?? {}) as T, dir } });
    };
    add(clusters, raw.clusters as never, 'cluster');
    add(users, raw.users as never, 'user');
    add(contexts, raw.contexts as never, 'context');
    current ??= raw['current-context'] || undefined;
  }
  const source = files.join(':');
  if (current === undefined) throw new Error(`kubeconfig ${source}: no current-context; run "kubectl config use-context NAME" or pass --kubeconfig`);
  const ctx = lookup(contexts, current, 'context', source).value;
  const cluster = lookup(clusters, ctx.cluster, 'cluster', source);
  const user = ctx.user !== undefined ? lookup(users, ctx.user, 'user', source) : { value: {}, dir: cluster.dir };
  const c = cluster.value;
  if (c.server === undefined) throw new Error(`kubeconfig ${source}: cluster "${ctx.cluster ?? ''}" has no server`);
  if (c['proxy-url'] !== undefined) throw new Error(`kubeconfig ${source}: cluster "${ctx.cluster ?? ''}" sets proxy-url, which the operator does not support; reach the API server directly`);
  const ca = bytes(cluster.dir, c['certificate-authority-data'], c['certificate-authority']);
  const tls: KubeTls = {
    rejectUnauthorized: c['insecure-skip-tls-verify'] !== true,
    ...(ca !== undefined ? { ca } : {}),
    ...(c['tls-server-name'] !== undefined ? { servername: c['tls-server-name'] } : {}),
  };
  const credentials = credentialsOf(user, opts.now ?? Date.now);
  return { server: new URL(c.server), tls, source, credentials, ...(ctx.namespace !== undefined ? { namespace: ctx.namespace } : {}) };
}

/**
 * The in-cluster ServiceAccount: `KUBERNETES_SERVICE_HOST`/`_PORT`, its CA and its (rotating,
 * re-read) token under `/var/run/secrets/kubernetes.io/serviceaccount`.
 */
export function loadInCluster(opts: { dir?: string; env?: NodeJS.ProcessEnv; now?: () => number } = {}): KubeAccess {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? IN_CLUSTER_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || port === undefined) throw new Error('not running in a cluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are unset; pass --kubeconfig or set KUBECONFIG');
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const namespaceFile = path.join(dir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const credentials = credentialsOf({ value: { tokenFile: path.join(dir, 'token') }, dir }, opts.now ?? Date.now);
  return { server, tls: { rejectUnauthorized: true, ca: readFileSync(path.join(dir, 'ca.crt')) }, source: 'in-cluster', credentials, ...(namespace !== undefined ? { namespace } : {}) };
}

/**
 * As kubectl and client-go: `explicit` if given, else the `KUBECONFIG` list, else
 * `~/.kube/config` when it exists, else the in-cluster ServiceAccount.
 */
export function loadKubeConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): KubeAccess {
  if (explicit !== undefined) return loadKubeConfigFiles([explicit]);
  const list = (env['KUBECONFIG'] ?? '').split(path.delimiter).filter((f) => f !== '' && existsSync(f));
  if (list.length > 0) return loadKubeConfigFiles(list);
  const home = path.join(env['HOME'] ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return loadKubeConfigFiles([home]);
  return loadInCluster({ env });
}
