/**
 * The machine's real kubectl (v1.32) driven verb by verb against a cluster, the same journey on
 * the test API server's dev cluster (`kubectl.test.ts`) and on the real kube-apiserver
 * (`e2e/real-apiserver/journeys.e2e.ts`): apply (client- and server-side), get/describe/explain,
 * rollout status and wait against the cluster's own controllers, generators, CRDs with printer
 * columns and the scale subresource, logs of running pods, delete with garbage collection.
 * Everything happens in the journey's own namespace (the context's namespace of a kubeconfig
 * copy), so its outputs read as in `default`. The workload images (`nginx`, `busybox`) run as an
 * idle `sleep` on our kubelet (`kubectlImageRules`); pods whose logs are read run `harness/node`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestCluster } from '../harness/cluster.js';
import type { JourneyEnv } from '../harness/journey.test-support.js';
import { KUBECTL } from '../harness/kubectl.js';
import { repoRoot } from '../harness/paths.js';
import { waitFor } from '../harness/wait.js';
import { defaultImageRules, nodeImageRule, reloaderImageRules, type ImageRule } from '../kubelet/image-map.js';

/** The cluster's image rules for this journey: the defaults plus `nginx` and `busybox` as an idle process that stops on SIGTERM. */
export function kubectlImageRules(): ImageRule[] {
  const idle: ImageRule = {
    description: 'nginx, busybox (kubectl journey: an idle sleep)',
    matches: (repo) => repo === 'nginx' || repo === 'busybox',
    entrypoint: ['sleep', 'infinity'],
    binaries: { sleep: '/bin/sleep', echo: '/bin/echo' },
  };
  return [...defaultImageRules(repoRoot()), ...reloaderImageRules(repoRoot()), nodeImageRule(), idle];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const STS = (image: string, replicas: number): string => `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  labels: {team: obs}
spec:
  serviceName: web
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: ${image}
        ports: [{containerPort: 8080, name: http}]
      - name: sidecar
        image: busybox:1.36
`;

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: pipelines.obs.example.com
spec:
  group: obs.example.com
  scope: Namespaced
  names: {plural: pipelines, singular: pipeline, kind: Pipeline, shortNames: [pl]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [replicas]
            properties:
              replicas: {type: integer, minimum: 1}
              mode: {type: string, enum: [push, pull], default: push}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: {type: string}
                    status: {type: string}
`;

/** Prints three lines (prefixed with `$PREFIX`) and idles; exits on SIGTERM. */
const LOGGER = "for (const l of ['line one', 'line two', 'line three']) console.log((process.env.PREFIX || '') + l); setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));";

export function kubectlJourney(env: JourneyEnv): void {
  describe('kubectl, verb by verb', () => {
    let cluster: TestCluster;
    let ns: string;
    let dir: string;
    let kubeconfig: string;

    beforeAll(async () => {
      cluster = env.cluster();
      ns = await cluster.namespace('kubectl');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-e2e-'));
      kubeconfig = path.join(dir, 'kubeconfig');
      fs.copyFileSync(cluster.kubeconfig, kubeconfig);
      await ok(['config', 'set-context', '--current', `--namespace=${ns}`]);
    });

    afterAll(async () => {
      if (ns !== undefined) await cluster.dropNamespace(ns);
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Runs kubectl with the journey's kubeconfig; `onStderr` sees stderr as it arrives. */
    function kubectl(args: string[], input?: string, onStderr?: (all: string) => void): Promise<Run> {
      return new Promise((resolve, reject) => {
        const child = spawn(KUBECTL, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          onStderr?.(stderr);
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? 1, stdout, stderr });
        });
        child.stdin.on('error', () => undefined); // EPIPE when kubectl exits before reading stdin
        child.stdin.end(input ?? '');
      });
    }

    async function ok(args: string[], input?: string): Promise<string> {
      const r = await kubectl(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    }

    /**
     * Starts a kubectl command that waits on a watch (`wait`, `rollout status`) with `-v=6`, and
     * resolves `watching` once kubectl's own log shows its watch request answered; `done` is the
     * run with those log lines removed from stderr.
     */
    function watchingKubectl(args: string[]): { watching: Promise<void>; done: Promise<Run> } {
      let seen: () => void = () => undefined;
      const watching = new Promise<void>((resolve) => (seen = resolve));
      const done = kubectl([...args, '-v=6'], undefined, (all) => {
        if (/ (GET|WATCH) https?:\/\/\S+[?&]watch=true\S* 200 OK/.test(all)) seen();
      }).then((r) => ({ ...r, stderr: r.stderr.split('\n').filter((l) => !/^[IW]\d{4} /.test(l)).join('\n') }));
      return {
        watching: Promise.race([watching, done.then((r) => Promise.reject(new Error(`kubectl ${args.join(' ')} ended before watching: ${r.stdout}${r.stderr}`)))]),
        done,
      };
    }

    function write(name: string, text: string): string {
      const p = path.join(dir, name);
      fs.writeFileSync(p, text);
      return p;
    }

    test('get namespaces prints the default ones as a table', async () => {
      const out = await ok(['get', 'namespaces']);
      expect(out).toMatch(/^NAME\s+STATUS\s+AGE/);
      expect(out).toMatch(/^default\s+Active/m);
      expect(out).toMatch(/^kube-system\s+Active/m);
    });

    test('client-side apply creates, re-apply with changes configures and merges containers by name', async () => {
      const f = write('sts.yaml', STS('nginx:1.25', 2));
      expect(await ok(['apply', '-f', f])).toBe('service/web created\nstatefulset.apps/web created\n');
      const f2 = write('sts2.yaml', STS('nginx:1.27', 3));
      expect(await ok(['apply', '-f', f2])).toBe('service/web unchanged\nstatefulset.apps/web configured\n');
      const images = await ok(['get', 'statefulset', 'web', '-o', 'jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}']);
      expect(images.trim()).toBe('app=nginx:1.27 sidecar=busybox:1.36');
      expect(await ok(['get', 'sts', 'web', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}'])).toBe('3 2');
      const svc = JSON.parse(await ok(['get', 'service', 'web', '-o', 'json'])) as { spec: { clusterIP: string } };
      expect(svc.spec.clusterIP).toBe('None');
      expect(await ok(['apply', '-f', f2])).toBe('service/web unchanged\nstatefulset.apps/web unchanged\n');
    });

    test('get -o yaml and describe show the object', async () => {
      const yaml = await ok(['get', 'statefulset', 'web', '-o', 'yaml']);
      expect(yaml).toContain('kind: StatefulSet');
      expect(yaml).toContain('kubectl.kubernetes.io/last-applied-configuration');
      const desc = await ok(['describe', 'statefulset', 'web']);
      expect(desc).toMatch(/^Name:\s+web$/m);
      expect(desc).toMatch(/Replicas:\s+3 desired/);
      expect(desc).toContain('nginx:1.27');
    });

    test('rollout status waits for the controller to report the new generation ready', async () => {
      // A template change rolls the 3 pods one by one (StatefulSet controller and kubelet of the cluster).
      await ok(['patch', 'statefulset', 'web', '--type=merge', '-p', '{"spec":{"template":{"metadata":{"annotations":{"example.com/rev":"2"}}}}}']);
      const gen = Number(await ok(['get', 'sts', 'web', '-o', 'jsonpath={.metadata.generation}']));
      const rollout = watchingKubectl(['rollout', 'status', 'statefulset/web', '--timeout=90s']);
      await rollout.watching;
      const r = await rollout.done;
      expect(r.stderr.trim()).toBe('');
      expect(r.code).toBe(0);
      // It watched while the rollout was partial, then saw the whole new revision ready.
      expect(r.stdout).toMatch(/^Waiting for /m);
      expect(r.stdout).toContain('roll out complete: 3 new pods have been updated');
      const status = JSON.parse(await ok(['get', 'sts', 'web', '-o', 'jsonpath={.status}'])) as { observedGeneration: number; readyReplicas: number; updatedReplicas: number; currentRevision: string; updateRevision: string };
      expect(status).toMatchObject({ observedGeneration: gen, readyReplicas: 3, updatedReplicas: 3, currentRevision: status.updateRevision });
      expect(await ok(['get', 'sts', 'web'])).toMatch(/^web\s+3\/3\s+/m);
    });

    test('server-side apply: conflict between two field managers, then --force-conflicts', async () => {
      const mine = write('ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  level: info\n  owner: ops\n');
      expect(await ok(['apply', '--server-side', '-f', mine])).toBe('configmap/shared serverside-applied\n');
      const theirs = write('ssa2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  level: debug\n');
      const c = await kubectl(['apply', '--server-side', '--field-manager=tuner', '-f', theirs]);
      expect(c.code).not.toBe(0);
      expect(c.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .data.level\n');
      expect(await ok(['apply', '--server-side', '--field-manager=tuner', '--force-conflicts', '-f', theirs])).toBe('configmap/shared serverside-applied\n');
      expect(await ok(['get', 'cm', 'shared', '-o', 'jsonpath={.data.level},{.data.owner}'])).toBe('debug,ops');
      const managers = JSON.parse(await ok(['get', 'cm', 'shared', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields}'])) as { manager: string; fieldsV1: Record<string, Record<string, unknown>> }[];
      expect(Object.fromEntries(managers.map((m) => [m.manager, Object.keys(m.fieldsV1['f:data']!)]))).toEqual({ kubectl: ['f:owner'], tuner: ['f:level'] });
    });

    test('server-side apply takes over from client-side apply without conflicts', async () => {
      const v1 = write('takeover.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: takeover\ndata:\n  level: info\n');
      await ok(['apply', '-f', v1]);
      const v2 = write('takeover2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: takeover\ndata:\n  level: warn\n');
      expect(await ok(['apply', '--server-side', '-f', v2])).toBe('configmap/takeover serverside-applied\n');
      expect(await ok(['get', 'cm', 'takeover', '-o', 'jsonpath={.data.level}'])).toBe('warn');
      const managers = await ok(['get', 'cm', 'takeover', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields[*].manager}']);
      expect(managers.split(' ')).toContain('kubectl');
    });

    test('auth can-i and whoami are answered', async () => {
      expect(await ok(['auth', 'can-i', 'create', 'statefulsets'])).toBe('yes\n');
      if (env.apiserver === 'test') {
        expect(await ok(['auth', 'whoami'])).toMatch(/Username\s+system:admin/);
      } else {
        // SelfSubjectReview is served from Kubernetes 1.26 (alpha, off) / 1.28 (GA); the real server here is v1.24.
        const r = await kubectl(['auth', 'whoami']);
        expect([r.code, r.stderr]).toStrictEqual([1, expect.stringContaining('error: the selfsubjectreviews API is not enabled in the cluster')]);
      }
    });

    test('an invalid manifest is rejected with an error naming the field', async () => {
      const bad = write('bad.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: bad}}\n  template:\n    metadata: {labels: {app: bad}}\n    spec:\n      containers: [{name: c, image: x, imagePullPolicy: Sometimes}]\n');
      const r = await kubectl(['apply', '-f', bad]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"');
      const unknown = write('unknown.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndatta:\n  a: b\n');
      const u = await kubectl(['apply', '-f', unknown]);
      expect(u.code).not.toBe(0);
      expect(u.stderr).toContain('unknown field "datta"');
    });

    test('create configmap --from-file', async () => {
      const f = write('alloy.river', 'logging {\n  level = "info"\n}\n');
      expect(await ok(['create', 'configmap', 'alloy-config', `--from-file=config.alloy=${f}`])).toBe('configmap/alloy-config created\n');
      expect(await ok(['get', 'configmap', 'alloy-config', '-o', 'jsonpath={.data.config\\.alloy}'])).toBe('logging {\n  level = "info"\n}\n');
      expect(await ok(['get', 'configmap', 'alloy-config'])).toMatch(/^alloy-config\s+1\s+/m);
    });

    test('kubectl create generators (protobuf bodies) create defaulted objects', async () => {
      expect(await ok(['create', 'deployment', 'gen-web', '--image=nginx:1.25', '--replicas=0', '--port=8080'])).toBe('deployment.apps/gen-web created\n');
      const dep = JSON.parse(await ok(['get', 'deployment', 'gen-web', '-o', 'json'])) as { spec: { replicas: number; strategy: { type: string }; template: { spec: { containers: { ports: { containerPort: number; protocol: string }[] }[] } } } };
      expect(dep.spec.replicas).toBe(0);
      expect(dep.spec.strategy.type).toBe('RollingUpdate');
      expect(dep.spec.template.spec.containers[0]!.ports[0]).toEqual({ containerPort: 8080, protocol: 'TCP' });
      expect(await ok(['create', 'service', 'clusterip', 'gen-svc', '--tcp=80:8080'])).toBe('service/gen-svc created\n');
      expect(await ok(['get', 'svc', 'gen-svc', '-o', 'jsonpath={.spec.ports[0].targetPort} {.spec.clusterIP}'])).toMatch(/^8080 10\.96\.\d+\.\d+$/);
      expect(await ok(['create', 'job', 'gen-job', '--image=busybox:1.36', '--', 'echo', 'hi'])).toBe('job.batch/gen-job created\n');
      expect(await ok(['get', 'job', 'gen-job', '-o', 'jsonpath={.spec.template.spec.containers[0].command}'])).toBe('["echo","hi"]');
      await ok(['create', 'role', 'gen-role', '--verb=get,list', '--resource=pods']);
      await ok(['create', 'rolebinding', 'gen-rb', '--role=gen-role', '--serviceaccount=default:default']);
      expect(await ok(['get', 'rolebinding', 'gen-rb', '-o', 'jsonpath={.roleRef.name} {.subjects[0].kind}'])).toBe('gen-role ServiceAccount');
      expect((await ok(['create', 'token', 'default'])).split('.')).toHaveLength(3);
    });

    test('apply a CRD, wait for it to be established, then apply and get a custom resource', async () => {
      expect(await ok(['apply', '-f', write('crd.yaml', CRD)])).toBe('customresourcedefinition.apiextensions.k8s.io/pipelines.obs.example.com created\n');
      expect(await ok(['wait', '--for=condition=established', '--timeout=10s', 'crd/pipelines.obs.example.com'])).toContain('condition met');
      const cr = write('cr.yaml', 'apiVersion: obs.example.com/v1alpha1\nkind: Pipeline\nmetadata:\n  name: main\nspec:\n  replicas: 2\n');
      expect(await ok(['apply', '-f', cr])).toBe('pipeline.obs.example.com/main created\n');
      expect(await ok(['get', 'pl', 'main', '-o', 'jsonpath={.spec.mode}'])).toBe('push');
      // Declared printer columns replace the default Age column.
      expect(await ok(['get', 'pipelines'])).toMatch(/^NAME\s+REPLICAS\s+READY\nmain\s+2\s*\n$/);
      const invalid = await kubectl(['apply', '-f', write('cr-bad.yaml', 'apiVersion: obs.example.com/v1alpha1\nkind: Pipeline\nmetadata:\n  name: bad\nspec:\n  replicas: 0\n')]);
      expect(invalid.stderr).toContain('spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1');
    });

    test('kubectl scale uses the custom resource scale subresource', async () => {
      expect(await ok(['scale', 'pipeline/main', '--replicas=4'])).toBe('pipeline.obs.example.com/main scaled\n');
      expect(await ok(['get', 'pipeline', 'main', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}'])).toBe('4 2');
      const invalid = await kubectl(['scale', 'pipeline/main', '--replicas=-1']);
      expect(invalid.code).not.toBe(0);
    });

    test('wait --for=condition on a custom resource and --for=delete', async () => {
      const waiting = watchingKubectl(['wait', '--for=condition=Ready', '--timeout=30s', 'pipeline/main']);
      await waiting.watching;
      await ok(['patch', 'pipeline', 'main', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True' }] } })]);
      const w = await waiting.done;
      expect(w.stdout).toBe('pipeline.obs.example.com/main condition met\n');
      expect(await ok(['get', 'pipelines'])).toMatch(/^main\s+4\s+True\s+/m);
      await ok(['patch', 'pipeline', 'main', '--type=merge', '-p', '{"metadata":{"finalizers":["obs.example.com/cleanup"]}}']);
      expect(await ok(['delete', 'pipeline', 'main', '--wait=false'])).toBe('pipeline.obs.example.com "main" deleted\n');
      const gone = watchingKubectl(['wait', '--for=delete', '--timeout=30s', 'pipeline/main']);
      await gone.watching;
      expect(await ok(['get', 'pipeline', 'main', '-o', 'jsonpath={.metadata.finalizers}'])).toBe('["obs.example.com/cleanup"]');
      await ok(['patch', 'pipeline', 'main', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
      const g = await gone.done;
      expect(g.code).toBe(0);
      expect(g.stdout).toContain('pipeline.obs.example.com/main condition met');
    });

    test("logs are the running container's output, through the kubelet", async () => {
      await ok(['run', 'logger', '--image=harness/node', '--restart=Never', '--env=PREFIX=logger: ', '--command', '--', 'node', '-e', LOGGER]);
      const logsOf = async (args: string[], want: string): Promise<string> =>
        waitFor(async () => {
          const r = await kubectl(['logs', ...args]);
          if (r.stdout !== want) throw new Error(`kubectl logs ${args.join(' ')}: ${JSON.stringify(r.stdout)} ${r.stderr}`);
          return r.stdout;
        }, { timeoutMs: 60_000, intervalMs: 250, what: `kubectl logs ${args.join(' ')}` });
      expect(await logsOf(['logger'], 'logger: line one\nlogger: line two\nlogger: line three\n')).toBe('logger: line one\nlogger: line two\nlogger: line three\n');
      expect(await ok(['logs', 'logger', '--tail=1'])).toBe('logger: line three\n');
      const container = (name: string) => ({ name, image: 'harness/node', command: ['node', '-e', LOGGER], env: [{ name: 'PREFIX', value: `${name}: ` }] });
      await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'two' }, spec: { containers: [container('a'), container('b')] } }));
      expect(await logsOf(['two', '-c', 'b'], 'b: line one\nb: line two\nb: line three\n')).toBe('b: line one\nb: line two\nb: line three\n');
      expect(await logsOf(['two', '-c', 'a', '--tail=2'], 'a: line two\na: line three\n')).toBe('a: line two\na: line three\n');
    });

    test('delete removes objects, and garbage collection removes dependents', async () => {
      const uid = await ok(['get', 'sts', 'web', '-o', 'jsonpath={.metadata.uid}']);
      const owned = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-owned\n  ownerReferences:\n  - {apiVersion: apps/v1, kind: StatefulSet, name: web, uid: ${uid}, controller: true, blockOwnerDeletion: true}\n`;
      await ok(['apply', '-f', write('owned.yaml', owned)]);
      expect(await ok(['delete', 'statefulset', 'web'])).toBe('statefulset.apps "web" deleted\n');
      expect((await kubectl(['get', 'statefulset', 'web'])).stderr).toContain('statefulsets.apps "web" not found');
      await ok(['wait', '--for=delete', '--timeout=10s', 'configmap/web-owned']);
      expect((await kubectl(['get', 'configmap', 'web-owned'])).stderr).toContain('configmaps "web-owned" not found');
      expect(await ok(['delete', '-f', write('sts-del.yaml', STS('nginx:1.27', 3)), '--ignore-not-found'])).toBe('service "web" deleted\n');
    });

    test('get -o json lists and explain reads the OpenAPI document', async () => {
      const list = JSON.parse(await ok(['get', 'configmaps', '-o', 'json'])) as { kind: string; items: { metadata: { name: string } }[] };
      expect(list.kind).toBe('List');
      expect(list.items.map((i) => i.metadata.name)).toEqual(expect.arrayContaining(['alloy-config', 'shared']));
      // kubectl reads /openapi/v3 where served (the test server; Kubernetes >= 1.27 by default) and
      // falls back to /openapi/v2 with its older layout (the v1.24 real server).
      const v3 = env.apiserver === 'test';
      const explain = await ok(['explain', 'pipeline.spec']);
      expect(explain).toContain(v3 ? 'KIND:       Pipeline' : 'KIND:     Pipeline\nVERSION:  obs.example.com/v1alpha1');
      expect(explain).toMatch(/replicas\s+<integer> -required-/);
      expect(explain).toMatch(/mode\s+<string>/);
      const builtin = await ok(['explain', 'statefulset.spec.template.spec.containers.ports']);
      expect(builtin).toContain(v3 ? 'FIELD: ports <[]ContainerPort>' : 'RESOURCE: ports <[]Object>');
      expect(builtin).toContain('ContainerPort represents a network port in a single container.');
      expect(builtin).toMatch(/containerPort\s+<integer> -required-/);
    });
  });
}
