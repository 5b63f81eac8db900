/**
 * `local.file_match`: expands the `__path__` glob of every `path_targets` entry (doublestar `**`,
 * `{a,b}`, classes) to the regular files it matches and exports them as `targets`, each a copy of
 * its source target with `__path__` set to the absolute file path (other labels, including
 * `__path_exclude__`, are kept as in Alloy).
 *
 * Contracts:
 * - Re-expanded at once on every update and then every `sync_period`; exports are published on
 *   each expansion (the runtime drops unchanged ones).
 * - `__path_exclude__` (a glob) removes matching paths; `ignore_older_than` (when > 0) removes
 *   files whose modification time is older than now minus that duration.
 * - A file that vanishes between listing and `stat` is skipped; the loop never throws.
 */
import path from 'node:path';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../runtime/component.js';
import { duration } from '../../../syntax/vm/schema.js';
import { expandGlob, globToRegExp, recentFiles } from '../../../fs/glob.js';
import { sleep } from '../../../clock/clock.js';

export type Target = Readonly<Record<string, string>>;

export const argumentsSchema = z
  .object({
    path_targets: z.array(z.record(z.string(), z.string())),
    sync_period: duration().default(10_000),
    ignore_older_than: duration().default(0),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.sync_period <= 0) ctx.addIssue({ code: 'custom', path: ['sync_period'], message: 'sync_period must be greater than 0, e.g. "10s"' });
    if (a.ignore_older_than < 0) ctx.addIssue({ code: 'custom', path: ['ignore_older_than'], message: 'ignore_older_than must not be negative; use "0s" to keep every file' });
    a.path_targets.forEach((t, i) => {
      if (!t['__path__']) ctx.addIssue({ code: 'custom', path: ['path_targets', i], message: `path_targets[${i}] has no __path__ label; set __path__ = "/var/log/**/*.log"` });
    });
  });

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly targets: readonly Target[];
}

/** Expands the targets as Alloy does; `now` is injectable for tests. */
export async function matchTargets(targets: readonly Target[], ignoreOlderThanMs: number, now = Date.now()): Promise<Target[]> {
  const out: Target[] = [];
  for (const t of targets) {
    const pattern = t['__path__'];
    if (!pattern) continue;
    const excl = t['__path_exclude__'];
    const exclude = excl ? globToRegExp(path.resolve(excl)) : undefined;
    let files = (await expandGlob(pattern)).filter((f) => !exclude?.test(f));
    if (ignoreOlderThanMs > 0) files = await recentFiles(files, ignoreOlderThanMs, now);
    for (const file of files) out.push({ ...t, __path__: file });
  }
  return out;
}

export class LocalFileMatchComponent implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  #args: Arguments;
  #wake: (() => void) | undefined;
  #dirty = true;

  constructor(opts: ComponentOptions<Exports>, args: Arguments) {
    this.#opts = opts;
    this.#args = args;
  }

  /** Builds the component with its first expansion already exported, so dependents start with it. */
  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<LocalFileMatchComponent> {
    const c = new LocalFileMatchComponent(opts, args);
    await c.#sync();
    c.#dirty = false;
    return c;
  }

  async #sync(): Promise<void> {
    try {
      const targets = await matchTargets(this.#args.path_targets, this.#args.ignore_older_than);
      this.#opts.onStateChange({ targets });
      this.#opts.setHealth('healthy', `${targets.length} file(s) matched`);
    } catch (err: unknown) {
      this.#opts.setHealth('unhealthy', `matching path_targets failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#dirty) {
        this.#dirty = false;
        await this.#sync();
        continue;
      }
      await sleep(this.#args.sync_period, signal, (wake) => (this.#wake = wake));
      this.#wake = undefined;
      this.#dirty = true;
    }
  }

  update(args: Arguments): void {
    this.#args = args;
    this.#dirty = true;
    this.#wake?.();
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'local.file_match',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['targets'],
  build: (opts, args) => LocalFileMatchComponent.create(opts, args),
};
