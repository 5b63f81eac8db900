/**
 * The chart's `ci/*-values.yaml` scenarios rendered for `kubectl apply --dry-run=server`, shared
 * by the dev-cluster and real-kube-apiserver journeys. Objects of APIs a bare cluster does not
 * serve (prometheus-operator's ServiceMonitor) are left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { helmTemplateOk, parseManifests, REPO_ROOT } from '../../tools/helm-template/helm-template.js';

export const SCENARIOS: readonly string[] = fs.readdirSync(path.join(REPO_ROOT, 'charts/alloy/ci')).filter((f) => f.endsWith('-values.yaml')).sort();
export const UNSERVED = new Set(['monitoring.coreos.com/v1']);

/** The scenario rendered into namespace `monitoring`, as one multi-document YAML of served objects. */
export function servedScenario(scenario: string): { readonly yaml: string; readonly count: number } {
  const manifests = parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--include-crds', '-f', `charts/alloy/ci/${scenario}`]));
  const served = manifests.filter((m) => !UNSERVED.has(String(m.object['apiVersion'])));
  return { yaml: served.map((m) => `---\n${stringify(m.object)}`).join(''), count: served.length };
}
