/**
 * Comparison of a desired object with the live one. The API server adds defaults and metadata,
 * so "unchanged" means every field we set has the same value live; arrays must match element by
 * element with the same length (a removed list entry is a change).
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (Array.isArray(desired)) {
    return Array.isArray(live) && desired.length === live.length && desired.every((d, i) => isSubset(d, live[i]));
  }
  if (typeof desired === 'object' && desired !== null) {
    if (typeof live !== 'object' || live === null || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => v === undefined || isSubset(v, l[k]));
  }
  // Numbers the server normalizes into strings (and the reverse) compare by text.
  if ((typeof desired === 'number' || typeof desired === 'string') && (typeof live === 'number' || typeof live === 'string')) {
    return String(desired) === String(live);
  }
  return false;
}
