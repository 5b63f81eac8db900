/**
 * How a sender treats an HTTP answer or a transport failure, as Prometheus remote-write, Loki and
 * Pyroscope clients do:
 *
 * - 2xx: `ok`;
 * - 5xx: `retry`; 429: `retry` when the sender retries 429s, else `fail`;
 * - any other status: `fail` (the data is dropped and counted);
 * - network errors, timeouts and unreadable credentials: `retry`.
 */

export type Outcome = 'ok' | 'retry' | 'fail';

export function classifyStatus(status: number, retryOn429: boolean): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 500 || (status === 429 && retryOn429)) return 'retry';
  return 'fail';
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(v: string | undefined, now: number): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}
