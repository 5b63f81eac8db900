/**
 * Schema helpers for the prometheus.scrape / prometheus.relabel / discovery.relabel argument
 * schemas: the shared `syntax/vm/schema.ts` helpers (`block`, `blocks`, `duration`, `secret`,
 * `capsule`), and Prometheus's own duration format (`model.Duration`) used for target labels such
 * as `__scrape_interval__`.
 */

export { block, blocks, capsule, duration, secret } from '../../../syntax/vm/schema.js';

/** What the scrape HTTP client needs from a secret (`Secret` from `syntax/vm/value.ts` fits). */
export interface SecretLike {
  reveal(): string;
}

const PROM_UNITS: Array<[string, number]> = [['y', 365 * 86_400_000], ['w', 7 * 86_400_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];

/** Prometheus `model.ParseDuration` (`1m`, `1h30m`, `500ms`, `2d`) into milliseconds. */
export function parsePromDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === '') return undefined;
  let total = 0;
  PROM_UNITS.forEach(([, mult], i) => {
    if (m[i + 1] !== undefined) total += Number(m[i + 1]) * mult;
  });
  return total;
}

/** Prometheus `model.Duration.String()`: `1m`, `1m30s`, `500ms`, `0s`. */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, mult] of PROM_UNITS) {
    const n = Math.floor(rest / mult);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * mult;
    }
  }
  return out;
}
