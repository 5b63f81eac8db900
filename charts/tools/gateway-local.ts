/**
 * Runs the chart gateway's rendered nginx.conf outside a pod, for tests: in-pod paths (/etc/nginx,
 * /tmp, /dev/stderr, /dev/stdout) move under a temp dir and Alloy's Service becomes loopback.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findObject, type RenderedManifest } from '../../tools/helm-template/helm-template.js';

export function nginxConf(m: readonly RenderedManifest[]): string {
  return String((findObject(m, 'ConfigMap', 'alloy-gateway')['data'] as Record<string, unknown>)['nginx.conf']);
}

/** The rendered nginx.conf with its in-pod paths moved under `dir` and Alloy's Service replaced by loopback. */
export function localConf(conf: string, dir: string): string {
  return conf
    .replace(/ \/tmp\//g, ` ${dir}/tmp/`)
    .replace(/server [a-z0-9.-]+\.svc:/g, 'server 127.0.0.1:')
    .replaceAll('/etc/nginx/', `${dir}/`)
    .replace('error_log /dev/stderr', `error_log ${dir}/error.log`)
    .replace('access_log /dev/stdout', `access_log ${dir}/access.log`);
}

/** A temp dir with tmp/, a self-signed tls/tls.{crt,key} and auth/auth (htpasswd: user / secret). */
export function prepareDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloy-gateway-'));
  for (const d of ['tmp', 'tls', 'auth']) fs.mkdirSync(path.join(dir, d));
  const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'tls/tls.key'), '-out', path.join(dir, 'tls/tls.crt'), '-days', '1', '-subj', '/CN=alloy-gateway'], { encoding: 'utf8' });
  if (cert.status !== 0) throw new Error(`openssl: ${cert.stderr}`);
  const hash = spawnSync('openssl', ['passwd', '-apr1', 'secret'], { encoding: 'utf8' });
  if (hash.status !== 0) throw new Error(`openssl passwd: ${hash.stderr}`);
  fs.writeFileSync(path.join(dir, 'auth/auth'), `user:${hash.stdout.trim()}\n`);
  // Started as root (CI containers), nginx's workers run as nobody: they must read the files and write tmp/.
  for (const d of ['.', 'tls', 'auth']) fs.chmodSync(path.join(dir, d), 0o755);
  fs.chmodSync(path.join(dir, 'tmp'), 0o777);
  for (const f of ['tls/tls.crt', 'tls/tls.key', 'auth/auth']) fs.chmodSync(path.join(dir, f), 0o644);
  return dir;
}

