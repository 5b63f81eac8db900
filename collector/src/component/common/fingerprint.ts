/**
 * Settings fingerprints: canonical JSON of decoded arguments (object keys sorted, secrets
 * revealed), so components can tell whether an endpoint's settings changed across updates, and
 * the endpoint names derived from them.
 */
import { createHash } from 'node:crypto';
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

/** An endpoint's configured name, else the first 6 hex digits of its settings' hash (as Alloy). */
export function endpointName(configured: string, settingsFingerprint: string): string {
  return configured || createHash('sha256').update(settingsFingerprint).digest('hex').slice(0, 6);
}

/** @throws Error naming the first endpoint name that appears twice. */
export function checkUniqueEndpointNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`endpoint ${JSON.stringify(n)} is configured twice; give each endpoint a unique name`);
    seen.add(n);
  }
}
