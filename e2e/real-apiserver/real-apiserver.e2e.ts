/**
 * The project's Kubernetes claims on a real kube-apiserver + etcd (+ kube-controller-manager),
 * started on loopback by `e2e/cluster/real/control-plane.ts`, with RBAC and Pod Security
 * admission enforced. One control plane for the whole file (it takes 8-30 s to become ready):
 * - the Collector CRD installs, and its validation (schema and CEL rule) answers as declared;
 * - every chart scenario passes `kubectl apply --dry-run=server`;
 * - the operator, running with its own ServiceAccount's token (TokenRequest) and exactly the
 *   RBAC that `kustomize/base` grants, reconciles a Collector into its objects and status, keeps
 *   the StatefulSet template unchanged across a config change (no rollout), refuses a bad config
 *   and never meets a 403; the StatefulSet's pods pass the namespace's `restricted` Pod Security;
 * - upstream's default config, as the chart renders it, lists and watches all six roles with the
 *   chart ServiceAccount's token and exactly the chart's default RBAC (forbidden without it);
 * - a collector process running with a Collector's ServiceAccount token (TokenRequest) works
 *   with exactly the RBAC the operator derived from its config, and without it reports a 403
 *   health message naming the verb, resource and namespace it lacks.
 * No kubelet is attached here: pods stay Pending (the dev-cluster journeys cover running pods).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { helmTemplateOk, parseManifests } from '../../tools/helm-template/helm-template.js';
import { startAlloy, until, type AlloyProc } from '../metrics/harness.js';
import { INVALID_SCENARIOS, servedScenario, SCENARIOS, unknownFields } from '../chart/scenarios.js';
import { KUBECTL, kubectl, runKubectl } from '../cluster/harness/kubectl.js';
import { repoRoot } from '../cluster/harness/paths.js';
import { waitFor } from '../cluster/harness/wait.js';
import { startApiServer, type RunningApiServer } from '../cluster/apiserver/index.js';
import { realControlPlaneUnavailable, startRealControlPlane, type RealControlPlane } from '../cluster/real/control-plane.js';
import { firstWatchEvent, send, sendRaw, type Answer, type Target } from './agreement.js';
import { ACCEPT_METADATA_LIST, ACCEPT_METADATA_WATCH } from '../../operator/src/kube/rest-kube-api.js';
import { condition, startOperator, unavailableReason, type CollectorView, type OperatorProcess } from '../operator/operator-harness.js';

/** A refused request in the operator's log: the API server's 403 message says "forbidden", a bare one "HTTP 403" (not a bare 403, which log timestamps contain). */
const FORBIDDEN = /forbidden|HTTP 403/i;

const skip = realControlPlaneUnavailable() !== undefined || unavailableReason() !== undefined;

/** Scenarios that opt into a field only newer API servers know (documented in the chart README). */
const NEWER_FIELDS: Readonly<Record<string, { readonly field: string; readonly minor: number }>> = {
  'deployment-values.yaml': { field: 'resizePolicy', minor: 27 },
  'statefulset-hpa-values.yaml': { field: 'trafficDistribution', minor: 30 },
  'upstream/resize-policy': { field: 'resizePolicy', minor: 27 },
  'upstream/service-traffic-distribution': { field: 'trafficDistribution', minor: 31 },
};

(skip ? describe.skip : describe)('real kube-apiserver', () => {
  let cp!: RealControlPlane;
  let serverMinor = 0;
  const k = (args: readonly string[], input?: string): Promise<string> => kubectl(args, { kubeconfig: cp.kubeconfigPath, input });
  const kr = (args: readonly string[], input?: string) => runKubectl(args, { kubeconfig: cp.kubeconfigPath, input });

  beforeAll(async () => {
    const t0 = Date.now();
    cp = await startRealControlPlane({ controllerManager: true });
    const version = (JSON.parse(await k(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string; minor: string } }).serverVersion;
    serverMinor = parseInt(version.minor, 10);
    console.log(`real control plane ready in ${Date.now() - t0} ms (${version.gitVersion})`);
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  describe('Collector CRD', () => {
    beforeAll(async () => {
      await k(['apply', '-f', `${repoRoot()}/crds/collectors.alloy.dev.yaml`]);
      await k(['wait', '--for=condition=Established', 'crd/collectors.alloy.dev', '--timeout=60s']);
      await k(['create', 'namespace', 'crd-cases']);
    }, 90_000);

    const collector = (name: string, spec: Record<string, unknown>): string =>
      JSON.stringify({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name, namespace: 'crd-cases' }, spec });

    it('accepts a valid Collector and applies the schema defaults', async () => {
      await k(['apply', '-f', '-'], collector('ok', { config: 'logging {}\n' }));
      const got = JSON.parse(await k(['get', 'collector', 'ok', '-n', 'crd-cases', '-o', 'json'])) as { spec: Record<string, unknown> };
      expect(got.spec['config']).toBe('logging {}\n');
      expect(got.spec['replicas']).toBeDefined();
    });

    it.each([
      ['both config sources', { config: 'logging {}\n', configMapRef: { name: 'x', key: 'config.alloy' } }, /set exactly one of spec\.config or spec\.configMapRef/],
      ['no config source', {}, /set exactly one of spec\.config or spec\.configMapRef/],
      ['negative replicas', { config: 'logging {}\n', replicas: -1 }, /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/],
      ['a string for replicas', { config: 'logging {}\n', replicas: 'three' }, /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/],
      ['an unknown stabilityLevel', { config: 'logging {}\n', stabilityLevel: 'beta' }, /spec\.stabilityLevel: Unsupported value: "beta"/],
    ])('refuses %s with a 422 naming the field', async (_what, spec, message) => {
      // --validate=false: the server's own validation answers, not kubectl's client-side schema check.
      const r = await kr(['create', '--validate=false', '-f', '-'], collector('bad', spec));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/is invalid/);
      expect(r.stderr).toMatch(message);
    });
  });

  describe('the test API server answers bad requests as the real one does', () => {
    let fake!: RunningApiServer;
    let real!: Target;
    beforeAll(async () => {
      fake = await startApiServer();
      real = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
    });
    afterAll(async () => {
      await fake?.close();
    });

    const crd = (name: string, props: Record<string, unknown>): Record<string, unknown> => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${name}s.agree.example.com` },
      spec: { group: 'agree.example.com', scope: 'Namespaced', names: { plural: `${name}s`, kind: name[0]!.toUpperCase() + name.slice(1) }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: props } } }] },
    });
    it.each([
      ['server-side apply without fieldManager', 'PATCH', '/api/v1/namespaces/default/configmaps/agree', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'agree' } }, 'application/apply-patch+yaml'],
      ['a malformed quantity', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree' }, spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { memory: 'lots' } } }] } }, 'application/json'],
      ['a non-structural CRD', 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('thing', { a: { type: 'string' }, b: { description: 'no type' }, c: { type: 'array', items: { description: 'untyped' } } }), 'application/json'],
      ['an invalid object name', 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid' } }, 'application/json'],
      ['a missing object', 'GET', '/api/v1/namespaces/default/configmaps/nope', undefined, 'application/json'],
      ['a string for an int32 field', 'POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'agree' }, spec: { replicas: 'three', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } }, 'application/json'],
      ['a string for an int64 field', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree' }, spec: { terminationGracePeriodSeconds: '30', containers: [{ name: 'c', image: 'i' }] } }, 'application/json'],
      ['a string for an integer in a list item', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree' }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: '80' }] }] } }, 'application/json'],
      ['a fraction for an integer', 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'agree' }, spec: { ports: [{ port: 80.5 }] } }, 'application/json'],
      ['wrong types in metadata and spec (the first in the body is named)', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree', generation: 'x' }, spec: { hostNetwork: 'yes', serviceAccountName: 5, containers: [{ name: 'c', image: 'i' }] } }, 'application/json'],
      ['a string for a struct', 'POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'agree' }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: 'pod' } }, 'application/json'],
      ['an object for a list', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree' }, spec: { containers: { name: 'c', image: 'i' } } }, 'application/json'],
      ['a string for a map, an array for a struct', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree', labels: 'a=b' }, spec: { securityContext: [], containers: [{ name: 'c', image: 'i' }] } }, 'application/json'],
      ['a number for a list item struct, a number in a string map', 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'agree', ownerReferences: [5] }, data: { a: 1 } }, 'application/json'],
      ['a number in a string map', 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'agree' }, data: { a: 1 } }, 'application/json'],
      ['a list for a string list item, a bool for a nested struct', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree' }, spec: { containers: [{ name: 'c', image: 'i', args: [['x']], resources: true }] } }, 'application/json'],
      ['any JSON where a CRD schema takes JSON (default, enum, additionalProperties: bool)', 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('anyjson', { a: { type: 'string', default: 'x', enum: ['x', 'y'] }, m: { type: 'object', additionalProperties: true, 'x-kubernetes-preserve-unknown-fields': true } }), 'application/json'],
      ['a string for a bool, a number for a string', 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agree' }, spec: { serviceAccountName: 5, hostNetwork: 'yes', containers: [{ name: 'c', image: 'i' }] } }, 'application/json'],
    ])('%s', async (_what, method, path, body, contentType) => {
      const [r, f] = await Promise.all([send(real, method, path, body, contentType), send({ url: fake.url }, method, path, body, contentType)]);
      expect(f).toEqual(r);
    });

    test('DELETE propagationPolicy=Foreground: 200 with the object kept (foregroundDeletion) until its blocking dependent is gone', async () => {
      const both = async (method: string, path: string, body?: unknown, contentType?: string): Promise<Answer[]> => Promise.all([send(real, method, path, body, contentType), send({ url: fake.url }, method, path, body, contentType)]);
      const cmPath = '/api/v1/namespaces/default/configmaps';
      for (const target of [real, { url: fake.url }]) {
        const owner = await sendRaw(target, 'POST', cmPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fg-owner' } });
        const uid = (owner.parsed['metadata'] as { uid: string }).uid;
        const dependent = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fg-dep', finalizers: ['agree.example.com/hold'], ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'fg-owner', uid, blockOwnerDeletion: true }] } };
        expect((await sendRaw(target, 'POST', cmPath, dependent)).code).toBe(201);
      }
      const [r, f] = await both('DELETE', `${cmPath}/fg-owner`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
      expect(r).toStrictEqual({ code: 200, object: { kind: 'ConfigMap', finalizers: ['foregroundDeletion'], deleting: true } });
      expect(f).toStrictEqual(r);
      // The garbage collectors delete the dependent, whose finalizer keeps it (and so the owner).
      const dependentDeleting = async (): Promise<boolean> => (await both('GET', `${cmPath}/fg-dep`)).every((a) => a.object?.deleting === true);
      await waitFor(async () => (await dependentDeleting()) || undefined, { timeoutMs: 30_000, what: 'the dependent deleted by both garbage collectors' });
      const [rOwner, fOwner] = await both('GET', `${cmPath}/fg-owner`);
      expect(rOwner).toStrictEqual({ code: 200, object: { kind: 'ConfigMap', finalizers: ['foregroundDeletion'], deleting: true } });
      expect(fOwner).toStrictEqual(rOwner);
      await both('PATCH', `${cmPath}/fg-dep`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
      const gone = await waitFor(async () => {
        const answers = await both('GET', `${cmPath}/fg-owner`);
        return answers.every((a) => a.code === 404) ? answers : undefined;
      }, { timeoutMs: 30_000, what: 'the owner gone on both servers once its dependent is' });
      expect(gone[1]).toStrictEqual(gone[0]);
    }, 60_000);

    test('PartialObjectMetadata (metadata-only informers): list and watch answer in the same form on both servers', async () => {
      const cmPath = '/api/v1/namespaces/default/configmaps';
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pom-a', labels: { agree: 'pom' }, annotations: { note: 'kept' } }, data: { big: 'x'.repeat(100) } };
      // Volatile values (uid, resourceVersion, times) differ between the servers; their presence does
      // not. fieldsV1 trees of Update entries are not the subject here (the test server leaves out
      // the "." member the real one records for maps a non-apply write created).
      const shape = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(shape)
          : typeof v === 'object' && v !== null
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, /^(uid|resourceVersion|creationTimestamp|time|fieldsV1)$/.test(k) ? typeof x : shape(x)]))
            : v;
      const answers = [];
      for (const target of [real, { url: fake.url }]) {
        expect((await sendRaw(target, 'POST', cmPath, cm)).code).toBe(201);
        const list = await sendRaw(target, 'GET', `${cmPath}?labelSelector=agree%3Dpom&limit=500`, undefined, undefined, ACCEPT_METADATA_LIST);
        const rv = (list.parsed['metadata'] as { resourceVersion: string }).resourceVersion;
        const event = await firstWatchEvent(target, `${cmPath}?watch=1&labelSelector=agree%3Dpom&allowWatchBookmarks=true&resourceVersion=${rv}`, ACCEPT_METADATA_WATCH, (e) => e.type === 'MODIFIED', () =>
          sendRaw(target, 'PATCH', `${cmPath}/pom-a`, { metadata: { labels: { edited: 'yes' } } }, 'application/merge-patch+json'),
        );
        if (event === undefined) throw new Error(`${target.url}: the watch ended before the MODIFIED event`);
        // A bookmark: the real watch cache may send one about 2 s before a watch's deadline (on a
        // 1 s timer, and without guarantees: runs of this file saw one in some watches and none in
        // others). Its form is compared when the real server sent one.
        const mark = await firstWatchEvent(target, `${cmPath}?watch=1&labelSelector=agree%3Dpom&allowWatchBookmarks=true&timeoutSeconds=4&resourceVersion=${rv}`, ACCEPT_METADATA_WATCH, (e) => e.type === 'BOOKMARK', async () => undefined);
        answers.push({
          list: { code: list.code, contentType: list.contentType, body: shape(list.parsed) },
          watch: { type: event.type, contentType: event.contentType, object: shape(event.object) },
          bookmark: mark === undefined ? undefined : { kind: mark.object['kind'], apiVersion: mark.object['apiVersion'], metadataKeys: Object.keys(mark.object['metadata'] as object).sort() },
        });
      }
      const [r, f] = answers;
      // The test server always sends the bookmark.
      expect(f!.bookmark).toStrictEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadataKeys: ['creationTimestamp', 'resourceVersion'] });
      if (r!.bookmark === undefined) f!.bookmark = undefined;
      expect(r!.list.body).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
      expect((r!.list.body as { items: unknown[] }).items[0]).not.toHaveProperty('data');
      expect(f).toStrictEqual(r);
    }, 60_000);
  });

  describe('chart scenarios', () => {
    beforeAll(async () => {
      await k(['create', 'namespace', 'monitoring']);
    });
    test.each(SCENARIOS)('%s passes kubectl apply --dry-run=server (or is refused only for a field newer than the server, or for the invalid fields of upstream\'s own values)', async (scenario) => {
      const { yaml, count, namespaces } = servedScenario(scenario);
      for (const ns of namespaces) {
        const c = await kr(['create', 'namespace', ns]);
        if (c.code !== 0 && !c.stderr.includes('AlreadyExists')) throw new Error(`kubectl create namespace ${ns}: ${c.stderr}`);
      }
      const r = await kr(['apply', '--dry-run=server', '-f', '-'], yaml);
      const invalid = INVALID_SCENARIOS.get(scenario);
      if (invalid !== undefined) {
        // Upstream's own values for this case are not valid objects; the refusal names exactly those fields.
        expect({ code: r.code === 0 ? 0 : 'refused', unknown: unknownFields(r.stderr) }).toStrictEqual({ code: 'refused', unknown: [...invalid].sort() });
        return;
      }
      const newer = NEWER_FIELDS[scenario];
      if (newer !== undefined && serverMinor < newer.minor) {
        // The chart README says which Kubernetes version the opt-in field needs; this server is older.
        expect(r.code).not.toBe(0);
        expect(r.stderr.match(/unknown field "[A-Za-z]+"/g)?.every((m) => m === `unknown field "${newer.field}"`)).toBe(true);
        return;
      }
      expect({ scenario, code: r.code, stderr: r.stderr.replace(/^Warning: .*\n/gm, '') }).toStrictEqual({ scenario, code: 0, stderr: '' });
      expect(r.stdout.trim().split('\n')).toHaveLength(count);
    }, 60_000);
  });

  describe("the chart's default config under the chart's default RBAC", () => {
    const ns = 'alloy-chart-default';
    const roles = ['endpoints', 'endpointslices', 'ingresses', 'nodes', 'pods', 'services'];
    let alloy: AlloyProc | undefined;
    afterAll(async () => {
      await alloy?.stop();
    });

    const health = async (base: string): Promise<Record<string, string>> => {
      const list = (await (await fetch(`${base}/api/v0/web/components`)).json()) as { localID: string; health: { state: string; message: string } }[];
      return Object.fromEntries(list.filter((c) => c.localID.startsWith('discovery.kubernetes.')).map((c) => [c.localID, `${c.health.state}: ${c.health.message}`]));
    };

    test("upstream's default config lists and watches every role with the chart ServiceAccount's token: forbidden before the ClusterRoleBinding, healthy after", async () => {
      await k(['create', 'namespace', ns]);
      const objects = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', ns])).map((m) => m.object);
      const pick = (...kinds: string[]): string => objects.filter((o) => kinds.includes(String(o['kind']))).map((o) => `---\n${stringify(o)}`).join('');
      const configMap = objects.find((o) => o['kind'] === 'ConfigMap') as { data: Record<string, string> };
      const config = configMap.data['config.alloy']!;
      expect(config.match(/^discovery\.kubernetes "/gm)).toHaveLength(roles.length);
      await k(['apply', '-n', ns, '-f', '-'], pick('ServiceAccount'));
      const token = (await k(['create', 'token', 'alloy', '-n', ns, '--duration=1h'])).trim();
      // In a pod each component connects in-cluster with this ServiceAccount's token; outside a
      // pod the same token comes through kubeconfig_file, the config being otherwise unchanged.
      const kubeconfig = cp.tokenKubeconfig('alloy', token);
      const local = config.replace(/^(\trole = "[a-z]+")$/gm, `$1\n\tkubeconfig_file = ${JSON.stringify(kubeconfig)}`);
      expect(local.match(/kubeconfig_file/g)).toHaveLength(roles.length);
      alloy = await startAlloy(fs.mkdtempSync(path.join(os.tmpdir(), 'chart-default-')), 'chart-default', local);
      const base = alloy.base;
      const all = (prefix: string) => async (): Promise<Record<string, string> | undefined> => {
        const h = await health(base);
        return roles.every((r) => h[`discovery.kubernetes.${r}`]?.startsWith(prefix)) ? h : undefined;
      };
      const forbidden = await until('every discovery.kubernetes component refused without the ClusterRoleBinding', all('unhealthy'), 30_000);
      expect(Object.values(forbidden).every((m) => /forbidden/i.test(m))).toBe(true);
      await k(['apply', '-n', ns, '-f', '-'], pick('ClusterRole', 'ClusterRoleBinding'));
      const healthy = await until('every discovery.kubernetes component healthy with the chart RBAC', all('healthy'), 60_000);
      expect(Object.keys(healthy).sort()).toStrictEqual(roles.map((r) => `discovery.kubernetes.${r}`));
    }, 120_000);
  });

  describe('operator with its own ServiceAccount and RBAC', () => {
    let op: OperatorProcess | undefined;
    const ns = 'alloy-system';
    const get = async (name: string): Promise<CollectorView> => JSON.parse(await k(['get', 'collector', name, '-n', ns, '-o', 'json'])) as CollectorView;

    beforeAll(async () => {
      // kustomize/base as a user applies it, without the operator Deployment (no kubelet here:
      // the operator runs as a local process with the Deployment's identity instead).
      const rendered = execFileSync(KUBECTL, ['kustomize', `${repoRoot()}/kustomize/base`], { encoding: 'utf8' });
      const docs = parseAllDocuments(rendered).map((d) => d.toJSON() as { kind: string }).filter((d) => d !== null && d.kind !== 'Deployment');
      await k(['apply', '--server-side', '--field-manager=journey', '-f', '-'], docs.map((d) => `---\n${JSON.stringify(d)}\n`).join(''));
      await k(['wait', '--for=condition=Established', 'crd/collectors.alloy.dev', '--timeout=60s']);
      const token = (await k(['create', 'token', 'alloy-operator', '-n', ns, '--duration=1h'])).trim();
      const kubeconfig = cp.tokenKubeconfig('alloy-operator', token);
      const who = JSON.parse(await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig }).catch(() => '{}')) as { status?: { userInfo?: { username?: string } } };
      if (who.status?.userInfo?.username !== undefined) expect(who.status.userInfo.username).toBe(`system:serviceaccount:${ns}:alloy-operator`);
      op = await startOperator(kubeconfig, ns, 'real-op');
    }, 120_000);
    afterAll(async () => {
      await op?.stop();
    });

    it('reconciles a Collector into its objects and status, config changes without a rollout, bad configs refused', async () => {
      await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'edge', namespace: ns }, spec: { replicas: 2, config: 'logging {\n  level = "info"\n}\n' } }));
      const sts = await waitFor(async () => {
        const r = await kr(['get', 'statefulset', 'edge', '-n', ns, '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as { metadata: { generation: number }; spec: { template: unknown } }) : undefined;
      }, { timeoutMs: 30_000, what: `StatefulSet edge (operator log: ${op!.logs().slice(-1500)})` });
      for (const kind of ['configmap', 'service', 'serviceaccount']) {
        const r = await kr(['get', kind, '-n', ns, '-l', 'app.kubernetes.io/instance=edge', '-o', 'name']);
        expect({ kind, code: r.code, found: r.stdout.trim() !== '' }).toEqual({ kind, code: 0, found: true });
      }
      const observed = await waitFor(async () => {
        const c = await get('edge');
        return c.status?.observedGeneration === c.metadata.generation && condition(c, 'ConfigValid')?.status === 'True' ? c : undefined;
      }, { timeoutMs: 30_000, what: 'status with observedGeneration and ConfigValid=True' });
      expect(observed.status?.configHash).toMatch(/^[0-9a-f]{64}$/);

      // Pods exist, so Pod Security "restricted" of the namespace admitted the operator's pod template.
      await waitFor(async () => (await k(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=edge', '-o', 'name'])).trim().split('\n').filter(Boolean).length === 2 || undefined, {
        timeoutMs: 30_000,
        what: `2 pods admitted (events: ${await k(['get', 'events', '-n', ns, '-o', 'custom-columns=R:.reason,M:.message']).catch(() => '')})`,
      });

      await k(['patch', 'collector', 'edge', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { config: 'logging {\n  level = "debug"\n}\n' } })]);
      await waitFor(async () => {
        const c = await get('edge');
        return c.status?.observedGeneration === c.metadata.generation && c.status?.configHash !== observed.status?.configHash ? c : undefined;
      }, { timeoutMs: 30_000, what: 'the new config hash in status' });
      const cm = JSON.parse(await k(['get', 'configmap', '-n', ns, '-l', 'app.kubernetes.io/instance=edge', '-o', 'json'])) as { items: Array<{ data: Record<string, string> }> };
      expect(Object.values(cm.items[0]!.data).join('')).toContain('level = "debug"');
      const after = JSON.parse(await k(['get', 'statefulset', 'edge', '-n', ns, '-o', 'json'])) as { metadata: { generation: number }; spec: { template: unknown } };
      expect(after.spec.template).toEqual(sts.spec.template);
      expect(after.metadata.generation).toBe(sts.metadata.generation);

      await k(['patch', 'collector', 'edge', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { config: 'logging {\n  level = \n}\n' } })]);
      const refused = await waitFor(async () => {
        const c = await get('edge');
        return condition(c, 'ConfigValid')?.status === 'False' ? c : undefined;
      }, { timeoutMs: 30_000, what: 'ConfigValid=False for a broken config' });
      expect(condition(refused, 'ConfigValid')?.message).toMatch(/\d+:\d+/);
      const cmAfter = JSON.parse(await k(['get', 'configmap', '-n', ns, '-l', 'app.kubernetes.io/instance=edge', '-o', 'json'])) as { items: Array<{ data: Record<string, string> }> };
      expect(Object.values(cmAfter.items[0]!.data).join('')).toContain('level = "debug"');

      expect(op!.logs()).not.toMatch(FORBIDDEN);
    }, 120_000);

    it('repairs drift of owned objects it caches as metadata only: an edited ConfigMap and StatefulSet are restored, a deleted Service re-created', async () => {
      const config = 'logging {\n  level = "warn"\n}\n';
      await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name: 'drift', namespace: ns }, spec: { replicas: 1, config } }));
      const cmData = async (): Promise<string | undefined> => {
        const r = await kr(['get', 'configmap', 'drift-config', '-n', ns, '-o', 'json']);
        return r.code === 0 ? (JSON.parse(r.stdout) as { data?: Record<string, string> }).data?.['config.alloy'] : undefined;
      };
      await waitFor(async () => ((await cmData()) === config && (await kr(['get', 'service', 'drift', '-n', ns])).code === 0) || undefined, { timeoutMs: 30_000, what: `ConfigMap and Service of drift (operator log: ${op!.logs().slice(-1500)})` });
      await waitFor(async () => (await get('drift')).status?.observedGeneration === 1 || undefined, { timeoutMs: 30_000, what: 'status of drift' });

      await k(['patch', 'configmap', 'drift-config', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { 'config.alloy': 'edited by hand' } })]);
      await waitFor(async () => (await cmData()) === config || undefined, { timeoutMs: 30_000, what: 'the ConfigMap restored' });

      const uid = (JSON.parse(await k(['get', 'service', 'drift', '-n', ns, '-o', 'json'])) as { metadata: { uid: string } }).metadata.uid;
      await k(['delete', 'service', 'drift', '-n', ns, '--wait=true']);
      await waitFor(async () => {
        const r = await kr(['get', 'service', 'drift', '-n', ns, '-o', 'json']);
        return r.code === 0 && (JSON.parse(r.stdout) as { metadata: { uid: string } }).metadata.uid !== uid ? true : undefined;
      }, { timeoutMs: 30_000, what: 'the Service re-created' });

      await k(['patch', 'statefulset', 'drift', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
      await waitFor(async () => (JSON.parse(await k(['get', 'statefulset', 'drift', '-n', ns, '-o', 'json'])) as { spec: { replicas: number } }).spec.replicas === 1 || undefined, {
        timeoutMs: 30_000,
        what: 'the StatefulSet replicas restored',
      });
      expect(op!.logs()).not.toMatch(FORBIDDEN);
    }, 120_000);

    it('a collector with its Collector ServiceAccount token works with the derived RBAC and reports a clear 403 without it', async () => {
      const discovery = (extra: string): string => `discovery.kubernetes "pods" {\n  role = "pod"\n${extra}  namespaces {\n    names = ["${ns}"]\n  }\n}\n`;
      // Same config in both Collectors; `rbac.discovery: none` withholds the derived grant.
      for (const [name, rbac] of [['granted', 'auto'], ['withheld', 'none']] as const) {
        await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'alloy.dev/v1alpha1', kind: 'Collector', metadata: { name, namespace: ns }, spec: { replicas: 1, config: discovery(''), rbac: { discovery: rbac } } }));
      }
      const role = await waitFor(async () => {
        const r = await kr(['get', 'role', '-n', ns, '-l', 'app.kubernetes.io/instance=granted', '-o', 'json']);
        const items = r.code === 0 ? (JSON.parse(r.stdout) as { items: Array<{ rules: Array<{ resources: string[]; verbs: string[] }> }> }).items : [];
        return items.length > 0 ? items[0] : undefined;
      }, { timeoutMs: 30_000, what: `the derived Role of Collector granted (operator log: ${op!.logs().slice(-1500)})` });
      expect(role.rules).toEqual([expect.objectContaining({ resources: ['pods'], verbs: ['get', 'list', 'watch'] })]);
      await waitFor(async () => (await kr(['get', 'serviceaccount', 'withheld', '-n', ns])).code === 0 || undefined, { timeoutMs: 30_000, what: 'ServiceAccount withheld' });
      expect((await k(['get', 'role,rolebinding', '-n', ns, '-l', 'app.kubernetes.io/instance=withheld', '-o', 'name'])).trim()).toBe('');

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-rbac-'));
      const procs: AlloyProc[] = [];
      try {
        const health = async (name: string): Promise<{ state: string; message: string }> => {
          const token = (await k(['create', 'token', name, '-n', ns, '--duration=10m'])).trim();
          const kubeconfig = cp.tokenKubeconfig(`collector-${name}`, token);
          // The pod's in-cluster identity, outside a pod: the same token through kubeconfig_file.
          const proc = await startAlloy(dir, name, discovery(`  kubeconfig_file = ${JSON.stringify(kubeconfig)}\n`));
          procs.push(proc);
          return waitFor(async () => {
            const r = await fetch(`${proc.base}/api/v0/web/components/discovery.kubernetes.pods`);
            const h = ((await r.json()) as { health: { state: string; message: string } }).health;
            return h.state === 'healthy' || /403/.test(h.message) ? h : undefined;
          }, { timeoutMs: 30_000, what: `discovery health of collector ${name} (log: ${proc.output().slice(-1000)})` });
        };
        const granted = await health('granted');
        expect(granted.state).toBe('healthy');
        const withheld = await health('withheld');
        expect(withheld.state).toBe('unhealthy');
        expect(withheld.message).toContain('403 Forbidden');
        expect(withheld.message).toContain(`User "system:serviceaccount:${ns}:withheld" cannot list resource "pods" in API group "" in the namespace "${ns}"`);
      } finally {
        for (const p of procs) await p.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
});
