/**
 * The alloy chart: every ci/*-values.yaml scenario renders, matches its golden file, passes the
 * Kubernetes OpenAPI schemas and Pod Security "restricted"; the docs' snippets produce what the
 * docs promise; bad values fail naming the key and the fix; README and the CRD copy never drift.
 * UPDATE_GOLDEN=1 rewrites golden files and README instead of comparing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { findObject, helmTemplate, helmTemplateOk, parseManifests, REPO_ROOT, type RenderedManifest, rendererAvailable } from '../../tools/helm-template/helm-template.js';
import { validateObject } from './openapi.js';

type Json = Record<string, unknown>;

function podSpecOf(object: Json): Json | undefined {
  return podSpecsOf(object)[0]?.spec;
}
import { checkPodSpec, checkRestricted, podSpecsOf } from '../../operator/src/pod-security/restricted.js';
import { generateReadme } from './readme.js';
import { LEADER_ELECTION_RULES, OPERATOR_CLUSTER_RULES } from '../../operator/src/rbac/operator-rbac.js';
import { stringify } from 'yaml';
import { defaultRegistry } from '../../collector/src/component/registry.js';
import { validateConfig } from '../../collector/src/runtime/index.js';

const CHART_DIR = path.join(REPO_ROOT, 'charts/alloy');
const GOLDEN_DIR = path.join(REPO_ROOT, 'charts/alloy-golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
const SCENARIOS = fs.readdirSync(path.join(CHART_DIR, 'ci')).filter((f) => f.endsWith('-values.yaml')).sort();

const run = rendererAvailable('chart tests') ? describe : describe.skip;

function render(valuesFile: string | undefined, extra: readonly string[] = []): RenderedManifest[] {
  const args = ['alloy', 'charts/alloy', '--namespace', 'monitoring', ...(valuesFile ? ['-f', valuesFile] : []), ...extra];
  return parseManifests(helmTemplateOk(args));
}

function renderYaml(values: string, extra: readonly string[] = []): RenderedManifest[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloy-values-'));
  const file = path.join(dir, 'values.yaml');
  fs.writeFileSync(file, values);
  return render(file, extra);
}

function pod(manifests: readonly RenderedManifest[]): Json {
  const workload = manifests.find((m) => ['DaemonSet', 'Deployment', 'StatefulSet'].includes(String(m.object['kind'])) && m.object['metadata'] !== undefined && (m.object['metadata'] as Json)['name'] === 'alloy');
  if (!workload) throw new Error('no alloy workload rendered');
  return podSpecOf(workload.object)!;
}

function container(spec: Json, name: string): Json {
  const c = (spec['containers'] as Json[]).find((x) => x['name'] === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

/** Docs snippet lifted verbatim from the user's documentation. */
const DOCS_CONTENT = '// Write your Alloy config here:\nlogging {\n  level = "info"\n  format = "logfmt"\n}';

run('chart scenarios (ci/*-values.yaml)', () => {
  test.each(SCENARIOS)('%s renders, matches its golden file, passes OpenAPI and Pod Security restricted', async (scenario) => {
    // --include-crds: what `helm install` applies (crds/ of the chart and its enabled subcharts first).
    const out = helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--include-crds', '-f', `charts/alloy/ci/${scenario}`]);
    const golden = path.join(GOLDEN_DIR, scenario.replace(/-values\.yaml$/, '.yaml'));
    if (UPDATE) {
      fs.mkdirSync(GOLDEN_DIR, { recursive: true });
      fs.writeFileSync(golden, out);
    } else {
      expect(fs.existsSync(golden)).toBe(true);
      expect(out).toBe(fs.readFileSync(golden, 'utf8'));
    }
    const manifests = parseManifests(out);
    expect(manifests.length).toBeGreaterThan(0);
    for (const m of manifests) {
      const result = await validateObject(m.object);
      if (result.checked) expect({ source: m.source, kind: m.object['kind'], errors: result.errors }).toStrictEqual({ source: m.source, kind: m.object['kind'], errors: [] });
      else expect(['ServiceMonitor', 'Collector']).toContain(m.object['kind']);
      expect({ source: m.source, violations: checkRestricted([m.object]) }).toStrictEqual({ source: m.source, violations: [] });
    }
    const spec = pod(manifests);
    const names = (spec['containers'] as Json[]).map((c) => c['name']);
    expect(names[0]).toBe('alloy');
    expect(names).toContain('config-reloader');
    // The config is a ConfigMap mounted as a directory, never with subPath, so updates reach pods.
    const mount = (container(spec, 'alloy')['volumeMounts'] as Json[]).find((v) => v['name'] === 'config');
    expect(mount).toStrictEqual({ name: 'config', mountPath: '/etc/alloy', readOnly: true });
  });

  test('crds.create (default true, as upstream) installs the PodLogs CRD through the crds subchart; false omits it', () => {
    const crds = (args: string[]): unknown[] =>
      parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--include-crds', ...args])).filter((m) => m.object['kind'] === 'CustomResourceDefinition').map((m) => (m.object['metadata'] as Json)['name']);
    expect(crds([])).toStrictEqual(['podlogs.monitoring.grafana.com']);
    expect(crds(['--set', 'crds.create=false'])).toStrictEqual([]);
  });

  test('the golden directory holds exactly one file per scenario', () => {
    const expected = SCENARIOS.map((s) => s.replace(/-values\.yaml$/, '.yaml')).sort();
    expect(fs.readdirSync(GOLDEN_DIR).filter((f) => f !== 'README.md').sort()).toStrictEqual(expected);
  });
});

run('docs snippets', () => {
  test('the docs chart reference `grafana/alloy` resolves to this chart (`helm upgrade --namespace <NAMESPACE> <RELEASE_NAME> grafana/alloy -f <VALUES_PATH>`)', () => {
    // Pinned to the stand-in: real helm resolves `grafana/` through `helm repo add`.
    const viaRepo = helmTemplateOk(['--namespace', 'monitoring', 'alloy', 'grafana/alloy', '-f', 'charts/alloy/ci/config-content-values.yaml'], { standIn: true });
    expect(viaRepo).toBe(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '-f', 'charts/alloy/ci/config-content-values.yaml'], { standIn: true }));
  });

  test('clustering: statefulset + alloy.clustering.enabled renders the headless service and --cluster.* flags', () => {
    const m = render('charts/alloy/ci/clustering-values.yaml');
    const svc = findObject(m, 'Service', 'alloy-cluster') as { spec: Json };
    expect(svc.spec['clusterIP']).toBe('None');
    expect(svc.spec['publishNotReadyAddresses']).toBe(true);
    expect(findObject(m, 'StatefulSet', 'alloy')).toBeDefined();
    const args = container(pod(m), 'alloy')['args'] as string[];
    expect(args).toEqual(expect.arrayContaining(['--cluster.enabled=true', '--cluster.join-addresses=alloy-cluster']));
  });

  test('alloy.configMap.content with a logging block becomes config.alloy verbatim', () => {
    const m = render('charts/alloy/ci/config-content-values.yaml');
    const cm = findObject(m, 'ConfigMap', 'alloy') as { data: Record<string, string> };
    expect(cm.data).toStrictEqual({ 'config.alloy': DOCS_CONTENT });
    expect((container(pod(m), 'alloy')['args'] as string[]).slice(0, 2)).toStrictEqual(['run', '/etc/alloy/config.alloy']);
  });

  test('alloy.configMap.create: false uses the ConfigMap made by `kubectl create configmap … --from-file`', () => {
    const m = render('charts/alloy/ci/existing-config-values.yaml');
    expect(m.filter((x) => x.object['kind'] === 'ConfigMap')).toStrictEqual([]);
    const spec = pod(m);
    expect((spec['volumes'] as Json[]).find((v) => v['name'] === 'config')).toStrictEqual({ name: 'config', configMap: { name: 'alloy-config' } });
    expect((container(spec, 'alloy')['args'] as string[])[1]).toBe('/etc/alloy/config.alloy');
    // The docs' kubectl command, run verbatim (client-side dry run), makes exactly that name and key.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloy-cm-'));
    fs.writeFileSync(path.join(dir, 'config.alloy'), DOCS_CONTENT);
    const kubectl = spawnSync('kubectl', ['create', 'configmap', '--namespace', 'monitoring', 'alloy-config', '--from-file=config.alloy=./config.alloy', '--dry-run=client', '-o', 'yaml'], { cwd: dir, encoding: 'utf8' });
    if (kubectl.error !== undefined) {
      if (process.env['CI'] === 'true') throw new Error('kubectl is not on PATH');
      console.warn('kubectl missing: skipped the kubectl create configmap half of this test');
      return;
    }
    expect(kubectl.stderr).toBe('');
    const cm = parse(kubectl.stdout) as { metadata: { name: string }; data: Record<string, string> };
    expect(cm.metadata.name).toBe('alloy-config');
    expect(Object.keys(cm.data)).toStrictEqual(['config.alloy']);
  });

  test('alloy.configMap.content and extraObjects pass through tpl, as upstream documents', () => {
    const m = renderYaml(
      'alloy:\n  configMap:\n    content: |-\n      logging {\n        level = "{{ .Values.logLevel }}"\n      }\nlogLevel: warn\nextraObjects:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: "{{ .Release.Name }}-creds"\n    stringData:\n      token: abc\n',
    );
    expect((findObject(m, 'ConfigMap', 'alloy') as { data: Record<string, string> }).data['config.alloy']).toBe('logging {\n  level = "warn"\n}');
    expect(findObject(m, 'Secret', 'alloy-creds')).toMatchObject({ stringData: { token: 'abc' } });
  });

  test('alloy.secret: an existing or created Secret replaces the ConfigMap as the config source', () => {
    const existing = render('charts/alloy/ci/existing-secret-values.yaml');
    expect(existing.filter((m) => ['ConfigMap', 'Secret'].includes(String(m.object['kind'])))).toStrictEqual([]);
    const spec = pod(existing);
    expect((spec['volumes'] as Json[]).find((v) => v['name'] === 'config')).toStrictEqual({ name: 'config', secret: { secretName: 'existing-secret' } });
    expect((container(spec, 'alloy')['args'] as string[])[1]).toBe('/etc/alloy/my-config.alloy');
    const created = render('charts/alloy/ci/created-secret-values.yaml');
    expect(created.some((m) => m.object['kind'] === 'ConfigMap')).toBe(false);
    expect(findObject(created, 'Secret', 'alloy')).toMatchObject({ stringData: { 'config.alloy': 'logging {\n  level = "warn"\n}' } });
  });

  test('alloy.configMap.name with create: true names the created ConfigMap (upstream semantics)', () => {
    const m = render(undefined, ['--set', 'alloy.configMap.name=my-config']);
    expect(findObject(m, 'ConfigMap', 'my-config')).toBeDefined();
    expect((pod(m)['volumes'] as Json[]).find((v) => v['name'] === 'config')).toStrictEqual({ name: 'config', configMap: { name: 'my-config' } });
  });

  test('non-root snippet: alloy runs as 473:473, the reloader as 65534, and the pod stays "restricted"', () => {
    const spec = pod(render('charts/alloy/ci/nonroot-values.yaml'));
    expect(container(spec, 'alloy')['securityContext']).toMatchObject({ runAsUser: 473, runAsGroup: 473, runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(container(spec, 'config-reloader')['securityContext']).toMatchObject({ runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true });
    expect(checkPodSpec(spec)).toStrictEqual([]);
  });

  test('a value that asks for it relaxes the defaults, and the restricted check reports it', () => {
    const spec = pod(renderYaml('alloy:\n  mounts:\n    varlog: true\n  securityContext:\n    runAsUser: 0\n    runAsNonRoot: null\n'));
    expect(container(spec, 'alloy')['securityContext']).not.toHaveProperty('runAsNonRoot');
    const controls = checkPodSpec(spec).map((v) => v.control);
    expect(controls).toEqual(expect.arrayContaining(['HostPath Volumes', 'Running as Non-root user']));
  });
});

run('upgrades', () => {
  const podTemplate = (m: RenderedManifest[]): unknown => (findObject(m, 'DaemonSet', 'alloy') as { spec: { template: unknown } }).spec.template;

  test('a changed alloy.configMap.content changes only the ConfigMap: the pod template is identical, so pods reload instead of rolling', () => {
    const a = renderYaml('alloy:\n  configMap:\n    content: |-\n      logging {\n        level = "info"\n      }\n');
    const b = renderYaml('alloy:\n  configMap:\n    content: |-\n      logging {\n        level = "debug"\n      }\n');
    expect(findObject(a, 'ConfigMap', 'alloy')).not.toStrictEqual(findObject(b, 'ConfigMap', 'alloy'));
    expect(podTemplate(a)).toStrictEqual(podTemplate(b));
  });

  test('without the reloader a config change rolls the pods (checksum/config annotation)', () => {
    const a = renderYaml('configReloader:\n  enabled: false\nalloy:\n  configMap:\n    content: "logging {}"\n');
    const b = renderYaml('configReloader:\n  enabled: false\nalloy:\n  configMap:\n    content: "logging { level = \\"warn\\" }"\n');
    expect(podTemplate(a)).not.toStrictEqual(podTemplate(b));
  });

  test('a changed image tag changes the pod template (both containers use the new image)', () => {
    const spec = pod(render(undefined, ['--set', 'image.tag=v9.9.9']));
    expect((spec['containers'] as Json[]).map((c) => c['image'])).toStrictEqual(['docker.io/alloyts/alloy:v9.9.9', 'docker.io/alloyts/alloy:v9.9.9']);
  });
});

run('bad values fail at install, naming the key and the fix', () => {
  const fails = (args: readonly string[]): string => {
    const r = helmTemplate(['alloy', 'charts/alloy', ...args]);
    expect(r.status).not.toBe(0);
    return r.stderr;
  };

  test('values.schema.json: wrong types and enums name the key', () => {
    const err = fails(['--set', 'controller.type=replicaset,alloy.listenPort=http,alloy.stabilityLevel=beta']);
    expect(err).toContain("values don't meet the specifications of the schema(s)");
    expect(err).toContain('- controller.type: controller.type must be one of the following: "daemonset", "deployment", "statefulset"');
    expect(err).toContain('- alloy.listenPort: Invalid type. Expected: integer, given: string');
    expect(err).toContain('- alloy.stabilityLevel: alloy.stabilityLevel must be one of the following');
    expect(fails(['--set', 'alloy.clustering.enable=true'])).toContain('- alloy.clustering: Additional property enable is not allowed');
  });

  test('_validations.tpl: inconsistent values say what to set', () => {
    expect(fails(['--set', 'alloy.configMap.create=false'])).toContain('alloy.configMap.name');
    expect(fails(['--set', 'controller.type=deployment,controller.podDisruptionBudget.enabled=true,controller.podDisruptionBudget.minAvailable=1,controller.podDisruptionBudget.maxUnavailable=1'])).toContain('Set only one of them');
    expect(fails(['--set', 'controller.autoscaling.enabled=true'])).toContain('set controller.type to deployment or statefulset');
    expect(fails(['--set', 'controller.autoscaling.horizontal.enabled=true'])).toContain('set controller.type to deployment or statefulset');
    expect(fails(['--set', 'controller.type=deployment,controller.autoscaling.horizontal.enabled=true,controller.autoscaling.horizontal.externalHPA=true'])).toContain('set horizontal.enabled: false');
    expect(fails(['--set', 'controller.autoscaling.horizontal.externalHPA=true'])).toContain('A DaemonSet has no replicas to scale');
    expect(fails(['--set', 'controller.type=deployment,controller.autoscaling.vertical.enabled=true,controller.autoscaling.vertical.recommenders[0].name=a,controller.autoscaling.vertical.recommenders[1].name=b'])).toContain('recommenders');
  });

  test('an unknown key in a values section (a typo, or an upstream key this chart does not know) fails naming it', () => {
    const err = fails(['--set', 'alloy.listenprot=1,controller.tpye=x,configReloader.image.repo=x']);
    expect(err).toContain('- alloy: Additional property listenprot is not allowed');
    expect(err).toContain('- controller: Additional property tpye is not allowed');
    expect(err).toContain('- configReloader.image: Additional property repo is not allowed');
  });

  test('rbac.namespaces grants rbac.rules per namespace and creates no ClusterRole (as upstream)', () => {
    const m = render(undefined, ['--set', 'rbac.namespaces={alpha,bravo}']);
    expect(m.filter((x) => x.object['kind'] === 'Role').map((x) => (x.object['metadata'] as Json)['namespace'])).toStrictEqual(['alpha', 'bravo']);
    expect(m.filter((x) => String(x.object['kind']).startsWith('Cluster'))).toStrictEqual([]);
  });

  test('the default ClusterRole grants what upstream grants today: no nodes/proxy; nodes/pods, replicasets, alertmanagerconfigs', () => {
    const rules = (findObject(render(undefined), 'ClusterRole', 'alloy') as { rules: Json[] }).rules;
    const resources = rules.flatMap((r) => (r['resources'] as string[] | undefined) ?? []);
    expect(resources).not.toContain('nodes/proxy');
    expect(resources).toEqual(expect.arrayContaining(['nodes', 'nodes/pods', 'nodes/metrics', 'replicasets', 'alertmanagerconfigs', 'podlogs', 'endpointslices']));
    expect(rules).toContainEqual({ nonResourceURLs: ['/metrics'], verbs: ['get'] });
  });

  test('upstream keys this chart does not support yet fail with a message saying so', () => {
    expect(fails(['--set', 'networkPolicy.enabled=true,networkPolicy.flavor=cilium'])).toContain('networkPolicy.flavor "cilium" is not supported by this chart yet');
  });

  test('alloy.enableContainerPort: false drops only the http-metrics container port (Service and HTTP probe stay)', () => {
    const m = render(undefined, ['--set', 'alloy.enableContainerPort=false,alloy.extraPorts[0].name=faro,alloy.extraPorts[0].targetPort=12347']);
    const alloy = container(pod(m), 'alloy');
    expect(alloy['ports']).toStrictEqual([{ containerPort: 12347, name: 'faro', protocol: 'TCP' }]);
    expect(alloy['readinessProbe']).toMatchObject({ httpGet: { path: '/-/ready', port: 12345 } });
    const svc = findObject(m, 'Service', 'alloy') as { spec: { ports: Json[] } };
    expect(svc.spec.ports.map((p) => [p['name'], p['port'], p['targetPort']])).toStrictEqual([['http-metrics', 12345, 12345], ['faro', 12347, 12347]]);
  });

  test('prometheusRules renders one PrometheusRule per key, in prometheusRules.namespace when set', () => {
    const m = render(undefined, ['--set', 'prometheusRules.namespace=monitoring-rules,prometheusRules.rules.a.groups.g.rules[0].alert=X,prometheusRules.rules.a.groups.g.rules[0].expr=up==0']);
    expect(findObject(m, 'PrometheusRule', 'alloy-a')).toMatchObject({ metadata: { namespace: 'monitoring-rules' }, spec: { groups: [{ name: 'g', rules: [{ alert: 'X', expr: 'up==0' }] }] } });
    expect(render(undefined).some((o) => o.object['kind'] === 'PrometheusRule')).toBe(false);
  });
});

run('upstream keys render as upstream renders them', () => {
  test('controller.autoscaling.vertical renders a VerticalPodAutoscaler targeting the workload', () => {
    const m = render(undefined, ['--set', 'controller.type=deployment,controller.autoscaling.vertical.enabled=true,controller.autoscaling.vertical.updatePolicy.updateMode=Auto']);
    const vpa = findObject(m, 'VerticalPodAutoscaler', 'alloy') as { spec: Json };
    expect(vpa.spec['targetRef']).toStrictEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'alloy' });
    expect(vpa.spec['updatePolicy']).toStrictEqual({ updateMode: 'Auto' });
    expect(vpa.spec['resourcePolicy']).toStrictEqual({ containerPolicies: [{ containerName: 'alloy', controlledResources: ['cpu', 'memory'], controlledValues: 'RequestsAndLimits', maxAllowed: {}, minAllowed: {} }] });
    expect(render(undefined).some((x) => x.object['kind'] === 'VerticalPodAutoscaler')).toBe(false);
  });

  test('controller.autoscaling.horizontal.externalHPA omits spec.replicas and the chart HPA; revisionHistoryLimit renders when not the default 10', () => {
    const m = render(undefined, ['--set', 'controller.type=statefulset,controller.autoscaling.horizontal.externalHPA=true,controller.revisionHistoryLimit=3']);
    const sts = findObject(m, 'StatefulSet', 'alloy') as { spec: Json };
    expect(sts.spec).not.toHaveProperty('replicas');
    expect(sts.spec['revisionHistoryLimit']).toBe(3);
    expect(m.some((x) => x.object['kind'] === 'HorizontalPodAutoscaler')).toBe(false);
    expect((findObject(render(undefined, ['--set', 'controller.type=deployment']), 'Deployment', 'alloy') as { spec: Json }).spec).toMatchObject({ replicas: 1 });
    expect((findObject(render(undefined), 'DaemonSet', 'alloy') as { spec: Json }).spec).not.toHaveProperty('revisionHistoryLimit');
    expect((findObject(render(undefined, ['--set', 'controller.revisionHistoryLimit=0']), 'DaemonSet', 'alloy') as { spec: Json }).spec['revisionHistoryLimit']).toBe(0);
  });

  test('global.image.pullPolicy overrides both containers; alloy.command sets the container command; K8S_NODE_NAME is the node name', () => {
    const spec = pod(render(undefined, ['--set', 'global.image.pullPolicy=Always', '--set', 'alloy.command={/bin/sh,-c}']));
    expect((spec['containers'] as Json[]).map((c) => c['imagePullPolicy'])).toStrictEqual(['Always', 'Always']);
    expect(container(spec, 'alloy')['command']).toStrictEqual(['/bin/sh', '-c']);
    expect((container(spec, 'alloy')['env'] as Json[]).find((e) => e['name'] === 'K8S_NODE_NAME')).toStrictEqual({ name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(container(pod(render(undefined)), 'alloy')).not.toHaveProperty('command');
  });

  test('alloy.configMap.key with create: true names the key of the created ConfigMap and the file alloy runs', () => {
    const m = render(undefined, ['--set', 'alloy.configMap.key=my.alloy']);
    expect(Object.keys((findObject(m, 'ConfigMap', 'alloy') as { data: Json }).data)).toStrictEqual(['my.alloy']);
    expect((container(pod(m), 'alloy')['args'] as string[])[1]).toBe('/etc/alloy/my.alloy');
  });

  test('service.externalTrafficPolicy renders on NodePort and LoadBalancer Services only', () => {
    const svc = (args: string): Json => (findObject(render(undefined, ['--set', args]), 'Service', 'alloy') as { spec: Json }).spec;
    expect(svc('service.type=NodePort,service.externalTrafficPolicy=Local')['externalTrafficPolicy']).toBe('Local');
    expect(svc('service.type=ClusterIP,service.externalTrafficPolicy=Local')).not.toHaveProperty('externalTrafficPolicy');
  });

  test('alloy.enableHttpServerPort: false renders no container port, no readiness probe and no port-less Service (as upstream)', () => {
    const m = render(undefined, ['--set', 'alloy.enableHttpServerPort=false']);
    const alloy = container(pod(m), 'alloy');
    expect(alloy).not.toHaveProperty('ports');
    expect(alloy).not.toHaveProperty('readinessProbe');
    expect(m.some((x) => x.object['kind'] === 'Service' && (x.object['metadata'] as Json)['name'] === 'alloy')).toBe(false);
    const withExtra = render(undefined, ['--set', 'alloy.enableHttpServerPort=false,alloy.extraPorts[0].name=faro,alloy.extraPorts[0].port=12347,alloy.extraPorts[0].targetPort=12347']);
    expect(((findObject(withExtra, 'Service', 'alloy') as { spec: Json }).spec['ports'] as Json[]).map((p) => p['name'])).toStrictEqual(['faro']);
  });

  test('rbac.extraRules extend the ClusterRole; service.extraPorts add Service-only ports before alloy.extraPorts', () => {
    const m = render(undefined, ['--set', 'rbac.extraRules[0].apiGroups[0]=metrics.eks.amazonaws.com,rbac.extraRules[0].resources[0]=kcm/metrics,rbac.extraRules[0].verbs[0]=get', '--set', 'service.extraPorts[0].name=oauth-proxy,service.extraPorts[0].port=9091', '--set', 'alloy.extraPorts[0].name=faro,alloy.extraPorts[0].port=12347,alloy.extraPorts[0].targetPort=12347']);
    expect((findObject(m, 'ClusterRole', 'alloy') as { rules: Json[] }).rules.at(-1)).toStrictEqual({ apiGroups: ['metrics.eks.amazonaws.com'], resources: ['kcm/metrics'], verbs: ['get'] });
    expect(((findObject(m, 'Service', 'alloy') as { spec: Json }).spec['ports'] as Json[]).map((p) => [p['name'], p['port'], p['targetPort']])).toStrictEqual([['http-metrics', 12345, 12345], ['oauth-proxy', 9091, 9091], ['faro', 12347, 12347]]);
    expect((container(pod(m), 'alloy')['ports'] as Json[]).map((p) => p['name'])).toStrictEqual(['http-metrics', 'faro']);
  });

  test('--set-string values stay strings (priorityClassName, serviceMonitor.interval render quoted)', () => {
    expect(pod(render(undefined, ['--set-string', 'controller.priorityClassName=123']))['priorityClassName']).toBe('123');
    const m = render(undefined, ['--set', 'serviceMonitor.enabled=true,operator.enabled=true', '--set-string', 'serviceMonitor.interval=30,operator.priorityClassName=7']);
    expect(((findObject(m, 'ServiceMonitor', 'alloy') as { spec: { endpoints: Json[] } }).spec.endpoints[0]!)['interval']).toBe('30');
    expect(podSpecOf(findObject(m, 'Deployment', 'alloy-operator') as Json)!['priorityClassName']).toBe('7');
  });

  test('upstream ci values that carry a stray top-level key (create-statefulset-vertical-autoscaling has `apiVersion`) still render', () => {
    expect(findObject(renderYaml('apiVersion: autoscaling.k8s.io/v1\n'), 'DaemonSet', 'alloy')).toBeDefined();
  });
});

run('helm lint checks', () => {
  test('Chart.yaml has what `helm lint` requires and recommends (apiVersion v2, name = directory, SemVer version, icon)', () => {
    const chart = parse(fs.readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Json;
    expect(chart['apiVersion']).toBe('v2');
    expect(chart['name']).toBe(path.basename(CHART_DIR));
    expect(String(chart['version'])).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
    expect(String(chart['icon'])).toMatch(/^https:\/\//);
    expect(chart['type']).toBe('application');
  });

  test('every template renders to YAML objects with apiVersion, kind and metadata.name, and no key is rendered null', () => {
    for (const scenario of SCENARIOS) {
      for (const m of render(`charts/alloy/ci/${scenario}`)) {
        expect({ scenario, source: m.source, ok: typeof m.object['apiVersion'] === 'string' && typeof m.object['kind'] === 'string' && typeof (m.object['metadata'] as Json | undefined)?.['name'] === 'string' }).toStrictEqual({ scenario, source: m.source, ok: true });
        const nulls: string[] = [];
        const walk = (v: unknown, at: string): void => {
          if (v === null) nulls.push(at);
          else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
          else if (typeof v === 'object') for (const [k, x] of Object.entries(v as Json)) walk(x, `${at}.${k}`);
        };
        walk(m.object, '');
        expect({ scenario, source: m.source, nulls }).toStrictEqual({ scenario, source: m.source, nulls: [] });
      }
    }
  });
});

run('operator.enabled', () => {
  test('installs the Collector CRD, the operator Deployment and its RBAC', () => {
    const m = render('charts/alloy/ci/operator-values.yaml');
    const crd = findObject(m, 'CustomResourceDefinition', 'collectors.alloy.dev');
    expect(crd).toStrictEqual(parse(fs.readFileSync(path.join(REPO_ROOT, 'crds/collectors.alloy.dev.yaml'), 'utf8')));
    const dep = findObject(m, 'Deployment', 'alloy-operator') as { spec: { template: { spec: Json } } };
    const c = (dep.spec.template.spec['containers'] as Json[])[0]!;
    expect(c['command']).toStrictEqual(['/bin/operator']);
    expect(c['args']).toStrictEqual(['run', '--image=docker.io/alloyts/alloy:0.1.0', '--http-listen-address=0.0.0.0:8080']);
    expect((findObject(m, 'ClusterRole', 'alloy-operator') as { rules: unknown }).rules).toStrictEqual(JSON.parse(JSON.stringify(OPERATOR_CLUSTER_RULES)));
    expect((findObject(m, 'Role', 'alloy-operator-leader-election') as { rules: unknown }).rules).toStrictEqual(JSON.parse(JSON.stringify(LEADER_ELECTION_RULES)));
    expect(findObject(m, 'ClusterRoleBinding', 'alloy-operator')).toBeDefined();
    expect(findObject(m, 'RoleBinding', 'alloy-operator-leader-election')).toBeDefined();
    // CRDs install before the workloads that need them (Helm install order).
    expect(m.findIndex((x) => x.object['kind'] === 'CustomResourceDefinition')).toBeLessThan(m.findIndex((x) => x.object['kind'] === 'Deployment'));
  });
});

run('NOTES.txt', () => {
  test('tells how to reach the UI, how config changes apply and how to check clustering', () => {
    const notes = (args: string[]): string =>
      (JSON.parse(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--dump-rendered', ...args], { standIn: true })) as Record<string, string>)['alloy/templates/NOTES.txt']!;
    const clustered = notes(['-f', 'charts/alloy/ci/clustering-values.yaml']);
    expect(clustered).toContain('kubectl port-forward --namespace monitoring statefulset/alloy 12345');
    expect(clustered).toContain('reloads the running pods in place');
    expect(clustered).toContain('headless Service alloy-cluster');
    const noReloader = notes(['--set', 'configReloader.enabled=false']);
    expect(noReloader).toContain('daemonset/alloy');
    expect(noReloader).toContain('a config change restarts the pods');
    expect(notes(['-f', 'charts/alloy/ci/existing-config-values.yaml'])).toContain('Config: ConfigMap alloy-config, key config.alloy');
  });
});

describe('checkers', () => {
  test('the OpenAPI validator checks built-in kinds and catches a wrong type', async () => {
    const ok = await validateObject({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'a' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } } });
    expect(ok).toStrictEqual({ checked: true, errors: [] });
    const bad = await validateObject({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'a' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }] } } } });
    expect(bad.checked && bad.errors.length > 0).toBe(true);
  });

});

run('shipped Alloy configs', () => {
  test('every config the chart, its scenarios and the Kustomize overlays ship passes `alloy validate`', async () => {
    const configs = new Map<string, string>([
      ['charts/alloy/config/default.alloy', fs.readFileSync(path.join(CHART_DIR, 'config/default.alloy'), 'utf8')],
      ['kustomize/overlays/collector/config.alloy', fs.readFileSync(path.join(REPO_ROOT, 'kustomize/overlays/collector/config.alloy'), 'utf8')],
      ['kustomize/overlays/helm-collector/config.alloy', fs.readFileSync(path.join(REPO_ROOT, 'kustomize/overlays/helm-collector/config.alloy'), 'utf8')],
    ]);
    for (const scenario of SCENARIOS) {
      for (const m of render(`charts/alloy/ci/${scenario}`)) {
        const data = m.object['kind'] === 'ConfigMap' ? (m.object['data'] as Record<string, string> | undefined) : m.object['kind'] === 'Secret' ? (m.object['stringData'] as Record<string, string> | undefined) : undefined;
        for (const [key, text] of Object.entries(data ?? {})) if (key.endsWith('.alloy')) configs.set(`${scenario}: ${m.source} ${key}`, text);
      }
    }
    expect(configs.size).toBeGreaterThan(3);
    // The check has teeth: a broken config is reported.
    expect((await validateConfig(new Map([['config.alloy', 'logging {\n  level = \n']]), { registry: defaultRegistry() })).filter((d) => d.severity === 'error').length).toBeGreaterThan(0);
    for (const [where, text] of configs) {
      const diags = (await validateConfig(new Map([['config.alloy', text]]), { registry: defaultRegistry() })).filter((d) => d.severity === 'error');
      expect({ where, diags }).toStrictEqual({ where, diags: [] });
    }
  });
});

describe('chart files', () => {
  test('README.md is generated from the values.yaml doc comments', () => {
    const readme = generateReadme(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8'), fs.readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8'));
    const file = path.join(CHART_DIR, 'README.md');
    if (UPDATE) fs.writeFileSync(file, readme);
    else expect(fs.readFileSync(file, 'utf8')).toBe(readme);
    for (const key of ['alloy.configMap.content', 'alloy.clustering.enabled', 'controller.type', 'configReloader.securityContext', 'operator.enabled']) {
      expect(readme).toContain(`| ${key} |`);
    }
  });

  test('the chart operator RBAC file is generated from operator/src/rbac/operator-rbac.ts', () => {
    const file = path.join(CHART_DIR, 'files/operator-rbac.yaml');
    const text = `# Generated from operator/src/rbac/operator-rbac.ts by charts/tools/regenerate.sh. Do not edit.\n${stringify({ clusterRules: OPERATOR_CLUSTER_RULES, leaderElectionRules: LEADER_ELECTION_RULES }, { lineWidth: 0 })}`;
    if (UPDATE) fs.writeFileSync(file, text);
    else expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  test('values.schema.json declares every key of values.yaml (so a wrong type anywhere fails naming the key)', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as Json;
    const values = parse(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Json;
    const missing: string[] = [];
    const walk = (v: Json, s: Json | undefined, prefix: string): void => {
      for (const [k, child] of Object.entries(v)) {
        const sub = (s?.['properties'] as Record<string, Json> | undefined)?.[k];
        if (sub === undefined) {
          missing.push(prefix + k);
          continue;
        }
        const isMap = child !== null && typeof child === 'object' && !Array.isArray(child) && Object.keys(child).length > 0;
        if (isMap && sub['properties'] !== undefined) walk(child as Json, sub, `${prefix}${k}.`);
      }
    };
    walk(values, schema, '');
    expect(missing).toStrictEqual([]);
  });

  test('the chart CRD copy equals crds/collectors.alloy.dev.yaml', () => {
    const file = path.join(CHART_DIR, 'files/collectors.alloy.dev.yaml');
    const source = fs.readFileSync(path.join(REPO_ROOT, 'crds/collectors.alloy.dev.yaml'), 'utf8');
    if (UPDATE) fs.writeFileSync(file, source);
    else expect(fs.readFileSync(file, 'utf8')).toBe(source);
  });

  test('appVersion (the default image tag) is the package.json version', () => {
    const chart = parse(fs.readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });
});
