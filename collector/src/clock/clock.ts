/**
 * Time for background loops: the `Clock` that loops take (so tests drive a manual clock instead
 * of sleeping) and the one abortable `sleep` every loop uses.
 *
 * Contracts:
 * - `sleep(ms, signal)` resolves after `ms`, or as soon as `signal` aborts (at once when it is
 *   already aborted); it never rejects. It resolves `true` when the full time elapsed and `false`
 *   when the abort cut it short, and leaves no timer or abort listener behind either way.
 * - Depends on nothing but the platform: anyone may import it (the lean config-reloader too).
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Waits `ms`, or less when `signal` aborts. Resolves `true` if the full time elapsed. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, signal);
  },
};
