/**
 * Debug info shows instants as RFC 3339 text (as Alloy's UI shows `time.Time` values), not as
 * epoch milliseconds: `withIsoTimes(status, ['lastSuccessAt'])` returns a copy of `status` with
 * those fields, when they are numbers, written as `2026-05-01T10:00:00.000Z`.
 */
export function withIsoTimes<T extends object>(status: T, keys: readonly (keyof T & string)[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(status as Record<string, unknown>) };
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = new Date(v).toISOString();
  }
  return out;
}
