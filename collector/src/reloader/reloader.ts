/**
 * The config-reloader sidecar: watches mounted ConfigMap directories and asks the collector to
 * reload (POST to its `/-/reload`) when their content really changes.
 *
 * Contracts:
 * - A change is a change of the content (byte for byte) of every regular file directly inside the
 *   volume dirs (symlinks followed; kubelet internals named `..*` skipped). The kubelet's atomic
 *   `..data` swap and the safety-net poll both end in the same content check, so a swap to identical
 *   content, or a touch, triggers nothing.
 * - Events are debounced (`debounceMs` of quiet) before the check; checks never overlap.
 * - 2xx: the hash is acknowledged. 400: the collector rejected the config; its diagnostics are
 *   logged and the same content is not retried (the next content change is). Anything else
 *   (connection refused while the collector starts, 5xx, timeout): retried with capped
 *   exponential backoff, re-reading the content on every attempt.
 * - Background loops never throw; `stop()` ends every timer, watcher and retry.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { sleep } from '../clock/clock.js';
import type { ReloaderLogger } from './lean-log.js';
import type { ReloaderMetrics } from './lean-metrics.js';

export interface ReloaderOptions {
  readonly volumeDirs: readonly string[];
  readonly webhookUrl: string;
  readonly pollIntervalMs: number;
  readonly debounceMs: number;
  readonly logger: ReloaderLogger;
  readonly metrics: ReloaderMetrics;
  /** First retry delay; doubles up to `maxBackoffMs`. Defaults 500ms / 30s. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per-request timeout. Default 60s (a large config can take a while to load). */
  readonly requestTimeoutMs?: number;
}

/**
 * The exact content of the volume dirs: dir, name and bytes of every regular file directly
 * inside them, NUL-separated. Compared byte for byte (configs are small), so no hash function
 * (and no crypto library) is needed to tell a real change.
 */
export async function snapshotVolumeDirs(dirs: readonly string[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const text = (s: string): void => void parts.push(Buffer.from(`${s}\0`));
  for (const dir of dirs) {
    text(dir);
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => !n.startsWith('..')).sort();
    } catch {
      text('<missing>');
      continue;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      try {
        const st = await fs.stat(p);
        if (!st.isFile()) continue;
        const content = await fs.readFile(p);
        text(name);
        parts.push(content, Buffer.from('\0'));
      } catch {
        // A dangling symlink mid-swap: the next event or poll sees the settled state.
      }
    }
  }
  return Buffer.concat(parts);
}

export class ConfigReloader {
  readonly #o: Required<ReloaderOptions>;
  #acked: Buffer | undefined;
  #watchers: FSWatcher[] = [];
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(opts: ReloaderOptions) {
    if (opts.volumeDirs.length === 0) throw new Error('config-reloader needs at least one --volume-dir');
    let url: URL;
    try {
      url = new URL(opts.webhookUrl);
    } catch {
      throw new Error(`--webhook-url "${opts.webhookUrl}" is not a URL; expected e.g. http://localhost:12345/-/reload`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--webhook-url must be http(s), got ${url.protocol}`);
    if (!(opts.debounceMs >= 0)) throw new Error('--debounce must be >= 0');
    if (!(opts.pollIntervalMs > 0)) throw new Error('--poll-interval must be > 0');
    this.#o = { initialBackoffMs: 500, maxBackoffMs: 30_000, requestTimeoutMs: 60_000, ...opts };
  }

  /** `node:https`, loaded only for an https webhook (TLS costs the sidecar ~4 MiB). */
  #https: typeof httpRequest | undefined;

  /** Reads the current content (acknowledged: the collector loaded it at start), then watches. */
  async start(): Promise<void> {
    if (new URL(this.#o.webhookUrl).protocol === 'https:') this.#https = (await import('node:https')).request;
    for (const dir of this.#o.volumeDirs) {
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new Error(`--volume-dir "${dir}" is not a directory`);
    }
    this.#acked = await snapshotVolumeDirs(this.#o.volumeDirs);
    for (const dir of this.#o.volumeDirs) {
      const w = watch(dir, { persistent: true }, () => this.#schedule());
      w.on('error', (err) => this.#o.logger.warn('watch error; relying on polling', { dir, err: err.message }));
      this.#watchers.push(w);
    }
    const poll = (): void => {
      this.#poll = setTimeout(() => {
        this.#kick();
        poll();
      }, this.#o.pollIntervalMs);
    };
    poll();
    this.#o.logger.info('watching config volumes', { dirs: this.#o.volumeDirs.join(','), webhook: this.#o.webhookUrl });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    clearTimeout(this.#debounce);
    clearTimeout(this.#poll);
    await this.#running;
  }

  /** Resolves when no check is running or scheduled (tests). */
  async settled(): Promise<void> {
    while (this.#running || this.#debounce) {
      await (this.#running ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#kick();
    }, this.#o.debounceMs);
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.#check();
        } catch (err) {
          this.#o.logger.error('reload check failed', { err: err instanceof Error ? err.message : String(err) });
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#running = undefined;
    });
  }

  async #check(): Promise<void> {
    let backoff = this.#o.initialBackoffMs;
    for (;;) {
      if (this.#stopped) return;
      const content = await snapshotVolumeDirs(this.#o.volumeDirs);
      if (this.#acked?.equals(content) === true) return;
      const outcome = await this.#post();
      if (outcome.kind === 'ok') {
        this.#acked = content;
        this.#o.metrics.reloads++;
        this.#o.metrics.lastSuccessSeconds = Date.now() / 1000;
        this.#o.logger.info('collector reloaded', { bytes: content.length });
        return;
      }
      this.#o.metrics.failures++;
      if (outcome.kind === 'rejected') {
        this.#acked = content;
        this.#o.logger.error('collector rejected the new config; waiting for the next change', { status: 400, diagnostics: outcome.detail });
        return;
      }
      this.#o.logger.warn('reload request failed; retrying', { err: outcome.detail, retry_in_ms: backoff });
      const aborted = !(await sleep(backoff, this.#abort.signal));
      if (aborted) return;
      backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
    }
  }

  /** One POST with node:http(s) (not `fetch`, whose HTTP stack costs the sidecar ~10 MiB). */
  #post(): Promise<{ kind: 'ok' | 'rejected' | 'retry'; detail: string }> {
    return new Promise((resolve) => {
      const url = new URL(this.#o.webhookUrl);
      const req = (url.protocol === 'https:' ? this.#https! : httpRequest)(url, { method: 'POST', signal: this.#abort.signal, timeout: this.#o.requestTimeoutMs, headers: { 'content-length': 0 } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => resolve({ kind: 'retry', detail: err.message }));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ kind: 'ok', detail: body });
          else if (status === 400) resolve({ kind: 'rejected', detail: body.trim() });
          else resolve({ kind: 'retry', detail: `HTTP ${status}: ${body.trim().slice(0, 500)}` });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#o.requestTimeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'retry', detail: err.code ?? err.message }));
      req.end();
    });
  }
}

