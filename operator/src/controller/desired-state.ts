/**
 * When to server-side apply a desired object. Applying is what removes fields: the API server
 * deletes every field the `alloy-operator` manager applied before and no longer applies. So the
 * reconciler applies whenever the desired object differs from what this manager last applied,
 * and skips the request otherwise (steady-state resyncs cost no writes).
 *
 * "What this manager last applied" is read from the live object in two ways:
 * - the manager's `Apply` entry of `metadata.managedFields` gives the set of fields it owns; a
 *   desired object with a field more or less than that set must be applied (added or removed
 *   setting). List keys are learned from the entry itself (`k:{...}`, `v:...`), atomic lists and
 *   maps are leaves, so no schema table is needed;
 * - the `alloy.dev/applied-hash` annotation, applied with the object, is the hash of everything
 *   else applied; it catches a value removed inside an atomic list or map (e.g. a toleration's
 *   `effect`), which field ownership cannot show.
 * Values other writers changed (drift) are caught by comparing the desired values with the live
 * ones (`isSubset`).
 *
 * That comparison needs the whole object. The operator's caches hold owned objects as metadata
 * only, so after its first look at an object the reconciler decides from its own record of what it
 * applied (`AppliedRecord`: the applied hash and the resourceVersion the apply answered with):
 * the object is unchanged while its resourceVersion is the one this operator wrote. Any other
 * write (an edit, a delete and re-create) moves the resourceVersion and makes the next reconcile
 * apply again. Kinds that other controllers write too compare what those writes leave alone
 * (`OTHER_WRITERS`), so their writes are not mistaken for drift.
 */
import { createHash } from 'node:crypto';

export const APPLIED_HASH_ANNOTATION = 'alloy.dev/applied-hash';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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

/**
 * JSON with object keys sorted and `undefined` members dropped, so field order never counts.
 * Applied hashes are computed from it, so its output must never change: it is, character for
 * character, `JSON.stringify(v, replacer)` with a replacer that rebuilds every plain object from
 * its entries sorted by UTF-16 code units (the definition its test compares it with). Rebuilding an object puts its
 * integer-like keys ("0", "17") first in numeric order, as every JavaScript object orders them,
 * and so does this function. Written out directly, it allocates no copies of the objects.
 */
export function stableJson(v: unknown): string {
  return serialize(v, '') as string;
}

/** An array index as JavaScript orders property keys: a canonical integer below 2^32 - 1. */
function isIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  if (k.length === 0 || c < 48 || c > 57 || (c === 48 && k.length > 1) || k.length > 10) return false;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(k) < 4294967295;
}

function serialize(input: unknown, key: string): string | undefined {
  let value = input;
  if (value !== null && (typeof value === 'object' || typeof value === 'bigint') && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(k: string): unknown }).toJSON(key);
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (serialize(value[i], String(i)) ?? 'null');
    return out + ']';
  }
  const keys = Object.keys(value);
  const indexKeys: string[] = [];
  const names: string[] = [];
  for (const k of keys) (isIndexKey(k) ? indexKeys : names).push(k);
  indexKeys.sort((a, b) => Number(a) - Number(b));
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = '{';
  let first = true;
  for (const list of [indexKeys, names]) {
    for (const k of list) {
      const member = serialize((value as Record<string, unknown>)[k], k);
      if (member === undefined) continue;
      out += (first ? '' : ',') + JSON.stringify(k) + ':' + member;
      first = false;
    }
  }
  return out + '}';
}

/** The desired object with `alloy.dev/applied-hash` set to the hash of the rest of it. */
export function withAppliedHash<T extends { metadata: { annotations?: Record<string, string> } }>(obj: T): T {
  const { [APPLIED_HASH_ANNOTATION]: _old, ...annotations } = obj.metadata.annotations ?? {};
  void _old;
  const base = { ...obj, metadata: { ...obj.metadata, annotations } };
  const hash = createHash('sha256').update(stableJson(base)).digest('hex').slice(0, 32);
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...annotations, [APPLIED_HASH_ANNOTATION]: hash } } };
}

export interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: string;
  readonly subresource?: string;
  readonly fieldsV1?: unknown;
}

/** Top-level and metadata fields the API server never records as owned. */
const UNOWNED_TOP = new Set(['apiVersion', 'kind']);
const UNOWNED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']);

/**
 * True when the fields present in `desired` are exactly the fields in `fields` (a FieldsV1
 * object: `f:<name>` members, `k:{...}` / `v:<json>` / `i:<n>` list items, `.` for the item itself).
 */
export function sameFieldSet(desired: Json, fields: unknown): boolean {
  if (!isObject(fields)) return false;
  const top: Json = {};
  for (const [k, v] of Object.entries(desired)) {
    if (UNOWNED_TOP.has(k) || v === undefined) continue;
    if (k === 'metadata' && isObject(v)) {
      const meta = Object.fromEntries(Object.entries(v).filter(([mk, mv]) => !UNOWNED_META.has(mk) && mv !== undefined));
      if (Object.keys(meta).length > 0) top[k] = meta;
      continue;
    }
    top[k] = v;
  }
  return sameNode(top, fields);
}

function sameNode(value: unknown, node: unknown): boolean {
  if (!isObject(node)) return false;
  const children = Object.keys(node).filter((k) => k !== '.');
  if (isObject(value) && Object.keys(value).length > 0 && children.length > 0) {
    const present = Object.entries(value).filter(([, v]) => v !== undefined);
    if (present.length !== children.length) return false;
    return present.every(([k, v]) => sameNode(v, node[`f:${k}`]));
  }
  if (Array.isArray(value) && value.length > 0 && children.length > 0) return sameList(value, node, children);
  // A leaf: a scalar, an empty or atomic map, an empty or atomic list.
  return children.length === 0;
}

function sameList(items: unknown[], node: Json, children: string[]): boolean {
  if (children.length !== items.length) return false;
  const used = new Set<string>();
  for (const [i, item] of items.entries()) {
    const seg = children.find((c) => !used.has(c) && itemMatches(c, item, i));
    if (seg === undefined) return false;
    used.add(seg);
    if (!seg.startsWith('v:') && !sameNode(item, node[seg])) return false;
  }
  return true;
}

function itemMatches(seg: string, item: unknown, index: number): boolean {
  if (seg.startsWith('i:')) return Number(seg.slice(2)) === index;
  let parsed: unknown;
  try {
    parsed = JSON.parse(seg.slice(2));
  } catch {
    return false;
  }
  if (seg.startsWith('v:')) return stableJson(parsed) === stableJson(item);
  if (!seg.startsWith('k:') || !isObject(parsed) || !isObject(item)) return false;
  // A key field the item leaves out was defaulted by the server (e.g. `protocol: TCP`).
  return Object.entries(parsed).every(([f, v]) => item[f] === undefined || String(item[f]) === String(v));
}

/**
 * Kinds whose resourceVersion other controllers move without drift, and what is compared instead:
 * - StatefulSet, PodDisruptionBudget: their controllers write `status`; `generation` (moved by
 *   spec writes only) and the metadata are compared;
 * - ServiceAccount: Kubernetes before 1.24 adds its token Secret to `secrets`; the operator's
 *   ServiceAccount is metadata only (`render/collector-service-account.ts`), so the metadata is
 *   compared.
 */
export const OTHER_WRITERS: ReadonlyMap<string, 'generation' | 'metadata'> = new Map([
  ['StatefulSet', 'generation'],
  ['PodDisruptionBudget', 'generation'],
  ['ServiceAccount', 'metadata'],
]);

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface RecordedMeta {
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly ownerReferences?: unknown;
  readonly finalizers?: unknown;
  readonly deletionTimestamp?: string;
}

/** What this process last applied to one object, from the apply's answer. */
export interface AppliedRecord {
  readonly uid: string;
  /** `alloy.dev/applied-hash` of the applied object. */
  readonly hash: string;
  /** The resourceVersion the apply answered with. */
  readonly resourceVersion: string;
  /** The resourceVersion the apply replaced: a cache that has not yet seen the apply still shows it. */
  readonly replacedResourceVersion?: string;
  /** `generation` and metadata fingerprint the apply answered with (`OTHER_WRITERS`). */
  readonly generation?: number;
  readonly metadata: string;
}

/** Labels, annotations (less kubectl's last-applied copy), owner references and finalizers, as one string. */
export function metadataFingerprint(meta: RecordedMeta): string {
  const { [LAST_APPLIED]: _dropped, ...annotations } = meta.annotations ?? {};
  void _dropped;
  const text = stableJson({ l: meta.labels ?? {}, a: annotations, o: meta.ownerReferences ?? [], f: meta.finalizers ?? [], d: meta.deletionTimestamp ?? null });
  return createHash('sha256').update(text).digest('base64').slice(0, 22);
}

/**
 * The record of an apply (or of a whole-object comparison that found nothing to apply) from the
 * object the server answered with; `undefined` when it lacks a uid, resourceVersion or applied hash.
 */
export function appliedRecord(answer: { readonly metadata: RecordedMeta }, replacedResourceVersion?: string): AppliedRecord | undefined {
  const m = answer.metadata;
  const hash = m.annotations?.[APPLIED_HASH_ANNOTATION];
  if (m.uid === undefined || m.resourceVersion === undefined || hash === undefined) return undefined;
  return {
    uid: m.uid,
    hash,
    resourceVersion: m.resourceVersion,
    ...(replacedResourceVersion !== undefined ? { replacedResourceVersion } : {}),
    ...(m.generation !== undefined ? { generation: m.generation } : {}),
    metadata: metadataFingerprint(m),
  };
}

/**
 * Whether `live` (a whole object or its metadata) is still what `record` says this process
 * applied: same object (uid), same applied hash, and no write since by anyone else.
 */
export function unchangedSinceApplied(kind: string, live: { readonly metadata: RecordedMeta }, record: AppliedRecord): boolean {
  const m = live.metadata;
  if (m.uid !== record.uid || m.annotations?.[APPLIED_HASH_ANNOTATION] !== record.hash) return false;
  if (m.resourceVersion === record.resourceVersion) return true;
  if (record.replacedResourceVersion !== undefined && m.resourceVersion === record.replacedResourceVersion) return true;
  const compared = OTHER_WRITERS.get(kind);
  if (compared === undefined) return false;
  return (compared === 'metadata' || m.generation === record.generation) && metadataFingerprint(m) === record.metadata;
}

/** Whether `live` carries `manager`'s field set (a whole object), as `applyReason` needs. */
export function hasFieldSet(live: LiveObject, manager: string): boolean {
  return (live.metadata.managedFields ?? []).some((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === '' && m.fieldsV1 !== undefined);
}

export interface LiveObject {
  readonly metadata: { readonly annotations?: Record<string, string>; readonly managedFields?: readonly ManagedFieldsEntry[] };
}

/**
 * Why `desired` (stamped by `withAppliedHash`) must be applied over `live`, or `undefined` when
 * the live object already holds exactly what `manager` would apply.
 */
export function applyReason(desired: Json & { metadata: { annotations?: Record<string, string> } }, live: LiveObject | undefined, manager: string): string | undefined {
  if (live === undefined) return 'absent';
  const entry = (live.metadata.managedFields ?? []).find((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === '');
  if (entry === undefined) return `no fields owned by ${manager}`;
  if (live.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== desired.metadata.annotations?.[APPLIED_HASH_ANNOTATION]) return 'desired object changed';
  if (!sameFieldSet(desired, entry.fieldsV1)) return 'owned fields differ';
  if (!isSubset(desired, live)) return 'live values drifted';
  return undefined;
}
