/**
 * Conversion between versions that share one storage: `events.k8s.io/v1` Events are stored as
 * `core/v1` Events (as the real server does) and converted field by field on the way in and out;
 * custom resources with several served versions only change `apiVersion` (conversion strategy None).
 */
import type { Json, JsonObject, KubeObject } from './types.js';

/** events.k8s.io/v1 field ↔ core/v1 field. */
const EVENT_FIELDS: readonly (readonly [string, string])[] = [
  ['regarding', 'involvedObject'],
  ['related', 'related'],
  ['note', 'message'],
  ['reason', 'reason'],
  ['type', 'type'],
  ['action', 'action'],
  ['eventTime', 'eventTime'],
  ['series', 'series'],
  ['reportingController', 'reportingComponent'],
  ['reportingInstance', 'reportingInstance'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function move(from: JsonObject, pairs: readonly (readonly [string, string])[], dir: 0 | 1): JsonObject {
  const out: JsonObject = {};
  for (const pair of pairs) {
    const v: Json | undefined = from[pair[dir]];
    if (v !== undefined) out[pair[1 - dir]!] = v;
  }
  return out;
}

export function eventToCore(o: KubeObject): KubeObject {
  return { apiVersion: 'v1', kind: 'Event', metadata: o.metadata, ...move(o, EVENT_FIELDS, 0) };
}

export function eventFromCore(o: KubeObject): KubeObject {
  const out: KubeObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: o.metadata, ...move(o, EVENT_FIELDS, 1) };
  if (out['eventTime'] === undefined) out['eventTime'] = null;
  return out;
}

/** events.k8s.io field selector labels in terms of the stored core/v1 fields. */
export function eventFieldToCore(field: string): string {
  if (field.startsWith('regarding.')) return `involvedObject.${field.slice('regarding.'.length)}`;
  if (field === 'reportingController') return 'reportingComponent';
  return field;
}
