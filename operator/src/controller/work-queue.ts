/**
 * De-duplicating, rate-limited work queue with client-go semantics:
 * - a key is queued at most once; adding a queued key is a no-op;
 * - a key being processed is never handed to a second worker: adding it marks it dirty and it is
 *   re-queued when `done` is called, so there is one reconcile per key at a time;
 * - `addRateLimited` re-queues after a capped exponential delay per key, `forget` resets it.
 */
import { backoffDelay, validateBackoff, type BackoffOptions } from '../util/backoff.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** Per-key retry backoff. @default 100 ms .. 60 s */
  readonly backoff?: BackoffOptions;
}

export class WorkQueue {
  readonly #clock: Clock;
  readonly #backoff: BackoffOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: TimerHandle }>();
  #waiters: Array<(key: string | undefined) => void> = [];
  #shutDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#clock = opts.clock;
    this.#backoff = validateBackoff(opts.backoff ?? { baseMs: 100, maxMs: 60_000 }, 'WorkQueue');
  }

  /** Keys waiting to be processed (not counting delayed ones). */
  get depth(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shutDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queued.add(key);
    this.#queue.push(key);
  }

  /** Adds after `ms`; an earlier pending delayed add for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing !== undefined && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.#clock.after(ms, () => {
      this.#delayed.delete(key);
      this.add(key);
    });
    this.#delayed.set(key, { at, timer });
  }

  /** Re-queues after the key's next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const attempt = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, attempt);
    const delay = backoffDelay(this.#backoff, attempt);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Next key to process, or `undefined` once shut down. The caller must call `done(key)`. */
  get(): Promise<string | undefined> {
    if (this.#shutDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.#shutDown = true;
    for (const d of this.#delayed.values()) d.timer.cancel();
    this.#delayed.clear();
    for (const w of this.#waiters) w(undefined);
    this.#waiters = [];
  }
}
