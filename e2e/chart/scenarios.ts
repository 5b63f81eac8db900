/**
 * The chart's `ci/*-values.yaml` scenarios, and the upstream chart's own test cases vendored in
 * charts/tools/testdata/upstream (named `upstream/<case>`), rendered for `kubectl apply
 * --dry-run=server`, shared by the dev-cluster and real-kube-apiserver journeys. Objects of APIs a
 * bare cluster does not serve (prometheus-operator's ServiceMonitor and PrometheusRule, the VerticalPodAutoscaler, the Gateway API's HTTPRoute)
 * are left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { helmTemplateOk, parseManifests, REPO_ROOT } from '../../tools/helm-template/helm-template.js';
import { UPSTREAM_INVALID_VALUES, UPSTREAM_REFUSALS } from '../../charts/tools/upstream-differences.js';

const UPSTREAM_DIR = 'charts/tools/testdata/upstream';
// Cases the chart refuses on purpose (charts/tools/upstream-differences.ts) render nothing to apply.
const REFUSED = new Set(UPSTREAM_REFUSALS.map((r) => r.case));
const UPSTREAM_CASES = fs.readdirSync(path.join(REPO_ROOT, UPSTREAM_DIR)).filter((d) => fs.statSync(path.join(REPO_ROOT, UPSTREAM_DIR, d)).isDirectory() && !REFUSED.has(d));

export const SCENARIOS: readonly string[] = [
  ...fs.readdirSync(path.join(REPO_ROOT, 'charts/alloy/ci')).filter((f) => f.endsWith('-values.yaml')).sort(),
  ...UPSTREAM_CASES.sort().map((c) => `upstream/${c}`),
];
/**
 * Scenarios whose values upstream wrote as invalid Kubernetes objects (charts/tools/upstream-differences.ts),
 * with the unknown fields applying them must fail on.
 */
export const INVALID_SCENARIOS: ReadonlyMap<string, readonly string[]> = new Map(UPSTREAM_INVALID_VALUES.map((c) => [`upstream/${c.case}`, c.unknownFields]));

/**
 * The distinct field names of `unknown field "…"` errors, from kubectl's client-side validation
 * (`unknown field "volumes"`) or the API server's strict decoding (`unknown field
 * "spec.template.spec.initContainers[0].volumes"`).
 */
export function unknownFields(stderr: string): string[] {
  return [...new Set([...stderr.matchAll(/unknown field "(?:[^"]*\.)?([A-Za-z]+)"/g)].map((m) => m[1]!))].sort();
}

export const UNSERVED = new Set(['monitoring.coreos.com/v1', 'autoscaling.k8s.io/v1', 'gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']);

/** The values file of a scenario: `ci/<name>`, or `upstream/<case>`'s vendored values. */
function valuesFile(scenario: string): string {
  return scenario.startsWith('upstream/') ? `${UPSTREAM_DIR}/${scenario.slice('upstream/'.length)}/values.yaml` : `charts/alloy/ci/${scenario}`;
}

/**
 * The scenario rendered into namespace `monitoring`, as one multi-document YAML of served objects,
 * with the other namespaces its objects name (e.g. `rbac.namespaces`), which must exist first.
 */
export function servedScenario(scenario: string): { readonly yaml: string; readonly count: number; readonly namespaces: readonly string[] } {
  const manifests = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--include-crds', '-f', valuesFile(scenario)]));
  const served = manifests.filter((m) => !UNSERVED.has(String(m.object['apiVersion'])));
  const namespaces = new Set(served.map((m) => (m.object['metadata'] as { namespace?: unknown } | undefined)?.namespace).filter((n): n is string => typeof n === 'string' && n !== 'monitoring'));
  return { yaml: served.map((m) => `---\n${stringify(m.object)}`).join(''), count: served.length, namespaces: [...namespaces].sort() };
}
