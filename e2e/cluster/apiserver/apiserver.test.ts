/**
 * API semantics of the test server over real HTTP: optimistic concurrency, watch resume, 410 Gone,
 * bookmarks, garbage collection, finalizers, generation, strategic merge, server-side apply
 * ownership, selectors, paging, persistence, and @kubernetes/client-node informers against it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from './index.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let srv: RunningApiServer;

async function api(method: string, p: string, body?: unknown, contentType = 'application/json', headers: Record<string, string> = {}): Promise<{ status: number; body: Obj; headers: Headers }> {
  const res = await fetch(`${srv.url}${p}`, {
    method,
    headers: { 'Content-Type': contentType, ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Obj) : {}, headers: res.headers };
}

function cm(name: string, data: Record<string, string>, extra: Obj = {}): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data };
}

function sts(name: string, replicas = 1): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }, { name: 'side', image: 'busybox:1' }] } },
    },
  };
}

/** Reads watch events from a streaming GET until `count` events or `ms` elapse. */
function watchEvents(p: string, count: number, ms = 3000): Promise<Obj[]> {
  return new Promise((res0, reject) => {
    const events: Obj[] = [];
    let buf = '';
    const resolve = (v: Obj[]): void => {
      clearTimeout(timer);
      res0(v);
    };
    const req = http.get(`${srv.url}${p}`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line) as Obj);
          if (events.length >= count) {
            req.destroy();
            resolve(events);
            return;
          }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (e) => (events.length >= count ? resolve(events) : reject(e)));
    const timer = setTimeout(() => {
      req.destroy();
      resolve(events);
    }, ms);
  });
}

async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached in time');
}

beforeAll(async () => {
  srv = await startApiServer({ bookmarkIntervalMs: 100, historySize: 50 });
});

afterAll(async () => {
  await srv.close();
});

describe('CRUD and optimistic concurrency', () => {
  test('create assigns uid, resourceVersion and creationTimestamp; duplicate is 409 AlreadyExists', async () => {
    const r = await api('POST', '/api/v1/namespaces/default/configmaps', cm('crud-a', { a: '1' }));
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(r.body.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(r.body.metadata.creationTimestamp).toMatch(/Z$/);
    const dup = await api('POST', '/api/v1/namespaces/default/configmaps', cm('crud-a', { a: '1' }));
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409, message: 'configmaps "crud-a" already exists' });
  });

  test('update with a stale resourceVersion is 409 Conflict with the real message', async () => {
    const created = await api('POST', '/api/v1/namespaces/default/configmaps', cm('crud-b', { a: '1' }));
    const first = await api('PUT', '/api/v1/namespaces/default/configmaps/crud-b', { ...created.body, data: { a: '2' } });
    expect(first.status).toBe(200);
    const stale = await api('PUT', '/api/v1/namespaces/default/configmaps/crud-b', { ...created.body, data: { a: '3' } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    expect(stale.body.message).toBe('Operation cannot be fulfilled on configmaps "crud-b": the object has been modified; please apply your changes to the latest version and try again');
  });

  test('generateName, missing namespace 404, invalid name 422 naming the field', async () => {
    const g = await api('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    expect(g.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const nons = await api('POST', '/api/v1/namespaces/nope/configmaps', cm('x', {}));
    expect(nons.status).toBe(404);
    expect(nons.body.message).toBe('namespaces "nope" not found');
    const bad = await api('POST', '/api/v1/namespaces/default/configmaps', cm('Bad_Name', {}));
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes[0]).toMatchObject({ reason: 'FieldValueInvalid', field: 'metadata.name' });
  });

  test('schema validation: missing required fields are 422 with causes', async () => {
    const bad = sts('val');
    delete bad.spec.template.spec.containers[0].name;
    delete bad.spec.selector;
    const r = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', bad);
    expect(r.status).toBe(422);
    const fields = (r.body.details.causes as Obj[]).map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.selector', 'spec.template.spec.containers[0].name']));
  });

  test('a JSON value of the wrong type for a field of a built-in kind fails decoding: 400 naming the first one (document order), the Go struct and type', async () => {
    const bad = sts('val');
    bad.metadata.generation = 'one';
    bad.spec.replicas = 'three';
    delete bad.spec.template.spec.containers[0].name;
    const first = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', bad);
    expect({ status: first.status, reason: first.body.reason, message: first.body.message }).toStrictEqual({
      status: 400,
      reason: 'BadRequest',
      message: 'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation of type int64',
    });
    delete bad.metadata.generation;
    const replicas = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', bad);
    expect(replicas.body.message).toBe('StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32');
    bad.spec.replicas = 1;
    bad.spec.template.spec.containers[0].name = 'c';
    bad.spec.template.spec.containers[0].ports = [{ containerPort: 80.5 }];
    bad.spec.template.spec.hostNetwork = 'yes';
    const port = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', bad);
    // hostNetwork comes after containers in this body, so the port is the first failure.
    expect(port.body.message).toBe('StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32');
    bad.spec.template.spec.containers[0].ports = [{ containerPort: 80 }];
    const flag = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', bad);
    expect(flag.body.message).toBe('StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.hostNetwork of type bool');
    // The same on update.
    delete bad.spec.template.spec.hostNetwork;
    expect((await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', bad)).status).toBe(201);
    const current = (await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/val')).body;
    current.spec.replicas = '2';
    const put = await api('PUT', '/apis/apps/v1/namespaces/default/statefulsets/val', current);
    expect({ status: put.status, message: put.body.message }).toStrictEqual({ status: 400, message: 'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32' });
  });

  test('a value where a struct, slice or map belongs fails decoding the same way; JSON-valued CRD schema fields take any value', async () => {
    const msg = async (path: string, body: unknown): Promise<string> => ((await api('POST', path, body)).body as { message: string }).message;
    const pods = '/api/v1/namespaces/default/pods';
    expect(await msg(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cx' }, spec: { containers: { name: 'c', image: 'i' } } })).toBe('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container');
    expect(await msg(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cx', labels: 'a=b' }, spec: { securityContext: [], containers: [] } })).toBe('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string');
    expect(await msg(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cx' }, spec: { securityContext: [], containers: [] } })).toBe('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go struct field PodSpec.spec.securityContext of type v1.PodSecurityContext');
    expect(await msg('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cx' }, data: { a: 1 } })).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string');
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'anyjsons.cx.example.com' },
      spec: { group: 'cx.example.com', scope: 'Namespaced', names: { plural: 'anyjsons', kind: 'Anyjson' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { a: { type: 'string', default: 'x', enum: ['x', 'y'] }, m: { type: 'object', additionalProperties: true, 'x-kubernetes-preserve-unknown-fields': true } } } } }] },
    };
    expect((await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
  });

  test('unknown fields: Strict rejects naming the field, Warn answers with a Warning header', async () => {
    const body = { ...cm('unk', { a: '1' }), bogus: true };
    const strict = await api('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', body);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "bogus"');
    const warn = await api('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', body);
    expect(warn.status).toBe(201);
    expect(warn.headers.get('warning')).toContain('unknown field \\"bogus\\"');
  });

  test('StatefulSet selector must match template labels and is immutable', async () => {
    const mismatch = sts('selmis');
    mismatch.spec.template.metadata.labels = { app: 'other' };
    const r = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', mismatch);
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0].field).toBe('spec.template.metadata.labels');
    const ok = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('selimm'));
    const changed = { ...ok.body, spec: { ...ok.body.spec, selector: { matchLabels: { app: 'selimm', x: 'y' } } } };
    changed.spec.template.metadata.labels = { app: 'selimm', x: 'y' };
    const upd = await api('PUT', '/apis/apps/v1/namespaces/default/statefulsets/selimm', changed);
    expect(upd.status).toBe(422);
    expect(upd.body.message).toContain('Forbidden: updates to statefulset spec');
  });

  test('pod admission: the service account must exist; spec fields other than images are immutable', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'adm' }, spec: { serviceAccountName: 'ghost', containers: [{ name: 'c', image: 'x:1' }] } };
    const noSa = await api('POST', '/api/v1/namespaces/default/pods', pod);
    expect(noSa.status).toBe(403);
    expect(noSa.body.message).toBe('pods "adm" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found');
    await api('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ghost' } });
    expect((await api('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    const image = await api('PATCH', '/api/v1/namespaces/default/pods/adm', { spec: { containers: [{ name: 'c', image: 'x:2' }] } }, 'application/strategic-merge-patch+json');
    expect(image.status).toBe(200);
    const other = await api('PATCH', '/api/v1/namespaces/default/pods/adm', { spec: { restartPolicy: 'Never' } }, 'application/strategic-merge-patch+json');
    expect(other.status).toBe(422);
    expect(other.body.details.causes[0]).toMatchObject({ reason: 'FieldValueForbidden', field: 'spec' });
  });

  test('PUT creates a missing Lease (create on update) but not a missing ConfigMap', async () => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
    expect((await api('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/leader', lease)).status).toBe(200);
    expect((await api('PUT', '/api/v1/namespaces/default/configmaps/absent', cm('absent', {}))).status).toBe(404);
  });

  test('dryRun=All validates and returns the object without storing it', async () => {
    const r = await api('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', cm('dry', { a: '1' }));
    expect(r.status).toBe(201);
    expect((await api('GET', '/api/v1/namespaces/default/configmaps/dry')).status).toBe(404);
  });
});

describe('versions sharing storage', () => {
  test('events.k8s.io/v1 Events are core/v1 Events converted field by field', async () => {
    const ev = {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'ev1' },
      eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'alloy-operator', reportingInstance: 'op-1', action: 'Reconcile', reason: 'Synced', type: 'Normal', note: 'reconciled',
      regarding: { kind: 'Collector', name: 'main', namespace: 'default', apiVersion: 'alloy.dev/v1alpha1' },
    };
    expect((await api('POST', '/apis/events.k8s.io/v1/namespaces/default/events', ev)).status).toBe(201);
    const core = await api('GET', '/api/v1/namespaces/default/events/ev1');
    expect(core.body).toMatchObject({ apiVersion: 'v1', message: 'reconciled', reportingComponent: 'alloy-operator', involvedObject: { kind: 'Collector', name: 'main' } });
    const sel = await api('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dmain,involvedObject.kind%3DCollector');
    expect((sel.body.items as Obj[]).map((e) => e.metadata.name)).toEqual(['ev1']);
    const back = await api('GET', '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dmain');
    expect(back.body.items[0]).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'reconciled', regarding: { name: 'main' } });
    const p = await api('PATCH', '/apis/events.k8s.io/v1/namespaces/default/events/ev1', { note: 'again', series: { count: 2, lastObservedTime: '2026-01-01T00:01:00.000000Z' } }, 'application/merge-patch+json');
    expect(p.body.note).toBe('again');
    expect((await api('GET', '/api/v1/namespaces/default/events/ev1')).body.series.count).toBe(2);
  });
});

describe('bad input gets a 4xx that names the problem, never a 500', () => {
  test.each([
    ['POST', '/api/v1/namespaces/default/configmaps', '{"kind":', 'application/json', 400, 'could not be decoded as JSON'],
    ['POST', '/api/v1/namespaces/default/configmaps', '[1,2]', 'application/json', 400, 'must be a JSON object'],
    ['POST', '/api/v1/namespaces/default/configmaps', '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}', 'application/json', 400, 'kind Secret sent to configmaps'],
    ['POST', '/api/v1/namespaces/default/configmaps', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}', 'application/json', 400, 'does not match the namespace'],
    ['PATCH', '/api/v1/namespaces/kube-system/configmaps/missing', '{}', 'application/merge-patch+json', 404, 'configmaps "missing" not found'],
    ['PATCH', '/api/v1/namespaces/default/services/kubernetes', '{"a":1}', 'text/plain', 415, 'accepted media types include'],
    ['PATCH', '/api/v1/namespaces/default/services/kubernetes', '{"a":1}', 'application/json-patch+json', 400, 'must be a JSON array'],
    ['PATCH', '/api/v1/namespaces/default/services/kubernetes', '[1]', 'application/strategic-merge-patch+json', 400, 'must be a JSON object'],
    ['PATCH', '/api/v1/namespaces/default/services/kubernetes?fieldManager=x', 'kind: [', 'application/apply-patch+yaml', 400, 'could not be decoded as YAML'],
    // The texts of these two rows are the real kube-apiserver's (checked against it).
    ['PATCH', '/api/v1/namespaces/default/services/kubernetes', 'kind: Service', 'application/apply-patch+yaml', 422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'],
    ['POST', '/api/v1/namespaces/default/pods', '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"memory":"lots"}}}]}}', 'application/json', 400, 'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\''],
    ['GET', '/api/v1/namespaces/default/configmaps?labelSelector=%3D%3D', '', 'application/json', 400, 'unable to parse requirement'],
    ['GET', '/api/v1/namespaces/default/configmaps?continue=garbage', '', 'application/json', 400, 'continue key is not valid'],
    ['GET', '/api/v1/nosuchthings', '', 'application/json', 404, 'could not find the requested resource'],
    ['DELETE', '/api/v1/namespaces/default/configmaps/missing?propagationPolicy=Sometimes', '', 'application/json', 404, 'not found'],
    ['POST', '/api/v1/namespaces/default/configmaps?dryRun=Maybe', '{}', 'application/json', 400, 'supported values: "All"'],
  ])('%s %s (%s)', async (method, path, body, contentType, code, message) => {
    const r = await api(method, path, body === '' ? undefined : body, contentType);
    expect(r.status).toBe(code);
    expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', code });
    expect(r.body.message).toContain(message);
  });

  it('refuses annotations over 256 KiB in total, as kube-apiserver does (what fails a client-side apply of a large object)', async () => {
    const big = 'x'.repeat(128 * 1024);
    const atLimit = await api('POST', '/api/v1/namespaces/default/configmaps', cm('annotations-at-limit', {}, { annotations: { a: big, b: big.slice(2) } }));
    expect(atLimit.status).toBe(201);
    const over = await api('POST', '/api/v1/namespaces/default/configmaps', cm('annotations-over', {}, { annotations: { a: big, bb: big } }));
    expect(over.status).toBe(422);
    expect(over.body.message).toBe('ConfigMap "annotations-over" is invalid: metadata.annotations: Too long: must have at most 262144 bytes');
  });
});

describe('generation', () => {
  test('bumps on spec changes only, not on metadata or status', async () => {
    const c = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('gen'));
    expect(c.body.metadata.generation).toBe(1);
    const lab = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/gen', { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    expect(lab.body.metadata.generation).toBe(1);
    const st = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/gen/status', { status: { replicas: 1, readyReplicas: 1 } }, 'application/merge-patch+json');
    expect(st.body.metadata.generation).toBe(1);
    expect(st.body.status.readyReplicas).toBe(1);
    const spec = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/gen', { spec: { replicas: 3 } }, 'application/merge-patch+json');
    expect(spec.body.metadata.generation).toBe(2);
    const mainStatus = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/gen', { status: { readyReplicas: 9 } }, 'application/merge-patch+json');
    expect(mainStatus.body.status.readyReplicas).toBe(1);
    const noop = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/gen', { spec: { replicas: 3 } }, 'application/merge-patch+json');
    expect(noop.body.metadata.resourceVersion).toBe(mainStatus.body.metadata.resourceVersion);
  });

  test('scale subresource reads and writes spec.replicas', async () => {
    await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('scl', 2));
    const s = await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/scl/scale');
    expect(s.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { selector: 'app=scl' } });
    const p = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/scl/scale', { spec: { replicas: 5 } }, 'application/merge-patch+json');
    expect(p.body.spec.replicas).toBe(5);
    expect((await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/scl')).body.spec.replicas).toBe(5);
  });
});

describe('patches', () => {
  test('strategic merge patch merges containers by name and honours $patch: delete', async () => {
    await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('smp'));
    const r = await api(
      'PATCH',
      '/apis/apps/v1/namespaces/default/statefulsets/smp',
      { spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox:2' }, { name: 'extra', image: 'alpine:3' }] } } } },
      'application/strategic-merge-patch+json',
    );
    expect(r.status).toBe(200);
    const names = (r.body.spec.template.spec.containers as Obj[]).map((c) => `${c.name}=${c.image}`);
    expect(names).toEqual(['app=nginx:1.25', 'side=busybox:2', 'extra=alpine:3']);
    const del = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/smp', { spec: { template: { spec: { containers: [{ name: 'extra', $patch: 'delete' }] } } } }, 'application/strategic-merge-patch+json');
    expect((del.body.spec.template.spec.containers as Obj[]).map((c) => c.name)).toEqual(['app', 'side']);
  });

  test('merge patch replaces lists; JSON patch applies operations; custom resources refuse strategic merge', async () => {
    await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('mp'));
    const r = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/mp', { spec: { template: { spec: { containers: [{ name: 'only', image: 'x:1' }] } } } }, 'application/merge-patch+json');
    expect((r.body.spec.template.spec.containers as Obj[]).map((c) => c.name)).toEqual(['only']);
    const j = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/mp', [{ op: 'replace', path: '/spec/replicas', value: 4 }, { op: 'test', path: '/spec/replicas', value: 4 }], 'application/json-patch+json');
    expect(j.body.spec.replicas).toBe(4);
    const bad = await api('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/mp', [{ op: 'test', path: '/spec/replicas', value: 7 }], 'application/json-patch+json');
    expect(bad.status).toBe(422);
  });
});

describe('server-side apply', () => {
  const applyPath = (mgr: string, force = false): string => `/api/v1/namespaces/default/configmaps/ssa?fieldManager=${mgr}${force ? '&force=true' : ''}`;
  const yaml = (data: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n${data}`;

  test('tracks ownership, reports conflicts naming manager and field, force transfers ownership, removal of unapplied fields', async () => {
    const a = await api('PATCH', applyPath('alice'), yaml('  a: "1"\n  b: "2"\n'), 'application/apply-patch+yaml');
    expect(a.status).toBe(201);
    expect(a.body.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'alice', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } })]);
    const same = await api('PATCH', applyPath('bob'), yaml('  a: "1"\n'), 'application/apply-patch+yaml');
    expect(same.status).toBe(200);
    const c = await api('PATCH', applyPath('bob'), yaml('  a: "9"\n'), 'application/apply-patch+yaml');
    expect(c.status).toBe(409);
    expect(c.body.message).toBe('Apply failed with 1 conflict: conflict with "alice": .data.a');
    expect(c.body.details.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.a' }]);
    const f = await api('PATCH', applyPath('bob', true), yaml('  a: "9"\n'), 'application/apply-patch+yaml');
    expect(f.status).toBe(200);
    expect(f.body.data).toEqual({ a: '9', b: '2' });
    const owners = Object.fromEntries((f.body.metadata.managedFields as Obj[]).map((m) => [m.manager, Object.keys(m.fieldsV1['f:data'])]));
    expect(owners).toEqual({ alice: ['f:b'], bob: ['f:a'] });
    const dropB = await api('PATCH', applyPath('alice'), yaml('  c: "3"\n'), 'application/apply-patch+yaml');
    expect(dropB.body.data).toEqual({ a: '9', c: '3' });
  });

  test('associative lists merge by key across managers', async () => {
    const doc = (mgr: string, containers: string): Promise<{ status: number; body: Obj }> =>
      api('PATCH', `/apis/apps/v1/namespaces/default/statefulsets/ssalist?fieldManager=${mgr}`, `apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: ssalist\nspec:\n  serviceName: s\n  selector:\n    matchLabels: {app: s}\n  template:\n    metadata:\n      labels: {app: s}\n    spec:\n      containers:\n${containers}`, 'application/apply-patch+yaml');
    expect((await doc('one', '      - {name: a, image: "a:1"}\n')).status).toBe(201);
    const two = await doc('two', '      - {name: b, image: "b:1"}\n');
    expect(two.status).toBe(200);
    expect((two.body.spec.template.spec.containers as Obj[]).map((c) => c.name)).toEqual(['a', 'b']);
    const conflict = await doc('two', '      - {name: a, image: "a:2"}\n      - {name: b, image: "b:1"}\n');
    expect(conflict.status).toBe(409);
    expect(conflict.body.details.causes[0].field).toBe('.spec.template.spec.containers[name="a"].image');
  });

  test('a non-apply update takes ownership without conflict', async () => {
    const cur = await api('GET', '/api/v1/namespaces/default/configmaps/ssa');
    const upd = await api('PUT', '/api/v1/namespaces/default/configmaps/ssa?fieldManager=editor', { ...cur.body, data: { ...cur.body.data, c: 'edited' } });
    expect(upd.status).toBe(200);
    const editor = (upd.body.metadata.managedFields as Obj[]).find((m) => m.manager === 'editor');
    expect(editor).toMatchObject({ operation: 'Update', fieldsV1: { 'f:data': { 'f:c': {} } } });
  });
});

describe('list, selectors, paging', () => {
  beforeAll(async () => {
    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sel' } });
    for (const [n, env, tier] of [['s1', 'prod', 'web'], ['s2', 'dev', 'web'], ['s3', 'prod', 'db'], ['s4', 'qa', '']] as const) {
      const labels: Record<string, string> = { env };
      if (tier) labels['tier'] = tier;
      await api('POST', '/api/v1/namespaces/sel/configmaps', cm(n, {}, { labels }));
    }
  });

  const names = async (q: string): Promise<string[]> => ((await api('GET', `/api/v1/namespaces/sel/configmaps?${q}`)).body.items as Obj[]).map((i) => i.metadata.name);

  test.each([
    ['labelSelector=env%3Dprod', ['s1', 's3']],
    ['labelSelector=env%3D%3Dprod', ['s1', 's3']],
    ['labelSelector=env!%3Dprod', ['s2', 's4']],
    ['labelSelector=env%20in%20(dev,qa)', ['s2', 's4']],
    ['labelSelector=env%20notin%20(dev,qa)', ['s1', 's3']],
    ['labelSelector=tier', ['s1', 's2', 's3']],
    ['labelSelector=!tier', ['s4']],
    ['labelSelector=env%3Dprod,tier%3Dweb', ['s1']],
    ['fieldSelector=metadata.name%3Ds2', ['s2']],
    ['fieldSelector=metadata.name!%3Ds2', ['s1', 's3', 's4']],
  ])('%s', async (q, expected) => {
    expect(await names(q)).toEqual(expected);
  });

  test('unsupported field label and bad label selector are 400', async () => {
    expect((await api('GET', '/api/v1/namespaces/sel/configmaps?fieldSelector=data.x%3D1')).body.message).toBe('field label not supported: data.x');
    expect((await api('GET', '/api/v1/namespaces/sel/configmaps?labelSelector=a%20in%20b')).status).toBe(400);
  });

  test('pods support spec.nodeName and status.phase field selectors', async () => {
    const pod = (name: string, node?: string): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'c', image: 'x:1' }] } });
    await api('POST', '/api/v1/namespaces/sel/pods', pod('p1', 'node-a'));
    await api('POST', '/api/v1/namespaces/sel/pods', pod('p2'));
    const onA = await api('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a');
    expect((onA.body.items as Obj[]).map((p) => p.metadata.name)).toEqual(['p1']);
    const pending = await api('GET', '/api/v1/namespaces/sel/pods?fieldSelector=status.phase%3DPending,spec.nodeName%3D');
    expect((pending.body.items as Obj[]).map((p) => p.metadata.name)).toEqual(['p2']);
  });

  test('limit/continue pages at one resourceVersion', async () => {
    const p1 = await api('GET', '/api/v1/namespaces/sel/configmaps?limit=3');
    expect(p1.body.items).toHaveLength(3);
    expect(p1.body.metadata.remainingItemCount).toBeGreaterThan(0);
    await api('POST', '/api/v1/namespaces/sel/configmaps', cm('s5', {}));
    const p2 = await api('GET', `/api/v1/namespaces/sel/configmaps?limit=3&continue=${p1.body.metadata.continue as string}`);
    const all = [...(p1.body.items as Obj[]), ...(p2.body.items as Obj[])].map((i) => i.metadata.name);
    expect(all).not.toContain('s5');
    expect(p2.body.metadata.continue).toBeUndefined();
  });

  test('aggregated discovery lists groups, versions, resources and subresources in one document', async () => {
    const r = await api('GET', '/apis', undefined, 'application/json', { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    expect(r.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const apps = (r.body.items as Obj[]).find((g) => g.metadata.name === 'apps')!;
    const sts = (apps.versions[0].resources as Obj[]).find((x) => x.resource === 'statefulsets')!;
    expect(sts).toMatchObject({ responseKind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, scope: 'Namespaced', shortNames: ['sts'] });
    expect((sts.subresources as Obj[]).map((x) => x.subresource)).toEqual(['status', 'scale']);
    const plain = await api('GET', '/apis');
    expect(plain.body.kind).toBe('APIGroupList');
  });

  test('metadata-only clients get PartialObjectMetadata', async () => {
    const r = await api('GET', '/api/v1/namespaces/sel/configmaps?labelSelector=env%3Dprod', undefined, 'application/json', { Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' });
    expect(r.body.kind).toBe('PartialObjectMetadataList');
    expect((r.body.items as Obj[]).map((i) => [i.kind, i.metadata.name, i.data])).toEqual([['PartialObjectMetadata', 's1', undefined], ['PartialObjectMetadata', 's3', undefined]]);
  });

  test('Table output for kubectl get', async () => {
    const r = await api('GET', '/api/v1/namespaces/sel/configmaps', undefined, 'application/json', { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(r.body.kind).toBe('Table');
    expect((r.body.columnDefinitions as Obj[]).map((c) => c.name)).toEqual(['Name', 'Data', 'Age']);
    expect(r.body.rows[0].object.kind).toBe('PartialObjectMetadata');
  });
});

describe('watch', () => {
  test('resumes from a resourceVersion and delivers later events in order', async () => {
    const base = await api('POST', '/api/v1/namespaces/default/configmaps', cm('w1', { v: '0' }));
    const rv = base.body.metadata.resourceVersion as string;
    await api('PATCH', '/api/v1/namespaces/default/configmaps/w1', { data: { v: '1' } }, 'application/merge-patch+json');
    await api('DELETE', '/api/v1/namespaces/default/configmaps/w1');
    const evs = await watchEvents(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Dw1`, 2);
    expect(evs.map((e) => `${e.type}:${e.object.data?.v as string}`)).toEqual(['MODIFIED:1', 'DELETED:1']);
  });

  test('without resourceVersion starts with ADDED for existing objects, then live events', async () => {
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('w2', {}, { labels: { watch: 'live' } }));
    const watchesBefore = await srv.openWatches();
    const p = watchEvents('/api/v1/namespaces/default/configmaps?watch=true&labelSelector=watch%3Dlive', 2);
    await eventually(async () => (await srv.openWatches()) > watchesBefore);
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('w3', {}, { labels: { watch: 'live' } }));
    expect((await p).map((e) => `${e.type}:${e.object.metadata.name as string}`)).toEqual(['ADDED:w2', 'ADDED:w3']);
  });

  test('label change out of the selector is seen as DELETED', async () => {
    const c = await api('POST', '/api/v1/namespaces/default/configmaps', cm('w4', {}, { labels: { watch: 'move' } }));
    const p = watchEvents(`/api/v1/namespaces/default/configmaps?watch=true&labelSelector=watch%3Dmove&resourceVersion=${c.body.metadata.resourceVersion as string}`, 1);
    await api('PATCH', '/api/v1/namespaces/default/configmaps/w4', { metadata: { labels: { watch: 'gone' } } }, 'application/merge-patch+json');
    expect((await p).map((e) => e.type)).toEqual(['DELETED']);
  });

  test('too old resourceVersion yields a 410 Expired ERROR event; list with it is 410', async () => {
    for (let i = 0; i < 60; i++) await api('POST', '/api/v1/namespaces/default/configmaps', cm(`flood-${i}`, {}));
    const evs = await watchEvents('/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2', 1);
    expect(evs[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(evs[0]!.object.message).toMatch(/^too old resource version: 2 \(\d+\)$/);
    const list = await api('GET', '/api/v1/namespaces/default/configmaps?resourceVersion=2&resourceVersionMatch=Exact');
    expect(list.status).toBe(410);
  });

  test('bookmarks carry the current resourceVersion when allowed', async () => {
    const rv = (await api('GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion as string;
    const evs = await watchEvents(`/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, 1, 2000);
    expect(evs[0]).toMatchObject({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: rv } } });
  });

  test('timeoutSeconds ends the stream', async () => {
    const start = Date.now();
    const evs = await watchEvents('/api/v1/namespaces/sel/configmaps?watch=1&timeoutSeconds=1&resourceVersion=' + String(srv.store.resourceVersion), 100, 5000);
    expect(evs).toEqual([]);
    expect(Date.now() - start).toBeLessThan(4000);
  });
});

describe('deletion, finalizers and garbage collection', () => {
  const owner = (o: Obj): Obj => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true });

  test('finalizers keep the object with deletionTimestamp until removed', async () => {
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('fin', {}, { finalizers: ['example.com/hold'] }));
    const d = await api('DELETE', '/api/v1/namespaces/default/configmaps/fin');
    // As the real server: 200 with the object kept (202 only for the deprecated orphanDependents=false).
    expect({ status: d.status, kind: d.body.kind, deleting: d.body.metadata.deletionTimestamp !== undefined }).toStrictEqual({ status: 200, kind: 'ConfigMap', deleting: true });
    const held = await api('GET', '/api/v1/namespaces/default/configmaps/fin');
    expect(held.body.metadata.deletionTimestamp).toBeDefined();
    const add = await api('PATCH', '/api/v1/namespaces/default/configmaps/fin', { metadata: { finalizers: ['example.com/hold', 'other/new'] } }, 'application/merge-patch+json');
    expect(add.status).toBe(422);
    await api('PATCH', '/api/v1/namespaces/default/configmaps/fin', { metadata: { finalizers: null } }, 'application/merge-patch+json');
    expect((await api('GET', '/api/v1/namespaces/default/configmaps/fin')).status).toBe(404);
  });

  test('background deletion removes the owner at once and dependents afterwards', async () => {
    const o = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('gc-bg'));
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('gc-bg-dep', {}, { ownerReferences: [owner(o.body)] }));
    await api('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/gc-bg?propagationPolicy=Background');
    expect((await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/gc-bg')).status).toBe(404);
    await eventually(async () => (await api('GET', '/api/v1/namespaces/default/configmaps/gc-bg-dep')).status === 404);
  });

  test('foreground deletion keeps the owner until blocking dependents are gone', async () => {
    const o = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('gc-fg'));
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('gc-fg-dep', {}, { ownerReferences: [owner(o.body)], finalizers: ['test/hold'] }));
    const d = await api('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/gc-fg', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
    expect({ status: d.status, kind: d.body.kind, finalizers: d.body.metadata.finalizers, deleting: d.body.metadata.deletionTimestamp !== undefined }).toStrictEqual({ status: 200, kind: 'StatefulSet', finalizers: ['foregroundDeletion'], deleting: true });
    await eventually(async () => Boolean((await api('GET', '/api/v1/namespaces/default/configmaps/gc-fg-dep')).body.metadata?.deletionTimestamp));
    expect((await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/gc-fg')).status).toBe(200);
    await api('PATCH', '/api/v1/namespaces/default/configmaps/gc-fg-dep', { metadata: { finalizers: null } }, 'application/merge-patch+json');
    await eventually(async () => (await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/gc-fg')).status === 404);
  });

  test('a second DELETE with an explicit policy replaces the garbage-collection finalizers; one without keeps them', async () => {
    const o = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('gc-switch'));
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('gc-switch-dep', {}, { ownerReferences: [owner(o.body)], finalizers: ['test/hold'] }));
    await api('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/gc-switch?propagationPolicy=Foreground');
    const again = await api('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/gc-switch');
    expect({ status: again.status, finalizers: again.body.metadata?.finalizers }).toStrictEqual({ status: 200, finalizers: ['foregroundDeletion'] });
    const background = await api('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/gc-switch', { kind: 'DeleteOptions', apiVersion: 'v1', orphanDependents: false });
    expect(background.status).toBe(200);
    expect((await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/gc-switch')).status).toBe(404);
    await api('PATCH', '/api/v1/namespaces/default/configmaps/gc-switch-dep', { metadata: { finalizers: null } }, 'application/merge-patch+json');
  });

  test('orphan deletion strips ownerReferences and keeps dependents', async () => {
    const o = await api('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts('gc-or'));
    await api('POST', '/api/v1/namespaces/default/configmaps', cm('gc-or-dep', {}, { ownerReferences: [owner(o.body)] }));
    await api('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/gc-or?propagationPolicy=Orphan');
    await eventually(async () => (await api('GET', '/apis/apps/v1/namespaces/default/statefulsets/gc-or')).status === 404);
    const dep = await api('GET', '/api/v1/namespaces/default/configmaps/gc-or-dep');
    expect(dep.status).toBe(200);
    expect(dep.body.metadata.ownerReferences).toBeUndefined();
  });

  test('bound pods terminate gracefully; the kubelet finishes with gracePeriodSeconds=0', async () => {
    await api('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'grace' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x:1' }] } });
    const d = await api('DELETE', '/api/v1/namespaces/default/pods/grace');
    expect(d.body.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await api('GET', '/api/v1/namespaces/default/pods/grace')).status).toBe(200);
    await api('DELETE', '/api/v1/namespaces/default/pods/grace?gracePeriodSeconds=0');
    expect((await api('GET', '/api/v1/namespaces/default/pods/grace')).status).toBe(404);
  });

  test('eviction honours a PodDisruptionBudget with 429, and evicts when the budget allows', async () => {
    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'evict' } });
    for (const n of ['e1', 'e2']) {
      await api('POST', '/api/v1/namespaces/evict/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: n, labels: { app: 'e' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } });
      await api('PATCH', `/api/v1/namespaces/evict/pods/${n}/status`, { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, 'application/merge-patch+json');
    }
    await api('POST', '/apis/policy/v1/namespaces/evict/poddisruptionbudgets', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pdb' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'e' } } } });
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'e1', namespace: 'evict' } };
    const refused = await api('POST', '/api/v1/namespaces/evict/pods/e1/eviction', eviction);
    expect(refused.status).toBe(429);
    expect(refused.body.details.causes[0].message).toBe('The disruption budget pdb needs 2 healthy pods and has 2 currently');
    await api('PATCH', '/apis/policy/v1/namespaces/evict/poddisruptionbudgets/pdb', { spec: { minAvailable: 1 } }, 'application/merge-patch+json');
    expect((await api('POST', '/api/v1/namespaces/evict/pods/e1/eviction', eviction)).status).toBe(201);
    expect((await api('GET', '/api/v1/namespaces/evict/pods/e1')).status).toBe(404);
  });

  test('deleting a namespace removes its content, then the namespace', async () => {
    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await api('POST', '/api/v1/namespaces/doomed/configmaps', cm('c', {}));
    const d = await api('DELETE', '/api/v1/namespaces/doomed');
    expect(d.body.status.phase).toBe('Terminating');
    await eventually(async () => (await api('GET', '/api/v1/namespaces/doomed')).status === 404);
    expect((await api('GET', '/api/v1/namespaces/doomed/configmaps/c')).status).toBe(404);
  });
});

describe('custom resources', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gadgets.test.io' },
    spec: {
      group: 'test.io',
      scope: 'Namespaced',
      names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
      versions: [{
        name: 'v1', served: true, storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, mode: { type: 'string', default: 'fast' } } }, status: { type: 'object', x_placeholder: 1 } } } },
      }],
    },
  };

  test('a CRD is established and its resources are served, validated, defaulted and pruned', async () => {
    const c = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect(c.status).toBe(201);
    expect((c.body.status.conditions as Obj[]).map((x) => `${x.type}=${x.status}`)).toEqual(['NamesAccepted=True', 'Established=True']);
    const disc = await api('GET', '/apis/test.io/v1');
    expect((disc.body.resources as Obj[]).map((r) => r.name)).toEqual(['gadgets', 'gadgets/status']);
    const g = await api('POST', '/apis/test.io/v1/namespaces/default/gadgets?fieldValidation=Ignore', { apiVersion: 'test.io/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 2, junk: 1 } });
    expect(g.status).toBe(201);
    expect(g.body.spec).toEqual({ size: 2, mode: 'fast' });
    expect(g.body.metadata.generation).toBe(1);
    const bad = await api('POST', '/apis/test.io/v1/namespaces/default/gadgets', { apiVersion: 'test.io/v1', kind: 'Gadget', metadata: { name: 'g2' }, spec: { size: 0 } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes[0]).toMatchObject({ field: 'spec.size' });
    expect(bad.body.message).toContain('spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1');
    const smp = await api('PATCH', '/apis/test.io/v1/namespaces/default/gadgets/g1', { spec: { size: 3 } }, 'application/strategic-merge-patch+json');
    expect(smp.status).toBe(415);
  });

  test('deleting the CRD stops serving its resources and deletes its objects', async () => {
    expect((await api('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.test.io')).status).toBe(200);
    expect((await api('GET', '/apis/test.io/v1/namespaces/default/gadgets')).status).toBe(404);
    await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect((await api('GET', '/apis/test.io/v1/namespaces/default/gadgets')).body.items).toEqual([]);
  });
});

describe('x-kubernetes-validations (CEL subset)', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.test.io' },
    spec: {
      group: 'test.io',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: {
          type: 'object',
          properties: {
            config: { type: 'string' },
            ref: { type: 'object', properties: { name: { type: 'string' } } },
            size: { type: 'integer' },
            mode: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'mode is immutable' }] },
            tags: { type: 'array', items: { type: 'string', 'x-kubernetes-validations': [{ rule: 'size(self) <= 3', messageExpression: '"tag too long: " + self' }] } },
          },
          'x-kubernetes-validations': [
            { rule: 'has(self.config) != has(self.ref)', message: 'set exactly one of spec.config or spec.ref' },
            { rule: '!has(self.size) || self.size >= 1' },
            { rule: 'self.all(t, t != "")', message: 'unsupported here' },
          ],
        } } } },
      }],
    },
  };
  const w = (name: string, spec: Obj): Obj => ({ apiVersion: 'test.io/v1', kind: 'Widget', metadata: { name }, spec });

  beforeAll(async () => {
    expect((await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
  });

  test('a non-structural CRD (a field or array item without type) is a 422 with the real server\'s causes', async () => {
    const bad = structuredClone(crd) as { metadata: Obj; spec: Obj };
    bad.metadata = { name: 'gizmos.test.io' };
    bad.spec = { ...bad.spec, names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo' } };
    bad.spec.versions = [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: {
      a: { type: 'string' },
      b: { description: 'no type' },
      c: { type: 'array', items: { description: 'untyped item' } },
      d: { 'x-kubernetes-int-or-string': true },
      e: { 'x-kubernetes-preserve-unknown-fields': true },
    } } } }];
    const r = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', bad);
    expect(r.status).toBe(422);
    expect(r.body.details.causes).toStrictEqual([
      { reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified object fields', field: 'spec.validation.openAPIV3Schema.properties[b].type' },
      { reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified array items', field: 'spec.validation.openAPIV3Schema.properties[c].items.type' },
    ]);
  });

  test('a failing rule is a 422 naming the field, the schema type and the message, like the real server', async () => {
    const both = await api('POST', '/apis/test.io/v1/namespaces/default/widgets', w('both', { config: 'x', ref: { name: 'c' } }));
    expect(both.status).toBe(422);
    expect(both.body.reason).toBe('Invalid');
    expect(both.body.message).toBe('Widget.test.io "both" is invalid: spec: Invalid value: "object": set exactly one of spec.config or spec.ref');
    expect(both.body.details.causes).toStrictEqual([{ reason: 'FieldValueInvalid', message: 'Invalid value: "object": set exactly one of spec.config or spec.ref', field: 'spec' }]);
    const neither = await api('POST', '/apis/test.io/v1/namespaces/default/widgets', w('neither', { size: 0 }));
    expect(neither.status).toBe(422);
    expect(neither.body.details.causes.map((c: Obj) => c.message)).toStrictEqual([
      'Invalid value: "object": set exactly one of spec.config or spec.ref',
      'Invalid value: "object": failed rule: !has(self.size) || self.size >= 1',
    ]);
    const tag = await api('POST', '/apis/test.io/v1/namespaces/default/widgets', w('tag', { config: 'x', tags: ['ok', 'toolong'] }));
    expect(tag.status).toBe(422);
    expect(tag.body.details.causes).toStrictEqual([{ reason: 'FieldValueInvalid', message: 'Invalid value: "string": tag too long: toolong', field: 'spec.tags[1]' }]);
  });

  test('a passing object is stored; a rule outside the subset is skipped with one warning; oldSelf rules run on updates', async () => {
    const ok = await api('POST', '/apis/test.io/v1/namespaces/default/widgets', w('ok', { config: 'x', size: 2, mode: 'a', tags: ['a'] }));
    expect(ok.status).toBe(201);
    const warning = ok.headers.get('warning') ?? '';
    expect(warning.match(/self\.all/g)).toHaveLength(1);
    expect(warning).toContain('supports only a CEL subset');
    const changed = await api('PUT', '/apis/test.io/v1/namespaces/default/widgets/ok', { ...ok.body, spec: { ...ok.body.spec, mode: 'b' } });
    expect(changed.status).toBe(422);
    expect(changed.body.message).toContain('spec.mode: Invalid value: "string": mode is immutable');
    const same = await api('PUT', '/apis/test.io/v1/namespaces/default/widgets/ok', { ...ok.body, spec: { ...ok.body.spec, size: 3 } });
    expect(same.status).toBe(200);
  });
});

describe('@kubernetes/client-node', () => {
  test('an informer lists, then sees adds, updates and deletes', async () => {
    const kc = new k8s.KubeConfig();
    const file = srv.kubeconfig(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kc-')), 'config'));
    kc.loadFromFile(file);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'pre' }, data: { a: '1' } } });
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/inf/configmaps', () => core.listNamespacedConfigMap({ namespace: 'inf' }));
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata!.name!}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata!.name!}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata!.name!}`));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'live' }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: 'inf', name: 'live', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'live' });
    await eventually(async () => seen.length >= 4);
    await informer.stop();
    expect(seen).toEqual(['add:pre', 'add:live', 'update:live', 'delete:live']);
    expect(informer.list('inf').map((o) => o.metadata!.name)).toEqual(['pre']);
  });

  test('an informer whose resourceVersion fell out of history relists after 410 Gone and keeps going', async () => {
    const small = await startApiServer({ historySize: 20, minRequestTimeoutSeconds: 0.3 });
    try {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(small.kubeconfig(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kc-')), 'config')));
      const core = kc.makeApiClient(k8s.CoreV1Api);
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' } } });
      const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
      const errors: unknown[] = [];
      informer.on('error', (e) => errors.push(e));
      await informer.start();
      for (let i = 0; i < 40; i++) await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: `s${i}` } } });
      // The informer's watch times out (minRequestTimeoutSeconds), its re-watch gets 410 Gone and it
      // lists again: wait for that second list of configmaps.
      const configmapLists = async (): Promise<number> => {
        const text = await (await fetch(`${small.url}/metrics`)).text();
        return [...text.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+)$/gm)].filter((m) => m[1]!.includes('verb="get"') && m[1]!.includes('resource="configmaps"')).reduce((s, m) => s + Number(m[2]), 0);
      };
      await eventually(async () => (await configmapLists()) >= 2, 10_000);
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after' } } });
      await eventually(async () => informer.list('default').some((o) => o.metadata!.name === 'after'), 5000);
      await informer.stop();
      expect(informer.list('default').map((o) => o.metadata!.name).sort()).toEqual(['after', 'before']);
      expect(errors).toEqual([]);
      const metrics = await (await fetch(`${small.url}/metrics`)).text();
      const lists = /apiserver_request_total\{verb="get",resource="configmaps",code="200"\} (\d+)/.exec(metrics);
      expect(Number(lists?.[1])).toBeGreaterThanOrEqual(2);
    } finally {
      await small.close();
    }
  }, 20_000);

  test('typed client errors carry the Status body', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(srv.kubeconfig(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kc-')), 'config')));
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await expect(apps.readNamespacedStatefulSet({ namespace: 'default', name: 'missing' })).rejects.toMatchObject({ code: 404 });
  });
});

describe('persistence', () => {
  test('a server restarted on the same dataDir keeps objects and resourceVersion', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiserver-data-'));
    const a = await startApiServer({ dataDir: dir });
    const r = await fetch(`${a.url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(cm('kept', { k: 'v' })) });
    expect(r.status).toBe(201);
    const rv = a.store.resourceVersion;
    await a.close();
    const b = await startApiServer({ dataDir: dir });
    try {
      const got = (await (await fetch(`${b.url}/api/v1/namespaces/default/configmaps/kept`)).json()) as Obj;
      expect(got.data).toEqual({ k: 'v' });
      expect(b.store.resourceVersion).toBeGreaterThanOrEqual(rv);
    } finally {
      await b.close();
    }
  });
});
