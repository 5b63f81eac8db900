/** Test support for the kubelet endpoint tests: certificates (openssl, a throwaway CA per run) and a stream reader. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

export const OPENSSL = '/usr/bin/openssl';
export const haveOpenssl = fs.existsSync(OPENSSL);
if (!haveOpenssl && process.env.CI === 'true') throw new Error(`${OPENSSL} is needed (apt-get install openssl)`);

export interface Pem {
  cert: string;
  key: string;
}

/** A CA, a serving certificate for 127.0.0.1, client certificates of that CA, and one of another CA. */
export function certificates(dir: string): { ca: string; serving: Pem; apiserver: Pem; other: Pem; stranger: Pem } {
  const ssl = (args: string[]): void => void execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (base: string): Pem => ({ cert: fs.readFileSync(path.join(dir, `${base}.crt`), 'utf8'), key: fs.readFileSync(path.join(dir, `${base}.key`), 'utf8') });
  for (const ca of ['ca', 'ca2']) ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '1', '-subj', `/CN=${ca}`]);
  const issue = (base: string, cn: string, ca: string, ext: string): Pem => {
    fs.writeFileSync(path.join(dir, `${base}.ext`), ext);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`]);
    ssl(['x509', '-req', '-in', `${base}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${base}.crt`, '-days', '1', '-extfile', `${base}.ext`]);
    return read(base);
  };
  return {
    ca: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
    serving: issue('serving', 'dev-node', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
    apiserver: issue('apiserver', 'kube-apiserver-kubelet-client', 'ca', 'extendedKeyUsage=clientAuth\n'),
    other: issue('other', 'system:node:dev-node', 'ca', 'extendedKeyUsage=clientAuth\n'),
    stranger: issue('stranger', 'kube-apiserver-kubelet-client', 'ca2', 'extendedKeyUsage=clientAuth\n'),
  };
}

/** Everything `s` delivers until it ends or closes (reset), as text; '' for no stream. */
export function readAll(s: Readable | undefined): Promise<string> {
  return new Promise((resolve) => {
    if (!s) return resolve('');
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.once('end', () => resolve(out));
    s.once('close', () => resolve(out));
  });
}
