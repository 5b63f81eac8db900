/**
 * Kustomize overlays: `kubectl kustomize` builds each of them with the docs' configMapGenerator
 * snippet (no hash suffix); the rendered chart and CRD copies have not drifted; and on the dev
 * cluster, editing config.alloy and re-applying reloads in place (same ConfigMap name, no rollout).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { helmTemplateOk, parseManifests, REPO_ROOT } from '../../tools/helm-template/helm-template.js';
import { operatorRbacYaml } from '../../operator/src/rbac/operator-rbac.js';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { componentIds, eventually, pods, unavailableReason, waitReady, type PodState } from '../chart/journey.js';

const KUSTOMIZE = path.join(REPO_ROOT, 'kustomize');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function kubectlAvailable(): boolean {
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error === undefined) return true;
  if (process.env['CI'] === 'true') throw new Error('kubectl is not on PATH (needed for kubectl kustomize)');
  console.warn('skipping kustomize build tests: kubectl is not on PATH');
  return false;
}

function build(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

const DOCS_SNIPPET = { name: 'alloy', files: ['config.alloy'], options: { disableNameSuffixHash: true } };

(kubectlAvailable() ? describe : describe.skip)('kubectl kustomize builds', () => {
  test('base: Collector CRD, operator Deployment, ServiceAccount and RBAC in alloy-system', () => {
    const objs = build(path.join(KUSTOMIZE, 'base'));
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toStrictEqual(
      ['ClusterRole/alloy-operator', 'ClusterRoleBinding/alloy-operator', 'CustomResourceDefinition/collectors.alloy.dev', 'Deployment/alloy-operator', 'Namespace/alloy-system', 'Role/alloy-operator-leader-election', 'RoleBinding/alloy-operator-leader-election', 'ServiceAccount/alloy-operator'].sort(),
    );
    expect(objs.find((o) => o.kind === 'Deployment')!.metadata.namespace).toBe('alloy-system');
  });

  test.each(['collector', 'helm-collector'])('overlays/%s uses the docs snippet verbatim and generates ConfigMap "alloy" without a hash suffix', (overlay) => {
    const dir = path.join(KUSTOMIZE, 'overlays', overlay);
    const k = parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as { configMapGenerator: unknown[] };
    expect(k.configMapGenerator).toStrictEqual([DOCS_SNIPPET]);
    const objs = build(dir);
    const cm = objs.find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata).toStrictEqual({ name: 'alloy', namespace: 'monitoring' });
    expect((cm['data'] as Record<string, string>)['config.alloy']).toBe(fs.readFileSync(path.join(dir, 'config.alloy'), 'utf8'));
  });

  test('overlays/collector feeds the Collector configMapRef', () => {
    const collector = build(path.join(KUSTOMIZE, 'overlays/collector')).find((o) => o.kind === 'Collector')!;
    expect(collector.metadata.namespace).toBe('monitoring');
    expect((collector['spec'] as { configMapRef: unknown }).configMapRef).toStrictEqual({ name: 'alloy', key: 'config.alloy' });
  });

  test('overlays/helm-collector: the chart reads the generated ConfigMap and alloy.yaml is the current chart render', () => {
    const dir = path.join(KUSTOMIZE, 'overlays/helm-collector');
    const objs = build(dir);
    const sts = objs.find((o) => o.kind === 'StatefulSet')!;
    const volumes = (sts['spec'] as { template: { spec: { volumes: { name: string; configMap?: { name: string } }[] } } }).template.spec.volumes;
    expect(volumes.find((v) => v.name === 'config')).toStrictEqual({ name: 'config', configMap: { name: 'alloy' } });
    const fresh = helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--include-crds', '-f', 'kustomize/overlays/helm-collector/values.yaml']);
    const onDisk = fs.readFileSync(path.join(dir, 'alloy.yaml'), 'utf8');
    expect(onDisk.slice(onDisk.indexOf('\n') + 1)).toBe(fresh); // first line is the regenerate comment
    expect(parseManifests(fresh).some((m) => m.object['kind'] === 'ConfigMap')).toBe(false);
  });

  test('copies have not drifted: base CRD = crds/, base RBAC = `operator rbac`, base operator container = the chart\'s', () => {
    expect(fs.readFileSync(path.join(KUSTOMIZE, 'base/collectors.alloy.dev.yaml'), 'utf8')).toBe(fs.readFileSync(path.join(REPO_ROOT, 'crds/collectors.alloy.dev.yaml'), 'utf8'));
    const rbacFile = path.join(KUSTOMIZE, 'base/rbac.yaml');
    const rbac = `# Generated from operator/src/rbac/operator-rbac.ts (UPDATE_GOLDEN=1 on e2e/kustomize). Do not edit.\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: alloy-operator\n---\n${operatorRbacYaml('alloy-system')}`;
    if (UPDATE) fs.writeFileSync(rbacFile, rbac);
    else expect(fs.readFileSync(rbacFile, 'utf8')).toBe(rbac);
    const chart = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--set', 'operator.enabled=true']));
    const base = build(path.join(KUSTOMIZE, 'base'));
    const container = (o: Record<string, unknown>): Record<string, unknown> => {
      const c = { ...((o['spec'] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!) };
      delete c['resources'];
      return c;
    };
    expect(container(base.find((o) => o.kind === 'Deployment')!)).toStrictEqual(container(chart.find((m) => m.object['kind'] === 'Deployment' && (m.object['metadata'] as { name: string }).name === 'alloy-operator')!.object));
    for (const kind of ['ClusterRole', 'Role']) {
      const rulesOf = (objs: Record<string, unknown>[]): unknown => objs.find((o) => o['kind'] === kind)!['rules'];
      expect(rulesOf(base)).toStrictEqual(rulesOf(chart.map((m) => m.object)));
    }
  });
});

const SELECTOR = 'app.kubernetes.io/instance=alloy,app.kubernetes.io/name=alloy';

(unavailableReason() === undefined ? describe : describe.skip)('overlays/helm-collector on the dev cluster', () => {
  let cluster!: TestCluster;
  let overlay = '';
  let before: PodState[] = [];
  beforeAll(async () => {
    // No operator touches these pods after a config change: a real kubelet would take 60-90 s,
    // so this journey shortens the pod sync period explicitly.
    cluster = await useCluster({ podSyncPeriodMs: 1000 });
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-'));
    fs.cpSync(path.join(KUSTOMIZE, 'overlays/helm-collector'), overlay, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    if (cluster === undefined) return;
    await cluster.runKubectl(['delete', '-k', overlay, '--wait=false']);
    await cluster.stop();
  }, 60_000);

  test('apply -k: the pod becomes Ready on ConfigMap "alloy"', async () => {
    await cluster.kubectl(['apply', '-k', overlay]);
    before = await waitReady(cluster, 'monitoring', SELECTOR, 1);
  }, 90_000);

  test('edit config.alloy and re-apply: same ConfigMap name, config reloaded, no rollout', async () => {
    fs.appendFileSync(path.join(overlay, 'config.alloy'), '\nprometheus.exporter.self "kustomize_e2e" { }\n');
    await cluster.kubectl(['apply', '-k', overlay]);
    const cms = JSON.parse(await cluster.kubectl(['get', 'configmaps', '-n', 'monitoring', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    const names = cms.items.map((c) => c.metadata.name);
    expect(names).toContain('alloy');
    expect(names.filter((n) => /^alloy-[a-z0-9]{10}$/.test(n))).toStrictEqual([]); // no hash-suffixed copy
    await eventually('new component active', async () => ((await componentIds(cluster, 'monitoring', before[0]!.name)).includes('prometheus.exporter.self.kustomize_e2e') ? true : undefined), 60_000);
    const after = await pods(cluster, 'monitoring', SELECTOR);
    expect(after.map((p) => [p.uid, p.containers])).toStrictEqual(before.map((p) => [p.uid, p.containers]));
  }, 90_000);
});

(unavailableReason() === undefined ? describe : describe.skip)('base + overlays/collector on the dev cluster', () => {
  let cluster!: TestCluster;
  let overlay = '';
  let before: PodState[] = [];
  beforeAll(async () => {
    cluster = await useCluster();
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-overlay-'));
    fs.cpSync(path.join(KUSTOMIZE, 'overlays/collector'), overlay, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    if (cluster === undefined) return;
    await cluster.runKubectl(['delete', '-k', overlay, '--wait=false']);
    await cluster.stop();
  }, 60_000);

  test('apply -k base: CRD established, operator Ready in alloy-system', async () => {
    await cluster.kubectl(['apply', '-k', path.join(KUSTOMIZE, 'base')]);
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/collectors.alloy.dev', '--timeout=30s']);
    await waitReady(cluster, 'alloy-system', 'app.kubernetes.io/component=operator', 1);
  }, 120_000);

  test('apply -k overlays/collector, edit config.alloy, re-apply: ConfigMap "alloy" updated in place and reloaded, no rollout', async () => {
    await cluster.kubectl(['apply', '-k', overlay]);
    before = await waitReady(cluster, 'monitoring', SELECTOR, 1);
    fs.appendFileSync(path.join(overlay, 'config.alloy'), '\nprometheus.exporter.self "base_e2e" { }\n');
    await cluster.kubectl(['apply', '-k', overlay]);
    await eventually('new component active', async () => ((await componentIds(cluster, 'monitoring', before[0]!.name)).includes('prometheus.exporter.self.base_e2e') ? true : undefined), 60_000);
    const after = await pods(cluster, 'monitoring', SELECTOR);
    expect(after.map((p) => [p.uid, p.containers])).toStrictEqual(before.map((p) => [p.uid, p.containers]));
    const cms = JSON.parse(await cluster.kubectl(['get', 'configmaps', '-n', 'monitoring', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    const names = cms.items.map((c) => c.metadata.name);
    expect(names).toContain('alloy');
    expect(names.filter((n) => /^alloy-[a-z0-9]{10}$/.test(n))).toStrictEqual([]); // no hash-suffixed copy
  }, 150_000);
});
