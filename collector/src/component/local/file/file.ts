/**
 * `local.file`: exports the contents of `filename` as `content` (a secret when `is_secret`).
 *
 * Contracts:
 * - `build` reads the file once and fails when it cannot (as Alloy), so dependents start with
 *   its content.
 * - Later changes are detected with `detector = "fsnotify"` (a watch on the file's directory,
 *   which also sees atomic renames and Kubernetes ConfigMap symlink swaps, backed by a re-read
 *   every `poll_frequency`) or `detector = "poll"` (a re-read every `poll_frequency`).
 * - A read that fails marks the component unhealthy with the error and keeps the last content
 *   exported; the next successful read makes it healthy again. Loops never throw.
 * - `content` is re-published only when it changed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions } from '../../../runtime/component.js';
import { duration } from '../../../syntax/vm/schema.js';
import { sleep } from '../../../clock/clock.js';
import { Secret } from '../../../syntax/vm/value.js';

export const argumentsSchema = z
  .object({
    filename: z.string().min(1, { error: 'filename must not be empty' }),
    detector: z.enum(['fsnotify', 'poll'], { error: 'detector must be "fsnotify" or "poll"' }).default('fsnotify'),
    poll_frequency: duration().default(60_000),
    is_secret: z.boolean().default(false),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.poll_frequency <= 0) ctx.addIssue({ code: 'custom', path: ['poll_frequency'], message: 'poll_frequency must be greater than 0, e.g. "1m"' });
  });

export type Arguments = z.output<typeof argumentsSchema>;

export interface Exports {
  readonly content: string | Secret;
}

/** Coalesces file-system events that arrive in bursts (a write is often several events). */
const DEBOUNCE_MS = 20;

export class LocalFileComponent implements Component<Arguments> {
  readonly #opts: ComponentOptions<Exports>;
  #args: Arguments;
  #content: string;
  #wake: (() => void) | undefined;
  #restart = false;

  private constructor(opts: ComponentOptions<Exports>, args: Arguments, content: string) {
    this.#opts = opts;
    this.#args = args;
    this.#content = content;
    opts.onStateChange(this.#exports());
  }

  static async create(opts: ComponentOptions<Exports>, args: Arguments): Promise<LocalFileComponent> {
    let content: string;
    try {
      content = await readFile(args.filename, 'utf8');
    } catch (err: unknown) {
      throw new Error(`local.file: reading ${args.filename} failed: ${(err as Error).message}`);
    }
    return new LocalFileComponent(opts, args, content);
  }

  #exports(): Exports {
    return { content: this.#args.is_secret ? new Secret(this.#content) : this.#content };
  }

  /** Re-reads the file; publishes on change; reports health. */
  async #read(): Promise<void> {
    const file = this.#args.filename;
    try {
      const content = await readFile(file, 'utf8');
      if (content !== this.#content) {
        this.#content = content;
        this.#opts.onStateChange(this.#exports());
      }
      this.#opts.setHealth('healthy', `read ${file}`);
    } catch (err: unknown) {
      this.#opts.setHealth('unhealthy', `reading ${file} failed (keeping its last content): ${(err as Error).message}`);
    }
  }

  #startWatch(onEvent: () => void): FSWatcher | undefined {
    if (this.#args.detector !== 'fsnotify') return undefined;
    try {
      const w = watch(path.dirname(path.resolve(this.#args.filename)), { persistent: false }, onEvent);
      w.on('error', (err) => this.#opts.logger.warn(`local.file: watching ${this.#args.filename} failed, relying on polling: ${err.message}`));
      return w;
    } catch (err: unknown) {
      this.#opts.logger.warn(`local.file: watching ${this.#args.filename} failed, relying on polling: ${(err as Error).message}`);
      return undefined;
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#restart = false;
      let debounce: NodeJS.Timeout | undefined;
      let pending = false;
      const watcher = this.#startWatch(() => {
        pending = true;
        if (!debounce) debounce = setTimeout(() => {
          debounce = undefined;
          this.#wake?.();
        }, DEBOUNCE_MS);
      });
      // A change between the build-time read and the watch start would otherwise be missed.
      await this.#read();
      while (!signal.aborted && !this.#restart) {
        if (!pending) await sleep(this.#args.poll_frequency, signal, (wake) => (this.#wake = wake));
        this.#wake = undefined;
        pending = false;
        if (!signal.aborted) await this.#read();
      }
      clearTimeout(debounce);
      watcher?.close();
    }
  }

  /** A new `filename` is read before it is accepted: an unreadable one fails the update. */
  async update(args: Arguments): Promise<void> {
    const prev = this.#args;
    if (prev.filename !== args.filename) {
      try {
        this.#content = await readFile(args.filename, 'utf8');
      } catch (err: unknown) {
        throw new Error(`local.file: reading ${args.filename} failed: ${(err as Error).message}`);
      }
    }
    this.#args = args;
    if (prev.filename !== args.filename || prev.detector !== args.detector || prev.is_secret !== args.is_secret || prev.poll_frequency !== args.poll_frequency) {
      if (prev.filename !== args.filename || prev.is_secret !== args.is_secret) this.#opts.onStateChange(this.#exports());
      this.#restart = true;
      this.#wake?.();
    }
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'local.file',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['content'],
  build: (opts, args) => LocalFileComponent.create(opts, args),
};
