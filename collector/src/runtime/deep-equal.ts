/**
 * Structural equality for evaluated component arguments.
 *
 * Contract: plain objects, arrays, Maps, Sets, Dates, RegExps and typed arrays compare by
 * content; every other object (capsules such as a `MetricsReceiver`, class instances, functions)
 * compares by identity, so swapping one receiver for another is always a change. Secrets
 * (objects of the same class with a `reveal()` method) compare by their revealed value, so
 * re-evaluating an unchanged secret is not a change. Objects whose class defines `equals(other)`
 * compare with it (e.g. a template compared by content key).
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const pa = Object.getPrototypeOf(a) as unknown;
  if (pa !== Object.getPrototypeOf(b)) return false;
  if (pa === Object.prototype || pa === null) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) {
      if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
      if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    }
    return true;
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (a instanceof Map) {
    const mb = b as Map<unknown, unknown>;
    if (a.size !== mb.size) return false;
    for (const [k, v] of a) if (!mb.has(k) || !deepEqual(v, mb.get(k))) return false;
    return true;
  }
  if (a instanceof Set) {
    const sb = b as Set<unknown>;
    if (a.size !== sb.size) return false;
    for (const v of a) if (!sb.has(v)) return false;
    return true;
  }
  if (ArrayBuffer.isView(a) && !(a instanceof DataView)) {
    const ta = a as unknown as ArrayLike<number>;
    const tb = b as unknown as ArrayLike<number>;
    if (ta.length !== tb.length) return false;
    for (let i = 0; i < ta.length; i++) if (!Object.is(ta[i], tb[i])) return false;
    return true;
  }
  const eq = (a as { equals?: unknown }).equals;
  if (typeof eq === 'function') return eq.call(a, b) === true;
  const ra = (a as { reveal?: unknown }).reveal;
  if (typeof ra === 'function') return ra.call(a) === (b as { reveal: () => unknown }).reveal();
  return false;
}
