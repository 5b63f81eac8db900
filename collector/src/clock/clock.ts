/**
 * Time for background loops: the `Clock` that loops take (so tests drive a manual clock instead
 * of sleeping) and the one abortable `sleep` every loop uses.
 *
 * Contracts:
 * - `sleep(ms, signal, setWake?)` resolves after `ms`, as soon as `signal` aborts (at once when it
 *   is already aborted), or when the wake function it hands to `setWake` is called; it never
 *   rejects. It resolves `true` when the full time elapsed and `false` when it was cut short, and
 *   leaves no timer or abort listener behind either way.
 * - Depends on nothing but the platform: anyone may import it (the lean config-reloader too).
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * Waits `ms` (forever when undefined), or less when `signal` aborts or the function handed to
 * `setWake` is called. Resolves `true` if the full time elapsed.
 */
export function sleep(ms: number | undefined, signal: AbortSignal, setWake?: (wake: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    let settled = false;
    const finish = (full: boolean): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', cut);
      resolve(full);
    };
    const cut = (): void => finish(false);
    const timer = ms === undefined ? undefined : setTimeout(() => finish(true), ms);
    signal.addEventListener('abort', cut, { once: true });
    setWake?.(cut);
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, signal);
  },
};
