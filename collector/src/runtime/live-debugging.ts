/**
 * Live debugging (Alloy's `livedebugging { enabled = true }`): components publish the data that
 * passes through them, and the UI streams it for one component at a time.
 *
 * Contracts:
 * - `publish(id, produce)` costs nothing when disabled or nobody watches `id`: `produce` (which
 *   formats the data as text) runs only when there is a subscriber, and its errors are swallowed
 *   (live debugging never breaks the pipeline). Each string is one item as upstream shows it
 *   (a sample, a log line, or a whole OTLP batch as multi-line text).
 * - Subscribers get every published batch synchronously; rate limiting is the subscriber's job
 *   (the server's stream drops and counts lines above its rate).
 * - Components get it with `getService<LiveDebuggingService>('livedebugging')` (it may be absent
 *   in tests: use `optionalService`).
 */
export interface LiveDebuggingService {
  publish(componentId: string, produce: () => readonly string[]): void;
  /** Whether anyone watches `componentId` now (to skip collecting what only `produce` needs). */
  active(componentId: string): boolean;
}

export type LiveSubscriber = (lines: readonly string[]) => void;

export class LiveDebugging implements LiveDebuggingService {
  /** Set from the running config's `livedebugging` block. */
  enabled = false;
  readonly #subs = new Map<string, Set<LiveSubscriber>>();

  active(componentId: string): boolean {
    return this.enabled && (this.#subs.get(componentId)?.size ?? 0) > 0;
  }

  publish(componentId: string, produce: () => readonly string[]): void {
    if (!this.enabled) return;
    const subs = this.#subs.get(componentId);
    if (!subs || subs.size === 0) return;
    let lines: readonly string[];
    try {
      lines = produce();
    } catch {
      return;
    }
    if (lines.length === 0) return;
    for (const s of subs) {
      try {
        s(lines);
      } catch {
        // A failing viewer must not affect the component.
      }
    }
  }

  /** Watch one component; returns the function that stops watching. */
  subscribe(componentId: string, fn: LiveSubscriber): () => void {
    let subs = this.#subs.get(componentId);
    if (!subs) this.#subs.set(componentId, (subs = new Set()));
    subs.add(fn);
    return () => {
      subs.delete(fn);
      if (subs.size === 0 && this.#subs.get(componentId) === subs) this.#subs.delete(componentId);
    };
  }

  watchers(componentId: string): number {
    return this.#subs.get(componentId)?.size ?? 0;
  }
}

/** Go's `%f` (six decimals; `NaN`, `+Inf`, `-Inf`), which upstream's live-debugging text uses for values. */
export function goFloatF(v: number | null | undefined): string {
  const n = v ?? 0;
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return n.toFixed(6);
}

/** A service, or undefined when the runtime does not provide it (unit tests). */
export function optionalService<T>(getService: (name: 'livedebugging') => T): T | undefined {
  try {
    return getService('livedebugging');
  } catch {
    return undefined;
  }
}
