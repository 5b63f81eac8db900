/**
 * Pod and container security contexts that meet Pod Security "restricted" (checked by
 * `../pod-security/`). A Collector's overrides are merged key by key over them.
 */
import { ALLOY_UID } from './labels.js';

export type JsonObject = Record<string, unknown>;

export const DEFAULT_POD_SECURITY_CONTEXT: Readonly<JsonObject> = Object.freeze({
  runAsNonRoot: true,
  runAsUser: ALLOY_UID,
  runAsGroup: ALLOY_UID,
  fsGroup: ALLOY_UID,
  seccompProfile: { type: 'RuntimeDefault' },
});

export const DEFAULT_CONTAINER_SECURITY_CONTEXT: Readonly<JsonObject> = Object.freeze({
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
});

/** Top-level keys of `override` replace those of `defaults`; `null` removes a default. */
export function mergeSecurityContext(defaults: Readonly<JsonObject>, override: JsonObject | undefined): JsonObject {
  const merged: JsonObject = { ...structuredClone(defaults as JsonObject), ...(override ?? {}) };
  for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
  return merged;
}
