/**
 * Wraps a list-watch informer (`list-watch.ts`). That informer relists by itself on
 * 410 Gone but stops for good on any other error (a failed list, a refused connection, a 5xx):
 * this wrapper restarts it after a capped exponential backoff on the injected clock, resets the
 * backoff after a successful (re)start, and reports `synced` once the first list has landed.
 * Never throws from its callbacks; errors go to `onError`.
 */
import { backoffDelay, validateBackoff, type BackoffOptions } from '../util/backoff.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { pathOf, type KubeApi, type KubeObject } from './kube-api.js';
import { ListWatch } from './list-watch.js';

/** The parts of an informer the wrapper uses (`list-watch.ts`'s `ListWatch` satisfies it). */
export interface InformerCore<T extends KubeObject> {
  /** `old`: the cached object an update replaces (when the informer knows it). */
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T, old?: T) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  list(namespace?: string): T[];
  get(name: string, namespace?: string): T | undefined;
}

export type InformerEventType = 'add' | 'update' | 'delete';

export interface ResilientInformerOptions {
  /** Name used in errors and metrics, e.g. `collectors`. */
  readonly name: string;
  readonly clock: Clock;
  /** Restart backoff. @default 500 ms .. 30 s */
  readonly backoff?: BackoffOptions;
  readonly onError?: (err: unknown, restartInMs: number) => void;
}

export class ResilientInformer<T extends KubeObject> {
  readonly name: string;
  readonly #core: InformerCore<T>;
  readonly #clock: Clock;
  readonly #backoff: BackoffOptions;
  readonly #onError: (err: unknown, restartInMs: number) => void;
  #failures = 0;
  #errorDuringStart = false;
  #starting = false;
  #stopped = true;
  #synced = false;
  #restartTimer: TimerHandle | undefined;
  /** Number of restarts after errors (for tests and metrics). */
  restarts = 0;

  constructor(core: InformerCore<T>, opts: ResilientInformerOptions) {
    this.name = opts.name;
    this.#core = core;
    this.#clock = opts.clock;
    this.#backoff = validateBackoff(opts.backoff ?? { baseMs: 500, maxMs: 30_000 }, `ResilientInformer(${opts.name})`);
    this.#onError = opts.onError ?? (() => undefined);
    core.on('error', (err) => this.#handleError(err));
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** True while the informer is failing and waiting to restart. */
  get failing(): boolean {
    return this.#failures > 0;
  }

  on(event: InformerEventType, cb: (obj: T, old?: T) => void): void {
    this.#core.on(event, (obj: T, old?: T) => {
      try {
        cb(obj, old);
      } catch (e) {
        this.#onError(e, 0);
      }
    });
  }

  list(namespace?: string): T[] {
    return this.#core.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#core.get(name, namespace);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#startCore();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    await this.#core.stop();
  }

  async #startCore(): Promise<void> {
    this.#errorDuringStart = false;
    this.#starting = true;
    try {
      await this.#core.start();
    } catch (e) {
      this.#errorDuringStart = true;
      this.#handleError(e);
    } finally {
      this.#starting = false;
    }
    if (!this.#errorDuringStart && !this.#stopped) {
      this.#failures = 0;
      this.#synced = true;
    }
  }

  #handleError(err: unknown): void {
    if (this.#starting) this.#errorDuringStart = true;
    if (this.#stopped || this.#restartTimer !== undefined) return;
    this.#failures++;
    const delay = backoffDelay(this.#backoff, this.#failures);
    try {
      this.#onError(err, delay);
    } catch {
      // reporting must not break the restart loop
    }
    this.#restartTimer = this.#clock.after(delay, () => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.restarts++;
      void this.#startCore();
    });
  }
}

/** A list-watch informer of one kind over the operator's `KubeApi` transport. */
export function listWatchFor<T extends KubeObject>(
  api: KubeApi,
  apiVersion: string,
  kind: string,
  opts: { namespace?: string; labelSelector?: string; metadataOnly?: boolean; transform?: (obj: KubeObject) => KubeObject; delay?: (ms: number) => Promise<void> } = {},
): InformerCore<T> {
  return new ListWatch(api, apiVersion, kind, pathOf(apiVersion, kind, opts.namespace), opts) as unknown as InformerCore<T>;
}
