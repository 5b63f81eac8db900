/**
 * The config-reloader sidecar: watches mounted ConfigMap directories and asks the collector to
 * reload (POST to its `/-/reload`) when their content really changes.
 *
 * Contracts:
 * - A change is a change of the content hash over every regular file directly inside the
 *   volume dirs (symlinks followed; kubelet internals named `..*` skipped). The kubelet's atomic
 *   `..data` swap and the safety-net poll both end in the same hash check, so a swap to identical
 *   content, or a touch, triggers nothing.
 * - Events are debounced (`debounceMs` of quiet) before the check; checks never overlap.
 * - 2xx: the hash is acknowledged. 400: the collector rejected the config; its diagnostics are
 *   logged and the same content is not retried (the next content change is). Anything else
 *   (connection refused while the collector starts, 5xx, timeout): retried with capped
 *   exponential backoff, re-reading the content on every attempt.
 * - Background loops never throw; `stop()` ends every timer, watcher and retry.
 */
import { createHash } from 'node:crypto';
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'winston';

export interface ReloaderOptions {
  readonly volumeDirs: readonly string[];
  readonly webhookUrl: string;
  readonly pollIntervalMs: number;
  readonly debounceMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
  /** First retry delay; doubles up to `maxBackoffMs`. Defaults 500ms / 30s. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per-request timeout. Default 60s (a large config can take a while to load). */
  readonly requestTimeoutMs?: number;
}

/** sha256 over name and content of every regular file directly inside the dirs. */
export async function hashVolumeDirs(dirs: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const dir of dirs) {
    h.update(dir).update('\0');
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => !n.startsWith('..')).sort();
    } catch {
      h.update('<missing>');
      continue;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      try {
        const st = await fs.stat(p);
        if (!st.isFile()) continue;
        h.update(name).update('\0').update(await fs.readFile(p)).update('\0');
      } catch {
        // A dangling symlink mid-swap: the next event or poll sees the settled state.
      }
    }
  }
  return h.digest('hex');
}

export class ConfigReloader {
  readonly #o: Required<Omit<ReloaderOptions, 'logger' | 'registry'>> & Pick<ReloaderOptions, 'logger' | 'registry'>;
  #ackedHash: string | undefined;
  #watchers: FSWatcher[] = [];
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #abort = new AbortController();
  readonly #reloads: Counter<never>;
  readonly #failures: Counter<never>;
  readonly #lastSuccess: Gauge<never>;

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
    const registers = [opts.registry];
    this.#reloads = new Counter({ name: 'alloy_config_reloader_reloads_total', help: 'Reloads the collector accepted.', registers });
    this.#failures = new Counter({
      name: 'alloy_config_reloader_reload_failures_total',
      help: 'Reload attempts that failed (collector unreachable, rejected config, server error).',
      registers,
    });
    this.#lastSuccess = new Gauge({
      name: 'alloy_config_reloader_last_reload_success_timestamp_seconds',
      help: 'Time of the last reload the collector accepted.',
      registers,
    });
  }

  /** Hash the current content (acknowledged: the collector loaded it at start), then watch. */
  async start(): Promise<void> {
    for (const dir of this.#o.volumeDirs) {
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new Error(`--volume-dir "${dir}" is not a directory`);
    }
    this.#ackedHash = await hashVolumeDirs(this.#o.volumeDirs);
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
      const hash = await hashVolumeDirs(this.#o.volumeDirs);
      if (hash === this.#ackedHash) return;
      const outcome = await this.#post();
      if (outcome.kind === 'ok') {
        this.#ackedHash = hash;
        this.#reloads.inc();
        this.#lastSuccess.set(Date.now() / 1000);
        this.#o.logger.info('collector reloaded', { sha256: hash });
        return;
      }
      this.#failures.inc();
      if (outcome.kind === 'rejected') {
        this.#ackedHash = hash;
        this.#o.logger.error('collector rejected the new config; waiting for the next change', { status: 400, diagnostics: outcome.detail });
        return;
      }
      this.#o.logger.warn('reload request failed; retrying', { err: outcome.detail, retry_in_ms: backoff });
      const aborted = await sleep(backoff, this.#abort.signal);
      if (aborted) return;
      backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
    }
  }

  async #post(): Promise<{ kind: 'ok' | 'rejected' | 'retry'; detail: string }> {
    try {
      const res = await fetch(this.#o.webhookUrl, {
        method: 'POST',
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.requestTimeoutMs)]),
      });
      const body = await res.text();
      if (res.ok) return { kind: 'ok', detail: body };
      if (res.status === 400) return { kind: 'rejected', detail: body.trim() };
      return { kind: 'retry', detail: `HTTP ${res.status}: ${body.trim().slice(0, 500)}` };
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'retry', detail: cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)) };
    }
  }
}

/** Resolves true if aborted before `ms` elapsed. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
