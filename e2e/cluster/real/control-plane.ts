/**
 * A real Kubernetes control plane on loopback for tests: Debian's etcd plus the kube-apiserver
 * (and optionally kube-controller-manager) built from Kubernetes source in `../shared/k8s/`
 * (see its README for version and provenance). Certificates are made at start with openssl;
 * RBAC, Node authorization and CEL validation rules are on, as on a real cluster.
 *
 * Identities written for tests:
 * - `admin` (group `system:masters`): the kubeconfig at `kubeconfigPath` (bearer token + CA).
 * - `tokenKubeconfig(token)`: a kubeconfig for any other token, e.g. one a ServiceAccount got
 *   from the TokenRequest API (`kubectl create token`), so RBAC is really enforced.
 *
 * Missing pieces (etcd, openssl, the shared binaries) fail under CI=true and skip otherwise,
 * via `realControlPlaneUnavailable()`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '../harness/paths.js';

const ETCD = process.env['ETCD'] ?? '/usr/bin/etcd';
const OPENSSL = '/usr/bin/openssl';

/** Where the shared server binaries are (`<repo>/../shared/k8s`, or `$K8S_SHARED_DIR`). */
export function sharedK8sDir(): string {
  return process.env['K8S_SHARED_DIR'] ?? path.resolve(repoRoot(), '../shared/k8s');
}

/** Why the real control plane cannot start here, or undefined. Throws under CI=true. */
export function realControlPlaneUnavailable(): string | undefined {
  const missing: string[] = [];
  if (!fs.existsSync(ETCD)) missing.push(`${ETCD} (apt-get install etcd-server)`);
  if (!fs.existsSync(OPENSSL)) missing.push(`${OPENSSL} (apt-get install openssl)`);
  if (!fs.existsSync(path.join(sharedK8sDir(), 'kube-apiserver.gz'))) missing.push(`${path.join(sharedK8sDir(), 'kube-apiserver.gz')} (the shared/ folder beside the repository)`);
  if (missing.length === 0) return undefined;
  const msg = `the real kube-apiserver journeys need: ${missing.join(', ')}`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: install them)`);
  process.stderr.write(`SKIP: ${msg}\n`);
  return msg;
}

/** Unpacks `<name>.gz` from the shared folder once per content hash; returns the executable. */
export function sharedBinary(name: 'kube-apiserver' | 'kube-controller-manager'): string {
  const gz = fs.readFileSync(path.join(sharedK8sDir(), `${name}.gz`));
  const sum = createHash('sha256').update(gz).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `alloy-ts-k8s-${sum}`);
  const bin = path.join(dir, name);
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, gunzipSync(gz), { mode: 0o755 });
    fs.renameSync(tmp, bin); // atomic: concurrent workers never run a half-written binary
  }
  return bin;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Proc {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startProc(cmd: string, args: readonly string[], logFile: string): Proc {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(cmd, [...args], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-8000) : ''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync(OPENSSL, [...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Common name of the client certificate the API server presents to kubelets. */
export const KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';

/** CA, serving certificate (loopback, `extraIps` + in-cluster names), service-account key pair. */
function makeCertificates(dir: string, extraIps: readonly string[]): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=alloy-ts-test-ca']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver']);
  fs.writeFileSync(
    path.join(dir, 'apiserver.ext'),
    `subjectAltName=IP:127.0.0.1,IP:10.96.0.1,${extraIps.map((a) => `IP:${a},`).join('')}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(dir, ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt', '-days', '2', '-extfile', 'apiserver.ext']);
  // The API server's identity towards kubelets (pods/log, exec, port-forward proxying).
  fs.writeFileSync(path.join(dir, 'kubelet-client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'kubelet-client.key', '-out', 'kubelet-client.csr', '-subj', `/CN=${KUBELET_CLIENT_CN}`]);
  openssl(dir, ['x509', '-req', '-in', 'kubelet-client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'kubelet-client.crt', '-days', '2', '-extfile', 'kubelet-client.ext']);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

export interface RealControlPlaneOptions {
  /** Also run kube-controller-manager (garbage collection, namespace deletion, ServiceAccount tokens...). @default false */
  readonly controllerManager?: boolean;
  /** kube-controller-manager `--controllers` value. @default '*' */
  readonly controllers?: string;
  /** Write an audit log (level Metadata, stage ResponseComplete) to `<dir>/audit.log`. @default false */
  readonly audit?: boolean;
  /** More addresses the serving certificate names (where a proxy forwards to the server). @default [] */
  readonly servingIps?: readonly string[];
}

export interface ClientCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** `/CN=<cn>/O=<group>...` with the characters openssl treats specially escaped. */
function subject(cn: string, groups: readonly string[]): string {
  const esc = (v: string): string => v.replace(/[\\/=+,]/g, (c) => `\\${c}`);
  return `/CN=${esc(cn)}${groups.map((g) => `/O=${esc(g)}`).join('')}`;
}

function issueCertificate(dir: string, cn: string, groups: readonly string[], ips: readonly string[] = []): ClientCertificate {
  const usage = ips.length > 0 ? 'serverAuth' : 'clientAuth';
  const base = `${usage}-${createHash('sha256').update(`${cn}\0${groups.join('\0')}\0${ips.join('\0')}`).digest('hex').slice(0, 12)}`;
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subject(cn, groups)]);
  fs.writeFileSync(path.join(dir, `${base}.ext`), `extendedKeyUsage=${usage}\n${ips.length > 0 ? `subjectAltName=${ips.map((a) => `IP:${a}`).join(',')}\n` : ''}`);
  openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.crt`, '-days', '2', '-extfile', `${base}.ext`]);
  return { certPem: fs.readFileSync(path.join(dir, `${base}.crt`), 'utf8'), keyPem: fs.readFileSync(path.join(dir, `${base}.key`), 'utf8') };
}

export interface RealControlPlane {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** PEM of the cluster CA (trust it to talk to `url`). */
  readonly caPem: string;
  /** A `system:masters` token. */
  readonly adminToken: string;
  /** Admin kubeconfig (token + CA). */
  readonly kubeconfigPath: string;
  readonly dir: string;
  /** Writes a kubeconfig that authenticates with `token`; returns its path. */
  tokenKubeconfig(name: string, token: string): string;
  /**
   * A client certificate signed by the cluster CA for user `cn` in `groups` (e.g.
   * `system:node:<node>` in `system:nodes`, which the Node authorizer recognises).
   */
  clientCertificate(cn: string, groups: readonly string[]): ClientCertificate;
  /** A serving certificate signed by the cluster CA for `ips` (e.g. a kubelet's endpoint). */
  servingCertificate(cn: string, ips: readonly string[]): ClientCertificate;
  /** The last lines the API server logged (for failure messages). */
  apiServerLog(): string;
  /** Path of the audit log (JSON lines) when started with `audit: true`. */
  readonly auditLogPath?: string;
  /** The kube-apiserver process id (for its resource use). */
  readonly apiServerPid: number;
  stop(): Promise<void>;
}

function kubeconfigYaml(url: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: real
  cluster:
    server: ${url}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: real
  context:
    cluster: real
    user: ${user}
current-context: real
`;
}

async function until(what: string, fn: () => Promise<boolean>, ms: number, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts etcd and kube-apiserver (and kube-controller-manager when asked); ready when it returns. */
export async function startRealControlPlane(opts: RealControlPlaneOptions = {}): Promise<RealControlPlane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-apiserver-'));
  const procs: Proc[] = [];
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    makeCertificates(dir, opts.servingIps ?? []);
    const adminToken = randomBytes(24).toString('hex');
    fs.writeFileSync(path.join(dir, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`);

    const [client, peer] = [await freePort(), await freePort()];
    const etcd = startProc(
      ETCD,
      [
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${client}`,
        `--advertise-client-urls=http://127.0.0.1:${client}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=default=http://127.0.0.1:${peer}`,
        '--listen-metrics-urls=',
        '--log-level=warn',
        '--quota-backend-bytes=2147483648',
      ],
      path.join(dir, 'etcd.log'),
    );
    procs.push(etcd);
    await until('etcd /health', async () => (await fetch(`http://127.0.0.1:${client}/health`)).ok, 20_000, () => etcd.output());

    const port = await freePort();
    const auditArgs: string[] = [];
    if (opts.audit) {
      fs.writeFileSync(path.join(dir, 'audit-policy.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n');
      auditArgs.push(`--audit-policy-file=${path.join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${path.join(dir, 'audit.log')}`, '--audit-log-format=json', '--audit-log-mode=batch');
    }
    const apiserver = startProc(
      sharedBinary('kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${client}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
        `--client-ca-file=${path.join(dir, 'ca.crt')}`,
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--authorization-mode=Node,RBAC',
        // Nodes are reached at their InternalIP (kubectl logs): a node's Hostname resolves nowhere here.
        // pods/log is proxied to the Node's InternalIP and kubeletEndpoint port, verified against the cluster CA
        `--kubelet-client-certificate=${path.join(dir, 'kubelet-client.crt')}`,
        `--kubelet-client-key=${path.join(dir, 'kubelet-client.key')}`,
        `--kubelet-certificate-authority=${path.join(dir, 'ca.crt')}`,
        '--kubelet-preferred-address-types=InternalIP',
        '--feature-gates=CustomResourceValidationExpressions=true,OpenAPIV3=true',
        '--allow-privileged=true',
        '--profiling=false',
        '--enable-priority-and-fairness=false',
        `--cert-dir=${path.join(dir, 'certs')}`,
        ...auditArgs,
      ],
      path.join(dir, 'apiserver.log'),
    );
    procs.push(apiserver);
    const url = `https://127.0.0.1:${port}`;
    const caPem = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const kubeconfigPath = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(kubeconfigPath, kubeconfigYaml(url, caPem, 'admin', adminToken));
    const ready = async (): Promise<boolean> => {
      if (apiserver.child.exitCode !== null) throw new Error(`kube-apiserver exited:\n${apiserver.output()}`);
      const r = spawnSyncKubectl(kubeconfigPath, ['get', '--raw=/readyz']);
      return r === 'ok';
    };
    await until('kube-apiserver /readyz', ready, 60_000, () => apiserver.output());

    if (opts.controllerManager) {
      const kcm = startProc(
        sharedBinary('kube-controller-manager'),
        [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${await freePort()}`,
          `--controllers=${opts.controllers ?? '*'}`,
          `--service-account-private-key-file=${path.join(dir, 'sa.key')}`,
          `--root-ca-file=${path.join(dir, 'ca.crt')}`,
          '--leader-elect=false',
          '--use-service-account-credentials=false',
          `--cert-dir=${path.join(dir, 'kcm-certs')}`,
        ],
        path.join(dir, 'kcm.log'),
      );
      procs.push(kcm);
    }

    return {
      url,
      caPem,
      adminToken,
      kubeconfigPath,
      dir,
      tokenKubeconfig(name, token) {
        const p = path.join(dir, `${name}.kubeconfig`);
        fs.writeFileSync(p, kubeconfigYaml(url, caPem, name, token));
        return p;
      },
      clientCertificate: (cn, groups) => issueCertificate(dir, cn, groups),
      servingCertificate: (cn, ips) => issueCertificate(dir, cn, [], ips),
      apiServerLog: () => apiserver.output(),
      ...(opts.audit ? { auditLogPath: path.join(dir, 'audit.log') } : {}),
      apiServerPid: apiserver.child.pid!,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function spawnSyncKubectl(kubeconfig: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(process.env['KUBECTL'] ?? '/usr/bin/kubectl', [...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}
