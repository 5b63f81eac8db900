/**
 * helm-docs-style README generator: every key preceded by a `# --` comment block in values.yaml
 * becomes a row (key, type, default, description). `# -- (type) text` overrides the inferred type.
 */
import { parse } from 'yaml';
import { UPSTREAM_DIFFERENCES, UPSTREAM_INVALID_VALUES, UPSTREAM_REFUSALS } from './upstream-differences.js';

export interface ValueDoc {
  readonly key: string;
  readonly type: string;
  readonly defaultValue: string;
  readonly description: string;
}

const KEY_LINE = /^(\s*)([A-Za-z0-9_$.-]+|"[^"]+"):(?:\s|$)/;

function valueAt(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function inferType(v: unknown): string {
  if (v === null || v === undefined) return 'string';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** Extracts the documented keys of a values.yaml text, in file order. */
export function documentedValues(valuesYaml: string): ValueDoc[] {
  const root = parse(valuesYaml) as unknown;
  const docs: ValueDoc[] = [];
  const stack: { indent: number; key: string }[] = [];
  let pending: string[] | undefined;
  for (const line of valuesYaml.split('\n')) {
    const doc = /^\s*# --\s?(.*)$/.exec(line);
    if (doc) {
      pending = [doc[1]!.trim()];
      continue;
    }
    const cont = /^\s*#\s?(.*)$/.exec(line);
    if (cont) {
      if (pending) pending.push(cont[1]!.trim());
      continue;
    }
    const m = KEY_LINE.exec(line);
    if (!m) {
      if (line.trim() !== '') pending = undefined;
      continue;
    }
    const indent = m[1]!.length;
    const key = m[2]!.replace(/^"|"$/g, '');
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    stack.push({ indent, key });
    if (pending) {
      const path = stack.map((s) => s.key);
      const value = valueAt(root, path);
      let text = pending.join(' ').trim();
      let type = inferType(value);
      const typed = /^\(([^)]+)\)\s*(.*)$/.exec(text);
      if (typed) {
        type = typed[1]!;
        text = typed[2]!;
      }
      docs.push({ key: path.join('.'), type, defaultValue: JSON.stringify(value ?? null), description: text });
      pending = undefined;
    }
  }
  return docs;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The chart README: a header from Chart.yaml, usage notes and the values table. */
export function generateReadme(valuesYaml: string, chartYaml: string): string {
  const chart = parse(chartYaml) as { name: string; version: string; appVersion: string; description: string };
  const rows = documentedValues(valuesYaml).map(
    (d) => `| ${d.key} | ${d.type} | \`${cell(d.defaultValue)}\` | ${cell(d.description)} |`,
  );
  return [
    `# ${chart.name}`,
    '',
    `![Version: ${chart.version}](https://img.shields.io/badge/Version-${chart.version}-informational?style=flat-square) ![AppVersion: ${chart.appVersion}](https://img.shields.io/badge/AppVersion-${chart.appVersion}-informational?style=flat-square)`,
    '',
    chart.description,
    '',
    '<!-- Generated from values.yaml by charts/tools/readme.ts (charts/tools/regenerate.sh). Do not edit. -->',
    '',
    '## Usage',
    '',
    '```',
    'helm upgrade --install --namespace <NAMESPACE> <RELEASE_NAME> charts/alloy -f values.yaml',
    '```',
    '',
    'Values keys and defaults follow the upstream Grafana Alloy chart. Differences:',
    '',
    '- The image is `docker.io/alloyts/alloy` (non-root user `alloy`, UID/GID 473); the config reloader is `alloy config-reloader` from the same image.',
    '- Pods get Pod Security "restricted" defaults; `global.podSecurityContext`, `alloy.securityContext` and `configReloader.securityContext` are merged key by key over them (`null` removes a default).',
    '- `alloy.storagePath` defaults to `/var/lib/alloy/data`, an emptyDir unless `alloy.mounts.extra` mounts a volume there.',
    '- Values sections reject unknown keys, so a typo or an upstream key this chart does not know fails the install naming the key. Upstream features not supported yet (`prometheusRule`, `networkPolicy.flavor: cilium`) fail with a message saying so.',
    '- `gateway` (an NGINX Deployment with its ConfigMap, Service, HPA, PDB and ServiceMonitor in front of Alloy; the Ingress then routes to it) follows upstream\'s templates, with these deliberate differences: the nginx pods run under Pod Security "restricted" defaults (non-root UID/GID/fsGroup 101, RuntimeDefault seccomp, no privilege escalation, all capabilities dropped, read-only root filesystem with an emptyDir at /tmp, no ServiceAccount token), merged key by key with `gateway.podSecurityContext` and `gateway.containerSecurityContext`; the pods are labelled `app.kubernetes.io/name: <name>-gateway` so Alloy\'s Service, PDB and ServiceMonitor (which select name and instance) never select nginx pods; `gateway.extraContainers` pass through `tpl` (upstream\'s own example templates `{{ .Values.gateway.port }}` in them); the nginx.conf is generated from `gateway.upstreams` and `gateway.nginxConfig` (or replaced by `gateway.nginxConfig.file`), with gRPC routes over `http2 on` (nginx >= 1.25.1: `gateway.nginxConfig.http2: false` for older images). Upstream\'s rendered outputs for its `gateway` cases are not in the index, so those cases are rendered and schema-checked, not compared object by object.',
    '- With `alloy.enableHttpServerPort: false` and no `alloy.extraPorts` no Service is rendered (a Service needs a port; the API server refuses `ports: null`).',
    '- Fields only newer Kubernetes accepts are rendered only when set: `alloy.resizePolicy` and `configReloader.resizePolicy` need Kubernetes >= 1.27 (in-place resize is on by default from 1.33), `service.trafficDistribution` >= 1.31 (1.30 behind its feature gate; `PreferSameZone` and `PreferSameNode` >= 1.34), `httpRoute` the Gateway API CRDs, `prometheusRules` and `serviceMonitor` the prometheus-operator CRDs.',
    '- `crds.create` installs the PodLogs CRD through the CRD-only `crds` subchart (Helm `crds/` semantics: created on install when absent, never upgraded).',
    '- `operator.enabled` installs the operator and the `Collector` CRD (alloy.dev/v1alpha1).',
    '',
    '## Differences from the upstream chart\'s rendered objects',
    '',
    'charts/tools/upstream.test.ts renders the upstream chart\'s own test cases (vendored in charts/tools/testdata/upstream with their commits; where upstream\'s `ci/<case>-values.yaml` is not stored, sources.json names the grafana-agent chart\'s file of the case and how it was adapted, or the output the values were read back from) and compares every object field for field, after normalising version labels, image tags and checksum annotations. These differences are deliberate; any other fails the test.',
    '',
    '| Id | What | Why |',
    '|----|------|-----|',
    ...UPSTREAM_DIFFERENCES.map((d) => `| ${d.id} | ${cell(d.what)} | ${cell(d.reason)} |`),
    '',
    'Upstream test cases whose values this chart refuses (the test checks that each fails with its message):',
    '',
    '| Case | Feature | Why |',
    '|------|---------|-----|',
    ...UPSTREAM_REFUSALS.map((r) => `| ${r.case} | ${cell(r.what)} | ${cell(r.reason)} |`),
    '',
    'Upstream test cases whose values are not valid Kubernetes objects: the chart renders them as upstream does, and the API-server journeys check that applying them fails on exactly these fields:',
    '',
    '| Case | Unknown fields | Why |',
    '|------|----------------|-----|',
    ...UPSTREAM_INVALID_VALUES.map((r) => `| ${r.case} | ${r.unknownFields.map((f) => `\`${f}\``).join(', ')} | ${cell(r.reason)} |`),
    '',
    '## Values',
    '',
    '| Key | Type | Default | Description |',
    '|-----|------|---------|-------------|',
    ...rows,
    '',
  ].join('\n');
}
