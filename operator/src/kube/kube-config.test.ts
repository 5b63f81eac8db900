import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadInCluster, loadKubeConfig, loadKubeConfigFiles } from './kube-config.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text, { mode: 0o700 });
  return p;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('loadKubeConfigFiles', () => {
  it('GIVEN a kubeconfig with CA data, a token and a context namespace THEN the server, TLS and bearer header follow it', async () => {
    const f = write('config', `
apiVersion: v1
kind: Config
current-context: dev
contexts: [{ name: dev, context: { cluster: c, user: u, namespace: team-a } }]
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443/prefix", certificate-authority-data: "${b64('CA PEM')}", tls-server-name: api.local } }]
users: [{ name: u, user: { token: abc } }]
`);
    const a = loadKubeConfigFiles([f]);
    expect(a.server.href).toBe('https://127.0.0.1:6443/prefix');
    expect(a.tls).toStrictEqual({ rejectUnauthorized: true, ca: Buffer.from('CA PEM'), servername: 'api.local' });
    expect(a.namespace).toBe('team-a');
    expect(await a.credentials()).toStrictEqual({ headers: { authorization: 'Bearer abc' } });
  });

  it('GIVEN several files THEN the first definition of a name and of current-context wins, and relative file paths resolve against their file', async () => {
    fs.mkdirSync(path.join(dir, 'b'));
    write('b/ca.crt', 'CA FROM FILE');
    write('b/client.crt', 'CERT');
    write('b/client.key', 'KEY');
    const first = write('a.yaml', 'current-context: x\nusers: [{ name: u, user: { username: me, password: pw } }]\n');
    const second = write('b/config', `
current-context: ignored
contexts: [{ name: x, context: { cluster: c, user: u } }, { name: ignored, context: { cluster: c, user: u } }]
clusters: [{ name: c, cluster: { server: "https://k:443", certificate-authority: ca.crt, insecure-skip-tls-verify: false } }]
users: [{ name: u, user: { token: ignored, client-certificate: client.crt, client-key: client.key } }]
`);
    const a = loadKubeConfigFiles([first, second]);
    expect(a.tls.ca?.toString()).toBe('CA FROM FILE');
    expect(await a.credentials()).toStrictEqual({ headers: { authorization: `Basic ${b64('me:pw')}` } });
    const viaEnv = loadKubeConfig(undefined, { KUBECONFIG: [path.join(dir, 'missing'), second].join(path.delimiter), HOME: dir });
    expect(await viaEnv.credentials()).toStrictEqual({ headers: { authorization: 'Bearer ignored' }, cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
  });

  it('GIVEN a tokenFile THEN it is re-read once a minute, so a rotated token is used', async () => {
    const token = write('token', 'one\n');
    let now = 0;
    const f = write('config', `current-context: x\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\nclusters: [{ name: c, cluster: { server: "http://127.0.0.1:1" } }]\nusers: [{ name: u, user: { tokenFile: ${token} } }]\n`);
    const a = loadKubeConfigFiles([f], { now: () => now });
    expect((await a.credentials()).headers).toStrictEqual({ authorization: 'Bearer one' });
    fs.writeFileSync(token, 'two');
    now = 59_000;
    expect((await a.credentials()).headers).toStrictEqual({ authorization: 'Bearer one' });
    now = 60_000;
    expect((await a.credentials()).headers).toStrictEqual({ authorization: 'Bearer two' });
  });

  it('GIVEN an exec plugin THEN its ExecCredential token is used and cached until shortly before it expires', async () => {
    const counter = path.join(dir, 'runs');
    const plugin = write('plugin.sh', `#!/bin/sh\necho x >> "${counter}"\nn=$(wc -l < "${counter}")\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s-%s","expirationTimestamp":"2030-01-01T00:00:00Z"}}' "$n" "$GREETING"\n`);
    let now = Date.parse('2029-12-31T23:00:00Z');
    const f = write('config', `current-context: x\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\nclusters: [{ name: c, cluster: { server: "https://k" } }]\nusers: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, env: [{ name: GREETING, value: hi }] } } }]\n`);
    const a = loadKubeConfigFiles([f], { now: () => now });
    const [one, two] = await Promise.all([a.credentials(), a.credentials()]);
    expect(one.headers).toStrictEqual({ authorization: 'Bearer tok-1-hi' });
    expect(two).toBe(one);
    now = Date.parse('2029-12-31T23:59:55Z'); // within 10 s of expiry
    expect((await a.credentials()).headers).toStrictEqual({ authorization: 'Bearer tok-2-hi' });
  });

  it('GIVEN unsupported or incomplete kubeconfigs THEN the error names the problem and the fix', async () => {
    const ctx = 'current-context: x\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\nclusters: [{ name: c, cluster: { server: "https://k" } }]\n';
    expect(() => loadKubeConfigFiles([write('a', `${ctx}users: [{ name: u, user: { auth-provider: { name: oidc } } }]\n`)])).toThrow(/auth-provider "oidc".*exec credential plugin/);
    expect(() => loadKubeConfigFiles([write('b', 'contexts: []\n')])).toThrow(/no current-context/);
    expect(() => loadKubeConfigFiles([write('c', 'current-context: x\ncontexts: [{ name: x, context: { cluster: nope } }]\n')])).toThrow(/cluster "nope" of the current context is not defined/);
    const bad = write('d', `${ctx}users: [{ name: u, user: { exec: { command: /bin/false } } }]\n`);
    await expect(loadKubeConfigFiles([bad]).credentials()).rejects.toThrow(/exec plugin \/bin\/false failed/);
  });
});

describe('loadInCluster', () => {
  it('GIVEN the ServiceAccount mount and service env THEN it targets the service with the CA, namespace and token file', async () => {
    write('ca.crt', 'CLUSTER CA');
    write('token', 'sa-token');
    write('namespace', 'alloy-system\n');
    const a = loadInCluster({ dir, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' } });
    expect(a.server.href).toBe('https://[fd00::1]/');
    expect(a.tls.ca?.toString()).toBe('CLUSTER CA');
    expect(a.namespace).toBe('alloy-system');
    expect((await a.credentials()).headers).toStrictEqual({ authorization: 'Bearer sa-token' });
    expect(() => loadInCluster({ dir, env: {} })).toThrow(/not running in a cluster.*--kubeconfig/);
  });
});
