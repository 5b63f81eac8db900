/**
 * `Runtime`: one running config. Reads the config path (a file, or every `*.alloy` directly in a
 * directory), loads it through the loader, applies the `logging` block and the components
 * through the controller, and keeps the load metrics (`alloy_config_*`).
 *
 * Contracts:
 * - Loads are serialised. A load whose files cannot be read, parsed, validated or evaluated
 *   changes nothing (components, logging, readiness, config hash) and returns the diagnostics
 *   formatted with source excerpts.
 * - A load does not hold the event loop for long: it yields between reading, parsing each file,
 *   loading and formatting the report, so pushes and scrapes keep flowing while a (large or
 *   garbage) config is refused; the parser and the report are bounded (`MAX_PARSE_ERRORS`,
 *   `MAX_SHOWN_DIAGNOSTICS`).
 * - `isReady()` is true from the first successful load on.
 * - Files and directories read by `import.file` are watched (as Alloy does): a change reloads the
 *   last loaded sources after a short debounce, re-reading the modules.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { decodeSource, formatDiagnostics, parseFile, reparseFile, type AlloyJSONStatement, type ParseResult } from '../syntax/index.js';
import type { ZodType } from 'zod';
import type { LogLineReceiver, LogManager } from '../logging/logger.js';
import type { ServiceName, Stability } from './component.js';
import { Controller, type ComponentInfo } from './controller.js';
import { fileRange, errorAt, hasErrors, type Diagnostic } from './diagnostics.js';
import { loadConfigWithComponents, type ConfigEvaluator, type LoadedConfig } from './loader.js';
import type { AnyDefinition, ComponentRegistry } from './registry.js';
import type { DeclareBody } from './declare.js';
import { LiveDebugging } from './live-debugging.js';
import { SpecCache } from './module-loader.js';

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly branch: string;
}

export interface RuntimeOptions {
  /** File or directory given to `alloy run`. */
  readonly configPath: string;
  readonly storagePath: string;
  readonly stabilityLevel: Stability;
  readonly logs: LogManager;
  /** Process/controller registry; `registries()` lists it first. */
  readonly registry: Registry;
  readonly services: ReadonlyMap<ServiceName, unknown>;
  readonly components: ComponentRegistry;
  readonly evaluator: ConfigEvaluator;
  readonly buildInfo: BuildInfo;
  readonly shutdownTimeoutMs?: number;
}

export interface LoadResult {
  readonly ok: boolean;
  readonly diags: readonly Diagnostic[];
  /** Diagnostics formatted with source excerpts ("" when ok). */
  readonly message: string;
}

/** Lets pending I/O (pushes, scrapes, API calls) run between the synchronous steps of a load. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Reads a config file, or every `*.alloy` file directly inside a directory (sorted). */
export async function readConfigSources(configPath: string): Promise<Map<string, string>> {
  let st;
  try {
    st = await fs.stat(configPath);
  } catch (err) {
    throw new Error(`reading config path "${configPath}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String(err)}`);
  }
  const out = new Map<string, string>();
  if (!st.isDirectory()) {
    out.set(configPath, decodeSource(await fs.readFile(configPath)));
    return out;
  }
  const names = (await fs.readdir(configPath, { withFileTypes: true }))
    .filter((e) => e.name.endsWith('.alloy') && !e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    const p = path.join(configPath, name);
    // Follow symlinks (a mounted ConfigMap's keys are symlinks into ..data/).
    if ((await fs.stat(p)).isFile()) out.set(p, decodeSource(await fs.readFile(p)));
  }
  if (out.size === 0) throw new Error(`config directory "${configPath}" contains no *.alloy files`);
  return out;
}

export class Runtime {
  readonly #opts: RuntimeOptions;
  readonly controller: Controller;
  #queue: Promise<unknown> = Promise.resolve();
  #ready = false;
  #hash: string | undefined;
  readonly #parseCache = new Map<string, { readonly src: string; readonly parsed: ParseResult }>();
  #importWatchers: FSWatcher[] = [];
  #importTimer: NodeJS.Timeout | undefined;
  #lastSources: ReadonlyMap<string, string> | undefined;
  #stopped = false;
  readonly #declareCache = { definitions: new Map<string, AnyDefinition>(), bodies: new Map<string, DeclareBody>() };
  readonly #specCache = new SpecCache();
  readonly #lastOk: Gauge<never>;
  readonly #failures: Counter<never>;
  readonly #hashGauge: Gauge<'sha256'>;

  constructor(opts: RuntimeOptions) {
    this.#opts = opts;
    const logs = opts.logs;
    this.controller = new Controller({
      logger: logs.root,
      componentLogger: (id) => logs.component(id),
      storagePath: opts.storagePath,
      services: opts.services,
      registry: opts.registry,
      ...(opts.shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs: opts.shutdownTimeoutMs } : {}),
    });
    const r = [opts.registry];
    new Gauge({
      name: 'alloy_build_info',
      help: 'A metric with a constant 1 value labeled by version, revision, branch and runtime version from which alloy was built.',
      labelNames: ['version', 'revision', 'branch', 'nodeversion', 'goos', 'goarch'],
      registers: r,
    }).set(
      {
        version: opts.buildInfo.version,
        revision: opts.buildInfo.revision,
        branch: opts.buildInfo.branch,
        nodeversion: process.version,
        goos: process.platform,
        goarch: process.arch,
      },
      1,
    );
    this.#lastOk = new Gauge({ name: 'alloy_config_last_load_successful', help: 'Config loaded successfully.', registers: r });
    this.#failures = new Counter({ name: 'alloy_config_load_failures_total', help: 'Config failed to load.', registers: r });
    this.#hashGauge = new Gauge({
      name: 'alloy_config_hash',
      help: 'Hash of the currently active config file.',
      labelNames: ['sha256'],
      registers: r,
    });
  }

  isReady(): boolean {
    return this.#ready;
  }

  get configHash(): string | undefined {
    return this.#hash;
  }

  /** The sources (file name → text) of the running config and their hash; undefined before the first load. */
  runningConfig(): { readonly sources: ReadonlyMap<string, string>; readonly hash: string } | undefined {
    return this.#lastSources && this.#hash ? { sources: this.#lastSources, hash: this.#hash } : undefined;
  }

  /** Read the config path from disk and load it. */
  load(): Promise<LoadResult> {
    return this.#serial(async () => {
      let sources: Map<string, string>;
      try {
        sources = await readConfigSources(this.#opts.configPath);
      } catch (err) {
        const d = errorAt(fileRange(this.#opts.configPath), err instanceof Error ? err.message : String(err));
        return this.#failed([d], new Map());
      }
      return this.#load(sources);
    });
  }

  /** Load the given sources (file name → text). */
  loadSources(sources: ReadonlyMap<string, string>): Promise<LoadResult> {
    return this.#serial(() => this.#load(sources));
  }

  /** `/-/reload` and SIGHUP. */
  async reload(): Promise<{ ok: boolean; message: string }> {
    const r = await this.load();
    return { ok: r.ok, message: r.ok ? '' : r.message };
  }

  components(): readonly ComponentInfo[] {
    return this.controller.components();
  }

  registries(): readonly Registry[] {
    return [this.#opts.registry, ...this.controller.registries()];
  }

  toJSON(value: unknown): unknown {
    return this.#opts.evaluator.toJSON(value);
  }

  encodeBody(value: unknown, schema?: ZodType): AlloyJSONStatement[] {
    return this.#opts.evaluator.encodeBody(value, schema);
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#watchImports([]);
    clearTimeout(this.#importTimer);
    return this.#serial(() => this.controller.stop());
  }

  /** Replace the watchers on imported module paths. */
  #watchImports(paths: readonly string[]): void {
    for (const w of this.#importWatchers) w.close();
    this.#importWatchers = [];
    if (this.#stopped) return;
    for (const p of new Set(paths)) {
      try {
        const w = watch(p, { persistent: false }, () => this.#importChanged());
        w.on('error', () => undefined);
        this.#importWatchers.push(w);
      } catch (err) {
        this.#opts.logs.root.warn('cannot watch imported module; changes apply on the next reload', { path: p, err: (err as Error).message });
      }
    }
  }

  #importChanged(): void {
    clearTimeout(this.#importTimer);
    this.#importTimer = setTimeout(() => {
      const sources = this.#lastSources;
      if (!sources || this.#stopped) return;
      this.#opts.logs.root.info('imported module changed, reloading');
      void this.#serial(() => this.#load(sources));
    }, 200);
    this.#importTimer.unref();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #load(sources: ReadonlyMap<string, string>): Promise<LoadResult> {
    const log = this.#opts.logs.root;
    let loaded: LoadedConfig;
    // Parse file by file with a turn of the event loop before each; `loadConfig` then reuses the cache.
    // An edited file reuses the syntax trees of the statements the edit did not touch.
    for (const [file, src] of sources) {
      const prev = this.#parseCache.get(file);
      if (prev?.src === src) continue;
      await yieldToEventLoop();
      try {
        this.#parseCache.set(file, { src, parsed: prev ? reparseFile(file, prev, src) : parseFile(file, src) });
      } catch {
        // Not a user error: `loadConfig` parses it again below and reports it as internal.
      }
    }
    await yieldToEventLoop();
    try {
      // Component modules load on first use; a failure leaves the running graph untouched.
      loaded = await loadConfigWithComponents(sources, {
        registry: this.#opts.components,
        evaluator: this.#opts.evaluator,
        stabilityLevel: this.#opts.stabilityLevel,
        parseCache: this.#parseCache,
        declareCache: this.#declareCache,
        specCache: this.#specCache,
      });
    } catch (err: unknown) {
      // Nothing was applied: the running graph is untouched.
      const msg = err instanceof Error ? err.message : String(err);
      const d = errorAt(fileRange(this.#opts.configPath), `internal error while loading the configuration (the running configuration is unchanged): ${msg}`);
      return this.#failed([d], sources);
    }
    if (hasErrors(loaded.diags)) {
      await yieldToEventLoop();
      return this.#failed(loaded.diags, sources);
    }
    // Warnings are logged in the format the new config's `logging` block asks for, once it applies.
    const warn = (): void => {
      if (loaded.diags.length > 0) log.warn('config has warnings', { warnings: formatDiagnostics(loaded.diags, sources) });
    };
    const { committed, diags } = await this.controller.apply(loaded.components);
    if (!committed) {
      warn();
      return this.#failed(diags, sources);
    }
    this.#opts.logs.configure(loaded.logging.args);
    const writeToDiags = this.#applyLogWriteTo(loaded.logging.writeTo);
    if (writeToDiags.length > 0) diags.push(...writeToDiags);
    const live = this.#opts.services.get('livedebugging');
    if (live instanceof LiveDebugging) live.enabled = loaded.liveDebugging;
    warn();
    this.#lastSources = sources;
    this.#watchImports(loaded.importedPaths);
    this.#ready = true;
    this.#hash = loaded.hash;
    this.#hashGauge.reset();
    this.#hashGauge.set({ sha256: loaded.hash }, 1);
    if (hasErrors(diags)) {
      // Committed, but some component rejected its new arguments (kept its old ones).
      this.#lastOk.set(0);
      this.#failures.inc();
      const message = formatDiagnostics(diags, sources);
      log.error('config loaded with component update errors', { err: message });
      return { ok: false, diags, message };
    }
    this.#lastOk.set(1);
    log.info('config loaded', { components: loaded.components.length, sha256: loaded.hash });
    return { ok: true, diags, message: '' };
  }

  /**
   * `logging { write_to }`: evaluated against the running components; on error the previous
   * receivers stay and the diagnostics are returned.
   */
  #applyLogWriteTo(writeTo: LoadedConfig['logging']['writeTo']): Diagnostic[] {
    if (!writeTo) {
      this.#opts.logs.setWriteTo([]);
      return [];
    }
    const r = writeTo.evaluate((id) => this.controller.component(id)?.exports);
    const receivers = (r.value as { write_to?: LogLineReceiver[] } | undefined)?.write_to;
    if (receivers && !hasErrors(r.diags)) this.#opts.logs.setWriteTo(receivers);
    return [...r.diags];
  }

  #failed(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>): LoadResult {
    this.#lastOk.set(0);
    this.#failures.inc();
    const message = formatDiagnostics(diags, sources);
    this.#opts.logs.root.error('failed to load config', { err: message });
    return { ok: false, diags, message };
  }
}
