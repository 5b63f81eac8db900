/**
 * Reads which config each collector pod runs: the `alloy_config_hash{sha256="…"} 1` gauge on the
 * pod's `/metrics` (port 12345). Used to report `status.configHash` as the config the pods
 * actually run and `Progressing=True reason=ConfigReloading` until every pod reloaded.
 */
import * as http from 'node:http';
import { HTTP_PORT } from '../render/labels.js';

export interface PodAddress {
  readonly name: string;
  readonly ip: string;
}

export interface PodConfigProbe {
  /** Hash per pod name; a pod that cannot be read maps to an Error. Never rejects. */
  observe(pods: readonly PodAddress[]): Promise<Map<string, string | Error>>;
}

const HASH_LINE = /^alloy_config_hash\{sha256="([0-9a-f]{64})"\} 1$/m;

export function parseConfigHash(metricsText: string): string | undefined {
  return HASH_LINE.exec(metricsText)?.[1];
}

export class HttpPodConfigProbe implements PodConfigProbe {
  readonly #timeoutMs: number;
  readonly #port: number;

  /** `port`: the collectors' HTTP port (12345); `timeoutMs` per pod (2000). */
  constructor(opts: { timeoutMs?: number; port?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#port = opts.port ?? HTTP_PORT;
  }

  async observe(pods: readonly PodAddress[]): Promise<Map<string, string | Error>> {
    const results = await Promise.all(pods.map(async (p) => [p.name, await this.#one(p.ip).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))] as const));
    return new Map(results);
  }

  #one(ip: string): Promise<string> {
    const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${this.#port}/metrics`;
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false, timeout: this.#timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const hash = res.statusCode === 200 ? parseConfigHash(body) : undefined;
          if (hash === undefined) reject(new Error(`${url}: no alloy_config_hash (HTTP ${res.statusCode})`));
          else resolve(hash);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: timed out after ${this.#timeoutMs} ms`)));
      req.on('error', reject);
    });
  }
}
