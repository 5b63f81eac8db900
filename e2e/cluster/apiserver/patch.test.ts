/**
 * Pure functions of the API server: patch formats, FieldsV1 encoding and server-side apply
 * merging, selectors, and structural-schema handling of custom resources.
 */
import { ApiError } from './errors.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { BuiltinTypeInfo } from './patch-meta.js';
import { fieldSetOf, fromFieldsV1, renderPath, serverSideApply, toFieldsV1, trackUpdate, type WriteContext } from './managed-fields.js';
import { labelSelectorString, matchLabels, parseLabelSelector } from './selectors.js';
import { checkCustomResource } from './crd.js';
import type { JsonObject, KubeObject } from './types.js';

const podInfo = new BuiltinTypeInfo('Pod');
const podMeta = (p: readonly string[]): { merge: boolean; mergeKey?: string } => podInfo.patchMeta(p);

function pod(containers: JsonObject[], extra: JsonObject = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: ['a'] }, spec: { containers, ...extra } };
}

describe('JSON patch (RFC 6902)', () => {
  const doc = { a: { b: [1, 2, 3] }, c: 'x' };

  test('add, remove, replace, move, copy, test', () => {
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'remove', path: '/a/b/1' },
      { op: 'replace', path: '/c', value: 'y' },
      { op: 'copy', from: '/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e~1f' },
      { op: 'test', path: '/e~1f', value: 'y' },
    ]);
    expect(out).toStrictEqual({ a: { b: [0, 2, 3, 4] }, c: 'y', 'e/f': 'y' });
    expect(doc).toStrictEqual({ a: { b: [1, 2, 3] }, c: 'x' });
  });

  test('a missing path is 422 and an unknown op is 400', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope/x' }])).toThrow(expect.objectContaining({ code: 422 }));
    expect(() => applyJsonPatch(doc, [{ op: 'frobnicate', path: '/c' }])).toThrow(expect.objectContaining({ code: 400 }));
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/c', value: 'z' }])).toThrow(ApiError);
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  test('null deletes, objects merge, arrays replace', () => {
    expect(applyMergePatch({ a: { x: 1, y: 2 }, l: [1, 2], k: 1 }, { a: { y: null, z: 3 }, l: [9], k: null })).toStrictEqual({ a: { x: 1, z: 3 }, l: [9] });
  });
});

describe('strategic merge patch', () => {
  const base = pod([{ name: 'app', image: 'a:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }, { name: 'side', image: 's:1' }]);

  test('merges containers by name and env by name', () => {
    const out = applyStrategicMergePatch(base, { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }] } }, podMeta);
    expect(out['spec']).toStrictEqual({
      containers: [
        { name: 'app', image: 'a:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'C', value: '3' }] },
        { name: 'side', image: 's:1' },
      ],
    });
  });

  test('$patch: delete removes an item, $patch: replace replaces a list or a map', () => {
    const del = applyStrategicMergePatch(base, { spec: { containers: [{ name: 'side', $patch: 'delete' }] } }, podMeta);
    expect((del['spec'] as JsonObject)['containers']).toStrictEqual([base['spec'] && (base['spec'] as { containers: JsonObject[] }).containers[0]]);
    const rep = applyStrategicMergePatch(base, { spec: { containers: [{ name: 'only', image: 'o:1' }, { $patch: 'replace' }] } }, podMeta);
    expect((rep['spec'] as JsonObject)['containers']).toStrictEqual([{ name: 'only', image: 'o:1' }]);
    const mapRep = applyStrategicMergePatch(base, { metadata: { $patch: 'replace', name: 'q' } }, podMeta);
    expect(mapRep['metadata']).toStrictEqual({ name: 'q' });
  });

  test('$setElementOrder reorders, $deleteFromPrimitiveList and primitive sets, $retainKeys', () => {
    const order = applyStrategicMergePatch(base, { spec: { $setElementOrder_containers: null, ['$setElementOrder/containers']: [{ name: 'side' }, { name: 'app' }] } }, podMeta);
    expect(((order['spec'] as JsonObject)['containers'] as JsonObject[]).map((c) => c['name'])).toStrictEqual(['side', 'app']);
    const fin = applyStrategicMergePatch(base, { metadata: { finalizers: ['b', 'a'] } }, podMeta);
    expect((fin['metadata'] as JsonObject)['finalizers']).toStrictEqual(['a', 'b']);
    const drop = applyStrategicMergePatch(fin, { metadata: { ['$deleteFromPrimitiveList/finalizers']: ['a'] } }, podMeta);
    expect((drop['metadata'] as JsonObject)['finalizers']).toStrictEqual(['b']);
    const retain = applyStrategicMergePatch({ spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } }, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, () => ({ merge: false }));
    expect(retain['spec']).toStrictEqual({ strategy: { type: 'Recreate' } });
  });

  test('an item without its merge key is a 400 naming the key', () => {
    expect(() => applyStrategicMergePatch(base, { spec: { containers: [{ image: 'x' }] } }, podMeta)).toThrow(/missing merge key "name"/);
  });
});

describe('managed fields', () => {
  const ctx = (manager: string): WriteContext => ({ manager, apiVersion: 'v1', info: podInfo, now: '2026-01-01T00:00:00Z' });

  test('FieldsV1 encodes associative list items by key with "." and round-trips', () => {
    const set = fieldSetOf(pod([{ name: 'app', image: 'a:1', ports: [{ containerPort: 80 }] }]), podInfo);
    const f = toFieldsV1(set);
    expect(f).toStrictEqual({
      'f:metadata': { 'f:finalizers': { 'v:"a"': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } },
    });
    expect(fromFieldsV1(f)).toStrictEqual(set);
    expect(renderPath('f:spec\u0000f:containers\u0000k:{"name":"app"}\u0000f:image')).toBe('.spec.containers[name="app"].image');
  });

  test('apply removes an item the manager stopped applying, keeps items others own', () => {
    const first = serverSideApply(undefined, pod([{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }]), ctx('one'), false);
    const live = { ...first.obj, metadata: { ...(first.obj['metadata'] as JsonObject), managedFields: first.managedFields } };
    const other = serverSideApply(live, pod([{ name: 'c', image: 'c:1' }]), ctx('two'), false);
    const live2 = { ...other.obj, metadata: { ...(other.obj['metadata'] as JsonObject), managedFields: other.managedFields } };
    const dropB = serverSideApply(live2, pod([{ name: 'a', image: 'a:1' }]), ctx('one'), false);
    expect(((dropB.obj['spec'] as JsonObject)['containers'] as JsonObject[]).map((c) => c['name'])).toStrictEqual(['a', 'c']);
  });

  test('apply conflicts name every field; same values are shared, not conflicts', () => {
    const first = serverSideApply(undefined, pod([{ name: 'a', image: 'a:1' }], { hostname: 'h' }), ctx('one'), false);
    const live = { ...first.obj, metadata: { ...(first.obj['metadata'] as JsonObject), managedFields: first.managedFields } };
    expect(() => serverSideApply(live, pod([{ name: 'a', image: 'a:2' }], { hostname: 'x' }), ctx('two'), false)).toThrow(
      expect.objectContaining({ code: 409, message: 'Apply failed with 2 conflicts: conflicts with "one":\n- .spec.containers[name="a"].image\n- .spec.hostname' }),
    );
    expect(() => serverSideApply(live, pod([{ name: 'a', image: 'a:1' }]), ctx('two'), false)).not.toThrow();
  });

  test('an update takes the fields it changed from their previous owner', () => {
    const before = pod([{ name: 'a', image: 'a:1' }]);
    const created = trackUpdate(undefined, before, ctx('creator'));
    const after = pod([{ name: 'a', image: 'a:2' }]);
    const mf = trackUpdate({ ...before, metadata: { ...(before['metadata'] as JsonObject), managedFields: created } }, after, ctx('editor'), created);
    const owners = Object.fromEntries(mf.map((m) => [m['manager'], fromFieldsV1(m['fieldsV1'])]));
    expect(owners['editor']).toStrictEqual(new Set(['f:spec\u0000f:containers\u0000k:{"name":"a"}\u0000f:image']));
    expect(owners['creator']!.has('f:spec\u0000f:containers\u0000k:{"name":"a"}\u0000f:image')).toBe(false);
  });
});

describe('selectors', () => {
  test('set-based and equality requirements, rendering', () => {
    const sel = parseLabelSelector('app in (a, b),tier!=db,!legacy,env');
    expect(matchLabels(sel, { app: 'a', tier: 'web', env: 'x' })).toBe(true);
    expect(matchLabels(sel, { app: 'c', env: 'x' })).toBe(false);
    expect(matchLabels(sel, { app: 'a', env: 'x', legacy: 'y' })).toBe(false);
    expect(() => parseLabelSelector('a in b')).toThrow(/unable to parse requirement/);
    expect(labelSelectorString({ matchLabels: { app: 'x' }, matchExpressions: [{ key: 'k', operator: 'NotIn', values: ['a', 'b'] }, { key: 'e', operator: 'Exists' }] })).toBe('app=x,k notin (a,b),e');
  });
});

describe('custom resource schemas', () => {
  const schema: JsonObject = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          port: { 'x-kubernetes-int-or-string': true },
          nested: { type: 'object', default: {}, properties: { level: { type: 'string', default: 'info' } } },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          maybe: { type: 'string', nullable: true },
          name: { type: 'string', pattern: '^[a-z]+$', maxLength: 5 },
        },
      },
    },
  };
  const cr = (spec: JsonObject): KubeObject => ({ apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'x' }, spec });

  test('defaults nested objects, keeps preserved and map fields, prunes unknown ones', () => {
    const o = cr({ port: 'http', free: { anything: [1] }, labels: { a: 'b' }, maybe: null, junk: 1 });
    const r = checkCustomResource(schema, o);
    expect(r.causes).toStrictEqual([]);
    expect(r.unknown).toStrictEqual(['spec.junk']);
    expect(o['spec']).toStrictEqual({ port: 'http', free: { anything: [1] }, labels: { a: 'b' }, maybe: null, nested: { level: 'info' } });
  });

  test('reports type, pattern and length problems with field paths', () => {
    const r = checkCustomResource(schema, cr({ port: 1.5, labels: { a: 1 }, name: 'TOO-LONG' }));
    expect(r.causes.map((c) => c.field)).toStrictEqual(['spec.port', 'spec.labels.a', 'spec.name', 'spec.name']);
  });
});
