/**
 * Settings fingerprints: canonical JSON of decoded arguments (object keys sorted, secrets
 * revealed), so components can tell whether an endpoint's settings changed across updates.
 */
import type { Secret } from '../../syntax/vm/value.js';

function canonical(v: unknown): unknown {
  if (v && typeof v === 'object' && 'reveal' in v && typeof (v as Secret).reveal === 'function') return { secret: (v as Secret).reveal() };
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** Canonical JSON of `v`: equal settings give equal strings whatever their key order. */
export function fingerprint(v: unknown): string {
  return JSON.stringify(canonical(v));
}
