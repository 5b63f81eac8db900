/**
 * Schema helpers used by the prometheus.scrape / prometheus.relabel / discovery.relabel argument
 * schemas, API-compatible with `syntax/vm/schema.ts` (`block`, `blocks`, `duration`, `secret`,
 * `capsule`). Swapping to the shared helpers is a change of the import line below the header in
 * the component files. Also Prometheus's own duration format (`model.Duration`) used for target
 * labels such as `__scrape_interval__`.
 */
import { z, type ZodType } from 'zod';

/** A secret value; `reveal()` returns the plain text. */
export interface SecretLike {
  reveal(): string;
}

export function block<T extends ZodType>(body: T): T {
  return body;
}

export function blocks<T extends ZodType>(body: T): z.ZodArray<T> {
  return z.array(body);
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go `time.ParseDuration` into milliseconds; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let i = s[0] === '-' || s[0] === '+' ? 1 : 0;
  if (i >= s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return s[0] === '-' ? -total : total;
}

export function duration(): ZodType<number, string> {
  return z.string().transform((s, ctx) => {
    const ms = parseGoDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(s)}: expected a Go duration such as "500ms", "15s", "1m30s" or "1h"` });
      return z.NEVER;
    }
    return ms;
  });
}

export function secret(): ZodType<SecretLike, string | SecretLike> {
  return z
    .custom<string | SecretLike>((v) => typeof v === 'string' || (typeof v === 'object' && v !== null && typeof (v as SecretLike).reveal === 'function'), {
      error: 'should be secret or string',
    })
    .transform((v): SecretLike => (typeof v === 'string' ? { reveal: () => v, toString: () => '(secret)', toJSON: () => '(secret)' } as SecretLike : v));
}

export function capsule<T extends object>(typeName: string, check?: (v: object) => boolean): ZodType<T, T> {
  return z.custom<T>((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && (check ? check(v) : true), {
    error: `should be capsule(${typeName})`,
  });
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
