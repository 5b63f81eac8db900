// The pod network preload in a real child process: every listen form, localhost, DNS and ClusterIP routing.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../harness/paths.js';
import { buildDnsTable } from '../dns/table.js';
import type { Pod, Service } from '../harness/k8s-types.js';

const PRELOAD = pathToFileURL(path.join(repoRoot(), 'e2e/cluster/kubelet/pod-preload.mjs')).href;
const POD_IP = '127.66.1.2';
const PEER_IP = '127.66.1.3';

const SCRIPT = `
const net = require('net'), dns = require('dns'), os = require('os'), http = require('http');
const addr = (s) => new Promise((r) => s.once('listening', () => r(s.address().address)));
(async () => {
  const out = {};
  let s;
  s = net.createServer(); s.listen(0); out.noHost = await addr(s);
  s = net.createServer(); s.listen(0, '0.0.0.0'); out.v4any = await addr(s);
  s = net.createServer(); s.listen({ port: 0, host: '::' }); out.v6any = await addr(s);
  s = net.createServer(); s.listen(0, 'localhost'); out.localhost = await addr(s);
  const srv = http.createServer((q, r) => r.end('own')); srv.listen(18080); await addr(srv);
  out.viaLocalhost = await (await fetch('http://localhost:18080/')).text();
  out.via127 = await (await fetch('http://127.0.0.1:18080/')).text();
  out.hostname = os.hostname();
  out.eth0 = os.networkInterfaces().eth0.map((a) => [a.address, a.internal]);
  out.svc = (await dns.promises.lookup('web', { all: true })).map((a) => a.address);
  out.pod = (await dns.promises.lookup('web-1.web.ns.svc.cluster.local')).address;
  out.clusterIP = (await dns.promises.lookup('api.ns')).address;
  out.viaClusterIP = await (await fetch('http://api:80/')).text();
  // node:http's agent connects with options carrying path: null (not a socket path).
  out.viaClusterIPHttp = await new Promise((resolve, reject) => http.get('http://api:80/', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => resolve(b)); }).on('error', reject));
  out.unknown = await dns.promises.lookup('no-such-host.invalid').then(() => 'resolved', (e) => e.code);
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('pod-preload.mjs', () => {
  it('maps wildcard/localhost listens and connects to the pod IP and answers cluster DNS', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preload-'));
    const peer = net.createServer((c) => c.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npeer'));
    await new Promise<void>((r) => peer.listen(9090, PEER_IP, r));
    try {
      const pod = (name: string, ip: string, labels: Record<string, string>): Pod => ({
        metadata: { name, namespace: 'ns', labels },
        spec: { hostname: name, subdomain: 'web', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 9090 }] }] },
        status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
      });
      const services: Service[] = [
        { metadata: { name: 'web', namespace: 'ns' }, spec: { clusterIP: 'None', selector: { app: 'web' } } },
        { metadata: { name: 'api', namespace: 'ns' }, spec: { clusterIP: '10.96.0.7', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } },
      ];
      const table = buildDnsTable(services, [pod('web-0', POD_IP, { app: 'x' }), pod('web-1', PEER_IP, { app: 'web' })]);
      const dnsFile = path.join(dir, 'table.json');
      fs.writeFileSync(dnsFile, JSON.stringify(table));
      const env = { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--import ${PRELOAD}`, KUBELET_POD_IP: POD_IP, KUBELET_POD_HOSTNAME: 'web-0', KUBELET_POD_NAMESPACE: 'ns', KUBELET_DNS_FILE: dnsFile };
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['-e', SCRIPT], { env, timeout: 10_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
      );
      // ESM named imports of built-ins see the patches too.
      const esm = "import { hostname } from 'node:os'; import { lookup } from 'node:dns'; lookup('web-1.web', (e, a) => console.log(JSON.stringify([hostname(), e ? e.code : a])));";
      const esmOut = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['--input-type=module', '-e', esm], { env, timeout: 10_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
      );
      expect(JSON.parse(esmOut)).toEqual(['web-0', PEER_IP]);
      expect(JSON.parse(stdout)).toEqual({
        noHost: POD_IP,
        v4any: POD_IP,
        v6any: POD_IP,
        localhost: POD_IP,
        viaLocalhost: 'own',
        via127: 'own',
        hostname: 'web-0',
        eth0: [[POD_IP, false]],
        svc: [PEER_IP],
        pod: PEER_IP,
        clusterIP: '10.96.0.7',
        viaClusterIP: 'peer',
        viaClusterIPHttp: 'peer',
        unknown: 'ENOTFOUND',
      });
    } finally {
      peer.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
