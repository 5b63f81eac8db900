/** Capped exponential backoff: `base * 2^(attempt-1)`, never above `max`. */
export interface BackoffOptions {
  /** First delay in ms. */
  readonly baseMs: number;
  /** Upper bound in ms. */
  readonly maxMs: number;
}

/** @throws when the bounds are not positive or base exceeds max. */
export function validateBackoff(opts: BackoffOptions, name: string): BackoffOptions {
  if (!(opts.baseMs > 0) || !(opts.maxMs >= opts.baseMs)) {
    throw new Error(`${name}: backoff needs 0 < baseMs <= maxMs, got baseMs=${opts.baseMs} maxMs=${opts.maxMs}`);
  }
  return opts;
}

/** Delay before retry number `attempt` (1-based). */
export function backoffDelay(opts: BackoffOptions, attempt: number): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 40);
  return Math.min(opts.baseMs * 2 ** exp, opts.maxMs);
}
