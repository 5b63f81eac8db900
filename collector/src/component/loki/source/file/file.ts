/**
 * `loki.source.file`: reads log lines from files and forwards them to `forward_to`.
 *
 * Contracts:
 * - Each target's `__path__` is a literal path or a glob (expanded at start, on every update and
 *   every `file_match.sync_period`, whether or not `file_match.enabled` is set, so
 *   `__path__ = "/var/log/*.log"` works as written); `__path_exclude__` removes matches.
 * - Entry labels: the target's labels without `__`-prefixed ones, plus `filename` = the path.
 * - A file's offset advances only after every `forward_to` receiver accepted its lines; offsets
 *   are saved to `<dataPath>/positions.yml` every second and on shutdown, so a restart neither
 *   loses nor repeats lines (a crash may repeat up to one second of lines).
 * - Files without a saved position start at 0, or at their end with `tail_from_end = true`.
 * - Reading: each file's directory is watched (fs.watch), and a change event reads the file to
 *   its end at once; polling stays as a fallback (file systems without change events): each file
 *   is checked every `min_poll_frequency`, backing off (doubling) to `max_poll_frequency` while it
 *   does not change. Prompt reads bound what a copytruncate can take away to the lines written
 *   since the last change event was handled; `tailer.ts` recovers even those from the rotated copy.
 * - Stopping: the run signal aborts every tailer; no listener is added to it per file.
 * - `file_match.ignore_older_than` (> 0) skips files not modified within that duration;
 *   `decompression { enabled = true }` reads each file once as gz/z/bz2 (`decompressor.ts`).
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent } from '../../../../runtime/component.js';
import { isLogsReceiver, type Label, type Labels, type LogEntry, type LogsReceiver } from '../../../../loki/types.js';
import { block, capsule, duration } from '../../../../syntax/vm/schema.js';
import { sleep } from '../../../../clock/clock.js';
import { expandGlob, globToRegExp, hasMagic, recentFiles } from '../../../../fs/glob.js';
import { Positions } from './positions.js';
import { Decompressor, type FileReader } from './decompressor.js';
import { decompressionSchema } from './decompression-args.js';
import { checkEncoding, FileTailer } from './tailer.js';

const POSITIONS_SYNC_MS = 1000;

export const argumentsSchema = z
  .object({
    targets: z.array(z.record(z.string(), z.string())),
    forward_to: z.array(capsule<LogsReceiver>('LogsReceiver', isLogsReceiver)),
    encoding: z.string().default(''),
    tail_from_end: z.boolean().default(false),
    legacy_positions_file: z.string().default(''),
    on_positions_file_error: z.enum(['skip', 'restart_from_end', 'restart_from_beginning']).default('restart_from_beginning'),
    file_watch: block(
      z
        .object({ min_poll_frequency: duration().default(250), max_poll_frequency: duration().default(250) })
        .refine((f) => f.min_poll_frequency > 0 && f.max_poll_frequency >= f.min_poll_frequency, {
          message: 'file_watch: min_poll_frequency must be > 0 and not larger than max_poll_frequency',
        }),
    ).prefault({}),
    file_match: block(
      z
        .object({ enabled: z.boolean().default(false), sync_period: duration().default(10_000), ignore_older_than: duration().default(0) })
        .refine((f) => f.sync_period > 0, { message: 'file_match.sync_period must be > 0' }),
    ).prefault({}),
    decompression: block(decompressionSchema).optional(),
  })
  .superRefine((a, ctx) => {
    a.targets.forEach((t, i) => {
      if (!t['__path__']) ctx.addIssue({ code: 'custom', path: ['targets', i], message: `targets[${i}] has no __path__ label; set __path__ = "/var/log/*.log" (a file path or glob)` });
    });
    try {
      checkEncoding(a.encoding);
    } catch (err: unknown) {
      ctx.addIssue({ code: 'custom', path: ['encoding'], message: (err as Error).message });
    }
  });

export type Arguments = z.output<typeof argumentsSchema>;
export type Exports = Record<string, never>;

class FileMetrics {
  readonly readBytes: Gauge<'path'>;
  readonly fileBytes: Gauge<'path'>;
  readonly readLines: Counter<'path'>;
  readonly recoveredLines: Counter<'path'>;
  readonly active: Gauge;

  constructor(opts: ComponentOptions<Exports>) {
    const registers = [opts.registry];
    this.readBytes = new Gauge({ name: 'loki_source_file_read_bytes_total', help: 'Number of bytes read.', labelNames: ['path'], registers });
    this.fileBytes = new Gauge({ name: 'loki_source_file_file_bytes_total', help: 'Number of bytes total.', labelNames: ['path'], registers });
    this.readLines = new Counter({ name: 'loki_source_file_read_lines_total', help: 'Number of lines read.', labelNames: ['path'], registers });
    this.recoveredLines = new Counter({
      name: 'loki_source_file_rotated_copy_recovered_lines_total',
      help: 'Lines read from a rotated copy after the file was truncated by copytruncate before they were read.',
      labelNames: ['path'],
      registers,
    });
    this.active = new Gauge({ name: 'loki_source_file_files_active_total', help: 'Number of active files.', registers });
  }
}

interface Tracked {
  readonly tailer: FileReader;
  readonly key: string;
  /** Aborted to stop the tailer; `removed` asks for one last read (a rotated-away file's tail). */
  readonly stop: AbortController;
  removed: boolean;
  done: Promise<void>;
  /** Set by a change event; the tailer reads again before waiting. */
  changed: boolean;
  /** Ends the current wait early (a change event or stop). */
  wake: (() => void) | undefined;
}

/**
 * Waits up to `ms` for a change event or stop. Resolves at once when a change came in since the
 * last read. Listens to the file's own stop signal only, never to a shared one.
 */
async function waitForChange(t: Tracked, ms: number): Promise<void> {
  if (t.changed) return;
  await sleep(ms, t.stop.signal, (wake) => (t.wake = wake));
  t.wake = undefined;
}

function targetLabels(t: Readonly<Record<string, string>>, file: string): Labels {
  const out: Label[] = [];
  for (const [name, value] of Object.entries(t)) if (!name.startsWith('__') && name !== 'filename' && value !== '') out.push({ name, value });
  out.push({ name: 'filename', value: file });
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Object.freeze(out);
}

export class LokiSourceFileComponent implements Component<Arguments>, HealthComponent, DebugComponent {
  readonly #opts: ComponentOptions<Exports>;
  readonly #log: Logger;
  readonly #positions: Positions;
  readonly #metrics: FileMetrics;
  #args: Arguments;
  readonly #tailers = new Map<string, Tracked>();
  /** One fs.watch per watched directory; each event wakes the tailers of the named file. */
  readonly #watchers = new Map<string, FSWatcher>();
  #syncing: Promise<void> = Promise.resolve();
  #resync: (() => void) | undefined;
  #lastError: string | undefined;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments, positions: Positions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#args = args;
    this.#positions = positions;
    this.#metrics = new FileMetrics(opts);
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<LokiSourceFileComponent> {
    const file = path.join(opts.dataPath, 'positions.yml');
    const { positions, warning } = await Positions.open(file);
    if (warning) opts.logger.warn(`loki.source.file: ${warning}`);
    if (args.legacy_positions_file && positions.paths().length === 0) {
      const legacy = await Positions.open(args.legacy_positions_file);
      for (const p of legacy.positions.paths()) positions.set(p, legacy.positions.get(p)!);
      if (legacy.warning) opts.logger.warn(`loki.source.file: legacy ${legacy.warning}`);
    }
    return new LokiSourceFileComponent(opts, args, positions);
  }

  #forward = async (entries: readonly LogEntry[]): Promise<void> => {
    const rs = this.#args.forward_to;
    if (rs.length === 1) return rs[0]!.append(entries);
    await Promise.all(rs.map((r) => r.append(entries)));
  };

  /** Desired files: path → labels (first target wins for a path). */
  async #desired(): Promise<Map<string, Labels>> {
    const out = new Map<string, Labels>();
    for (const t of this.#args.targets) {
      const pattern = t['__path__']!;
      const exclude = t['__path_exclude__'] ? globToRegExp(path.resolve(t['__path_exclude__'])) : undefined;
      let files = hasMagic(pattern) ? await expandGlob(pattern) : [path.resolve(pattern)];
      if (this.#args.file_match.ignore_older_than > 0) files = await recentFiles(files, this.#args.file_match.ignore_older_than);
      for (const f of files) {
        if (exclude?.test(f) || out.has(f)) continue;
        out.set(f, targetLabels(t, f));
      }
    }
    return out;
  }

  async #sync(signal: AbortSignal): Promise<void> {
    let want: Map<string, Labels>;
    try {
      want = await this.#desired();
    } catch (err: unknown) {
      this.#lastError = `resolving targets failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#opts.setHealth('unhealthy', this.#lastError);
      return;
    }
    const keyOf = (ls: Labels): string => `${this.#args.encoding}|${ls.map((l) => `${l.name}=${l.value}`).join(',')}`;
    for (const [p, t] of this.#tailers) {
      const ls = want.get(p);
      if (ls && keyOf(ls) === t.key) continue;
      t.removed = true;
      t.stop.abort();
      t.wake?.();
      await t.done;
      this.#tailers.delete(p);
    }
    for (const [p, ls] of want) {
      if (this.#tailers.has(p) || signal.aborted) continue;
      this.#start(p, ls, keyOf(ls), signal);
    }
    for (const p of this.#positions.paths()) if (!want.has(p)) this.#positions.remove(p);
    this.#metrics.active.set(this.#tailers.size);
    this.#syncWatchers();
  }

  /** Watches the directory of every tailed file (created or rotated files show up there too). */
  #syncWatchers(): void {
    const dirs = new Set([...this.#tailers.keys()].map((p) => path.dirname(p)));
    for (const [d, w] of this.#watchers) {
      if (dirs.has(d)) continue;
      w.close();
      this.#watchers.delete(d);
    }
    for (const d of dirs) {
      if (this.#watchers.has(d)) continue;
      try {
        const w = watch(d, { persistent: false }, (_event, name) => {
          if (name === null) {
            for (const t of this.#tailers.values()) if (path.dirname(t.tailer.path) === d) this.#wakeTailer(t);
            return;
          }
          const t = this.#tailers.get(path.join(d, name.toString()));
          if (t) this.#wakeTailer(t);
        });
        // Watching is an optimisation: on error (e.g. the directory went away) polling carries on.
        w.on('error', () => {
          w.close();
          this.#watchers.delete(d);
        });
        this.#watchers.set(d, w);
      } catch {
        // No change events here (missing directory, inotify limits): polling only.
      }
    }
  }

  #wakeTailer(t: Tracked): void {
    t.changed = true;
    t.wake?.();
  }

  #closeWatchers(): void {
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  #start(p: string, labels: Labels, key: string, parent: AbortSignal): void {
    const onRead = (file: string, lines: number, offset: number, size: number): void => {
      this.#metrics.readLines.inc({ path: file }, lines);
      this.#metrics.readBytes.set({ path: file }, offset);
      this.#metrics.fileBytes.set({ path: file }, size);
    };
    const dec = this.#args.decompression;
    const tailer: FileReader = dec?.enabled
      ? new Decompressor({ path: p, labels, positions: this.#positions, encoding: this.#args.encoding, format: dec.format, initialDelayMs: dec.initial_delay, forward: this.#forward, onRead })
      : new FileTailer({
      path: p,
      labels,
      positions: this.#positions,
      encoding: this.#args.encoding,
      tailFromEnd: this.#args.tail_from_end,
      forward: this.#forward,
      onRead,
      isTailed: (file) => this.#tailers.has(file),
      onRecovered: (copy, lines) => {
        this.#metrics.recoveredLines.inc({ path: p }, lines);
        this.#log.info(`loki.source.file: ${p} was truncated (copytruncate) before it was read to its end; read ${lines} line(s) from the rotated copy ${copy}`);
      },
    });
    const stop = new AbortController();
    if (parent.aborted) stop.abort();
    const tracked: Tracked = { tailer, key, stop, removed: false, done: Promise.resolve(), changed: false, wake: undefined };
    tracked.done = (async () => {
      let interval = this.#args.file_watch.min_poll_frequency;
      let reported: string | undefined;
      while (!stop.signal.aborted) {
        tracked.changed = false;
        const progressed = await tailer.poll();
        if (tailer.lastError !== reported) {
          reported = tailer.lastError;
          if (reported) this.#log.warn(`loki.source.file: ${p}: ${reported}`);
        }
        const fw = this.#args.file_watch;
        interval = progressed ? fw.min_poll_frequency : Math.min(interval * 2, fw.max_poll_frequency);
        await waitForChange(tracked, interval);
      }
      if (tracked.removed && !parent.aborted) await tailer.poll();
      await tailer.close();
    })();
    this.#tailers.set(p, tracked);
  }

  async run(signal: AbortSignal): Promise<void> {
    const flushLoop = (async () => {
      while (!signal.aborted) {
        await sleep(POSITIONS_SYNC_MS, signal);
        await this.#positions.flush().catch((err: unknown) => this.#log.warn(`loki.source.file: writing ${this.#positions.file} failed: ${String(err)}`));
      }
    })();
    const stopTailers = (): void => {
      for (const t of this.#tailers.values()) {
        t.stop.abort();
        t.wake?.();
      }
    };
    signal.addEventListener('abort', stopTailers, { once: true });
    while (!signal.aborted) {
      this.#syncing = this.#sync(signal);
      await this.#syncing;
      await sleep(this.#args.file_match.sync_period, signal, (wake) => (this.#resync = wake));
      this.#resync = undefined;
    }
    stopTailers();
    this.#closeWatchers();
    await Promise.all([...this.#tailers.values()].map((t) => t.done));
    this.#tailers.clear();
    await flushLoop;
    await this.#positions.flush().catch((err: unknown) => this.#log.error(`loki.source.file: writing ${this.#positions.file} on shutdown failed: ${String(err)}`));
  }

  update(args: Arguments): void {
    const prev = this.#args;
    this.#args = args;
    if (JSON.stringify(prev.targets) !== JSON.stringify(args.targets) || prev.encoding !== args.encoding) this.#resync?.();
  }

  currentHealth(): Health {
    const now = new Date();
    if (this.#lastError) return { state: 'unhealthy', message: this.#lastError, updatedAt: now };
    const failing = [...this.#tailers.values()].filter((t) => t.tailer.lastError);
    if (failing.length > 0) return { state: 'unhealthy', message: `${failing.length} file(s) failing, e.g. ${failing[0]!.tailer.path}: ${failing[0]!.tailer.lastError}`, updatedAt: now };
    return { state: 'healthy', message: `tailing ${this.#tailers.size} file(s)`, updatedAt: now };
  }

  debugInfo(): unknown {
    return {
      positionsFile: this.#positions.file,
      files: [...this.#tailers.values()].map((t) => ({ path: t.tailer.path, offset: t.tailer.offset, ...(t.tailer.lastError ? { error: t.tailer.lastError } : {}) })),
    };
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'loki.source.file',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: [],
  build: (opts, args) => LokiSourceFileComponent.create(opts, args),
};
